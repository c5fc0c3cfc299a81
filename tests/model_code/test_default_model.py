"""The committed default model on what visitors type: negated and contrasted phrases answered as
a reader would, through the endpoint's own handlers, and explanations that mark the negation.
These check the artifact in models/default (retrain it and they say whether the new one still
reads these phrases); docs/model.md lists the phrases it still gets wrong."""
from __future__ import annotations

import json

import pytest

from sentiment.paths import DEFAULT_MODEL
from sentiment_model import serving
from sentiment_model.artifact import load_predictor
from sentiment_model.explain import explain

pytestmark = pytest.mark.skipif(not (DEFAULT_MODEL / "model.pt").is_file(), reason="models/default is not trained")

# Phrases a visitor types, with the label a reader gives them.
READ_AS_A_READER_WOULD = [
    ("Not bad.", 1),
    ("It's not terrible.", 1),
    ("It was not boring for a second.", 1),
    ("I wasn't disappointed.", 1),
    ("Not as bad as the critics said.", 1),
    ("Clumsy dialogue, yet the whole thing is oddly moving.", 1),
    ("Not great.", 0),
    ("Hardly a masterpiece.", 0),
]


@pytest.fixture(scope="module")
def handlers():
    return serving.model_fn(str(DEFAULT_MODEL))


@pytest.fixture(scope="module")
def predictor():
    return load_predictor(DEFAULT_MODEL)


@pytest.mark.parametrize(("phrase", "label"), READ_AS_A_READER_WOULD)
def test_negated_and_contrasted_phrases_get_the_readers_label_through_the_handlers(handlers, phrase, label):
    body = json.dumps({"review": phrase})
    answer, _ = serving.output_fn(serving.predict_fn(serving.input_fn(body, "application/json"), handlers),
                                  "application/json")
    answered = json.loads(answer)
    assert answered["sentiment"] == ("positive" if label else "negative"), f"{phrase!r}: {answered}"


@pytest.mark.parametrize(("phrase", "negation_sign"), [("Not bad.", 1), ("Not great.", -1),
                                                       ("It was not boring for a second.", 1)])
def test_the_explanation_of_a_negated_phrase_marks_the_negation(predictor, phrase, negation_sign):
    probability = predictor.predict([phrase])[0]
    weights = {word["text"].lower(): word["weight"] for word in explain(predictor, phrase, probability)["words"]}
    # "not" itself carries weight towards the phrase's reading, and a good share of it: the
    # explanation shows that the negation turned the phrase round, not only the word it negates.
    assert negation_sign * weights["not"] > 0
    assert abs(weights["not"]) >= 0.25 * max(abs(weight) for weight in weights.values())
