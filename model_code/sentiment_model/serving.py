"""The endpoint's four handlers, model_fn, input_fn, predict_fn and output_fn, which SageMaker's
PyTorch inference toolkit calls through model_code/inference.py and the local model server calls
directly. What they accept and answer: docs/api.md#the-endpoint. Bad input raises InferenceError,
whose status_code and message say what was wrong.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from sentiment_model.artifact import Predictor, load_predictor
from sentiment_model.explain import explain_many

JSON = "application/json"
JSON_LINES = ("application/jsonlines", "application/jsonl", "application/x-jsonlines")
TEXT = "text/plain"
# oneDNN keeps the kernels it builds for each new input shape, up to 1,024 of them, a few MB each
# for a full-size model. Reviews of every length make nearly every request a new shape, so that
# cache grew the model server by 180 MB in 600 batches (and kept growing) for 20% less time per
# batch. Sixteen entries bound it to about 50 MB. oneDNN reads it when it builds its first
# kernel, which happens after model_fn has loaded the weights.
ONEDNN_CACHE_SETTING = ("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "16")


@dataclass(frozen=True)
class Limits:
    """What one request may hold; the container's environment may lower or raise each."""
    max_body_bytes: int = 5 * 1024 * 1024
    max_review_chars: int = 100_000
    max_reviews: int = 10_000

    @classmethod
    def from_environ(cls, environ=None) -> Limits:
        environ = os.environ if environ is None else environ
        return cls(int(environ.get("MAX_BODY_BYTES", cls.max_body_bytes)),
                   int(environ.get("MAX_REVIEW_CHARS", cls.max_review_chars)),
                   int(environ.get("MAX_REVIEWS_PER_REQUEST", cls.max_reviews)))


class InferenceError(ValueError):
    """A request the handlers refuse; status_code is the HTTP status to answer with (the
    toolkit adapter and the local model server both read it)."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


@dataclass
class Reviews:
    """Parsed request: the texts and the shape the answer must have."""
    texts: list[str]
    shape: str  # "single", "list" or "lines"
    explain: bool = False  # a single review whose answer carries its explanation


def _media_type(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def _as_text(body, content_type: str, limits: Limits) -> str:
    if isinstance(body, (bytes, bytearray, memoryview)):
        if len(body) > limits.max_body_bytes:
            raise InferenceError(413, f"request body is {len(body)} bytes; the limit is {limits.max_body_bytes}")
        try:
            return bytes(body).decode("utf-8")
        except UnicodeDecodeError as error:
            raise InferenceError(400, f"{content_type} body is not valid UTF-8 (byte {error.start})") from None
    if isinstance(body, str):
        # The limit is on what arrived over the wire: a character may have taken up to 4 bytes.
        size = len(body.encode("utf-8", "surrogatepass"))
        if size > limits.max_body_bytes:
            raise InferenceError(413, f"request body is {size} bytes; the limit is {limits.max_body_bytes}")
        return body
    raise InferenceError(400, f"unsupported body type {type(body).__name__}")


def _checked_review(value, where: str, limits: Limits) -> str:
    if not isinstance(value, str):
        raise InferenceError(400, f"{where} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise InferenceError(400, f"{where} is empty")
    if len(value) > limits.max_review_chars:
        raise InferenceError(413, f"{where} has {len(value)} characters; the limit is {limits.max_review_chars}")
    return value


def _json_type(value) -> str:
    """The JSON name of a parsed value's type, as a caller who sent it would call it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return {str: "a string", list: "an array", dict: "an object"}.get(type(value), type(value).__name__)


