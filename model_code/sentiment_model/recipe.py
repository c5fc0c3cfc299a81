"""The default model's recipe: the hyperparameters train.py uses when no flag says otherwise.

Stated once, here. train.py takes its defaults from it; the cloud training job (stacks/config.py)
and `sentiment train-default` take theirs from it too. Chosen on the validation split of the
IMDb training reviews; docs/experiments.md records how."""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Recipe:
    # model
    embedding_dim: int = 64
    hidden_dim: int = 64
    dropout: float = 0.5
    word_dropout: float = 0.25
    word_vectors: str = "ppmi"
    context_window: int = 5
    ngram_order: int = 3
    ngram_min_count: int = 6
    ngram_l2: float = 1e-4
    short_ngrams: bool = True
    short_ngram_min_count: int = 3
    short_ngram_l2: float = 3e-4
    # training
    windows: bool = True
    epochs: int = 6
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 0.05
    adversarial: float = 5.0
    clip: float = 1.0
    patience: int = 2
    average_last: int = 2
    seed: int = 1

    def as_dict(self) -> dict:
        return asdict(self)


RECIPE = Recipe()
