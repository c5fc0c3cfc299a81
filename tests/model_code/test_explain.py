"""Explanations (model_code/sentiment_model/explain.py): every weight sits on the visitor's own word, at offsets
that point into the text exactly as sent; words the model does not read are left out; the
weights add up to what the model's logit says; the contract's shape, and bad requests refused."""
import gzip
import json
from itertools import islice

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from support import SHARED_DATA

from sentiment_model import serving
from sentiment_model.artifact import load_predictor
from sentiment_model.explain import explain, sentence_spans, token_attributions
from sentiment_model.preprocessing import UNKNOWN_ID, Encoder, TextSettings, Tokenizer, strip_html

MARKUP_AND_ENTITIES = [
    "This movie was <b>GREAT</b>!<br /><br />I'd watch it again... 10/10",
    "Worst. Film. Ever.<br/>Don't bother &amp; don&#39;t look back &lt;3",
    "R&B soundtrack &#8212; caf\u00e9 scenes, na\u00efve plot, 3<4 stars",
    "<i>Casablanca</i> it isn\u2019t<br>but the <a href='x'>cast</a> tries",
    "STRASSE Stra\u00dfe \u0130stanbul \uff37\uff49\uff44\uff45 &ampwonderful &#x41;wful",
    "<script>var a = '&amp;';</script> fine <!-- a comment --> <style>p {}</style>end",
    "if a<b then it's <: not fine & dandy\r\nsecond line",
]


@pytest.fixture(scope="module")
def predictor(stack_model):
    return load_predictor(stack_model)


def served(body, content_type="application/json", model=None):
    answer, _ = serving.output_fn(serving.predict_fn(serving.input_fn(body, content_type), model),
                                    "application/json")
    return json.loads(answer)


def normalised(fragment: str) -> str:
    """What the default pipeline reads in a piece of the original text."""
    return strip_html(fragment).casefold().replace("\u2019", "'")


@pytest.mark.parametrize("review", MARKUP_AND_ENTITIES)
def test_each_token_offset_points_at_the_text_it_was_read_from(review):
    tokenizer = Tokenizer(TextSettings())
    spans = tokenizer.spans(review)
    assert spans is not None
    assert [word for word, _, _ in spans] == tokenizer(review)
    for word, start, end in spans:
        assert word in normalised(review[start:end]), (word, review[start:end])
    ends = [end for _, _, end in spans]
    assert ends == sorted(ends)


def test_offsets_cover_markup_the_visitor_wrote_inside_a_word():
    review = "I don&#39;t like it &ampwonderful"
    spans = Tokenizer(TextSettings()).spans(review)
    shown = {word: review[start:end] for word, start, end in spans}
    assert shown["don't"] == "don&#39;t"
    assert shown["wonderful"] == "wonderful"


PIECES = list("ab C\u00df\u0130\u2019'.<>/&;#x9 \n") + ["<br />", "&amp;", "&amp", "<i>", "</i>", "&#39;", "<!--",
                                                            "-->", "<script>", "</script>", "<b x='&lt;'>"]


@given(st.lists(st.sampled_from(PIECES), max_size=40).map("".join))
@settings(max_examples=300, deadline=None)
def test_offsets_agree_with_the_tokenizer_on_any_text(review):
    for mode in (TextSettings(), TextSettings.seed(("a",))):
        tokenizer = Tokenizer(mode)
        spans = tokenizer.spans(review)
        if spans is None:  # allowed, and then explanations list no words
            continue
        assert [word for word, _, _ in spans] == tokenizer(review)
        for word, start, end in spans:
            assert 0 <= start < end <= len(review)
            if mode.mode == "default":
                assert word in normalised(review[start:end])


def test_every_imdb_test_review_maps_back_to_its_text():
    source = SHARED_DATA / "imdb" / "test.jsonl.gz"
    if not source.is_file():
        pytest.skip("shared IMDb data not available")
    with gzip.open(source, "rt", encoding="utf-8") as handle:
        reviews = [json.loads(line)["text"] for line in islice(handle, 0, 25000, 10)]
    for settings_ in (TextSettings(), TextSettings.seed(("the", "a", "and"))):
        tokenizer = Tokenizer(settings_)
        unmapped = [review for review in reviews if tokenizer.spans(review) is None]
        assert unmapped == [], f"{settings_.mode}: {len(unmapped)} of {len(reviews)} reviews"


def test_truncated_ids_keep_their_offsets():
    encoder = Encoder(TextSettings(max_tokens=6), ["one", "two", "three"])
    review = "one two three one two three one two three"
    ids, spans = encoder.encode_with_spans(review)
    assert ids == encoder.encode(review)
    assert [review[start:end] for start, end in spans] == ["one", "two", "three", "one", "two", "three"]
    assert spans[3][0] == review.index("one two three", 25), "the tail comes from the end of the review"


