"""Word vectors from the training reviews' own text, to start the embedding layer from.

The classifier's embeddings otherwise learn only from the label, so a word seen in a handful of
reviews keeps a nearly random vector. Here every word is placed by the company it keeps: counts
of (word, context word) pairs within a window, positive pointwise mutual information with
smoothed context frequencies, and a truncated SVD (Levy, Goldberg and Dagan 2015, "Improving
distributional similarity with lessons learned from word embeddings", TACL 3). It needs no
labels and no text beyond the training split, and runs in seconds with torch alone.
"""
from __future__ import annotations

import numpy as np
import torch

from sentiment_model.preprocessing import FIRST_WORD_ID


def cooccurrence_counts(ids: np.ndarray, offsets: np.ndarray, vocab_size: int, window: int = 5,
                        contexts: int = 10000) -> torch.Tensor:
    """(vocab_size, contexts) weighted counts of word ids seen near context ids (the `contexts`
    most frequent words, since ids are given in frequency order). Pairs never cross a review
    boundary; a pair at distance d counts 1/d; padding and unknown ids are never counted."""
    if window < 1:
        raise ValueError("window must be at least 1")
    contexts = max(FIRST_WORD_ID + 1, min(contexts, vocab_size))
    tokens = torch.from_numpy(np.asarray(ids, dtype=np.int64))
    review = torch.from_numpy(np.repeat(np.arange(len(offsets) - 1), np.diff(offsets)))
    counts = torch.zeros(vocab_size, contexts, dtype=torch.float32)
    for distance in range(1, window + 1):
        if distance >= len(tokens):
            break
        left, right = tokens[:-distance], tokens[distance:]
        same_review = review[:-distance] == review[distance:]
        for word, context in ((left, right), (right, left)):
            keep = same_review & (word >= FIRST_WORD_ID) & (context >= FIRST_WORD_ID) & (context < contexts)
            weight = torch.full((int(keep.sum()),), 1.0 / distance)
            counts.index_put_((word[keep], context[keep]), weight, accumulate=True)
    return counts


def cooccurrence_vectors(ids: np.ndarray, offsets: np.ndarray, vocab_size: int, dim: int,
                         window: int = 5, contexts: int = 10000, seed: int = 1) -> torch.Tensor:
    """(vocab_size, dim) vectors for the ids of one encoded split (concatenated ids with review
    offsets). Words never seen next to a context word, and ids 0 and 1 (padding, unknown), get
    zero rows; the caller keeps its own initialisation for them. The result is scaled to unit
    standard deviation, the scale of a freshly initialised nn.Embedding."""
    if dim < 1:
        raise ValueError("dim must be at least 1")
    counts = cooccurrence_counts(ids, offsets, vocab_size, window, contexts)
    if counts.sum() == 0:
        return torch.zeros(vocab_size, dim)
    word_mass = counts.sum(dim=1, keepdim=True)
    # Context frequencies raised to 0.75 stop rare contexts from dominating PMI.
    context_mass = counts.sum(dim=0, keepdim=True).pow(0.75)
    context_mass = context_mass / context_mass.sum()
    # PPMI in place: log(p(c | w) / p_0.75(c)), negatives and empty cells to 0.
    ppmi = counts
    ppmi.div_(word_mass.clamp(min=1e-12)).div_(context_mass.clamp(min=1e-12)).log_()
    ppmi.nan_to_num_(nan=0.0, neginf=0.0, posinf=0.0).clamp_(min=0.0)

    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        left_vectors, values, _ = torch.svd_lowrank(ppmi, q=min(dim, *ppmi.shape), niter=4)
    finally:
        torch.random.set_rng_state(generator_state)
    vectors = left_vectors * values.sqrt()
    if vectors.shape[1] < dim:
        vectors = torch.cat([vectors, torch.zeros(vocab_size, dim - vectors.shape[1])], dim=1)
    vectors[:FIRST_WORD_ID] = 0
    spread = vectors[FIRST_WORD_ID:].std()
    return vectors / spread if spread > 0 else vectors
