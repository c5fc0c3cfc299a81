"""The n-gram part: exact keys, presence not counts, and a fit that learns which n-grams lean
which way."""
import numpy as np
import torch
from network import pad_batch
from ngrams import NgramScorer, batch_keys, fit_ngram_scorer, review_keys

V = 50


def test_batch_keys_are_each_reviews_distinct_ngrams():
    reviews = [[5, 6, 5, 6, 7], [9], [], [3, 3, 3]]
    ids, lengths = pad_batch(reviews)
    keys, counted = batch_keys(ids, lengths, V)
    for row, review in enumerate(reviews):
        assert sorted(keys[row][counted[row]].tolist()) == review_keys(np.array(review), V).tolist()


def test_unigram_pair_and_triple_keys_never_collide():
    ids = np.array([49, 49, 49])
    keys = review_keys(ids, V)
    assert keys.tolist() == [49, V + 49 * V + 49, V + V ** 2 + (49 * V + 49) * V + 49]
    assert keys[0] < V <= keys[1] < V + V ** 2 <= keys[2]


def test_a_review_adds_each_known_ngram_once_plus_the_bias():
    scorer = NgramScorer(2, V, order=2)
    scorer.keys.copy_(torch.tensor([5, V + 5 * V + 6]))
    scorer.weights.copy_(torch.tensor([0.5, -2.0]))
    scorer.bias.data.fill_(0.25)
    ids, lengths = pad_batch([[5, 6, 5, 6], [5], [7, 8], []])
    logits = scorer(ids, lengths)
    assert torch.allclose(logits, torch.tensor([0.5 - 2.0 + 0.25, 0.75, 0.25, 0.25]))


def test_the_fit_learns_the_direction_of_cue_ngrams():
    rng = np.random.default_rng(0)
    sequences, labels = [], []
    for index in range(400):
        label = index % 2
        words = rng.integers(10, V, size=20).tolist()
        # "not good" (3, 4) is negative although "good" (4) alone is positive.
        words[rng.integers(0, 19)] = 4
        if label == 0:
            position = int(rng.integers(0, 18))
            words[position: position + 2] = [3, 4]
        sequences.append(words)
        labels.append(label)
    ids = np.concatenate(sequences).astype(np.int32)
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in sequences])])
    scorer = fit_ngram_scorer(ids, offsets, np.array(labels), V, order=2, log=lambda message: None)
    weights = dict(zip(scorer.keys.tolist(), scorer.weights.tolist()))
    assert weights[V + 3 * V + 4] < 0
    batch, lengths = pad_batch(sequences)
    accuracy = ((scorer(batch, lengths) > 0).numpy() == np.array(labels)).mean()
    assert accuracy > 0.95
