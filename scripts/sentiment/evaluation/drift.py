"""`sentiment drift`: does a window of captured endpoint traffic still look like the training data?

Reads SageMaker data capture files (JSON lines, one request per line:
``{"captureData": {"endpointInput": {"observedContentType", "mode", "data", "encoding"},
"endpointOutput": {...}}, "eventMetadata": {"eventId", "inferenceTime"}, "eventVersion": "0"}``;
``encoding`` is ``BASE64`` unless the endpoint's capture config names the content type as JSON or
CSV, when ``data`` is the body as text). The input is the endpoint's: ``application/json``
``{"review": ..., "explain"?: ...}`` or ``text/plain``. Records of other content types are counted
and skipped.

Four figures, each computed on the captured window and on a reference sample of training reviews
read by the same model:

- unknown-token rate: the share of the review's tokens (before truncation) that are not in the
  model's vocabulary;
- length: the distribution of tokens per review, compared by the population stability index (PSI)
  over fixed bins (LENGTH_BINS);
- language: the share of reviews that do not read as English *to this model*: under half of their
  tokens in the vocabulary, or over half of their letters outside the Latin script. It is a cheap,
  dependency-free signal, not a language identifier: a review in French counts (few of its words
  are in an English vocabulary), one in English with many misspellings may count too;
- score: the distribution of P(positive), by PSI over ten bins of width 0.1. Scores come from the
  captured output (``endpointOutput``'s ``score``) where there is one, else from the model.

Thresholds are not constants: they come from the training data's own variation. From the
reference sample, TRIALS pairs of random disjoint windows of the capture window's size are drawn
(at most half the sample each); the statistic is computed between the two windows of each pair, and
its THRESHOLD_PERCENTILE-th percentile is what chance explains: two windows of the same data differ
that much one time in a hundred. Two windows of size n vary at least as much as one window against
a larger reference, so this errs towards quiet. The threshold is the larger of that and a floor,
the smallest change worth an alarm: 0.01 of unknown-token rate (one token in a hundred), 0.02 of
reviews not read as English, and PSI 0.1, the lower of the usual rules of thumb for PSI (under 0.1
stable, 0.1-0.25 a moderate shift, over 0.25 a major one). The floor matters for the unknown-token
rate: IMDb's test reviews are of other films than the training ones, and their names alone raise
the rate from 0.017 to 0.023, beyond chance (0.003 for windows of 500) but not a change of
traffic (docs/operations.md#drift).

The reference is the part of the training split that `sentiment prepare` held out for validation
(the model's own fraction and seed): every training review is scored with the confidence of a
review the model was fitted on, and its words are the vocabulary's, so held-out traffic would
always look drifted (test reviews against all training reviews: score PSI 0.25).

Exit status: 0 no drift, 1 drift in at least one figure, 2 bad input (one-line error).
"""
from __future__ import annotations

import argparse
import base64
import binascii
import json
import math
import random
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from sentiment.paths import ROOT

LENGTH_BINS = (0, 25, 50, 100, 150, 200, 300, 450, 700, 1000)   # lower edges, tokens per review
SCORE_BINS = tuple(i / 10 for i in range(10))                      # lower edges, P(positive)
TRIALS = 200
THRESHOLD_PERCENTILE = 99
PSI_RULES_OF_THUMB = (0.1, 0.25)
SUPPORTED_TYPES = ("application/json", "text/plain")


class CaptureError(Exception):
    """Captured data that cannot be read; the message is one line naming the file and line."""


@dataclass(frozen=True)
class Request:
    text: str
    score: float | None = None   # the endpoint's own answer, where the capture holds it


@dataclass(frozen=True)
class ReviewFigures:
    tokens: int
    unknown: int
    foreign: bool    # does not read as English to the model (see the module's docstring)
    score: float


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


def _review(content_type: str, body: str, where: str) -> str:
    if content_type == "text/plain":
        return body
    try:
        payload = json.loads(body)
    except ValueError:
        raise CaptureError(f"{where}: application/json input is not JSON") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("review"), str):
        raise CaptureError(f"{where}: application/json input has no \"review\" string")
    return payload["review"]


def _score(output, where: str) -> float | None:
    if output is None:
        return None
    _, body = _decode(output, where + " (endpointOutput)")
    try:
        score = json.loads(body).get("score")
    except (ValueError, AttributeError):
        return None   # an error answer, or one this reader does not know: score it here
    return float(score) if isinstance(score, (int, float)) and 0 <= score <= 1 else None


def parse_record(line: str, where: str) -> Request | None:
    """One capture line -> the request it holds; None for a content type the model does not read."""
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
    return Request(_review(content_type, body, where), _score(capture.get("endpointOutput"), where))


