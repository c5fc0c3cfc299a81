"""API Gateway (REST, proxy integration) handler for `POST /predict`.

The handler is thin: it turns the proxy event into a validated review (pure functions below),
asks the SageMaker endpoint for its sentiment, and answers with the documented status, a JSON
body and the CORS headers for the caller's origin; every status and field is docs/api.md. A
request with "explain": true has the endpoint's explanation checked and passed on. Review text
is never logged; each request logs one line with the review's length, the status and the
latency.

Environment:
    ENDPOINT_NAME      the SageMaker endpoint to invoke
    ALLOWED_ORIGINS    comma-separated exact origins that may call the API from a browser
    MAX_REVIEW_CHARS   longest review accepted (default 20000); longer ones get 413
    SAGEMAKER_CONNECT_TIMEOUT_S, SAGEMAKER_READ_TIMEOUT_S, SAGEMAKER_MAX_ATTEMPTS
                       the client's timeouts and its attempts in all, the first one included
                       (botocore's total_max_attempts; defaults 2 s, 10 s, 2), read once at
                       cold start

Timeouts: API Gateway gives up on the integration after 29 s and answers its own 504. The worst
case here, every attempt running into both timeouts plus botocore's back-off between them (at
most 1 s before the second attempt, 2 s before the third), must end well before that, so that a
caller gets our 504 {"error": "The sentiment model took too long to answer. ..."} and the line
is logged; the stacks set the variables per endpoint mode and tests/stacks checks the sum. As a
guard, a retry starts only if it could end, back-off included, before this invocation's
deadline: 29 s or the function's remaining time, whichever ends first, less ANSWER_MARGIN_S;
when it could not, the caller gets the last attempt's own error.
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import time
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

DEFAULT_MAX_REVIEW_CHARS = 20_000
# JSON may spell one character as a 12-byte surrogate-pair escape; anything bigger than this is
# refused before it is decoded or parsed.
MAX_BODY_BYTES_PER_CHAR = 12
MAX_BODY_SLACK_BYTES = 4096
PREFLIGHT_MAX_AGE_S = 600
RETRY_AFTER_S = 5

# API Gateway's integration timeout (REST APIs: 29 s).
GATEWAY_TIMEOUT_S = 29.0
# Left free at the end of an invocation: for answering, and for what API Gateway counted before
# the handler started (a cold start's init, building the client).
ANSWER_MARGIN_S = 3.0

logger = logging.getLogger("predict_proxy")

# When the endpoint's answer must be in (time.monotonic()), set by `handle` for the invocation it
# runs; a context variable because the local API runs invocations on several threads at once.
_answer_deadline: ContextVar[float | None] = ContextVar("answer_deadline", default=None)


def client_config(environ) -> Config:
    """Timeouts, attempts and pool of the client, from the function's environment."""
    return Config(
        connect_timeout=float(environ.get("SAGEMAKER_CONNECT_TIMEOUT_S", "2")),
        read_timeout=float(environ.get("SAGEMAKER_READ_TIMEOUT_S", "10")),
        # total_max_attempts counts the first try; botocore's max_attempts would count retries only.
        retries={"mode": "standard", "total_max_attempts": int(environ.get("SAGEMAKER_MAX_ATTEMPTS", "2"))},
        max_pool_connections=int(environ.get("SAGEMAKER_MAX_POOL_CONNECTIONS", "32")),
        tcp_keepalive=True,
    )


def max_backoff_s(attempts: int) -> float:
    """The longest botocore's standard retry mode waits after attempt number `attempts` (its
    truncated exponential back-off for throttling errors; other errors wait a twentieth of it)."""
    return min(2.0 ** (attempts - 1), 20.0)


def answer_deadline(context, now: float) -> float:
    """The invocation's deadline: API Gateway's timeout or the function's remaining time (when the
    context tells it), whichever ends first, less the margin for answering."""
    budget_s = GATEWAY_TIMEOUT_S
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining_ms):
        budget_s = min(budget_s, remaining_ms() / 1000)
    return now + budget_s - ANSWER_MARGIN_S


def stop_retrying_past_deadline(attempt_s: float, attempts: int, **kwargs) -> bool | None:
    """A needs-retry handler that runs before botocore's own: False (no retry) when one more
    attempt of up to attempt_s, after the longest back-off, could end after the deadline; None
    leaves the decision to botocore."""
    deadline = _answer_deadline.get()
    if deadline is not None and time.monotonic() + max_backoff_s(attempts) + attempt_s > deadline:
        return False
    return None