def _parse_json(text: str, where: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InferenceError(400, f"{where} is not valid JSON ({error.msg})") from None
    except RecursionError:
        raise InferenceError(400, f"{where} is not valid JSON (nested too deeply)") from None
    except ValueError:  # an integer over Python's digit limit (sys.get_int_max_str_digits)
        raise InferenceError(400, f"{where} holds a number with too many digits") from None


def input_fn(body, content_type: str = TEXT) -> Reviews:
    # Two parameters exactly: the toolkit passes its context as a third to a handler that takes one.
    return parse_request(body, content_type, Limits.from_environ())


def parse_request(body, content_type: str, limits: Limits) -> Reviews:
    media = _media_type(content_type) or TEXT
    if media not in (TEXT, JSON, *JSON_LINES):
        raise InferenceError(415, f"unsupported content type {content_type!r}; use text/plain, "
                                  f"application/json or application/jsonlines")
    text = _as_text(body, media, limits)
    if media == TEXT:
        return Reviews([_checked_review(text, "review", limits)], "single")
    if media == JSON:
        data = _parse_json(text, "body")
        if not isinstance(data, dict) or not ({"review", "reviews"} & data.keys()):
            raise InferenceError(400, 'JSON body must be an object with "review" (a string) or '
                                      '"reviews" (a list of strings)')
        wants_explanation = data.get("explain", False)
        if not isinstance(wants_explanation, bool):
            raise InferenceError(400, f'"explain" must be true or false, got {_json_type(wants_explanation)}')
        if "review" in data:
            return Reviews([_checked_review(data["review"], '"review"', limits)], "single", wants_explanation)
        if wants_explanation:
            raise InferenceError(400, '"explain" works with one "review", not with "reviews"')
        reviews = data["reviews"]
        if not isinstance(reviews, list) or not reviews:
            raise InferenceError(400, '"reviews" must be a non-empty list of strings')
        if len(reviews) > limits.max_reviews:
            raise InferenceError(413, f'"reviews" has {len(reviews)} items; the limit is {limits.max_reviews}')
        return Reviews([_checked_review(r, f'"reviews"[{i}]', limits) for i, r in enumerate(reviews)], "list")
    # Only "\n" (and "\r\n") end a line: str.splitlines() would also break inside a review at
    # U+2028, U+0085 or a form feed.
    lines = [line.rstrip("\r") for line in text.split("\n") if line.strip()]
    if not lines:
        raise InferenceError(400, "JSON lines body has no reviews")
    if len(lines) > limits.max_reviews:
        raise InferenceError(413, f"body has {len(lines)} lines; the limit is {limits.max_reviews}")
    texts = []
    for number, line in enumerate(lines, start=1):
        row = _parse_json(line, f"line {number}")
        if isinstance(row, dict):
            if "review" not in row:
                raise InferenceError(400, f'line {number}: object has no "review" field')
            row = row["review"]
        texts.append(_checked_review(row, f"line {number}", limits))
    return Reviews(texts, "lines")


def model_fn(model_dir: str) -> Predictor:
    os.environ.setdefault(*ONEDNN_CACHE_SETTING)
    return load_predictor(Path(model_dir))


def predict_fn(data: Reviews, model: Predictor) -> dict:
    if isinstance(data, str):  # direct callers may pass a plain review
        data = Reviews([_checked_review(data, "review", Limits.from_environ())], "single")
    scores = model.predict(data.texts)
    prediction = {"scores": scores, "shape": data.shape}
    if data.explain:
        # One explanation per text, in order: input_fn asks for one review's, a model server
        # that merges concurrent requests for several at once (explain_many batches them).
        prediction["explanations"] = explain_many(model, data.texts, scores)
    return prediction


def _label(score: float) -> dict:
    return {"sentiment": "positive" if score >= 0.5 else "negative", "score": round(float(score), 6)}


def _accepts_json(accept: str | None) -> bool:
    """Whether an Accept header (a list of media ranges with optional q-values, as HTTP clients
    send it) allows the answer: application/json, where the most specific range that covers it
    decides and q=0 refuses, or a JSON lines type named outright. Written here rather than taken
    from a library: code/ runs with only the packages of the inference image."""
    if not (accept or "").strip():
        return True
    quality_of = {}
    for media_range in accept.split(","):
        media, *parameters = [part.strip() for part in media_range.split(";")]
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        quality_of[media.lower()] = quality
    if any(quality_of.get(media_type, 0) > 0 for media_type in JSON_LINES):
        return True  # Batch Transform asks for JSON lines by name
    json_range = next((r for r in (JSON, "application/*", "*/*") if r in quality_of), None)
    return json_range is not None and quality_of[json_range] > 0


def output_fn(prediction: dict, accept: str = JSON) -> tuple[str, str]:
    if not _accepts_json(accept):
        raise InferenceError(406, f"unsupported accept type {accept!r}; answers are application/json")
    results = [_label(score) for score in prediction["scores"]]
    if prediction["shape"] == "single":
        if prediction.get("explanations"):
            results[0]["explanation"] = prediction["explanations"][0]
        return json.dumps(results[0]), JSON
    if prediction["shape"] == "lines":
        return "".join(json.dumps(r) + "\n" for r in results), JSON
    return json.dumps({"predictions": results}), JSON
