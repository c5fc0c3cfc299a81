"""The n-gram part: exact keys, presence not counts, and a fit that learns which n-grams lean
which way."""
import numpy as np
import torch

from sentiment_model.network import pad_batch
from sentiment_model.ngrams import NgramScorer, batch_keys, fit_ngram_scorer, review_keys

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


def _scorer(keys, weights, bias):
    scorer = NgramScorer(len(keys), V, order=2)
    scorer.keys.copy_(torch.tensor(keys))
    scorer.weights.copy_(torch.tensor(weights))
    scorer.bias.data.fill_(bias)
    return scorer


def test_a_model_with_the_short_text_part_combines_three_logits_and_survives_saving(tmp_path):
    from sentiment_model.network import LengthAwareCombiner, ModelConfig, SentimentLSTM

    model = SentimentLSTM(ModelConfig(vocab_size=V, embedding_dim=4, hidden_dim=3)).eval()
    whole, short = _scorer([5, 7], [0.5, -1.0], 0.1), _scorer([5, 8], [2.0, 3.0], -0.2)
    combiner = LengthAwareCombiner(parts=3)
    combiner.coefficients.data.copy_(torch.tensor([1.0, 0.5, 0.8, -0.3, 0.2, 1.5, 0.1, -0.4]))
    model.attach_ngrams(whole, combiner, short)
    assert model.config.ngram_features == 2 and model.config.short_ngram_features == 2
    ids, lengths = pad_batch([[5, 8, 9], [7] * 30, [6]])
    s = 20 / (20 + lengths.float())
    with torch.no_grad():
        expected = ((1.0 + 0.5 * s) * model.lstm_logits(ids, lengths) + (0.8 - 0.3 * s) * whole(ids, lengths)
                    + (0.2 + 1.5 * s) * short(ids, lengths) + 0.1 - 0.4 * s)
        assert torch.allclose(model(ids, lengths), expected)
    # The configuration says how big each part is, so a saved model loads into the same shape.
    model.config.save(tmp_path / "config.json")
    again = SentimentLSTM(ModelConfig.load(tmp_path / "config.json")).eval()
    again.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert torch.equal(again(ids, lengths), model(ids, lengths))
    # A combining layer must match the parts it combines.
    try:
        model.attach_ngrams(whole, LengthAwareCombiner(parts=2), short)
    except ValueError as error:
        assert "2 parts" in str(error)
    else:
        raise AssertionError("a two-part combining layer was accepted for three parts")


def test_models_made_before_the_short_text_part_load_with_two_parts(tmp_path):
    from sentiment_model.network import ModelConfig, SentimentLSTM

    old = {"vocab_size": V, "embedding_dim": 4, "hidden_dim": 3, "ngram_features": 2, "ngram_order": 2}
    (tmp_path / "config.json").write_text(__import__("json").dumps(old))
    model = SentimentLSTM(ModelConfig.load(tmp_path / "config.json"))
    assert model.config.short_ngram_features == 0 and not hasattr(model, "short_ngrams")
    assert model.combiner.parts == 2 and model.combiner.coefficients.shape == (6,)