def build_client(environ):
    """A sagemaker-runtime client for this environment (credentials, region and endpoint URL
    from it where it names them, else boto3's own lookup)."""
    session = boto3.session.Session(
        aws_access_key_id=environ.get("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=environ.get("AWS_SECRET_ACCESS_KEY"),
        aws_session_token=environ.get("AWS_SESSION_TOKEN"),
        region_name=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION"),
    )
    config = client_config(environ)
    client = session.client("sagemaker-runtime", endpoint_url=environ.get("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"),
                            config=config)
    client.meta.events.register_first(
        "needs-retry.sagemaker-runtime.InvokeEndpoint",
        partial(stop_retrying_past_deadline, config.connect_timeout + config.read_timeout))
    return client


_client = None


def runtime_client():
    """The container's client, built on the first invocation and kept so that its connection
    pool survives between invocations."""
    global _client
    if _client is None:
        _client = build_client(os.environ)
    return _client


class ApiError(Exception):
    """An answer other than 200, with the message the caller sees."""

    def __init__(self, status: int, message: str, kind: str):
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind


@dataclass(frozen=True)
class Settings:
    endpoint_name: str
    allowed_origins: frozenset[str]
    max_review_chars: int


def load_settings(environ) -> Settings:
    try:
        max_chars = int(environ.get("MAX_REVIEW_CHARS") or DEFAULT_MAX_REVIEW_CHARS)
    except ValueError:
        max_chars = DEFAULT_MAX_REVIEW_CHARS
    origins = frozenset(
        origin.strip().rstrip("/") for origin in environ.get("ALLOWED_ORIGINS", "").split(",") if origin.strip()
    )
    return Settings(environ.get("ENDPOINT_NAME", ""), origins, max(1, max_chars))


# ---------------------------------------------------------------------------------------------
# Pure functions: event -> review, outcome -> proxy response
# ---------------------------------------------------------------------------------------------

def header(event: dict, name: str) -> str | None:
    """A request header by case-insensitive name (API Gateway keeps the caller's spelling)."""
    headers = event.get("headers")
    if not isinstance(headers, dict):
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == wanted:
            return value if isinstance(value, str) else None
    return None


def cors_headers(origin: str | None, allowed_origins: frozenset[str]) -> dict[str, str]:
    headers = {"Vary": "Origin"}
    if origin and origin in allowed_origins:
        headers["Access-Control-Allow-Origin"] = origin
    return headers


def parse_media_type(content_type: str | None) -> tuple[str, str]:
    """('text/plain', 'utf-8') from 'text/plain; charset=UTF-8'; ('', '') when absent."""
    if not content_type:
        return "", ""
    media_type, *params = content_type.split(";")
    charset = ""
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return media_type.strip().lower(), charset


def raw_body(event: dict) -> bytes:
    body = event.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise ApiError(400, "The request body is not text.", "bad_body")
    if event.get("isBase64Encoded") is True:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, "The request body is not valid base64.", "bad_body") from None
    try:
        return body.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, "The review is not valid UTF-8 text.", "bad_encoding") from None


def decode_text(body: bytes, charset: str) -> str:
    if charset not in ("", "utf-8", "utf8", "us-ascii", "ascii"):
        raise ApiError(415, f"Unsupported charset {charset[:40]!r}: send the review as UTF-8.", "bad_charset")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "The review is not valid UTF-8 text.", "bad_encoding") from None


def review_from_json(text: str) -> tuple[str, bool]:
    """The review and whether an explanation is asked for."""
    try:
        document = json.loads(text)
    except RecursionError:
        raise ApiError(400, "The body is not valid JSON: it is nested too deeply.", "bad_json") from None
    except ValueError as error:
        detail = f" ({error.msg} at character {error.pos})" if isinstance(error, json.JSONDecodeError) else ""
        raise ApiError(400, f"The body is not valid JSON{detail}.", "bad_json") from None
    if not isinstance(document, dict) or "review" not in document:
        raise ApiError(400, 'Send a JSON object with the review as a string: {"review": "..."}.', "bad_json")
    review = document["review"]
    if not isinstance(review, str):
        raise ApiError(400, 'The "review" field must be a string.', "bad_json")
    explain = document.get("explain", False)
    if not isinstance(explain, bool):
        raise ApiError(400, 'The "explain" field must be true or false.', "bad_json")
    return review, explain