def read_captures(folder: Path) -> tuple[list[Request], int]:
    """Every request under folder (its .jsonl files, at any depth, in name order) and how many
    records were skipped for their content type."""
    folder = Path(folder)
    if not folder.exists():
        raise CaptureError(f"{folder}: not found")
    files = [folder] if folder.is_file() else sorted(folder.rglob("*.jsonl"))
    if not files:
        raise CaptureError(f"{folder}: no .jsonl capture files")
    requests, skipped = [], 0
    for path in files:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise CaptureError(f"{path}: cannot be read ({getattr(error, 'strerror', None) or error})") from None
        for number, line in enumerate(lines, 1):
            if line.strip():
                request = parse_record(line, f"{path}:{number}")
                if request is None:
                    skipped += 1
                else:
                    requests.append(request)
    if not requests:
        raise CaptureError(f"{folder}: no captured requests of type {' or '.join(SUPPORTED_TYPES)}")
    return requests, skipped


# --- statistics (pure Python) -----------------------------------------------------------------

def non_latin_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    # Basic Latin to Latin Extended-B, IPA, and Latin Extended Additional.
    latin = sum(1 for c in letters if ord(c) < 0x2B0 or 0x1E00 <= ord(c) <= 0x1EFF)
    return 1 - latin / len(letters)


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


def unknown_rate(window: list[ReviewFigures]) -> float:
    return sum(f.unknown for f in window) / max(1, sum(f.tokens for f in window))


def foreign_share(window: list[ReviewFigures]) -> float:
    return sum(f.foreign for f in window) / max(1, len(window))


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


@dataclass(frozen=True)
class Figure:
    name: str
    statistic_name: str
    measure: object        # window -> the figure printed for it
    statistic: object      # (reference window, captured window) -> drift statistic
    floor: float           # the smallest change worth an alarm, whatever chance allows


FIGURES = (
    Figure("unknown-token rate", "|difference|", unknown_rate,
           lambda ref, cap: abs(unknown_rate(cap) - unknown_rate(ref)), 0.01),
    Figure("length (median tokens)", "PSI", lambda w: median([f.tokens for f in w]),
           lambda ref, cap: psi(histogram([f.tokens for f in ref], LENGTH_BINS),
                                histogram([f.tokens for f in cap], LENGTH_BINS)), PSI_RULES_OF_THUMB[0]),
    Figure("not English to the model (share)", "|difference|", foreign_share,
           lambda ref, cap: abs(foreign_share(cap) - foreign_share(ref)), 0.02),
    Figure("score (mean P(positive))", "PSI", lambda w: sum(f.score for f in w) / max(1, len(w)),
           lambda ref, cap: psi(histogram([f.score for f in ref], SCORE_BINS),
                                histogram([f.score for f in cap], SCORE_BINS)), PSI_RULES_OF_THUMB[0]),
)


