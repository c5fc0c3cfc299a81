"""The sentiment classifier: an LSTM over word embeddings, read out by pooling over the real
(unpadded) steps of each review, returning one logit per review."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


@dataclass(frozen=True)
class ModelConfig:
    vocab_size: int
    embedding_dim: int = 64
    hidden_dim: int = 64
    num_layers: int = 1
    bidirectional: bool = True
    dropout: float = 0.4
    # "last": the final hidden state(s) (the original read-out, at the true length);
    # "pool": max and mean over the LSTM outputs of the real steps, plus the final states.
    readout: str = "pool"
    # Hashed word-pair embeddings averaged over the review and joined to the LSTM features;
    # 0 switches them off. Pairs are hashed from the ids inside forward(), so serving needs
    # nothing beyond the word ids.
    bigram_buckets: int = 0
    bigram_dim: int = 16

    def __post_init__(self) -> None:
        if self.readout not in ("last", "pool"):
            raise ValueError(f"readout must be 'last' or 'pool', got {self.readout!r}")

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> "ModelConfig":
        return cls(**json.loads(Path(path).read_text()))


class SentimentLSTM(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim, padding_idx=0)
        self.embedding_dropout = nn.Dropout(config.dropout / 2)
        self.lstm = nn.LSTM(
            config.embedding_dim,
            config.hidden_dim,
            num_layers=config.num_layers,
            bidirectional=config.bidirectional,
            batch_first=True,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
        )
        directions = 2 if config.bidirectional else 1
        features = config.hidden_dim * directions
        if config.readout == "pool":
            features *= 3
        if config.bigram_buckets:
            self.bigrams = nn.EmbeddingBag(config.bigram_buckets, config.bigram_dim, mode="mean")
            features += config.bigram_dim
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(features, 1)

    def _bigram_features(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        batch, steps = ids.shape
        if steps < 2:
            pairs = ids.new_zeros((batch, 0))
        else:
            pairs = (ids[:, :-1] * 1_000_003 + ids[:, 1:]) % self.config.bigram_buckets
        positions = torch.arange(pairs.shape[1], device=ids.device).unsqueeze(0)
        valid = positions < (lengths - 1).unsqueeze(1)
        flat = pairs[valid]
        counts = valid.sum(dim=1)
        offsets = torch.cumsum(counts, 0) - counts
        # A review with fewer than two words has an empty bag, which EmbeddingBag maps to zeros.
        return self.bigrams(flat, offsets)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """ids: (batch, steps) padded with 0; lengths: (batch,) real token counts, may be 0.
        Returns (batch,) logits."""
        lengths = lengths.to("cpu")
        # An empty review is read as one padding step (a zero embedding), so it gets the model's
        # prior instead of reading past the end of the sequence.
        safe_lengths = lengths.clamp(min=1)
        if ids.shape[1] == 0:
            ids = ids.new_zeros((ids.shape[0], 1))
        embedded = self.embedding_dropout(self.embedding(ids))
        packed = pack_padded_sequence(embedded, safe_lengths, batch_first=True, enforce_sorted=False)
        outputs, (hidden, _) = self.lstm(packed)
        directions = 2 if self.config.bidirectional else 1
        final = torch.cat([hidden[-d] for d in range(directions, 0, -1)], dim=1)
        features = [final]
        if self.config.readout == "pool":
            padded, _ = pad_packed_sequence(outputs, batch_first=True)
            mask = (torch.arange(padded.shape[1]).unsqueeze(0) < safe_lengths.unsqueeze(1))
            mask = mask.unsqueeze(2).to(padded.dtype)
            maxed = padded.masked_fill(mask == 0, float("-inf")).max(dim=1).values
            mean = (padded * mask).sum(dim=1) / safe_lengths.unsqueeze(1).to(padded.dtype)
            features += [maxed, mean]
        if self.config.bigram_buckets:
            features.append(self._bigram_features(ids, lengths))
        return self.classifier(self.dropout(torch.cat(features, dim=1))).squeeze(1)


def pad_batch(sequences: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pads id lists with 0 into a (batch, longest) tensor and returns it with lengths."""
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.int64)
    longest = max(1, int(lengths.max())) if len(sequences) else 1
    ids = torch.zeros((len(sequences), longest), dtype=torch.int64)
    for row, sequence in enumerate(sequences):
        if sequence:
            ids[row, : len(sequence)] = torch.as_tensor(sequence, dtype=torch.int64)
    return ids, lengths
