"""`sentiment drift`: does a window of captured endpoint traffic still look like the training data?

Reads SageMaker data capture files (JSON lines, one request per line:
``{"captureData": {"endpointInput": {"observedContentType", "mode", "data", "encoding"},
"endpointOutput": {...}}, "eventMetadata": {"eventId", "inferenceTime"}, "eventVersion": "0"}``;
``encoding`` is ``BASE64`` unless the endpoint's capture config names the content type as JSON or
CSV, when ``data`` is the body as text). The input is the endpoint's: ``application/json``
``{"review": ..., "explain"?: ...}`` (or ``{"reviews": [...]}``, each review counted) or
``text/plain``. Records of other content types are counted and skipped.

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

The statistics themselves (reading capture records, the model's view of a review, summaries, PSI,
the comparison with thresholds) are evaluation/drift_core.py, which the scheduled function in
lambda/drift_check/ runs too. `--write-profile FILE` writes what that function needs in place of
the model and the training data: the tokenizer's settings, the vocabulary, the reference's figures
and the thresholds for each of --profile-windows (docs/operations.md#drift).

Exit status: 0 no drift (or the profile written), 1 drift in at least one figure, 2 bad input
(one-line error).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from dataclasses import asdict
from pathlib import Path

from sentiment.evaluation.drift_core import (
    FIGURES,
    PSI_RULES_OF_THUMB,
    SUPPORTED_TYPES,
    CaptureError,
    Profile,
    ProfileError,
    Request,
    ReviewFigures,
    Row,
    check_text_settings,
    compare,
    parse_record,
    read_review,
    summarize,
)
from sentiment.paths import ROOT

TRIALS = 200
THRESHOLD_PERCENTILE = 99
PROFILE_WINDOWS = (100, 200, 500, 1000)


# --- reading captures -------------------------------------------------------------------------

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
                found = parse_record(line, f"{path}:{number}")
                if found is None:
                    skipped += 1
                else:
                    requests.extend(found)
    if not requests:
        raise CaptureError(f"{folder}: no captured requests of type {' or '.join(SUPPORTED_TYPES)}")
    return requests, skipped


# --- thresholds from the training data's own variation ----------------------------------------

def thresholds(reference: list[ReviewFigures], sizes, trials: int = TRIALS,
               seed: int = 0) -> dict[int, dict[str, float]]:
    """{window size: {figure key: the THRESHOLD_PERCENTILE-th percentile of its statistic between
    random disjoint windows of that size of the reference}}. Sizes are capped at half the
    reference. Each size draws from its own generator of the seed, so a size's thresholds do not
    depend on which other sizes are asked for (the profile's equal the command's)."""
    from sentiment.stats import percentile

    chances = {}
    for size in sorted({max(1, min(size, len(reference) // 2)) for size in sizes}):
        rng = random.Random(seed)
        seen: dict[str, list[float]] = {figure.key: [] for figure in FIGURES}
        for _ in range(trials):
            drawn = rng.sample(reference, 2 * size)
            first, second = summarize(drawn[:size]), summarize(drawn[size:])
            for figure in FIGURES:
                seen[figure.key].append(figure.statistic(first, second))
        chances[size] = {key: percentile(values, THRESHOLD_PERCENTILE) for key, values in seen.items()}
    return chances


def build_profile(reference: list[ReviewFigures], *, text_settings: dict, vocabulary: list[str], sizes,
                  trials: int = TRIALS, seed: int = 0, about: dict | None = None) -> Profile:
    """The scheduled check's profile: the reference's summary and the thresholds for each window
    size, beside the tokenizer's settings and vocabulary."""
    check_text_settings(text_settings)
    return Profile(text_settings, tuple(vocabulary), summarize(reference),
                   thresholds(reference, sizes, trials, seed),
                   {**(about or {}), "trials": trials, "percentile": THRESHOLD_PERCENTILE, "seed": seed})


# --- the model's view of each review ----------------------------------------------------------

def review_figures(predictor, texts: list[str], given_scores: list[float | None]) -> list[ReviewFigures]:
    """read_review for each text, with the model's score where the capture holds none."""
    tokenizer, known = predictor.encoder.tokenizer, predictor.encoder.word_ids
    missing = [i for i, score in enumerate(given_scores) if score is None]
    scored = dict(zip(missing, predictor.predict([texts[i] for i in missing]))) if missing else {}
    return [read_review(text, given_scores[i] if given_scores[i] is not None else scored[i], tokenizer, known)
            for i, text in enumerate(texts)]


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