def thresholds(reference: list[ReviewFigures], window: int, trials: int = TRIALS,
               seed: int = 0) -> tuple[dict[str, float], int]:
    """Each figure's THRESHOLD_PERCENTILE-th percentile of its statistic between random disjoint
    windows of the reference, and the window size used (at most half the reference)."""
    from sentiment.stats import percentile

    size = max(1, min(window, len(reference) // 2))
    rng = random.Random(seed)
    seen: dict[str, list[float]] = {figure.name: [] for figure in FIGURES}
    for _ in range(trials):
        drawn = rng.sample(reference, 2 * size)
        first, second = drawn[:size], drawn[size:]
        for figure in FIGURES:
            seen[figure.name].append(figure.statistic(first, second))
    return {name: percentile(values, THRESHOLD_PERCENTILE) for name, values in seen.items()}, size


@dataclass(frozen=True)
class Row:
    figure: str
    reference: float
    captured: float
    statistic_name: str
    statistic: float
    chance: float       # the statistic's 99th percentile between training windows
    floor: float
    threshold: float    # the larger of the two
    drift: bool


def compare(reference: list[ReviewFigures], captured: list[ReviewFigures], trials: int = TRIALS,
            seed: int = 0) -> tuple[list[Row], int]:
    limits, size = thresholds(reference, len(captured), trials, seed)
    rows = []
    for figure in FIGURES:
        statistic = figure.statistic(reference, captured)
        threshold = max(limits[figure.name], figure.floor)
        rows.append(Row(figure.name, figure.measure(reference), figure.measure(captured),
                        figure.statistic_name, statistic, limits[figure.name], figure.floor, threshold,
                        statistic > threshold))
    return rows, size


# --- the model's view of each review ----------------------------------------------------------

def review_figures(predictor, texts: list[str], given_scores: list[float | None]) -> list[ReviewFigures]:
    tokenizer, known = predictor.encoder.tokenizer, predictor.encoder.word_ids
    missing = [i for i, score in enumerate(given_scores) if score is None]
    scored = dict(zip(missing, predictor.predict([texts[i] for i in missing]))) if missing else {}
    figures = []
    for index, text in enumerate(texts):
        tokens = tokenizer(text)
        unknown = sum(1 for token in tokens if token not in known)
        foreign = (bool(tokens) and unknown > len(tokens) / 2) or non_latin_share(text) > 0.5
        score = given_scores[index] if given_scores[index] is not None else scored[index]
        figures.append(ReviewFigures(len(tokens), unknown, foreign, score))
    return figures


def reference_reviews(source: str, model_dir: Path, part: str) -> list:
    """The training split of source; with part "validation", only the reviews `sentiment prepare`
    held out for validation with the model's own fraction and seed (its metrics.json), which the
    vocabulary and the weights were not fitted on."""
    from sentiment.data.prepare import split_validation
    from sentiment.data.reviews import load_reviews

    reviews = load_reviews(source, "train", progress=False)
    if part == "all":
        return reviews
    fraction, seed = 0.1, 42   # prepare's defaults, for a model folder without metrics.json
    metrics = model_dir / "metrics.json"
    if metrics.is_file():
        recorded = json.loads(metrics.read_text(encoding="utf-8")).get("dataset", {}).get("source", {})
        fraction, seed = recorded.get("validation_fraction", fraction), recorded.get("seed", seed)
    _, held_out = split_validation(reviews, fraction, seed)
    return [reviews[i] for i in held_out]


# --- command ----------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Compare a window of SageMaker data capture with the training data: unknown words, "
                    "length, language, scores. Exit 0: no drift; 1: drift found; 2: bad input.")
    parser.add_argument("--capture", required=True,
                        help="a folder of data capture .jsonl files (searched at any depth), or one file")
    parser.add_argument("--model", default=str(ROOT / "models" / "default"),
                        help="model folder whose tokenizer, vocabulary and scores are used (default: models/default)")
    parser.add_argument("--reference", default=None,
                        help="IMDb source whose training split is the reference (default: the shared "
                             "JSON-lines copy where there is one, else the official archive)")
    parser.add_argument("--reference-part", choices=("validation", "all"), default="validation",
                        help="validation (default): the training reviews held out from fitting the model; "
                             "all: every training review (its words and scores are the model's own, so "
                             "held-out traffic looks drifted)")
    parser.add_argument("--reference-size", type=int, default=2000,
                        help="training reviews drawn at random as the reference (default: 2000)")
    parser.add_argument("--trials", type=int, default=TRIALS,
                        help=f"pairs of training windows behind each threshold (default: {TRIALS})")
    parser.add_argument("--seed", type=int, default=0, help="seed of the reference sample and the windows")
    parser.add_argument("--json", dest="json_out", help="also write the figures to this JSON file")
    return parser.parse_args(argv)


def format_table(rows: list[Row]) -> str:
    header = ("figure", "reference", "captured", "statistic", "threshold (chance, floor)", "verdict")
    lines = [header] + [(row.figure, f"{row.reference:.4g}", f"{row.captured:.4g}",
                         f"{row.statistic_name} {row.statistic:.4f}",
                         f"{row.threshold:.4f} ({row.chance:.4f}, {row.floor:g})",
                         "DRIFT" if row.drift else "ok") for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip()
                     for line in lines)


def run(args: argparse.Namespace) -> int:
    from sentiment.data.reviews import default_source

    requests, skipped = read_captures(Path(args.capture))
    if args.reference_size < 2 or args.trials < 1:
        raise CaptureError("--reference-size must be at least 2 and --trials at least 1")
    from sentiment_model.artifact import load_predictor

    predictor = load_predictor(Path(args.model))
    source = args.reference or default_source()
    pool = reference_reviews(source, Path(args.model), args.reference_part)
    sample = random.Random(args.seed).sample(pool, min(args.reference_size, len(pool)))
    reference = review_figures(predictor, [r.text for r in sample], [None] * len(sample))
    captured = review_figures(predictor, [r.text for r in requests], [r.score for r in requests])
    rows, size = compare(reference, captured, args.trials, args.seed)

    print(f"captured: {len(captured)} requests from {args.capture}"
          + (f" ({skipped} of other content types skipped)" if skipped else ""))
    print(f"reference: {len(reference)} training reviews ({args.reference_part} part) of {source}, "
          f"scored by {args.model}")
    print(f"thresholds: the larger of chance (the {THRESHOLD_PERCENTILE}th percentile over {args.trials} pairs "
          f"of disjoint training windows of {size} reviews) and a floor; PSI rules of thumb "
          f"{PSI_RULES_OF_THUMB[0]} (moderate) and {PSI_RULES_OF_THUMB[1]} (major)")
    print(format_table(rows))
    drifted = [row.figure for row in rows if row.drift]
    print(f"verdict: drift in {', '.join(drifted)}" if drifted else "verdict: no drift")
    if args.json_out:
        out = Path(args.json_out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({
            "captured": len(captured), "skipped": skipped, "reference": len(reference),
            "reference_source": source, "reference_part": args.reference_part, "model": args.model, "window": size, "trials": args.trials,
            "percentile": THRESHOLD_PERCENTILE, "psi_rules_of_thumb": PSI_RULES_OF_THUMB,
            "figures": [asdict(row) for row in rows], "drift": bool(drifted)}, indent=2) + "\n",
            encoding="utf-8")
    return 1 if drifted else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from sentiment.data.reviews import SourceError
    from sentiment_model.artifact import ArtifactError

    try:
        return run(args)
    except (CaptureError, SourceError, ArtifactError) as error:
        print(f"sentiment drift: {' '.join(str(error).split())}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"sentiment drift: {error.strerror or error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
