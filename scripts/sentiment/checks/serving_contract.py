"""The endpoint's container contract (POST /invocations), as a list of cases with the documented
status and answer of each: content types and charsets, bytes that are not UTF-8, empty and
oversized bodies, JSON shapes, JSON lines, CSV, Accept headers, batch sizes.

One list for both servers: `sentiment container-test` sends every case to the real SageMaker
PyTorch serving stack (sentiment.local.toolkit_server) and to the local model server, and the
tests send it to the local model server. docs/local-stack.md ("The endpoint") is the prose
version of the same contract.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from sentiment.contract import MODEL_MAX_BODY_BYTES, MODEL_MAX_REVIEW_CHARS, MODEL_MAX_REVIEWS

POSITIVE = "A wonderful, moving film; the cast is superb and I loved every minute."
NEGATIVE = "Dull, boring and far too long. A waste of two hours."
TEXT, JSON, JSON_LINES = "text/plain", "application/json", "application/jsonlines"
# Answers of the same model on the two servers may differ in the last bits of a float.
SCORE_TOLERANCE = 1e-4


@dataclass(frozen=True)
class Case:
    name: str
    body: bytes
    content_type: str | None      # None: no Content-Type header
    accept: str | None = None     # None: no Accept header
    status: int = 200
    answer: str = "single"        # "single", "predictions", "lines" or "error"
    count: int = 1                # reviews answered, for "predictions" and "lines"
    error_says: str = ""          # what the documented error message mentions

    def headers(self) -> dict[str, str]:
        headers = {}
        if self.content_type is not None:
            headers["Content-Type"] = self.content_type
        if self.accept is not None:
            headers["Accept"] = self.accept
        return headers


def _json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def _lines(*rows) -> bytes:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()


def _refused(name, body, content_type, status, says, accept=None) -> Case:
    return Case(name, body, content_type, accept, status=status, answer="error", error_says=says)


# Over the limit in bytes, under it in characters (2 bytes each): each review is short enough.
_WIDE_REVIEW = "é" * 45_000
_WIDE_BODY_REVIEWS = MODEL_MAX_BODY_BYTES // (2 * len(_WIDE_REVIEW)) + 1

CASES: tuple[Case, ...] = (
    # ---- content types ------------------------------------------------------------------------
    Case("text/plain", POSITIVE.encode(), TEXT),
    Case("text/plain with charset", POSITIVE.encode(), "text/plain; charset=utf-8"),
    Case("media type in capitals", POSITIVE.encode(), "TEXT/PLAIN"),
    Case("no Content-Type: text/plain", POSITIVE.encode(), None),
    Case("JSON review", _json({"review": POSITIVE}), JSON),
    Case("JSON with charset", _json({"review": POSITIVE}), "application/json; charset=utf-8"),
    Case("JSON reviews", _json({"reviews": [POSITIVE, NEGATIVE, POSITIVE]}), JSON, answer="predictions", count=3),
    Case("application/jsonlines", _lines(POSITIVE, {"review": NEGATIVE}), JSON_LINES, answer="lines", count=2),
    Case("application/jsonl", _lines(POSITIVE, NEGATIVE), "application/jsonl", answer="lines", count=2),
    Case("application/x-jsonlines", _lines(POSITIVE, NEGATIVE), "application/x-jsonlines", answer="lines", count=2),
    _refused("text/csv", b"review\nA fine film\n", "text/csv", 415, "unsupported content type"),
    _refused("text/html", b"<p>A fine film</p>", "text/html", 415, "unsupported content type"),
    _refused("application/octet-stream", POSITIVE.encode(), "application/octet-stream", 415, "unsupported content type"),
    _refused("form encoded", b"review=fine", "application/x-www-form-urlencoded", 415, "unsupported content type"),
    _refused("application/xml", b"<review>fine</review>", "application/xml", 415, "unsupported content type"),
    # ---- charsets and bytes that are not UTF-8 ----------------------------------------------
    Case("Unicode review", "Ünïcödé, 映画, 🎬: a superb film".encode(), TEXT),
    _refused("text/plain not UTF-8", b"\xff\xfe great film", TEXT, 400, "not valid UTF-8"),
    _refused("JSON not UTF-8", b'{"review": "\xff great"}', JSON, 400, "not valid UTF-8"),
    _refused("JSON with charset, not UTF-8", b'{"review": "\xff"}', "application/json; charset=utf-8", 400,
             "not valid UTF-8"),
    _refused("text/csv not UTF-8", b"review\n\xff\xfe\n", "text/csv", 415, "unsupported content type"),
    _refused("JSON lines not UTF-8", b'"fine"\n"\xff"\n', JSON_LINES, 400, "not valid UTF-8"),
    _refused("UTF-16 text", POSITIVE.encode("utf-16"), "text/plain; charset=utf-16", 400, "not valid UTF-8"),
    _refused("encoded surrogate", b"great \xed\xa0\x80 film", TEXT, 400, "not valid UTF-8"),
    _refused("UTF-8 BOM before JSON", b"\xef\xbb\xbf" + _json({"review": POSITIVE}), JSON, 400, "not valid JSON"),
    # ---- empty bodies ---------------------------------------------------------------------------
    _refused("empty text", b"", TEXT, 400, "empty"),
    _refused("blank text", b"  \n\t ", TEXT, 400, "empty"),
    _refused("empty, no Content-Type", b"", None, 400, "empty"),
    _refused("empty JSON", b"", JSON, 400, "not valid JSON"),
    _refused("empty JSON lines", b"", JSON_LINES, 400, "no reviews"),
    # ---- sizes ------------------------------------------------------------------------------------
    _refused("review over the character limit", b"a" * (MODEL_MAX_REVIEW_CHARS + 1), TEXT, 413,
             f"the limit is {MODEL_MAX_REVIEW_CHARS}"),
    _refused("body over the byte limit", b"a " * (MODEL_MAX_BODY_BYTES // 2 + 1), TEXT, 413,
             f"bytes; the limit is {MODEL_MAX_BODY_BYTES}"),
    _refused("JSON over the limit in bytes, not in characters",
             _json({"reviews": [_WIDE_REVIEW] * _WIDE_BODY_REVIEWS}), JSON, 413,
             f"bytes; the limit is {MODEL_MAX_BODY_BYTES}"),
    _refused("too many reviews", _json({"reviews": ["fine"] * (MODEL_MAX_REVIEWS + 1)}), JSON, 413,
             f"the limit is {MODEL_MAX_REVIEWS}"),
    _refused("too many lines", _lines(*["fine"] * (MODEL_MAX_REVIEWS + 1)), JSON_LINES, 413,
             f"the limit is {MODEL_MAX_REVIEWS}"),
    # ---- JSON shapes ------------------------------------------------------------------------------
    _refused("JSON review empty", _json({"review": ""}), JSON, 400, "empty"),
    _refused("JSON review a number", _json({"review": 5}), JSON, 400, "must be a string"),
    _refused("JSON review null", _json({"review": None}), JSON, 400, "must be a string"),
    _refused("JSON array", _json([POSITIVE]), JSON, 400, 'an object with "review"'),
    _refused("JSON string", _json(POSITIVE), JSON, 400, 'an object with "review"'),
    _refused("JSON without review", _json({"text": POSITIVE}), JSON, 400, 'an object with "review"'),
    _refused("JSON reviews empty", _json({"reviews": []}), JSON, 400, "non-empty list"),
    _refused("JSON reviews a string", _json({"reviews": POSITIVE}), JSON, 400, "non-empty list"),
    _refused("JSON reviews with a number", _json({"reviews": [POSITIVE, 3]}), JSON, 400, '"reviews"[1] must be a string'),
    _refused("malformed JSON", b'{"review": ', JSON, 400, "not valid JSON"),
    _refused("JSON nested too deeply", b"[" * 100_000, JSON, 400, "nested too deeply"),
    # Python refuses to convert integers of more than 4,300 digits (a ValueError, not a JSON error).
    _refused("JSON integer over the digit limit", b'{"review": "great", "explain": ' + b"9" * 5_000 + b"}", JSON, 400,
             "too many digits"),
    _refused("JSON lines integer over the digit limit", b"1" * 5_000 + b"\n", JSON_LINES, 400, "too many digits"),
    _refused("JSON float with a long exponent", b'{"review": 1e' + b"9" * 5_000 + b"}", JSON, 400, "must be a string"),
    Case("JSON with review and reviews: review wins", _json({"review": POSITIVE, "reviews": [NEGATIVE]}), JSON),
    Case("JSON with extra fields", _json({"review": POSITIVE, "language": "en"}), JSON),
    # ---- JSON lines -----------------------------------------------------------------------------
    Case("JSON lines with CRLF", _lines(POSITIVE, NEGATIVE).replace(b"\n", b"\r\n"), JSON_LINES,
         answer="lines", count=2),
    Case("JSON lines with blank lines", b"\n" + _lines(POSITIVE) + b"\n  \n" + _lines(NEGATIVE), JSON_LINES,
         answer="lines", count=2),
    Case("JSON lines: U+2028 inside a review", _lines("great\u2028film"), JSON_LINES, answer="lines", count=1),
    _refused("JSON line without review", _lines(POSITIVE, {"text": "x"}), JSON_LINES, 400, 'line 2: object has no "review"'),
    _refused("JSON line a number", _lines(7), JSON_LINES, 400, "line 1 must be a string"),
    _refused("JSON line malformed", _lines(POSITIVE) + b'{"review": \n', JSON_LINES, 400, "line 2 is not valid JSON"),
    # ---- Accept -----------------------------------------------------------------------------------
    Case("Accept application/json", POSITIVE.encode(), TEXT, JSON),
    Case("Accept */*", POSITIVE.encode(), TEXT, "*/*"),
    Case("Accept empty", POSITIVE.encode(), TEXT, ""),
    Case("Accept list, JSON first", POSITIVE.encode(), TEXT, "application/json, text/csv"),
    Case("Accept list, JSON second with q", POSITIVE.encode(), TEXT, "text/csv, application/json;q=0.5"),
    Case("Accept of a browser", POSITIVE.encode(), TEXT, "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    Case("Accept application/*", POSITIVE.encode(), TEXT, "application/*"),
    Case("Accept in capitals", POSITIVE.encode(), TEXT, "APPLICATION/JSON"),
    Case("Accept with charset", POSITIVE.encode(), TEXT, "application/json; charset=utf-8"),
    Case("Accept application/jsonlines", _lines(POSITIVE, NEGATIVE), JSON_LINES, JSON_LINES, answer="lines", count=2),
    _refused("Accept text/csv", POSITIVE.encode(), TEXT, 406, "unsupported accept type", accept="text/csv"),
    _refused("Accept text/plain", POSITIVE.encode(), TEXT, 406, "unsupported accept type", accept="text/plain"),
    _refused("Accept JSON with q=0", POSITIVE.encode(), TEXT, 406, "unsupported accept type",
             accept="application/json;q=0, text/csv"),
    _refused("Accept JSON with q=0 beside */*", POSITIVE.encode(), TEXT, 406, "unsupported accept type",
             accept="application/json;q=0, */*"),
    # ---- batch sizes ------------------------------------------------------------------------------
    Case("batch of 1", _json({"reviews": [POSITIVE]}), JSON, answer="predictions", count=1),
    Case("batch of 64", _json({"reviews": [POSITIVE, NEGATIVE] * 32}), JSON, answer="predictions", count=64),
    Case("batch of 1000", _json({"reviews": [POSITIVE, NEGATIVE] * 500}), JSON, answer="predictions", count=1000),
    Case("100 JSON lines", _lines(*[POSITIVE, NEGATIVE] * 50), JSON_LINES, answer="lines", count=100),
    Case("only unknown words", b"zxqv blorf wibble", TEXT),
)


# ---------------------------------------------------------------------------------------------
# What came back, and how it is judged
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes

    def summary(self) -> str:
        if self.status == 200:
            return "200"
        try:
            message = json.loads(self.body)["error"]
        except (ValueError, KeyError, TypeError):
            message = self.body[:40].decode("utf-8", "replace")
        return f"{self.status} {message[:48]}"


def send(session, url: str, case: Case, timeout: float = 60.0) -> Answer:
    """POST one case to {url}/invocations (session: a requests.Session)."""
    response = session.post(f"{url}/invocations", data=case.body, headers=case.headers(), timeout=timeout)
    media = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    return Answer(response.status_code, media, response.content)


def _prediction_problem(value) -> str | None:
    if not isinstance(value, dict) or set(value) != {"sentiment", "score"}:
        return f"expected {{sentiment, score}}, got {str(value)[:60]}"
    if value["sentiment"] not in ("positive", "negative") or not 0 <= value["score"] <= 1:
        return f"impossible prediction {value}"
    if (value["score"] >= 0.5) != (value["sentiment"] == "positive"):
        return f"sentiment disagrees with score {value}"
    return None


def _predictions(case: Case, body: bytes) -> list:
    """The predictions in an answer of the case's documented shape (ValueError if it is not)."""
    if case.answer == "lines":
        return [json.loads(line) for line in body.decode().split("\n") if line.strip()]
    parsed = json.loads(body)
    if case.answer == "predictions":
        if not isinstance(parsed, dict) or set(parsed) != {"predictions"}:
            raise ValueError(f"expected {{predictions: [...]}}, got {str(parsed)[:60]}")
        return parsed["predictions"]
    return [parsed]


