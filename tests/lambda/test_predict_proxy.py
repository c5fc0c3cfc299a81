"""The Lambda proxy against botocore's Stubber: every request it sends is checked against the real
sagemaker-runtime API model, and every failure the endpoint can produce is mapped to the status
and message the API contract promises, always with the CORS headers for an allowed origin."""
import base64
import io
import json
import logging
import time

import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from botocore.response import StreamingBody
from botocore.stub import Stubber
from support import SilentEndpoint

from sentiment.local.api import load_lambda_module

predict_proxy = load_lambda_module()  # lambda/predict_proxy.py, loaded from its file as Lambda does

SITE = "https://d111111abcdef8.cloudfront.net"
ENDPOINT = "sentiment-endpoint"


@pytest.fixture(autouse=True)
def lambda_environment(monkeypatch):
    """The function's environment, and its client built from region and credentials that can
    never reach AWS (the handler builds its own on the first invocation, as at a cold start)."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setattr(predict_proxy, "_client", None)
    monkeypatch.setenv("ENDPOINT_NAME", ENDPOINT)
    monkeypatch.setenv("ALLOWED_ORIGINS", f"{SITE}, http://127.0.0.1:8080")
    monkeypatch.setenv("MAX_REVIEW_CHARS", "100")


@pytest.fixture
def stub():
    with Stubber(predict_proxy.runtime_client()) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def event(body=None, content_type="text/plain", origin=SITE, method="POST", base64_encoded=False):
    headers = {"Origin": origin} if origin else {}
    if content_type:
        headers["Content-Type"] = content_type
    if base64_encoded and body is not None:
        body = base64.b64encode(body if isinstance(body, bytes) else body.encode()).decode()
    return {
        "resource": "/predict", "path": "/predict", "httpMethod": method, "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()}, "queryStringParameters": None,
        "requestContext": {"stage": "prod"}, "body": body, "isBase64Encoded": base64_encoded,
    }


def endpoint_answer(payload):
    data = json.dumps(payload).encode()
    return {"Body": StreamingBody(io.BytesIO(data), len(data)), "ContentType": "application/json"}


def expect_invocation(stub, review, payload, explain=False):
    request = {"review": review, "explain": True} if explain else {"review": review}
    stub.add_response("invoke_endpoint", endpoint_answer(payload), {
        "EndpointName": ENDPOINT, "ContentType": "application/json", "Accept": "application/json",
        "Body": json.dumps(request).encode(),
    })


def call(evt):
    response = predict_proxy.handler(evt, None)
    return response["statusCode"], response["headers"], json.loads(response["body"] or "null")


def assert_cors_for_site(headers):
    assert headers["Access-Control-Allow-Origin"] == SITE
    assert headers["Vary"] == "Origin"


# --- success --------------------------------------------------------------------------------

def test_plain_text_review_is_sent_as_json_and_the_prediction_returned(stub):
    expect_invocation(stub, "A wonderful film.", {"sentiment": "positive", "score": 0.97})
    status, headers, body = call(event("A wonderful film."))
    assert status == 200
    assert body == {"sentiment": "positive", "score": 0.97}
    assert headers["Content-Type"] == "application/json"
    assert_cors_for_site(headers)


def test_json_review_with_charset_is_accepted(stub):
    expect_invocation(stub, "Dull and far too long.", {"sentiment": "negative", "score": 0.08})
    status, _, body = call(event(json.dumps({"review": "Dull and far too long."}),
                                 content_type="application/json; charset=UTF-8"))
    assert (status, body) == (200, {"sentiment": "negative", "score": 0.08})


def test_base64_body_from_a_binary_media_type_is_decoded(stub):
    expect_invocation(stub, "Très bien joué ✨", {"sentiment": "positive", "score": 0.7})
    status, _, _ = call(event("Très bien joué ✨", base64_encoded=True))
    assert status == 200


def test_endpoint_extra_fields_are_not_passed_on(stub):
    """Only the documented fields reach the browser, whatever else the model adds."""
    expect_invocation(stub, "Fine.", {"sentiment": "positive", "score": 0.6, "debug": "internal"})
    assert call(event("Fine."))[2] == {"sentiment": "positive", "score": 0.6}


# --- explanations ---------------------------------------------------------------------------

EXPLANATION = {
    "words": [{"text": "Wonderful", "start": 0, "end": 9, "weight": 2.5}, {"text": "dull", "start": 20, "end": 24, "weight": -1.25}],
    "sentences": [{"start": 0, "end": 10, "probability": 0.99}, {"start": 11, "end": 25, "probability": 0.1}],
}


def test_an_explanation_is_asked_for_only_when_the_caller_asks_and_passed_on(stub):
    review = "Wonderful. The end, dull."
    expect_invocation(stub, review, {"sentiment": "positive", "score": 0.8,
                                     "explanation": {**EXPLANATION, "debug": "internal"}}, explain=True)
    status, _, body = call(event(json.dumps({"review": review, "explain": True}), "application/json"))
    assert status == 200
    assert body == {"sentiment": "positive", "score": 0.8, "explanation": EXPLANATION}
    expect_invocation(stub, review, {"sentiment": "positive", "score": 0.8})
    status, _, body = call(event(json.dumps({"review": review, "explain": False}), "application/json"))
    assert (status, body) == (200, {"sentiment": "positive", "score": 0.8})


@pytest.mark.parametrize("explain", ["true", 1, None, [], {"on": True}])
def test_an_explain_field_that_is_not_a_boolean_is_a_400_without_calling_the_endpoint(stub, explain):
    status, headers, body = call(event(json.dumps({"review": "Fine.", "explain": explain}), "application/json"))
    assert status == 400
    assert body == {"error": 'The "explain" field must be true or false.'}
    assert_cors_for_site(headers)


@pytest.mark.parametrize("explanation", [
    None,
    "words",
    {"words": []},
    {"words": [{"text": "x", "start": 0, "end": 99, "weight": 1.0}], "sentences": []},
    {"words": [{"text": "x", "start": 0.5, "end": 1, "weight": 1.0}], "sentences": []},
    {"words": [{"text": 3, "start": 0, "end": 1, "weight": 1.0}], "sentences": []},
    {"words": [], "sentences": [{"start": 0, "end": 1, "probability": 2}]},
    {"words": [], "sentences": [{"start": 0, "end": 1, "probability": True}]},
])
def test_a_missing_or_malformed_explanation_is_a_502(stub, explanation):
    answer = {"sentiment": "positive", "score": 0.8}
    if explanation is not None:
        answer["explanation"] = explanation
    expect_invocation(stub, "Wonderful. The end, dull.", answer, explain=True)
    status, _, body = call(event(json.dumps({"review": "Wonderful. The end, dull.", "explain": True}), "application/json"))
    assert status == 502 and "could not read" in body["error"]


# --- CORS -----------------------------------------------------------------------------------

def test_other_origins_get_no_allow_origin_header(stub):
    """A page on another site must not be able to read the answer."""
    expect_invocation(stub, "Fine.", {"sentiment": "positive", "score": 0.6})
    _, headers, _ = call(event("Fine.", origin="https://evil.example"))
    assert "Access-Control-Allow-Origin" not in headers
    assert headers["Vary"] == "Origin"


def test_preflight_allows_post_with_content_type_for_an_allowed_origin(stub):
    response = predict_proxy.handler(event(method="OPTIONS", content_type=None), None)
    assert response["statusCode"] == 204
    assert response["headers"]["Access-Control-Allow-Origin"] == SITE
    assert response["headers"]["Access-Control-Allow-Methods"] == "POST, OPTIONS"
    assert response["headers"]["Access-Control-Allow-Headers"] == "Content-Type"


def test_preflight_from_another_origin_allows_nothing(stub):
    response = predict_proxy.handler(event(method="OPTIONS", origin="https://evil.example"), None)
    assert "Access-Control-Allow-Origin" not in response["headers"]
    assert "Access-Control-Allow-Methods" not in response["headers"]


# --- validation: the endpoint is never called (the Stubber fails on any unexpected call) -----

@pytest.mark.parametrize("evt, status, message", [
    (event(""), 400, "empty"),
    (event(None), 400, "empty"),
    (event("   \n\t "), 400, "empty"),
    (event(json.dumps({"review": ""}), "application/json"), 400, "empty"),
    (event("{not json", "application/json"), 400, "not valid JSON"),
    (event(json.dumps(["a review"]), "application/json"), 400, '{"review": "..."}'),
    (event(json.dumps({"text": "a review"}), "application/json"), 400, '{"review": "..."}'),
    (event(json.dumps({"review": 42}), "application/json"), 400, "must be a string"),
    (event("[" * 100_000 + "]" * 100_000, "application/json"), 413, "too long"),
    (event("[" * 2000 + "]" * 2000, "application/json"), 400, "nested too deeply"),
    (event('{"review": "\\ud800"}', "application/json"), 400, "invalid Unicode"),
    (event(b"\xff\xfe bad bytes", base64_encoded=True), 400, "not valid UTF-8"),
    (event("not base64!", base64_encoded=False) | {"isBase64Encoded": True}, 400, "base64"),
    (event("x" * 101), 413, "limit is 100 characters"),
    (event(json.dumps({"review": "x" * 101}), "application/json"), 413, "limit is 100 characters"),
    (event("x" * 10_000), 413, "limit is 100 characters"),
    (event("<review/>", "application/xml"), 415, "text/plain or as application/json"),
    (event("a review", None), 415, "text/plain or as application/json"),
    (event("a review", "text/plain; charset=latin-1"), 415, "UTF-8"),
    (event("a review", method="GET"), 405, "POST"),
])
def test_what_a_caller_can_get_wrong_is_answered_without_calling_the_endpoint(stub, evt, status, message):
    got_status, headers, body = call(evt)
    assert got_status == status
    assert message in body["error"]
    assert_cors_for_site(headers)


def test_a_review_at_exactly_the_limit_is_accepted(stub):
    expect_invocation(stub, "y" * 100, {"sentiment": "negative", "score": 0.4})
    assert call(event("y" * 100))[0] == 200


def test_malformed_events_still_get_a_json_answer():
    for evt in ({}, None, {"httpMethod": 7, "headers": [], "body": 3}, {"httpMethod": "POST", "headers": None},
                {"httpMethod": "POST", "headers": {"Content-Type": "text/plain"}, "body": 3, "isBase64Encoded": True},
                {"httpMethod": "POST", "headers": {"Content-Type": 5}, "body": "fine"}):
        response = predict_proxy.handler(evt, None)
        assert response["statusCode"] in (400, 405, 415)
        assert "error" in json.loads(response["body"])


# --- endpoint failures ------------------------------------------------------------------------

@pytest.mark.parametrize("code, http_status, status, message", [
    ("ModelError", 424, 502, "could not analyse this review"),
    ("ThrottlingException", 400, 503, "busy"),
    ("ModelNotReadyException", 429, 503, "busy"),
    ("ServiceUnavailable", 503, 503, "unavailable"),
    ("ValidationError", 400, 503, "unavailable"),
    ("InternalFailure", 500, 502, "failed to answer"),
    ("InternalDependencyException", 530, 502, "failed to answer"),
])
def test_endpoint_errors_map_to_gateway_statuses(stub, code, http_status, status, message):
    stub.add_client_error("invoke_endpoint", service_error_code=code, service_message="details for operators",
                          http_status_code=http_status)
    got_status, headers, body = call(event("A review."))
    assert got_status == status
    assert message in body["error"]
    assert "details for operators" not in body["error"]
    assert_cors_for_site(headers)
    if status == 503:
        assert headers["Retry-After"].isdigit()


@pytest.mark.parametrize("answer", [
    {"sentiment": "maybe", "score": 0.5},
    {"sentiment": "positive", "score": 1.5},
    {"sentiment": "positive"},
    {"predictions": []},
])
def test_an_unreadable_model_answer_is_a_502(stub, answer):
    expect_invocation(stub, "A review.", answer)
    status, headers, body = call(event("A review."))
    assert status == 502 and "could not read" in body["error"]
    assert_cors_for_site(headers)


def raise_on_send(error):
    def before_send(request, **kwargs):
        raise error
    return before_send


@pytest.mark.parametrize("error, status, message", [
    (ReadTimeoutError(endpoint_url="https://runtime.sagemaker.us-east-1.amazonaws.com"), 504, "too long to answer"),
    (EndpointConnectionError(endpoint_url="https://runtime.sagemaker.us-east-1.amazonaws.com"), 503, "cannot be reached"),
])
def test_transport_failures_after_retries_map_to_503_and_504(monkeypatch, error, status, message):
    """Raised where the HTTP request would be sent, after signing, so botocore's retries run too."""
    events = predict_proxy.runtime_client().meta.events
    monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, context: 0)
    hook = raise_on_send(error)
    events.register("before-send.sagemaker-runtime.InvokeEndpoint", hook)
    try:
        got_status, headers, body = call(event("A review."))
    finally:
        events.unregister("before-send.sagemaker-runtime.InvokeEndpoint", hook)
    assert got_status == status and message in body["error"]
    assert_cors_for_site(headers)


