"""The drift check's statistics, stated once for `sentiment drift` and the scheduled function.

Standard library only, plus the model's own tokenizer (sentiment_model.preprocessing, itself
standard library only for the default text pipeline), so the function in lambda/drift_check/
ships this file and that one beside its handler (stacks/drift_check.py builds the bundle) and
runs without torch or numpy. What needs the model, scoring the reference and drawing the
thresholds from it, happens in `sentiment drift --write-profile` (evaluation/drift.py), which
writes a profile: the tokenizer's settings, the vocabulary, the reference's figures and the
thresholds per window size. The function reads that profile and the endpoint's captured scores.

A window of reviews is reduced to a Summary (token and review counts, two histograms), and every
figure is a statistic between two summaries, so the local command (which has every reference
review) and the function (which has the profile's summary) compute the same numbers.
"""
from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import asdict, dataclass, field

LENGTH_BINS = (0, 25, 50, 100, 150, 200, 300, 450, 700, 1000)   # lower edges, tokens per review
SCORE_BINS = tuple(i / 10 for i in range(10))                      # lower edges, P(positive)
PSI_RULES_OF_THUMB = (0.1, 0.25)
SUPPORTED_TYPES = ("application/json", "text/plain")
PROFILE_FORMAT = 1


class CaptureError(Exception):
    """Captured data that cannot be read; the message is one line naming the file and line."""


class ProfileError(Exception):
    """A drift profile that cannot be used; the message is one line."""


@dataclass(frozen=True)
class Request:
    text: str
    score: float | None = None   # the endpoint's own answer, where the capture holds it


@dataclass(frozen=True)
class ReviewFigures:
    tokens: int
    unknown: int
    foreign: bool    # does not read as English to the model (non_latin_share, read_review)
    score: float | None


# --- reading captures -------------------------------------------------------------------------

def _decode(part: dict, where: str) -> tuple[str, str]:
    if not isinstance(part, dict) or not isinstance(part.get("data"), str):
        raise CaptureError(f"{where}: no data in the capture record")
    encoding = str(part.get("encoding", "BASE64")).upper()
    content_type = str(part.get("observedContentType", "")).split(";")[0].strip().lower()
    if encoding == "BASE64":
        try:
            return content_type, base64.b64decode(part["data"], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise CaptureError(f"{where}: data is not base64 of UTF-8 text") from None
    if encoding in ("JSON", "CSV"):
        return content_type, part["data"]
    raise CaptureError(f"{where}: unknown encoding {encoding!r} (expected BASE64, JSON or CSV)")


def _reviews(content_type: str, body: str, where: str) -> list[str]:
    if content_type == "text/plain":
        return [body]
    try:
        payload = json.loads(body)
    except ValueError:
        raise CaptureError(f"{where}: application/json input is not JSON") from None
    if isinstance(payload, dict) and isinstance(payload.get("review"), str):
        return [payload["review"]]
    if (isinstance(payload, dict) and isinstance(payload.get("reviews"), list) and payload["reviews"]
            and all(isinstance(review, str) for review in payload["reviews"])):
        return list(payload["reviews"])
    raise CaptureError(f"{where}: application/json input has no \"review\" string or \"reviews\" list")


def _valid_score(answer) -> float | None:
    score = answer.get("score") if isinstance(answer, dict) else None
    return float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) and 0 <= score <= 1 else None


def _scores(output, count: int, where: str) -> list[float | None]:
    """The endpoint's score for each of count reviews: {"score"} for one, {"predictions": [...]}
    for a list; None where the answer is an error or of a shape this reader does not know."""
    if output is None:
        return [None] * count
    _, body = _decode(output, where + " (endpointOutput)")
    try:
        answer = json.loads(body)
    except ValueError:
        return [None] * count
    if count == 1 and isinstance(answer, dict) and "predictions" not in answer:
        return [_valid_score(answer)]
    predictions = answer.get("predictions") if isinstance(answer, dict) else None
    if isinstance(predictions, list) and len(predictions) == count:
        return [_valid_score(item) for item in predictions]
    return [None] * count


def parse_record(line: str, where: str) -> list[Request] | None:
    """One capture line -> the reviews it holds (one, or each of a "reviews" list); None for a
    content type the model does not read. Raises CaptureError naming `where`."""
    try:
        record = json.loads(line)
        capture = record["captureData"]
        request = capture["endpointInput"]
    except (ValueError, KeyError, TypeError):
        raise CaptureError(f"{where}: not a SageMaker data capture record "
                           f"(expected JSON with captureData.endpointInput)") from None
    content_type, body = _decode(request, where)
    if content_type not in SUPPORTED_TYPES:
        return None
    texts = _reviews(content_type, body, where)
    scores = _scores(capture.get("endpointOutput"), len(texts), where)
    return [Request(text, score) for text, score in zip(texts, scores)]


# --- each review as the model reads it --------------------------------------------------------