def test_unknown_words_and_the_truncated_middle_are_left_out(predictor):
    review = "wonderful zxqvbnmw film"
    words = [word["text"] for word in explain(predictor, review, 0.5)["words"]]
    assert "zxqvbnmw" not in words
    assert "wonderful" in words
    limit = predictor.encoder.settings.max_tokens
    long_review = " ".join(["good"] * limit + ["middle"] + ["bad"] * limit)
    explained = explain(predictor, long_review, 0.5)["words"]
    assert len(explained) == limit
    assert "middle" not in {word["text"] for word in explained}


def test_the_explanation_has_the_documented_shape(predictor):
    review = "A wonderful film. The ending was awful!<br /><br />Still, I would watch it again."
    answer = served(json.dumps({"review": review, "explain": True}), model=predictor)
    assert set(answer) == {"sentiment", "score", "explanation"}
    assert set(answer["explanation"]) == {"words", "sentences"}
    for word in answer["explanation"]["words"]:
        assert set(word) == {"text", "start", "end", "weight"}
        assert review[word["start"]: word["end"]] == word["text"]
        assert isinstance(word["weight"], float)
    sentences = answer["explanation"]["sentences"]
    assert [review[s["start"]: s["end"]] for s in sentences] == [
        "A wonderful film.", "The ending was awful!", "Still, I would watch it again."]
    assert all(0.0 <= s["probability"] <= 1.0 for s in sentences)


def test_the_model_weighs_clear_words_the_right_way(predictor):
    explained = explain(predictor, "A wonderful film, but an awful ending.", 0.5)
    weights = {word["text"]: word["weight"] for word in explained["words"]}
    assert weights["wonderful"] > 0
    assert weights["awful"] < 0
    sentences = explain(predictor, "A wonderful, moving film. An awful, boring ending.", 0.5)["sentences"]
    assert sentences[0]["probability"] > 0.5 > sentences[1]["probability"]


def test_explained_and_unexplained_scores_agree(predictor):
    review = "Not the best film of the year, but charming, funny in places and well worth a rainy afternoon."
    plain = served(json.dumps({"review": review}), model=predictor)
    explained = served(json.dumps({"review": review, "explain": True}), model=predictor)
    assert "explanation" not in plain
    assert explained["score"] == plain["score"]
    assert explained["sentiment"] == plain["sentiment"]
    assert served(json.dumps({"review": review, "explain": False}), model=predictor) == plain


def test_a_one_sentence_review_gets_one_sentence_with_its_own_score(predictor):
    answer = served(json.dumps({"review": "  A wonderful film  ", "explain": True}), model=predictor)
    assert answer["explanation"]["sentences"] == [{"start": 2, "end": 18, "probability": answer["score"]}]


def test_only_json_single_reviews_are_explained(predictor):
    listed = served(json.dumps({"reviews": ["A wonderful film."], "explain": False}), model=predictor)
    assert "explanation" not in listed["predictions"][0]
    line = serving.output_fn(serving.predict_fn(serving.input_fn(
        json.dumps({"review": "A wonderful film.", "explain": True}) + "\n", "application/jsonlines"), predictor))[0]
    assert "explanation" not in json.loads(line)
    text = served(b"A wonderful film.", "text/plain", model=predictor)
    assert "explanation" not in text


@pytest.mark.parametrize("body, message", [
    ({"review": "good", "explain": "yes"}, '"explain" must be true or false, got a string'),
    ({"review": "good", "explain": 1}, '"explain" must be true or false, got a number'),
    ({"review": "good", "explain": None}, '"explain" must be true or false, got null'),
    ({"review": "good", "explain": [True]}, '"explain" must be true or false, got an array'),
    ({"reviews": ["good"], "explain": True}, '"explain" works with one "review", not with "reviews"'),
])
def test_a_bad_explain_field_is_refused_with_400(body, message):
    with pytest.raises(serving.InferenceError) as caught:
        serving.input_fn(json.dumps(body), "application/json")
    assert caught.value.status_code == 400
    assert caught.value.message == message


@pytest.mark.parametrize("review, sentences", [
    ("One. Two! Three? Four", ["One.", "Two!", "Three?", "Four"]),
    ("Great.<br /><br />Awful\nFine", ["Great.", "Awful", "Fine"]),
    ("Mr. Costner stars, e.g. in this. \"Quoted.\" Then", ["Mr. Costner stars, e.g. in this.", "\"Quoted.\"", "Then"]),
    ("Wait... what?! 10/10.", ["Wait... what?!", "10/10."]),
    ("   ", []),
])
def test_sentences_are_cut_at_their_ends_with_offsets_into_the_review(review, sentences):
    assert [review[start:end] for start, end in sentence_spans(review)] == sentences


