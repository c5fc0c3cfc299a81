"""The sentiment classifier: an LSTM over word embeddings, read out by pooling over the real
(unpadded) steps of each review, and beside it an NB-weighted linear model over word 1-3-grams
(ngrams.py), and a second one fitted on sentence windows only, for short texts; a small
length-aware layer combines the logits into one calibrated logit.

The parts err differently (the LSTM reads order and negation, the n-gram model counts evidence
across the whole review, the short-text one weighs n-grams as a sentence needs), so their
combination beats either; the combining layer is fitted on held-out reviews and snippets, which
also calibrates the probability. Without the n-gram part (ngram_features = 0) the model is the
LSTM alone; models made before the short-text part have none (short_ngram_features = 0)."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from sentiment_model.ngrams import NgramScorer, batch_keys
from sentiment_model.recipe import RECIPE, Recipe

# The fields of the LSTM that the recipe (recipe.py) chooses; the n-gram fields describe the
# parts attach_ngrams adds once they are fitted.
LSTM_FIELDS = ("embedding_dim", "hidden_dim", "num_layers", "bidirectional", "dropout", "word_dropout", "readout")


@dataclass(frozen=True)
class ModelConfig:
    """The network's shape, saved beside its weights (model_config.json). Defaults: the recipe's."""
    vocab_size: int
    embedding_dim: int = RECIPE.embedding_dim
    hidden_dim: int = RECIPE.hidden_dim
    num_layers: int = RECIPE.num_layers
    bidirectional: bool = RECIPE.bidirectional
    dropout: float = RECIPE.dropout
    # Share of whole words hidden from the model at each training step, so it cannot lean on a
    # few memorised words (a film's title, an actor's name) and learns from the rest.
    word_dropout: float = RECIPE.word_dropout
    # "last": the final hidden state(s) (the original read-out, at the true length);
    # "pool": max and mean over the LSTM outputs of the real steps, plus the final states.
    readout: str = RECIPE.readout
    # The n-gram part: how many n-grams it knows (0 = none) and their longest length in words.
    ngram_features: int = 0
    ngram_order: int = RECIPE.ngram_order
    # The short-text n-gram part: the same kind of scorer fitted on sentence windows only, so its
    # weights are on the scale of a sentence (0 = none; models before it have none).
    short_ngram_features: int = 0

    def __post_init__(self) -> None:
        if self.readout not in ("last", "pool"):
            raise ValueError(f"readout must be 'last' or 'pool', got {self.readout!r}")

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def from_recipe(cls, vocab_size: int, recipe: Recipe = RECIPE) -> ModelConfig:
        """The LSTM a recipe describes, before any n-gram part is attached."""
        return cls(vocab_size=vocab_size, **{name: getattr(recipe, name) for name in LSTM_FIELDS})

    @classmethod
    def load(cls, path: Path) -> ModelConfig:
        data = json.loads(Path(path).read_text())
        # A saved model has every field of its day; one added since takes the value that model
        # was trained with, not today's recipe: models before word dropout had none.
        data.setdefault("word_dropout", 0.0)
        # Models of earlier versions name a bag-of-n-grams head that they had switched off.
        if not data.get("bigram_buckets", 0):
            data.pop("bigram_buckets", None)
            data.pop("bigram_dim", None)
        return cls(**data)


class SentimentLSTM(nn.Module):
    """Each direction of each layer is its own unidirectional LSTM; the backward direction reads
    every review reversed within its own length, so padding always trails the real steps.

    Two ways to run it, with the same parameters and the same result:
    - packed (evaluation): pack_padded_sequence, so the LSTM computes exactly the real steps;
    - padded (training): the fused kernel over the padded batch. An LSTM is causal, so outputs
      at real steps never depend on trailing padding, and the read-out ignores padded steps.
      PyTorch's CPU backward through packed sequences of mixed lengths costs time quadratic in
      the length (about 8,000 tokens/s against 180,000 padded on this project's 2-core
      machine), so training uses this path; tests check both paths agree.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim, padding_idx=0)
        self.embedding_dropout = nn.Dropout(config.dropout / 2)
        directions = 2 if config.bidirectional else 1
        self.layers = nn.ModuleList()
        for layer in range(config.num_layers):
            width = config.embedding_dim if layer == 0 else config.hidden_dim * directions
            self.layers.append(nn.ModuleList(
                nn.LSTM(width, config.hidden_dim, batch_first=True) for _ in range(directions)))
        self.between_layers = nn.Dropout(config.dropout)
        features = config.hidden_dim * directions
        if config.readout == "pool":
            features *= 3
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(features, 1)
        if config.ngram_features:
            self.ngrams = NgramScorer(config.ngram_features, config.vocab_size, config.ngram_order)
            if config.short_ngram_features:
                self.short_ngrams = NgramScorer(config.short_ngram_features, config.vocab_size, config.ngram_order)
            self.combiner = LengthAwareCombiner(parts=3 if config.short_ngram_features else 2)

    def attach_ngrams(self, scorer: NgramScorer, combiner: LengthAwareCombiner,
                      short_scorer: NgramScorer | None = None) -> None:
        """Adds the fitted n-gram part(s) and the layer that combines them with the LSTM."""
        if short_scorer is not None and short_scorer.order != scorer.order:
            raise ValueError("both n-gram parts must use the same n-gram order")
        if combiner.parts != 2 + (short_scorer is not None):
            raise ValueError(f"a combining layer of {combiner.parts} parts cannot combine these")
        self.config = replace(self.config, ngram_features=len(scorer.keys), ngram_order=scorer.order,
                              short_ngram_features=len(short_scorer.keys) if short_scorer is not None else 0)
        self.ngrams, self.combiner = scorer, combiner
        if short_scorer is not None:
            self.short_ngrams = short_scorer
        elif hasattr(self, "short_ngrams"):
            del self.short_ngrams

    @staticmethod
    def _run(lstm: nn.LSTM, inputs: torch.Tensor, lengths: torch.Tensor, packed: bool) -> torch.Tensor:
        if not packed:
            return lstm(inputs)[0]
        sequence = pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False)
        return pad_packed_sequence(lstm(sequence)[0], batch_first=True, total_length=inputs.shape[1])[0]

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor, packed: bool | None = None,
                embedded: torch.Tensor | None = None) -> torch.Tensor:
        """ids: (batch, steps) padded with 0; lengths: (batch,) real token counts, may be 0.
        Returns (batch,) logits of the whole model. embedded, when given, replaces the embedding
        layer's output (for attributions over the embeddings)."""
        lstm = self.lstm_logits(ids, lengths, packed, embedded)
        if not self.config.ngram_features:
            return lstm
        lengths = lengths.to("cpu")
        return self.combiner([lstm, *self.ngram_logits(ids, lengths)], lengths)

    def ngram_scorers(self) -> list[NgramScorer]:
        """The model's n-gram parts, in the combining layer's order: none, the n-gram part, or it
        and the short-text n-gram part."""
        if not self.config.ngram_features:
            return []
        return [self.ngrams] + ([self.short_ngrams] if self.config.short_ngram_features else [])

    def ngram_logits(self, ids: torch.Tensor, lengths: torch.Tensor) -> list[torch.Tensor]:
        """The logits of each n-gram part (ngram_scorers); the n-gram keys of the batch are
        computed once for all of them."""
        scorers = self.ngram_scorers()
        if not scorers:
            return []
        keys, counted = batch_keys(ids, lengths.to("cpu"), self.config.vocab_size, self.config.ngram_order)
        return [scorer.logits_from_keys(keys, counted) for scorer in scorers]

    def lstm_logits(self, ids: torch.Tensor, lengths: torch.Tensor, packed: bool | None = None,
                    embedded: torch.Tensor | None = None) -> torch.Tensor:
        """The LSTM part's logits alone (what training fits before the n-gram part exists).
        packed=None picks packed sequences unless gradients are needed."""
        if packed is None:
            packed = not (self.training and torch.is_grad_enabled())
        lengths = lengths.to("cpu")
        # An empty review is read as one padding step (a zero embedding), so it gets the model's
        # prior instead of reading past the end of the sequence.
        safe_lengths = lengths.clamp(min=1)
        if ids.shape[1] == 0:
            ids = ids.new_zeros((ids.shape[0], 1))
        steps = ids.shape[1]
        positions = torch.arange(steps).unsqueeze(0)
        real = positions < safe_lengths.unsqueeze(1)
        # reverse[b, t] = length_b - 1 - t on real steps, t on padding: each review read backwards
        # in place, padding still at the end. The map is its own inverse.
        reverse = torch.where(real, safe_lengths.unsqueeze(1) - 1 - positions, positions)
        last = (safe_lengths - 1).view(-1, 1, 1)

        outputs = self.embedding_dropout(self.embedding(ids) if embedded is None else embedded)
        if self.training and self.config.word_dropout > 0:
            keep = torch.rand(ids.shape, device=ids.device) >= self.config.word_dropout
            outputs = outputs * keep.unsqueeze(2).to(outputs.dtype)
        finals = []
        for index, layer in enumerate(self.layers):
            if index:
                outputs = self.between_layers(outputs)
            forward_out = self._run(layer[0], outputs, safe_lengths, packed)
            directions = [forward_out]
            if len(layer) == 2:
                gather = reverse.unsqueeze(2).expand(-1, -1, outputs.shape[2])
                backward_out = self._run(layer[1], outputs.gather(1, gather), safe_lengths, packed)
                gather = reverse.unsqueeze(2).expand(-1, -1, backward_out.shape[2])
                directions.append(backward_out.gather(1, gather))
                finals_of_layer = [forward_out, backward_out]
            else:
                finals_of_layer = [forward_out]
            outputs = torch.cat(directions, dim=2)
        for out in finals_of_layer:
            finals.append(out.gather(1, last.expand(-1, 1, out.shape[2])).squeeze(1))
        features = finals
        if self.config.readout == "pool":
            mask = real.unsqueeze(2)
            maxed = outputs.masked_fill(~mask, float("-inf")).max(dim=1).values
            mean = (outputs * mask).sum(dim=1) / safe_lengths.unsqueeze(1).to(outputs.dtype)
            features = features + [maxed, mean]
        return self.classifier(self.dropout(torch.cat(features, dim=1))).squeeze(1)