def documented_problems(case: Case, answer: Answer) -> list[str]:
    """Where an answer departs from the case's documented status and body."""
    problems = []
    if answer.status != case.status:
        problems.append(f"status {answer.status}, documented {case.status}")
    if answer.content_type != "application/json":
        problems.append(f"Content-Type {answer.content_type or 'missing'}, documented application/json")
    if b"Traceback" in answer.body:
        problems.append("a Python traceback in the body")
    if case.answer == "error":
        try:
            error = json.loads(answer.body)
        except ValueError:
            return problems + [f"error body is not JSON: {answer.body[:60]!r}"]
        if not isinstance(error, dict) or set(error) != {"error"} or not isinstance(error["error"], str):
            problems.append(f'error body is not {{"error": "..."}}: {str(error)[:60]}')
        elif case.error_says not in error["error"]:
            problems.append(f"error {error['error'][:60]!r} does not say {case.error_says!r}")
        return problems
    if answer.status != 200:
        return problems
    try:
        predictions = _predictions(case, answer.body)
    except (ValueError, UnicodeDecodeError) as error:
        return problems + [f"answer is not the documented {case.answer}: {error}"]
    if len(predictions) != case.count:
        problems.append(f"{len(predictions)} predictions, documented {case.count}")
    problems += [problem for problem in map(_prediction_problem, predictions) if problem][:1]
    return problems


def disagreements(case: Case, first: Answer, second: Answer) -> list[str]:
    """Where two servers' answers to the same case differ."""
    if (first.status, first.content_type) != (second.status, second.content_type):
        return [f"{first.status} {first.content_type} against {second.status} {second.content_type}"]
    if first.status != 200:
        return [] if first.body == second.body else [f"bodies differ: {first.body[:60]!r} against {second.body[:60]!r}"]
    try:
        ours, theirs = _predictions(case, first.body), _predictions(case, second.body)
    except (ValueError, UnicodeDecodeError):
        return [] if first.body == second.body else ["unreadable answers differ"]
    if len(ours) != len(theirs):
        return [f"{len(ours)} predictions against {len(theirs)}"]
    for index, (a, b) in enumerate(zip(ours, theirs)):
        if a.get("sentiment") != b.get("sentiment") or abs(a.get("score", 0) - b.get("score", 0)) > SCORE_TOLERANCE:
            return [f"prediction {index}: {a} against {b}"]
    return []