def non_latin_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    # Basic Latin to Latin Extended-B, IPA, and Latin Extended Additional.
    latin = sum(1 for c in letters if ord(c) < 0x2B0 or 0x1E00 <= ord(c) <= 0x1EFF)
    return 1 - latin / len(letters)


def read_review(text: str, score: float | None, tokenizer, known) -> ReviewFigures:
    """tokenizer: the model's (text -> tokens, before truncation); known: its vocabulary (any
    container of words). A review does not read as English to the model when under half of its
    tokens are in the vocabulary or over half of its letters are outside the Latin script."""
    tokens = tokenizer(text)
    unknown = sum(1 for token in tokens if token not in known)
    foreign = (bool(tokens) and unknown > len(tokens) / 2) or non_latin_share(text) > 0.5
    return ReviewFigures(len(tokens), unknown, foreign, score)


# --- summaries and statistics -----------------------------------------------------------------

def histogram(values, lower_edges) -> list[int]:
    counts = [0] * len(lower_edges)
    for value in values:
        index = 0
        while index + 1 < len(lower_edges) and value >= lower_edges[index + 1]:
            index += 1
        counts[index] += 1
    return counts


def psi(expected: list[int], actual: list[int]) -> float:
    """Population stability index, sum (a - e) ln(a / e) over bins of shares; half a count is
    added to every bin so that an empty bin gives a large but finite figure."""
    e_total, a_total = sum(expected) + len(expected) / 2, sum(actual) + len(actual) / 2
    total = 0.0
    for e, a in zip(expected, actual):
        e_share, a_share = (e + 0.5) / e_total, (a + 0.5) / a_total
        total += (a_share - e_share) * math.log(a_share / e_share)
    return total