def extract_review(event: dict, max_review_chars: int) -> tuple[str, bool]:
    """The review in a POST event and whether it asks for an explanation, or ApiError saying
    what the caller got wrong."""
    media_type, charset = parse_media_type(header(event, "content-type"))
    if media_type not in ("text/plain", "application/json"):
        shown = f" {media_type[:60]!r}" if media_type else ""
        raise ApiError(
            415,
            f"Unsupported content type{shown}: send the review as text/plain or as application/json "
            '{"review": "..."}.',
            "unsupported_media_type",
        )
    body = raw_body(event)
    if len(body) > max_review_chars * MAX_BODY_BYTES_PER_CHAR + MAX_BODY_SLACK_BYTES:
        raise ApiError(413, too_long_message(max_review_chars), "too_long")
    text = decode_text(body, charset)
    review, explain = review_from_json(text) if media_type == "application/json" else (text, False)
    if not review.strip():
        raise ApiError(400, "The review is empty: type a few words about a movie.", "empty")
    if len(review) > max_review_chars:
        raise ApiError(413, too_long_message(max_review_chars, len(review)), "too_long")
    try:
        review.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, "The review contains invalid Unicode (an unpaired surrogate).", "bad_encoding") from None
    return review, explain


def body_chars(event: dict) -> int:
    body = event.get("body")
    return len(body) if isinstance(body, str) else 0


def too_long_message(limit: int, length: int | None = None) -> str:
    got = f" ({length:,} characters)" if length is not None else ""
    return f"The review is too long{got}: the limit is {limit:,} characters."


def _number(value, low: float, high: float, kinds: tuple[type, ...] = (int, float)) -> float:
    if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
        raise ValueError(f"{value!r} is not a number from {low} to {high}")
    return value


def _text(value) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{value!r} is not a string")
    return value


def explanation_from_endpoint(explanation, review_chars: int) -> dict:
    """The documented fields of the endpoint's explanation, offsets checked against the review;
    ValueError, TypeError or KeyError if it is not one."""
    words = [{"text": _text(word["text"]), "start": _number(word["start"], 0, review_chars, (int,)),
              "end": _number(word["end"], 0, review_chars, (int,)), "weight": _number(word["weight"], -1e6, 1e6)}
             for word in explanation["words"]]
    sentences = [{"start": _number(sentence["start"], 0, review_chars, (int,)),
                  "end": _number(sentence["end"], 0, review_chars, (int,)),
                  "probability": _number(sentence["probability"], 0.0, 1.0)}
                 for sentence in explanation["sentences"]]
    return {"words": words, "sentences": sentences}


def prediction_from_endpoint(body: bytes, review_chars: int | None = None) -> dict:
    """The endpoint's answer reduced to the API's 200 body, or ApiError(502) if it is not one.
    review_chars: the review's length when an explanation was asked for, which must come too."""
    try:
        answer = json.loads(body)
        sentiment, score = answer["sentiment"], float(answer["score"])
        explanation = None if review_chars is None else explanation_from_endpoint(answer["explanation"], review_chars)
    except (ValueError, TypeError, KeyError, RecursionError):
        raise ApiError(502, "The sentiment model gave an answer we could not read. Please try again.",
                       "bad_model_answer") from None
    if sentiment not in ("positive", "negative") or not 0.0 <= score <= 1.0:
        raise ApiError(502, "The sentiment model gave an answer we could not read. Please try again.",
                       "bad_model_answer")
    prediction = {"sentiment": sentiment, "score": score}
    if explanation is not None:
        prediction["explanation"] = explanation
    return prediction


def error_from_client_error(error: ClientError) -> ApiError:
    code = error.response.get("Error", {}).get("Code", "")
    if code == "ModelError":
        return ApiError(502, "The sentiment model could not analyse this review. Please try again, "
                             "or try a different review.", "model_error")
    if code in ("ThrottlingException", "ModelNotReadyException", "TooManyRequestsException"):
        return ApiError(503, "The service is busy right now. Please wait a few seconds and try again.", "throttled")
    if code in ("ServiceUnavailable", "ValidationError"):
        # ValidationError here means the endpoint does not exist or is being replaced: our own
        # request is validated above, so to a visitor it is an outage, not their mistake.
        return ApiError(503, "The sentiment service is unavailable right now. Please try again in a minute.",
                        "unavailable")
    return ApiError(502, "The sentiment service failed to answer. Please try again in a minute.", "upstream_error")


