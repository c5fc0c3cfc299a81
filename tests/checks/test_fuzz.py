"""Generated hostile input against the two handlers that read what strangers send (a short,
repeatable run of scripts/fuzz.py's properties; `make fuzz` runs 10,000 bodies per handler).
Any exception other than the inference handlers' InferenceError is a bug, and so is a Lambda
answer outside the documented statuses or without its JSON error and CORS headers."""
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sentiment.checks import fuzz

EXAMPLES = 250


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
                          "--examples", "40"], check=False, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "inference handlers" in run.stdout and "Lambda handler" in run.stdout
    assert "unhandled exceptions 0" in run.stdout and "target (0 unhandled exceptions): met" in run.stdout


def test_the_fuzz_command_refuses_a_missing_model(tmp_path):
    run = subprocess.run([sys.executable, "-m", "sentiment", "fuzz", "--model", str(tmp_path)],
                         check=False, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "not a model directory" in run.stderr