def median(values: list[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


@dataclass(frozen=True)
class Summary:
    """What the statistics need of a window of reviews."""
    reviews: int
    tokens: int
    unknown: int
    foreign: int
    length_counts: tuple[int, ...]
    scored: int                        # reviews with a score (the captured ones may lack one)
    score_counts: tuple[int, ...]
    mean_score: float
    median_tokens: float

    def to_json(self) -> dict:
        # Six decimals, as the endpoint answers: the last digits of a mean of model scores may
        # differ between machines, and a profile should not.
        return {**asdict(self), "length_counts": list(self.length_counts),
                "score_counts": list(self.score_counts), "mean_score": round(self.mean_score, 6)}

    @classmethod
    def from_json(cls, data: dict) -> Summary:
        return cls(**{**data, "length_counts": tuple(data["length_counts"]),
                      "score_counts": tuple(data["score_counts"])})


def summarize(window: list[ReviewFigures]) -> Summary:
    scores = [f.score for f in window if f.score is not None]
    return Summary(
        reviews=len(window), tokens=sum(f.tokens for f in window), unknown=sum(f.unknown for f in window),
        foreign=sum(1 for f in window if f.foreign),
        length_counts=tuple(histogram([f.tokens for f in window], LENGTH_BINS)),
        scored=len(scores), score_counts=tuple(histogram(scores, SCORE_BINS)),
        mean_score=sum(scores) / max(1, len(scores)), median_tokens=median([f.tokens for f in window]))


def unknown_rate(summary: Summary) -> float:
    return summary.unknown / max(1, summary.tokens)


def foreign_share(summary: Summary) -> float:
    return summary.foreign / max(1, summary.reviews)


@dataclass(frozen=True)
class Figure:
    key: str               # the profile's name for it
    name: str              # the table's
    metric: str            # the CloudWatch metric the function publishes for it
    statistic_name: str
    measure: object        # summary -> the figure printed for it (and published, for the rates)
    statistic: object      # (reference summary, captured summary) -> drift statistic
    floor: float           # the smallest change worth an alarm, whatever chance allows
    count: object          # summary -> how many reviews the figure rests on


FIGURES = (
    Figure("unknown_token_rate", "unknown-token rate", "UnknownTokenRate", "|difference|", unknown_rate,
           lambda ref, cap: abs(unknown_rate(cap) - unknown_rate(ref)), 0.01, lambda s: s.reviews),
    Figure("length", "length (median tokens)", "LengthPSI", "PSI", lambda s: s.median_tokens,
           lambda ref, cap: psi(list(ref.length_counts), list(cap.length_counts)), PSI_RULES_OF_THUMB[0],
           lambda s: s.reviews),
    Figure("not_english", "not English to the model (share)", "NotEnglishShare", "|difference|", foreign_share,
           lambda ref, cap: abs(foreign_share(cap) - foreign_share(ref)), 0.02, lambda s: s.reviews),
    Figure("score", "score (mean P(positive))", "ScorePSI", "PSI", lambda s: s.mean_score,
           lambda ref, cap: psi(list(ref.score_counts), list(cap.score_counts)), PSI_RULES_OF_THUMB[0],
           lambda s: s.scored),
)
FIGURE_KEYS = tuple(figure.key for figure in FIGURES)


@dataclass(frozen=True)
class Row:
    figure: str
    reference: float
    captured: float
    statistic_name: str
    statistic: float
    chance: float       # the statistic's percentile between training windows (Profile.chance)
    floor: float
    threshold: float    # the larger of the two
    drift: bool
    window: int         # the window size whose chance applied
    key: str            # the figure's key in the profile
    metric: str         # and its CloudWatch metric


def window_for(count: int, sizes) -> int | None:
    """The largest window size whose thresholds apply to count reviews: the largest not above
    count (a smaller window's chance is larger, so this errs towards quiet); None when count is
    below them all."""
    fitting = [size for size in sizes if size <= count]
    return max(fitting) if fitting else None


def compare(reference: Summary, captured: Summary, chances: dict[int, dict[str, float]]) -> list[Row]:
    """One row per figure that has enough reviews for a window size of chances ({window size:
    {figure key: chance}}); a figure below the smallest size (scores missing from most captured
    answers, say) has no row."""
    rows = []
    for figure in FIGURES:
        size = window_for(figure.count(captured), chances)
        if size is None:
            continue
        chance = chances[size][figure.key]
        statistic = figure.statistic(reference, captured)
        threshold = max(chance, figure.floor)
        rows.append(Row(figure.name, figure.measure(reference), figure.measure(captured), figure.statistic_name,
                        statistic, chance, figure.floor, threshold, statistic > threshold, size,
                        figure.key, figure.metric))
    return rows


# --- the profile: what the scheduled check knows of the model and its training data -------------

@dataclass(frozen=True)
class Profile:
    text_settings: dict                        # sentiment_model.preprocessing.TextSettings, as JSON
    vocabulary: tuple[str, ...]                # in id order
    reference: Summary
    chances: dict[int, dict[str, float]]       # window size -> figure key -> chance
    about: dict = field(default_factory=dict)  # where it came from: model, source, sample, trials

    def to_json(self) -> dict:
        return {"format": PROFILE_FORMAT, "about": self.about,
                "bins": {"length": list(LENGTH_BINS), "score": list(SCORE_BINS)},
                "floors": {figure.key: figure.floor for figure in FIGURES},
                "reference": self.reference.to_json(),
                "thresholds": {str(size): {key: self.chances[size][key] for key in FIGURE_KEYS}
                               for size in sorted(self.chances)},
                "text_settings": self.text_settings,
                "vocabulary": list(self.vocabulary)}

    def dumps(self) -> str:
        """The profile as JSON text: the same profile always gives the same bytes."""
        return json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n"

    @classmethod
    def loads(cls, text: str | bytes, where: str = "profile") -> Profile:
        try:
            data = json.loads(text)
        except ValueError:
            raise ProfileError(f"{where}: not JSON") from None
        if not isinstance(data, dict) or data.get("format") != PROFILE_FORMAT:
            raise ProfileError(f"{where}: not a drift profile of format {PROFILE_FORMAT} "
                               f"(write one with sentiment drift --write-profile)")
        if data.get("bins") != {"length": list(LENGTH_BINS), "score": list(SCORE_BINS)}:
            raise ProfileError(f"{where}: written with other histogram bins; write it again")
        try:
            profile = cls(dict(data["text_settings"]), tuple(data["vocabulary"]),
                          Summary.from_json(data["reference"]),
                          {int(size): {key: float(values[key]) for key in FIGURE_KEYS}
                           for size, values in data["thresholds"].items()},
                          dict(data.get("about", {})))
        except (KeyError, TypeError, ValueError):
            raise ProfileError(f"{where}: a drift profile with missing or malformed fields") from None
        if not profile.chances or min(profile.chances) < 1:
            raise ProfileError(f"{where}: no thresholds for any window size")
        check_text_settings(profile.text_settings, where)
        return profile

    @property
    def window_sizes(self) -> list[int]:
        return sorted(self.chances)

    def reader(self):
        """(tokenizer, vocabulary set): the model's view of a review, without the model."""
        from sentiment_model.preprocessing import TextSettings, Tokenizer

        return Tokenizer(TextSettings.from_json(self.text_settings)), frozenset(self.vocabulary)

    def check(self, requests: list[Request]) -> list[Row]:
        """Every figure of requests against the reference (rows of figures with too few reviews
        left out; see compare)."""
        tokenizer, known = self.reader()
        captured = summarize([read_review(r.text, r.score, tokenizer, known) for r in requests])
        return compare(self.reference, captured, self.chances)


def check_text_settings(settings: dict, where: str = "the model") -> None:
    """The scheduled function ships the model's tokenizer without third-party packages: the
    default pipeline needs none, the notebook's seed pipeline needs NLTK's Porter stemmer and
    BeautifulSoup's entity tables."""
    if settings.get("mode", "default") != "default" or settings.get("stem", False):
        raise ProfileError(f"{where}: its text pipeline (mode {settings.get('mode')!r}, stemming "
                           f"{bool(settings.get('stem'))}) needs NLTK and BeautifulSoup, which the scheduled "
                           f"check does not ship; check its traffic with sentiment drift --capture")