@pytest.mark.parametrize("unit", ["a. ", "Mr. ", "...", ".", "A. ", "e.g.", "x" * 50 + ". ", "!?\u2026\") "])
def test_sentence_splitting_costs_time_in_proportion_to_the_review(unit):
    """"a. " repeated to 20,000 characters took 17.8 s to explain and "Mr. " 2.6 s: the splitter
    looked back to the start of the sentence at each full stop, and a run of full stops was tried
    from each of its characters. 100,000 characters of any of these now take milliseconds."""
    import time

    review = (unit * (100_000 // len(unit) + 1))[:100_000]
    started = time.perf_counter()
    spans = sentence_spans(review)
    assert time.perf_counter() - started < 0.5, unit
    assert all(0 <= start < end <= len(review) for start, end in spans)


def test_a_review_of_more_sentences_than_the_limit_keeps_the_rest_as_its_last():
    from sentiment_model.explain import MAX_SENTENCES

    review = "Good. " * (MAX_SENTENCES + 500)
    spans = sentence_spans(review)
    assert len(spans) == MAX_SENTENCES
    assert [review[start:end] for start, end in spans[:-1]] == ["Good."] * (MAX_SENTENCES - 1)
    assert review[spans[-1][0]: spans[-1][1]] == " ".join(["Good."] * 501)


def logit(model, ids, embedded=None):
    tokens, lengths = torch.tensor([ids]), torch.tensor([len(ids)])
    with torch.no_grad():
        return model(tokens, lengths, packed=False, embedded=embedded)[0].item()


def test_weights_add_up_to_the_logit_against_the_baseline(predictor):
    """Completeness: integrated gradients' shares add up to the LSTM's change from the baseline
    (unknown words kept, known ones zeroed), and the n-gram part's shares to its whole scaled
    logit minus its bias. A check that the weights are the model's own."""
    model = predictor.model
    ids = predictor.encoder.encode("A wonderful film, but an awful ending and a dull middle.")
    ids = [i for i in ids if i != UNKNOWN_ID]
    tokens = torch.tensor([ids])
    lengths = torch.tensor([len(ids)])
    expected = logit(model, ids) - logit(model, ids, torch.zeros(1, len(ids), model.config.embedding_dim))
    if model.config.ngram_features:
        with torch.no_grad():
            for scorer, scale in zip(model.ngram_scorers(), model.combiner.scales(lengths)[1:]):
                expected += scale.item() * (scorer(tokens, lengths).item() - scorer.bias.item())
    total = sum(token_attributions(model, ids, steps=32))
    assert total == pytest.approx(expected, rel=0.05, abs=0.05)


def test_the_ngram_part_shares_each_weight_over_its_words_and_occurrences():
    from sentiment_model.ngrams import NgramScorer

    scorer = NgramScorer(3, 60, order=2)
    # "5" alone, the pair (5, 17), and the pair (17, 23).
    scorer.keys.copy_(torch.tensor([5, 60 + 5 * 60 + 17, 60 + 17 * 60 + 23]))
    scorer.weights.copy_(torch.tensor([1.0, 2.0, -4.0]))
    shares = scorer.token_shares([5, 17, 23, 5])
    # "5" occurs twice: 0.5 each; (5, 17): 1 to each word; (17, 23): -2 to each word.
    assert shares.tolist() == pytest.approx([1.5, -1.0, -2.0, 0.5])
    ids, lengths = torch.tensor([[5, 17, 23, 5]]), torch.tensor([4])
    assert shares.sum().item() == pytest.approx((scorer(ids, lengths) - scorer.bias).item())


def test_explanations_computed_together_match_each_review_explained_alone(predictor):
    """The model server explains concurrent requests in one gradient pass (explain_many): padding
    a review into a batch must not change its words' weights beyond float rounding, nor its
    sentences, and the weights stay in the order of the reviews given."""
    from sentiment_model.explain import EXPLAIN_BATCH, explain_many

    reviews = ["Awful. But the music was wonderful!", "A wonderful, moving film.",
               "Dull plot. Flat acting. I left early.", "zzqx", "Not bad at all, and the cast is superb. "
               "The ending drags, but the first hour is a joy to watch."] * 3
    scores = predictor.predict(reviews)
    together = explain_many(predictor, reviews, scores)
    assert len(reviews) > EXPLAIN_BATCH  # more than one shared gradient pass, and one review of its own
    for review, score, answer in zip(reviews, scores, together):
        lone = explain(predictor, review, score)
        assert [word["text"] for word in answer["words"]] == [word["text"] for word in lone["words"]]
        assert [word["weight"] for word in answer["words"]] == pytest.approx([word["weight"] for word in lone["words"]],
                                                                             abs=2e-4)
        assert [(s["start"], s["end"]) for s in answer["sentences"]] == [(s["start"], s["end"]) for s in lone["sentences"]]
        assert [s["probability"] for s in answer["sentences"]] == pytest.approx(
            [s["probability"] for s in lone["sentences"]], abs=1e-5)
