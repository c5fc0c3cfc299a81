"""The n-gram part of the model: naive-Bayes-weighted logistic regression over word 1-3-grams.

NBSVM (Wang and Manning, ACL 2012) scales each n-gram's presence by its log-count ratio r (how
much more often it appears in positive than in negative reviews) and fits a linear classifier on
those features; with word 1-3-grams it is one of the strongest linear models on IMDb. Here it
works on the same word ids the LSTM reads, so serving needs nothing beyond the ids, and it is
fitted in torch, so nothing beyond torch ships to SageMaker.

An n-gram of ids is one int64 key, exact (no hashing): with V ids, a word is its id, a pair
V + a*V + b, a triple V + V^2 + (a*V + b)*V + c; with V = 30,000 the largest key is about 2.7e13.
The model keeps the sorted keys of the n-grams seen in at least `min_count` training texts and
one weight per key (r times the fitted coefficient). A review's logit is the bias plus the
weights of the distinct n-grams it contains.
"""
from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn


def ngram_keys(ids, n: int, vocab_size: int):
    """Keys of the n-grams starting at each position of ids (along the last axis), for a numpy
    array or a torch tensor alike: the n ids as digits base V, plus an offset that keeps the
    ranges of words, pairs and triples apart."""
    starts = ids.shape[-1] - n + 1
    key = ids[..., :starts] * 1
    for offset in range(1, n):
        key = key * vocab_size + ids[..., offset: starts + offset]
    return key + sum(vocab_size ** k for k in range(1, n))


def review_keys(ids: np.ndarray, vocab_size: int, order: int = 3) -> np.ndarray:
    """The distinct n-gram keys (n = 1..order) of one review's ids, sorted."""
    ids = np.asarray(ids, dtype=np.int64)
    return np.unique(np.concatenate([ngram_keys(ids, n, vocab_size) for n in range(1, order + 1)
                                     if len(ids) >= n] or [ids]))


def batch_keys(ids: torch.Tensor, lengths: torch.Tensor, vocab_size: int, order: int = 3):
    """Keys of every n-gram at every position of a padded batch, and a mask that is true once per
    distinct n-gram of each review (repeats and n-grams reaching into padding are false)."""
    steps = ids.shape[1]
    positions = torch.arange(steps).unsqueeze(0)
    parts, masks = [], []
    for n in range(1, order + 1):
        if steps < n:
            break
        parts.append(ngram_keys(ids, n, vocab_size))
        masks.append(positions[:, : steps - n + 1] <= (lengths - n).unsqueeze(1))
    keys, real = torch.cat(parts, dim=1), torch.cat(masks, dim=1)
    # Padded slots get -1, which no n-gram has, then each row is sorted so that repeats sit side
    # by side and only the first of each counts: presence, not counts, as NBSVM uses.
    keys = torch.where(real, keys, torch.full_like(keys, -1))
    keys, _ = torch.sort(keys, dim=1)
    first = torch.ones_like(keys, dtype=torch.bool)
    first[:, 1:] = keys[:, 1:] != keys[:, :-1]
    return keys, first & (keys >= 0)


class NgramScorer(nn.Module):
    """Sum of the weights of a review's distinct known n-grams, plus a bias: one logit."""

    def __init__(self, features: int, vocab_size: int, order: int = 3) -> None:
        super().__init__()
        self.vocab_size, self.order = vocab_size, order
        self.register_buffer("keys", torch.zeros(features, dtype=torch.int64))
        self.register_buffer("weights", torch.zeros(features))
        self.bias = nn.Parameter(torch.zeros(()), requires_grad=False)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.logits_from_keys(*batch_keys(ids, lengths, self.vocab_size, self.order))

    def logits_from_keys(self, keys: torch.Tensor, counted: torch.Tensor) -> torch.Tensor:
        """The logits of a batch whose keys batch_keys computed (with this scorer's order)."""
        return self.contributions(keys, counted).sum(dim=1) + self.bias

    def token_shares(self, ids: list[int]) -> torch.Tensor:
        """Each position's share of one review's n-gram logit (bias left out): an n-gram's weight
        is split evenly over the positions where it occurs and the n words of each occurrence,
        so the shares add up to the logit minus the bias exactly."""
        ids = np.asarray(ids, dtype=np.int64)
        keys, starts, sizes = [], [], []
        for n in range(1, self.order + 1):
            if len(ids) < n:
                break
            keys.append(ngram_keys(ids, n, self.vocab_size))
            starts.append(np.arange(len(ids) - n + 1))
            sizes.append(np.full(len(ids) - n + 1, n))
        shares = np.zeros(len(ids))
        if not keys or len(self.keys) == 0:
            return torch.as_tensor(shares, dtype=torch.float32)
        keys, starts, sizes = np.concatenate(keys), np.concatenate(starts), np.concatenate(sizes)
        table = self.keys.numpy()
        slot = np.minimum(np.searchsorted(table, keys), len(table) - 1)
        weights = np.where(table[slot] == keys, self.weights.float().numpy()[slot], 0.0)
        _, inverse, occurrences = np.unique(keys, return_inverse=True, return_counts=True)
        per_word = weights / occurrences[inverse] / sizes
        for offset in range(self.order):
            inside = offset < sizes
            np.add.at(shares, starts[inside] + offset, per_word[inside])
        return torch.as_tensor(shares, dtype=torch.float32)

    def contributions(self, keys: torch.Tensor, counted: torch.Tensor) -> torch.Tensor:
        """The weight each key adds to its review's logit (0 for unknown or uncounted keys)."""
        if len(self.keys) == 0:
            return torch.zeros(keys.shape, dtype=self.weights.dtype)
        slot = torch.searchsorted(self.keys, keys).clamp(max=len(self.keys) - 1)
        known = counted & (self.keys[slot] == keys)
        return torch.where(known, self.weights[slot].float(), torch.zeros((), dtype=torch.float32))


