"""Endpoint evaluation: against the local stack through the API and through the SageMaker runtime
API (boto3 pointed at the local model server), and with botocore's Stubber for the exact
InvokeEndpoint requests and for errors."""
import io
import json

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from sentiment.data.reviews import Review, load_reviews
from sentiment.evaluation import endpoint as evaluate_endpoint
from sentiment.evaluation.metrics import compute_metrics
from sentiment.local.servers import free_port
from sentiment.local.stack import Stack


@pytest.fixture(scope="module")
def stack(stack_model):
    with Stack(stack_model, free_port(), free_port(), free_port(), quiet=True) as running:
        yield running


@pytest.fixture
def fake_credentials(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def expected_accuracy(model_dir, data, count):
    """The accuracy the model itself gives on the reviews the command sends."""
    from sentiment_model.artifact import load_predictor

    sample = evaluate_endpoint.balanced_sample(load_reviews(str(data), "test", progress=False), count)
    scores = load_predictor(model_dir).predict([r.text for r in sample])
    return compute_metrics([r.label for r in sample], scores)["accuracy"]


def test_balanced_sample_takes_both_labels_evenly_and_alternates():
    reviews = [Review(f"n{i}", 0, f"n{i}") for i in range(10)] + [Review(f"p{i}", 1, f"p{i}") for i in range(30)]
    sample = evaluate_endpoint.balanced_sample(reviews, 6)
    assert [r.id for r in sample] == ["n0", "p0", "n3", "p10", "n6", "p20"]
    lopsided = evaluate_endpoint.balanced_sample(reviews, 30)
    assert sum(r.label == 0 for r in lopsided) == 10 and len(lopsided) == 30


def test_the_api_answers_every_review_with_the_models_accuracy(stack, stack_model, tiny_imdb, tmp_path, capsys):
    args = evaluate_endpoint.parse_args(["--api-url", stack.api_url, "--data", str(tiny_imdb), "-n", "100",
                                         "--concurrency", "8", "--quiet", "--out", str(tmp_path / "figures.json")])
    summary = evaluate_endpoint.run(args)
    assert summary["answered"] == 100 and summary["errors"] == 0
    assert summary["metrics"]["accuracy"] == pytest.approx(expected_accuracy(stack_model, tiny_imdb, 100), abs=1e-9)
    assert 0 < summary["latency_ms"]["p50"] <= summary["latency_ms"]["p99"]
    printed = capsys.readouterr().out
    assert "accuracy" in printed and "p99" in printed and "errors     0" in printed
    assert json.loads((tmp_path / "figures.json").read_text())["answered"] == 100


def test_the_runtime_api_is_reached_through_the_standard_endpoint_url_setting(stack, tiny_imdb, fake_credentials,
                                                                            monkeypatch, capsys):
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", stack.model_url)
    assert evaluate_endpoint.main(["--endpoint-name", "local-sentiment", "--data", str(tiny_imdb), "-n", "40",
                                   "--quiet"]) == 0
    assert "on 40 answered reviews" in capsys.readouterr().out


def test_explanations_are_asked_for_only_with_the_flag(stack, tiny_imdb):
    """Explanations cost more than predictions: an evaluation measures them only when told to."""
    sent = []
    scorer = evaluate_endpoint.ApiScorer(stack.api_url, 30)
    plain = scorer("A wonderful film.")
    explained_scorer = evaluate_endpoint.ApiScorer(stack.api_url, 30, explain=True)
    assert explained_scorer("A wonderful film.") == plain
    for explain in (False, True):
        args = evaluate_endpoint.parse_args(["--api-url", stack.api_url, "--data", str(tiny_imdb), "-n", "2", "--quiet"]
                                            + (["--explain"] if explain else []))
        sent.append(evaluate_endpoint.make_scorer(args).explain)
    assert sent == [False, True]
    with pytest.raises(ValueError, match="no explanation"):
        evaluate_endpoint.read_answer(b'{"sentiment": "positive", "score": 0.9}', explain=True)


def test_an_unreachable_api_is_one_line_and_exit_code_2(tiny_imdb, capsys):
    url = f"http://127.0.0.1:{free_port()}"
    assert evaluate_endpoint.main(["--api-url", url, "--data", str(tiny_imdb), "-n", "4", "--quiet"]) == 2
    assert capsys.readouterr().err.strip() == f"error: {url}/predict: no review was answered (ConnectionError)"


def test_bad_data_is_one_line_and_exit_code_2(tmp_path, capsys):
    assert evaluate_endpoint.main(["--api-url", "http://127.0.0.1:9", "--data", str(tmp_path / "none"), "--quiet"]) == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'none'}: not found"


def test_invoke_endpoint_requests_and_model_errors_with_the_stubber(fake_credentials, capsys):
    """Each review is one InvokeEndpoint with {"review": ...} as JSON; a ModelError is counted, the
    run goes on, and the exit status says not everything was answered."""
    client = boto3.client("sagemaker-runtime", region_name="us-east-1")
    reviews = [Review("Great fun.", 1, "1"), Review("Dreadful.", 0, "2"), Review("Dull.", 0, "3")]
    answers = [{"sentiment": "positive", "score": 0.9}, None, {"sentiment": "negative", "score": 0.2}]
    with Stubber(client) as stub:
        for review, answer in zip(reviews, answers):
            expected = {"EndpointName": "sentiment", "ContentType": "application/json", "Accept": "application/json",
                        "Body": json.dumps({"review": review.text}).encode()}
            if answer is None:
                stub.add_client_error("invoke_endpoint", "ModelError", "Received client error (400)", 424,
                                      expected_params=expected)
            else:
                body = json.dumps(answer).encode()
                stub.add_response("invoke_endpoint", {"Body": StreamingBody(io.BytesIO(body), len(body)),
                                                      "ContentType": "application/json"}, expected)
        scorer = evaluate_endpoint.EndpointScorer("sentiment", client)
        outcomes = evaluate_endpoint.send_all(scorer, reviews, concurrency=1, progress=False)
        stub.assert_no_pending_responses()
    summary = evaluate_endpoint.summarize(outcomes, 1.0)
    assert summary["answered"] == 2 and summary["error_kinds"] == {"ModelError": 1}
    assert summary["metrics"]["accuracy"] == 1.0  # of the two answered: positive, negative
    assert "errors     1 (ModelError x1)" in evaluate_endpoint.format_summary(summary, scorer.target, 1)


def test_target_flags_are_exclusive_and_required(capsys):
    with pytest.raises(SystemExit):
        evaluate_endpoint.parse_args(["--endpoint-name", "a", "--api-url", "http://b"])
    with pytest.raises(SystemExit):
        evaluate_endpoint.parse_args([])
