"""Generated hostile input against the two handlers that read what strangers send (a short,
repeatable run of scripts/sentiment/checks/fuzz.py's properties; `make fuzz` runs 10,000 bodies per handler).
Any exception other than the inference handlers' InferenceError is a bug, and so is a Lambda
answer outside the documented statuses or without its JSON error and CORS headers."""
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sentiment.checks import fuzz

EXAMPLES = 250
# `sentiment fuzz` holds every crafted review to 1 s; the suite runs beside other work on shared
# cores, so it allows three times that, still far below what the old parser and sentence
# splitter took (5 s for 20,000 characters of "<a ", minutes for 100,000).
TEST_TIME_LIMIT_S = 3.0


@pytest.fixture(scope="module")
def model(tiny_model_dir):
    from sentiment_model import serving

    return serving.model_fn(str(tiny_model_dir))


@pytest.fixture(scope="module")
def double(model):
    from sentiment_model import serving

    return fuzz.EndpointDouble(serving, model)


@pytest.fixture
def handler(double):
    return fuzz.fuzz_handler(double)


def test_inference_handlers_answer_or_refuse_every_generated_body(model):
    from sentiment_model import serving

    @fuzz.fuzz_settings(EXAMPLES, derandomize=True)
    @given(fuzz.inference_cases())
    def explore(case):
        assert fuzz.check_inference(case, serving, model) in fuzz.INFERENCE_STATUSES

    explore()


def test_lambda_handler_answers_every_generated_event_with_a_documented_status(handler, double):
    @fuzz.fuzz_settings(EXAMPLES, derandomize=True)
    @given(fuzz.handler_cases())
    def explore(case):
        fuzz.check_handler(case, handler, double)

    explore()


meaningless_reviews = st.one_of(
    fuzz.joined(st.sampled_from(fuzz.FUNCTION_WORDS)),
    st.text("!?.,;:-'\"()[]…—*#@%", min_size=1, max_size=40),
    fuzz.joined(fuzz.words_of("qxzjkvw")),
    st.text(st.sampled_from("🎬🍿😀☹️✨"), min_size=1, max_size=10),
)


def test_a_review_of_only_stopwords_punctuation_or_unknown_words_still_gets_a_prediction(handler, double):
    """Nothing in it the model knows, yet it is a review: the visitor gets an answer, not an error."""
    @fuzz.fuzz_settings(60, derandomize=True)
    @given(meaningless_reviews)
    def explore(review):
        case = fuzz.HandlerCase({"httpMethod": "POST", "headers": {"Content-Type": "text/plain"}, "body": review},
                                outcome="model")
        assert fuzz.check_handler(case, handler, double) == 200

    explore()


def test_the_fuzz_command_counts_statuses_and_unhandled_exceptions(tiny_model_dir):
    run = subprocess.run([sys.executable, "-m", "sentiment", "fuzz", "--model", str(tiny_model_dir),
                          "--examples", "40", "--crafted-examples", "4", "--time-limit", str(TEST_TIME_LIMIT_S)],
                         check=False, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "inference handlers" in run.stdout and "Lambda handler" in run.stdout and "crafted reviews" in run.stdout
    assert "unhandled exceptions 0" in run.stdout and "target (0 unhandled exceptions): met" in run.stdout
    assert f"target (every crafted review answered within {TEST_TIME_LIMIT_S:g} s): met" in run.stdout


def test_the_fuzz_command_refuses_a_missing_model(tmp_path):
    run = subprocess.run([sys.executable, "-m", "sentiment", "fuzz", "--model", str(tmp_path)],
                         check=False, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "not a model directory" in run.stderr


# ---------------------------------------------------------------------------------------------
# Crafted reviews: bounded time for the shapes that once cost seconds to minutes
# ---------------------------------------------------------------------------------------------

def test_generated_crafted_reviews_are_answered_within_the_time_limit(model):
    from sentiment_model import serving

    @fuzz.fuzz_settings(6, derandomize=True)
    @given(fuzz.crafted_cases)
    def explore(case):
        assert fuzz.check_crafted(case, serving, model, TEST_TIME_LIMIT_S) in fuzz.INFERENCE_STATUSES

    explore()


@pytest.mark.parametrize("shape", list(fuzz.CRAFTED_SHAPES))
def test_each_crafted_shape_at_the_size_limit_is_explained_within_the_time_limit(model, shape):
    """The worst case of each shape: 100,000 characters, the handlers' limit, with an explanation
    (its words' offsets and its sentences read the review again)."""
    from sentiment_model import serving

    review = fuzz.crafted([fuzz.CRAFTED_SHAPES[shape]], fuzz.MAX_REVIEW_CHARS)
    assert fuzz.check_crafted(fuzz.CraftedCase(review, explain=True), serving, model, TEST_TIME_LIMIT_S) == 200


def test_a_crafted_review_over_the_time_limit_is_counted_and_reported_as_a_failure(model, capsys):
    from sentiment_model import serving

    tally = fuzz.Tally()
    tally.record(lambda case: fuzz.check_crafted(case, serving, model, limit_s=0.0),
                 fuzz.CraftedCase("<a " * 100, explain=False))
    assert tally.statuses == {"too slow": 1}
    fuzz.report("crafted reviews", tally, 1.0)
    printed = capsys.readouterr().out
    assert "over the time limit 1" in printed
    assert "TOO SLOW answered in" in printed and "over the 0 s limit" in printed and "<a <a" in printed


def test_the_adversarial_benchmark_prints_each_shape_with_and_without_an_explanation(tiny_model_dir):
    run = subprocess.run([sys.executable, "-m", "sentiment", "fuzz", "--model", str(tiny_model_dir), "--adversarial",
                          "--sizes", "1000,3000", "--runs", "1", "--time-limit", str(TEST_TIME_LIMIT_S)],
                         check=False, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    for shape in fuzz.CRAFTED_SHAPES:
        assert run.stdout.count(f"  {shape} ") == 2, shape  # one line per size
    assert "without explanation" in run.stdout and "with explanation" in run.stdout
    assert f"target (every crafted review answered within {TEST_TIME_LIMIT_S:g} s): met" in run.stdout