def test_missing_endpoint_name_is_a_503(stub, monkeypatch):
    monkeypatch.delenv("ENDPOINT_NAME")
    assert call(event("A review."))[0] == 503


# --- logging ---------------------------------------------------------------------------------

def test_review_text_is_never_logged(stub, caplog):
    secret = "my private opinion about this film"
    expect_invocation(stub, secret, {"sentiment": "positive", "score": 0.9})
    with caplog.at_level(logging.INFO, logger="predict_proxy"):
        call(event(secret))
        call(event(secret + "x" * 100))
    assert secret not in caplog.text
    first = json.loads(caplog.records[0].getMessage())
    assert first["status"] == 200 and first["review_chars"] == len(secret) and first["latency_ms"] >= 0
    assert json.loads(caplog.records[1].getMessage())["status"] == 413


# --- attempts and the deadline, against an endpoint that accepts and never answers -----------

@pytest.fixture
def silent_endpoint():
    endpoint = SilentEndpoint()
    yield endpoint
    endpoint.close()


def silent_environment(endpoint, attempts):
    return {"ENDPOINT_NAME": ENDPOINT, "ALLOWED_ORIGINS": SITE, "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": endpoint.url,
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
            "SAGEMAKER_CONNECT_TIMEOUT_S": "1", "SAGEMAKER_READ_TIMEOUT_S": "0.3",
            "SAGEMAKER_MAX_ATTEMPTS": str(attempts)}