def error_from_transport_error(error: BotoCoreError) -> ApiError:
    if isinstance(error, (ReadTimeoutError, ConnectTimeoutError)):
        return ApiError(504, "The sentiment model took too long to answer. Please try again in a moment.", "timeout")
    if isinstance(error, (EndpointConnectionError, ConnectionClosedError)):
        return ApiError(503, "The sentiment service cannot be reached right now. Please try again in a minute.",
                        "unreachable")
    return ApiError(502, "The sentiment service failed to answer. Please try again in a minute.", "upstream_error")


def json_response(status: int, payload: dict, cors: dict[str, str], extra: dict[str, str] | None = None) -> dict:
    headers = {
        "Content-Type": "application/json",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        **cors,
        **(extra or {}),
    }
    return {"statusCode": status, "headers": headers, "body": json.dumps(payload), "isBase64Encoded": False}


def preflight_response(event: dict, cors: dict[str, str]) -> dict:
    headers = {"Cache-Control": "no-store", **cors}
    if "Access-Control-Allow-Origin" in cors:
        headers.update({
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_S),
        })
    return {"statusCode": 204, "headers": headers, "body": "", "isBase64Encoded": False}


# ---------------------------------------------------------------------------------------------
# The edge: one call to the endpoint, and the handler
# ---------------------------------------------------------------------------------------------

def invoke_endpoint(client, endpoint_name: str, review: str, explain: bool = False) -> dict:
    if not endpoint_name:
        raise ApiError(503, "The sentiment service is not configured. Please try again later.", "not_configured")
    try:
        response = client.invoke_endpoint(
            EndpointName=endpoint_name,
            ContentType="application/json",
            Accept="application/json",
            Body=json.dumps({"review": review, "explain": True} if explain else {"review": review}).encode("utf-8"),
        )
        body = response["Body"].read()
    except ClientError as error:
        raise error_from_client_error(error) from None
    except BotoCoreError as error:
        raise error_from_transport_error(error) from None
    return prediction_from_endpoint(body, len(review) if explain else None)


def handler(event, context):
    """Lambda's entry point: the function's environment and its one client."""
    logger.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
    return handle(event, context, os.environ, runtime_client())


def handle(event, context, environ, client) -> dict:
    """One API Gateway proxy event -> its proxy response, with settings from environ and the
    endpoint reached through client (the local API passes its own)."""
    started = time.perf_counter()
    deadline = answer_deadline(context, time.monotonic())
    settings = load_settings(environ)
    event = event if isinstance(event, dict) else {}
    cors = cors_headers(header(event, "origin"), settings.allowed_origins)
    method = event.get("httpMethod")
    method = method.upper() if isinstance(method, str) else ""
    if method == "OPTIONS":
        return preflight_response(event, cors)

    review_chars = None
    explain = False
    try:
        if method != "POST":
            raise ApiError(405, "Use POST to send a review.", "method_not_allowed")
        review, explain = extract_review(event, settings.max_review_chars)
        review_chars = len(review)
        deadline_token = _answer_deadline.set(deadline)
        try:
            status, payload, kind = 200, invoke_endpoint(client, settings.endpoint_name, review, explain), "ok"
        finally:
            _answer_deadline.reset(deadline_token)
    except ApiError as error:
        status, payload, kind = error.status, {"error": error.message}, error.kind
    except Exception:  # a bug here must still answer in JSON, never with a stack trace
        logger.exception("unexpected error")
        status, payload, kind = 500, {"error": "Something went wrong on our side. Please try again."}, "internal"

    extra = {"Allow": "POST, OPTIONS"} if status == 405 else {}
    if status == 503:
        extra["Retry-After"] = str(RETRY_AFTER_S)
    if logger.isEnabledFor(logging.INFO):
        logger.info(json.dumps({
            "status": status, "outcome": kind, "body_chars": body_chars(event),
            "review_chars": review_chars, "explain": explain,
            "latency_ms": round((time.perf_counter() - started) * 1000, 1),
        }))
    return json_response(status, payload, cors, extra)
