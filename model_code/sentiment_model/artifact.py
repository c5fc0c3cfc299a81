"""The model directory (the unpacked ``model.tar.gz``) and the predictor built from it.

    model.pt              state_dict (float16), loads with torch.load(weights_only=True)
    model_config.json     ModelConfig
    vocab.json            word list (word i has id i + 2)
    preprocessing.json    TextSettings, stopwords included
    metrics.json          training and validation figures
    training_curve.png    loss and accuracy per epoch
    code/                 inference.py and the modules it imports, requirements.txt: added
                          when model.tar.gz is built (sentiment.packaging), and by a SageMaker
                          training job, whose model folder becomes model.tar.gz as it is

No pickle anywhere: weights are tensors only, everything else is JSON.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from sentiment_model.bundle import write_serving_code
from sentiment_model.network import ModelConfig, SentimentLSTM, pad_batch
from sentiment_model.preprocessing import Encoder, TextSettings


class ArtifactError(ValueError):
    """A model directory that is incomplete or inconsistent."""


def write_model_dir(model_dir: Path, model: SentimentLSTM, vocabulary: list[str],
                    settings: TextSettings, metrics: dict, with_code: bool = False) -> None:
    """The model's data files; with_code also code/ (a training job's output is served as is)."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    # Half precision halves the artifact (the repo keeps models/default under 10 MB); the
    # loader widens back to float32, and scores move by less than 1e-3.
    state = {name: tensor.half() if tensor.is_floating_point() else tensor
             for name, tensor in model.state_dict().items()}
    torch.save(state, model_dir / "model.pt")
    model.config.save(model_dir / "model_config.json")
    for name, data in (("vocab.json", vocabulary), ("preprocessing.json", settings.to_json()),
                       ("metrics.json", metrics)):
        (model_dir / name).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if with_code:
        write_serving_code(model_dir, settings.to_json())


class Predictor:
    """Raw review texts in, probabilities of "positive" out."""

    def __init__(self, model: SentimentLSTM, encoder: Encoder, batch_size: int = 64) -> None:
        self.model = model.eval()
        self.encoder = encoder
        self.batch_size = batch_size

    @torch.inference_mode()
    def predict_ids(self, sequences: list[list[int]]) -> list[float]:
        scores: list[float] = [0.0] * len(sequences)
        # Similar lengths batched together: less padding, less work for the LSTM.
        order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
        for start in range(0, len(order), self.batch_size):
            chunk = order[start: start + self.batch_size]
            ids, lengths = pad_batch([sequences[i] for i in chunk])
            # Padded execution (equal results, see SentimentLSTM) runs batches faster on CPU;
            # a lone review has no padding, and packing it costs nothing.
            logits = self.model(ids, lengths, packed=len(chunk) == 1)
            probabilities = torch.sigmoid(logits).tolist()
            for index, probability in zip(chunk, probabilities):
                scores[index] = probability
        return scores

    def predict(self, reviews: list[str]) -> list[float]:
        return self.predict_ids([self.encoder.encode(review) for review in reviews])


def load_predictor(model_dir: Path) -> Predictor:
    model_dir = Path(model_dir)
    needed = ("model.pt", "model_config.json", "vocab.json", "preprocessing.json")
    missing = [name for name in needed if not (model_dir / name).is_file()]
    if missing:
        raise ArtifactError(f"{model_dir}: not a model directory, missing {', '.join(missing)}")
    try:
        config = ModelConfig.load(model_dir / "model_config.json")
        vocabulary = json.loads((model_dir / "vocab.json").read_text(encoding="utf-8"))
        settings = TextSettings.from_json(json.loads((model_dir / "preprocessing.json").read_text(encoding="utf-8")))
    except (ValueError, TypeError) as error:
        raise ArtifactError(f"{model_dir}: unreadable model description ({error})") from None
    if len(vocabulary) + 2 > config.vocab_size:
        raise ArtifactError(f"{model_dir}: vocab.json has {len(vocabulary)} words but the model "
                            f"has {config.vocab_size} embeddings")
    model = SentimentLSTM(config)
    try:
        state = torch.load(model_dir / "model.pt", map_location="cpu", weights_only=True)
        model.load_state_dict({name: tensor.float() if tensor.is_floating_point() else tensor
                               for name, tensor in state.items()})
    except (RuntimeError, OSError, ValueError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ArtifactError(f"{model_dir / 'model.pt'}: weights do not fit model_config.json ({first_line})") from None
    return Predictor(model, Encoder(settings, vocabulary))
