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
    # Share of whole words hidden from the model at each training step, so it cannot lean on a
    # few memorised words (a film's title, an actor's name) and learns from the rest.
    word_dropout: float = 0.0
    # "last": the final hidden state(s) (the original read-out, at the true length);
    # "pool": max and mean over the LSTM outputs of the real steps, plus the final states.
    readout: str = "pool"
    # A second head beside the LSTM: the mean of embeddings of the review's words and hashed word
    # pairs (a fastText-style bag of n-grams), read out by its own linear layer. Both heads are
    # trained on the label, and the model's logit is their mean, so the two act as an ensemble
    # whose errors differ. Pairs are hashed from the ids inside forward(), so serving needs
    # nothing beyond the word ids. 0 switches the head off.
    bigram_buckets: int = 0
    bigram_dim: int = 16

    def __post_init__(self) -> None:
        if self.readout not in ("last", "pool"):
            raise ValueError(f"readout must be 'last' or 'pool', got {self.readout!r}")

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> ModelConfig:
        return cls(**json.loads(Path(path).read_text()))


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
        if config.bigram_buckets:
            self.ngrams = nn.EmbeddingBag(config.vocab_size + config.bigram_buckets, config.bigram_dim, mode="mean")
            self.ngram_classifier = nn.Linear(config.bigram_dim, 1)

    def ngram_bags(self, ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The n-gram head's ids (batch, 2 * steps - 1): each word, then each hashed pair of
        neighbours (pair t joins words t and t + 1), and the mask of those inside each review."""
        batch, steps = ids.shape
        positions = torch.arange(steps, device=ids.device).unsqueeze(0)
        words = positions < lengths.unsqueeze(1)
        if steps > 1:
            pairs = (ids[:, :-1] * 1_000_003 + ids[:, 1:]) % self.config.bigram_buckets + self.config.vocab_size
            pair_mask = positions[:, :-1] < (lengths - 1).unsqueeze(1)
        else:
            pairs = ids.new_zeros((batch, 0))
            pair_mask = words[:, :0]
        return torch.cat([ids, pairs], dim=1), torch.cat([words, pair_mask], dim=1)

    def _ngram_logits(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logit of the bag-of-n-grams head: words and hashed word pairs, averaged."""
        grams, mask = self.ngram_bags(ids, lengths)
        counts = mask.sum(dim=1)
        offsets = torch.cumsum(counts, 0) - counts
        # An empty review has an empty bag, which EmbeddingBag maps to zeros: the head's bias.
        bag = self.ngrams(grams[mask], offsets)
        return self.ngram_classifier(self.dropout(bag)).squeeze(1)

    @staticmethod
    def _run(lstm: nn.LSTM, inputs: torch.Tensor, lengths: torch.Tensor, packed: bool) -> torch.Tensor:
        if not packed:
            return lstm(inputs)[0]
        sequence = pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False)
        return pad_packed_sequence(lstm(sequence)[0], batch_first=True, total_length=inputs.shape[1])[0]

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor, packed: bool | None = None,
                heads: bool = False, embedded: torch.Tensor | None = None):
        """ids: (batch, steps) padded with 0; lengths: (batch,) real token counts, may be 0.
        Returns (batch,) logits, or with heads=True (logits, [logits of each head]) for training.
        packed=None picks packed sequences unless gradients are needed.
        embedded: (batch, steps, embedding_dim) vectors that the LSTM reads instead of
        self.embedding(ids), so attributions can take gradients with respect to them
        (model_code/explain.py); the n-gram head still reads ids."""
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
        head_logits = [self.classifier(self.dropout(torch.cat(features, dim=1))).squeeze(1)]
        if self.config.bigram_buckets:
            head_logits.append(self._ngram_logits(ids, lengths))
        logits = torch.stack(head_logits).mean(dim=0)
        return (logits, head_logits) if heads else logits


def pad_batch(sequences: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pads id lists with 0 into a (batch, longest) tensor and returns it with lengths."""
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.int64)
    longest = max(1, int(lengths.max())) if len(sequences) else 1
    ids = torch.zeros((len(sequences), longest), dtype=torch.int64)
    for row, sequence in enumerate(sequences):
        if sequence:
            ids[row, : len(sequence)] = torch.as_tensor(sequence, dtype=torch.int64)
    return ids, lengths
