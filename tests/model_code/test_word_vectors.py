"""Word vectors from co-occurrences in the training reviews: counted within reviews only, and
words used in the same company end up close together."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from sentiment.paths import ROOT
from sentiment_model.word_vectors import cooccurrence_counts, cooccurrence_vectors


def encode(reviews: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.zeros(len(reviews) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(r) for r in reviews])
    return np.asarray([i for r in reviews for i in r], dtype=np.int32), offsets


def test_pairs_are_weighted_by_distance_and_never_cross_a_review():
    ids, offsets = encode([[2, 3, 4], [5, 6]])
    counts = cooccurrence_counts(ids, offsets, vocab_size=8, window=2)
    assert counts[2, 3] == 1.0 and counts[3, 2] == 1.0
    assert counts[2, 4] == 0.5 and counts[4, 2] == 0.5
    assert counts[4, 5] == 0 and counts[5, 4] == 0, "4 ends one review, 5 starts the next"
    assert counts[3, 5] == 0
    assert counts[5, 6] == 1.0
    assert float(counts.sum()) == pytest.approx(2 * (1 + 1 + 0.5 + 1))


def test_padding_and_unknown_ids_are_never_counted():
    ids, offsets = encode([[2, 1, 3, 0, 2]])
    counts = cooccurrence_counts(ids, offsets, vocab_size=5, window=1)
    assert counts[:2].sum() == 0 and counts[:, :2].sum() == 0
    assert counts.sum() == 0, "every adjacent pair here has a padding or unknown id in it"


def test_contexts_are_limited_to_the_most_frequent_ids():
    ids, offsets = encode([[2, 3, 9, 2]])
    counts = cooccurrence_counts(ids, offsets, vocab_size=10, window=1, contexts=5)
    assert counts.shape == (10, 5)
    assert counts[9, 3] == 1.0 and counts[9, 2] == 1.0, "a rare word is still counted as a word"


def test_words_in_the_same_company_get_close_vectors():
    rng = np.random.default_rng(0)
    # 2 and 3 are both used with 10..19; 4 only with 20..29. Words 5..9 are filler.
    reviews = []
    for _ in range(400):
        word = int(rng.choice([2, 3, 4]))
        company = range(10, 20) if word in (2, 3) else range(20, 30)
        reviews.append([int(rng.choice(list(company))), word, int(rng.choice(list(company))),
                        int(rng.integers(5, 10))])
    ids, offsets = encode(reviews)
    vectors = cooccurrence_vectors(ids, offsets, vocab_size=30, dim=8, window=1)
    unit = torch.nn.functional.normalize(vectors[2:], dim=1)
    similarity = unit @ unit.T
    assert similarity[0, 1] > 0.9, "2 and 3 keep the same company"
    assert similarity[0, 1] > similarity[0, 2] + 0.5
    assert torch.equal(vectors[:2], torch.zeros(2, 8))
    assert float(vectors[2:].std()) == pytest.approx(1.0, rel=1e-3)


def test_vectors_are_reproducible_and_do_not_touch_the_global_generator():
    ids, offsets = encode([[2, 3, 4, 5, 6, 2, 4, 6, 3, 5]] * 5)
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    first = cooccurrence_vectors(ids, offsets, vocab_size=7, dim=3, seed=7)
    assert torch.equal(torch.rand(1), expected_next)
    assert torch.allclose(first, cooccurrence_vectors(ids, offsets, vocab_size=7, dim=3, seed=7))


def test_empty_text_gives_zero_vectors():
    ids, offsets = encode([[], [2]])
    assert torch.equal(cooccurrence_vectors(ids, offsets, vocab_size=4, dim=3), torch.zeros(4, 3))


def test_training_starts_its_embeddings_from_word_vectors(tiny_dataset, tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "model_code" / "train.py"), "--dry-run",
                             "--data-dir", str(tiny_dataset), "--model-dir", str(tmp_path / "model"),
                             "--output-data-dir", str(tmp_path / "out"), "--word-vectors", "ppmi",
                             "--hidden-dim", "8", "--threads", "1", "--quiet"],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert "word vectors:" in result.stdout
    metrics = json.loads((tmp_path / "model" / "metrics.json").read_text())
    assert metrics["hyperparameters"]["word_vectors"] == "ppmi"


@pytest.mark.parametrize("flags", [["--context-window", "0"], ["--word-vectors", "glove"]])
def test_bad_word_vector_flags_are_refused(flags, tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "model_code" / "train.py"), "--dry-run",
                             "--data-dir", str(tmp_path), *flags],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and flags[0] in result.stderr