class LengthAwareCombiner(nn.Module):
    """logit = sum over parts k of (a_k + b_k s) * part_k, plus c0 + c1 s, with s = 20 / (20 + words):
    near 1 for a sentence, near 0 for a full review, so a snippet and a review can lean on the
    parts differently. The parts: the LSTM, the n-gram part and, in models that have it, the
    short-text n-gram part. Fitted on held-out data (train.py), which also calibrates it."""

    def __init__(self, parts: int = 2) -> None:
        super().__init__()
        self.parts = parts
        self.coefficients = nn.Parameter(torch.tensor([1.0, 0.0] * parts + [0.0, 0.0]))

    @staticmethod
    def shortness(lengths: torch.Tensor) -> torch.Tensor:
        return 20.0 / (20.0 + lengths.to(torch.float32))

    def scales(self, lengths: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Per review: the factor of each part's logit (LSTM, n-grams[, short-text n-grams]),
        then the offset."""
        c = self.coefficients.float()
        s = self.shortness(lengths)
        return tuple(c[2 * k] + c[2 * k + 1] * s for k in range(self.parts + 1))

    def forward(self, parts: list[torch.Tensor], lengths: torch.Tensor) -> torch.Tensor:
        *factors, offset = self.scales(lengths)
        return sum(factor * part for factor, part in zip(factors, parts, strict=True)) + offset

    def fit(self, parts: list[torch.Tensor], lengths: torch.Tensor, labels: torch.Tensor,
            l2: float = 1e-3) -> float:
        """Logistic regression of the labels on the terms; returns the final mean loss."""
        optimizer = torch.optim.LBFGS([self.coefficients], lr=1, max_iter=200, line_search_fn="strong_wolfe")
        loss_fn = nn.BCEWithLogitsLoss()

        def closure():
            optimizer.zero_grad()
            loss = loss_fn(self(parts, lengths), labels) + l2 * self.coefficients.pow(2).sum()
            loss.backward()
            return loss

        optimizer.step(closure)
        with torch.no_grad():
            return float(loss_fn(self(parts, lengths), labels))


def pad_batch(sequences: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pads id lists with 0 into a (batch, longest) tensor and returns it with lengths."""
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.int64)
    longest = max(1, int(lengths.max())) if len(sequences) else 1
    ids = torch.zeros((len(sequences), longest), dtype=torch.int64)
    for row, sequence in enumerate(sequences):
        if sequence:
            ids[row, : len(sequence)] = torch.as_tensor(sequence, dtype=torch.int64)
    return ids, lengths