def fit_ngram_scorer(train_ids: np.ndarray, train_offsets: np.ndarray, labels: np.ndarray, vocab_size: int,
                     order: int = 3, min_count: int = 2, l2: float = 1e-6, alpha: float = 1.0,
                     iterations: int = 60, log=print) -> NgramScorer:
    """Fits the scorer on encoded reviews (ids concatenated, review i = ids[offsets[i]:offsets[i+1]]).

    r is computed with add-alpha smoothing from the reviews containing each n-gram; the
    coefficients by L-BFGS on the mean logistic loss plus l2 * |coefficients|^2."""
    started = time.perf_counter()
    per_review = [review_keys(train_ids[train_offsets[i]: train_offsets[i + 1]], vocab_size, order)
                  for i in range(len(labels))]
    every = np.concatenate(per_review) if per_review else np.zeros(0, dtype=np.int64)
    review_of = np.repeat(np.arange(len(per_review)), [len(k) for k in per_review])
    keys, inverse, counts = np.unique(every, return_inverse=True, return_counts=True)
    kept = counts >= min_count
    keys = keys[kept]
    remap = np.full(len(kept), -1, dtype=np.int64)
    remap[kept] = np.arange(kept.sum())
    feature = remap[inverse]
    present = feature >= 0
    feature, review_of = feature[present], review_of[present]
    labels = np.asarray(labels, dtype=np.float32)
    positive = np.bincount(feature, weights=labels[review_of], minlength=len(keys)) + alpha
    negative = np.bincount(feature, weights=1 - labels[review_of], minlength=len(keys)) + alpha
    ratio = np.log((positive / positive.sum()) / (negative / negative.sum())).astype(np.float32)
    log(f"n-grams: {len(keys):,} of {len(kept):,} seen in {min_count}+ training texts "
        f"({time.perf_counter() - started:.0f} s)")

    # Logistic regression on r-scaled presence features, full batch.
    offsets = torch.as_tensor(np.searchsorted(review_of, np.arange(len(labels))), dtype=torch.int64)
    inputs = torch.as_tensor(feature, dtype=torch.int64)
    scale = torch.as_tensor(ratio[feature])
    target = torch.as_tensor(labels)
    bag = nn.EmbeddingBag(len(keys), 1, mode="sum")
    nn.init.zeros_(bag.weight)
    bias = torch.zeros((), requires_grad=True)
    optimizer = torch.optim.LBFGS([bag.weight, bias], lr=1, max_iter=iterations, history_size=20,
                                  line_search_fn="strong_wolfe")
    loss_fn = nn.BCEWithLogitsLoss()

    def closure():
        optimizer.zero_grad()
        logits = bag(inputs, offsets, per_sample_weights=scale).squeeze(1) + bias
        loss = loss_fn(logits, target) + l2 * bag.weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        loss = loss_fn(bag(inputs, offsets, per_sample_weights=scale).squeeze(1) + bias, target)
    scorer = NgramScorer(len(keys), vocab_size, order)
    with torch.no_grad():
        scorer.keys.copy_(torch.as_tensor(keys))
        scorer.weights.copy_(bag.weight.squeeze(1) * torch.as_tensor(ratio))
        scorer.bias.copy_(bias)
    log(f"n-gram classifier: loss {float(loss):.4f} in {time.perf_counter() - started:.0f} s")
    return scorer