def shown(path: Path) -> str:
    """A path relative to the checkout when it is inside it (so a profile does not name the
    machine it was written on)."""
    try:
        return Path(path).resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


# --- command ---------------------------------------------------------------------------------

def window_sizes(value: str) -> tuple[int, ...]:
    try:
        sizes = tuple(sorted({int(part) for part in value.split(",") if part.strip()}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected window sizes such as 100,500, got {value!r}") from None
    if not sizes or sizes[0] < 2:
        raise argparse.ArgumentTypeError(f"window sizes must be at least 2, got {value!r}")
    return sizes


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Compare a window of SageMaker data capture with the training data: unknown words, "
                    "length, language, scores; or write the profile the scheduled check in AWS compares "
                    "with. Exit 0: no drift (or profile written); 1: drift found; 2: bad input.")
    parser.add_argument("--capture",
                        help="a folder of data capture .jsonl files (searched at any depth), or one file "
                             "(required unless --write-profile is given)")
    parser.add_argument("--write-profile", metavar="FILE",
                        help="write the scheduled check's profile (JSON: tokenizer settings, vocabulary, the "
                             "reference's figures, thresholds per window size) to FILE")
    parser.add_argument("--profile-windows", type=window_sizes, default=PROFILE_WINDOWS,
                        help="window sizes the profile holds thresholds for, comma-separated; the smallest is "
                             "the fewest captured reviews the scheduled check judges (default: "
                             f"{','.join(map(str, PROFILE_WINDOWS))}; each at most half the reference)")
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
    args = parser.parse_args(argv)
    if not args.capture and not args.write_profile:
        parser.error("give --capture (a window to check), --write-profile FILE, or both")
    return args


def format_table(rows: list[Row]) -> str:
    header = ("figure", "reference", "captured", "statistic", "threshold (chance, floor)", "verdict")
    lines = [header] + [(row.figure, f"{row.reference:.4g}", f"{row.captured:.4g}",
                         f"{row.statistic_name} {row.statistic:.4f}",
                         f"{row.threshold:.4f} ({row.chance:.4f}, {row.floor:g})",
                         "DRIFT" if row.drift else "ok") for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip()
                     for line in lines)


def write_profile(args: argparse.Namespace, predictor, reference: list[ReviewFigures], source: str) -> None:
    encoder = predictor.encoder
    vocabulary = sorted(encoder.word_ids, key=encoder.word_ids.get)
    weights = Path(args.model) / "model.pt"
    profile = build_profile(
        reference, text_settings=encoder.settings.to_json(), vocabulary=vocabulary, sizes=args.profile_windows,
        trials=args.trials, seed=args.seed,
        about={"model": shown(args.model), "weights_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
               "reference_source": shown(source) if Path(source).exists() else source,
               "reference_part": args.reference_part, "reference_reviews": len(reference)})
    out = Path(args.write_profile)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = profile.dumps()
    out.write_text(text, encoding="utf-8")
    print(f"profile: {out} ({len(text.encode('utf-8'))} bytes): vocabulary of {len(vocabulary)} words, "
          f"reference of {len(reference)} reviews, thresholds for windows of "
          f"{', '.join(map(str, profile.window_sizes))} reviews")


def run(args: argparse.Namespace) -> int:
    from sentiment.data.reviews import default_source

    requests, skipped = read_captures(Path(args.capture)) if args.capture else ([], 0)
    if args.reference_size < 2 or args.trials < 1:
        raise CaptureError("--reference-size must be at least 2 and --trials at least 1")
    from sentiment_model.artifact import load_predictor

    predictor = load_predictor(Path(args.model))
    if args.write_profile:
        check_text_settings(predictor.encoder.settings.to_json(), args.model)
    source = args.reference or default_source()
    pool = reference_reviews(source, Path(args.model), args.reference_part)
    sample = random.Random(args.seed).sample(pool, min(args.reference_size, len(pool)))
    reference = review_figures(predictor, [r.text for r in sample], [None] * len(sample))
    if args.write_profile:
        write_profile(args, predictor, reference, source)
    if not args.capture:
        return 0

    captured = review_figures(predictor, [r.text for r in requests], [r.score for r in requests])
    chances = thresholds(reference, [len(captured)], args.trials, args.seed)
    rows = compare(summarize(reference), summarize(captured), chances)
    size = rows[0].window

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
    except (CaptureError, ProfileError, SourceError, ArtifactError) as error:
        print(f"sentiment drift: {' '.join(str(error).split())}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"sentiment drift: {error.strerror or error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