class Context:
    """A Lambda context with this much time left."""

    def __init__(self, remaining_s):
        self.deadline = time.monotonic() + remaining_s

    def get_remaining_time_in_millis(self):
        return int((self.deadline - time.monotonic()) * 1000)


TIMEOUT_ANSWER = {"error": "The sentiment model took too long to answer. Please try again in a moment."}


@pytest.mark.parametrize("attempts", [1, 2, 3])
def test_max_attempts_counts_every_attempt_and_the_caller_gets_our_504(silent_endpoint, attempts):
    """SAGEMAKER_MAX_ATTEMPTS=N sends the request N times, not N + 1 (botocore's max_attempts
    counts retries only): the stacks' worst case rests on it."""
    environment = silent_environment(silent_endpoint, attempts)
    response = predict_proxy.handle(event("A review."), Context(30), environment, predict_proxy.build_client(environment))

    assert silent_endpoint.requests == attempts
    assert response["statusCode"] == 504
    assert json.loads(response["body"]) == TIMEOUT_ANSWER
    assert response["headers"]["Content-Type"] == "application/json"
    assert_cors_for_site(response["headers"])


def test_no_retry_starts_that_could_not_end_before_the_deadline(silent_endpoint):
    """3 attempts allowed, but the deadline 1 s away (after the margin for answering): the first
    attempt is made, a retry (up to 1 s of back-off, then up to 1 + 0.3 s) could not end in
    time, so none starts and the caller gets our 504 at once."""
    environment = silent_environment(silent_endpoint, 3)
    client = predict_proxy.build_client(environment)
    started = time.monotonic()
    response = predict_proxy.handle(event("A review."), Context(predict_proxy.ANSWER_MARGIN_S + 1), environment, client)

    assert silent_endpoint.requests == 1
    assert time.monotonic() - started < 2
    assert (response["statusCode"], json.loads(response["body"])) == (504, TIMEOUT_ANSWER)


def test_the_deadline_is_api_gateway_timeout_when_the_function_has_longer():
    assert predict_proxy.answer_deadline(Context(900), 100.0) == 100.0 + 29 - predict_proxy.ANSWER_MARGIN_S
    assert predict_proxy.answer_deadline(Context(10), 100.0) == pytest.approx(100.0 + 10 - predict_proxy.ANSWER_MARGIN_S,
                                                                              abs=0.01)
    assert predict_proxy.answer_deadline(None, 100.0) == 100.0 + 29 - predict_proxy.ANSWER_MARGIN_S
