#!/usr/bin/env python3
"""Score a file of reviews on this machine: one prediction per review, as JSON lines, in input
order; with labels present, the evaluation figures too (the same as `sentiment evaluate`).

Input (by file name; a trailing .gz is read compressed):
    *.jsonl, *.ndjson   one review per line: {"text"|"review": "...", "label"?: 0|1, "id"?: ...}
                        or a JSON string
    *.csv               a header row with a text or review column, optional label and id columns
    *.txt               one review per line (blank lines are skipped)
    aclImdb/ folder, aclImdb_v1.tar.gz (or its URL), a folder with <split>.jsonl[.gz]
                        read by scripts/sentiment/data/reviews.py, labelled, in the dataset's order
Output: one {"id"?, "sentiment", "score", "label"?} object per line.

One process per core, each with one torch thread: two processes that each start an OpenMP team
on a two-core machine fight over the cores and run several times slower. Reviews are dealt to
the processes in chunks of similar length and scored 64 at a time, which pads little and keeps
each batch in cache: about a third less CPU per review than chunks in input order of 256.

    sentiment batch-score --model models/default --input ../shared/data/imdb/test.jsonl.gz \\
        --out build/predictions.jsonl
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

from sentiment.data.reviews import Review, SourceError, read_reviews
from sentiment.evaluation.metrics import compute_metrics, format_metrics
from sentiment.evaluation.scoring import processes_for, score_all
from sentiment.models import ModelPathError, resolve_model_dir
from sentiment.paths import ROOT

# ---------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------

def prediction(item: Review, score: float) -> dict:
    row = {"id": item.id} if item.id is not None else {}
    row.update(sentiment="positive" if score >= 0.5 else "negative", score=round(float(score), 6))
    if item.label is not None:
        row["label"] = item.label
    return row


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the scoring workers)."""
    return sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", required=True,
                        help="reviews: .jsonl/.ndjson, .csv or .txt (optionally .gz), an aclImdb/ folder, "
                             "aclImdb_v1.tar.gz or its URL, or a folder with <split>.jsonl[.gz]")
    parser.add_argument("--model", default=str(ROOT / "models" / "default"),
                        help="model directory or model.tar.gz (default: models/default)")
    parser.add_argument("--out", default="build/predictions.jsonl", help="predictions file, JSON lines "
                        "(default: build/predictions.jsonl)")
    parser.add_argument("--split", default="test", choices=("test", "train"),
                        help="split to read from an aclImdb source (default: test)")
    parser.add_argument("--text-column", help="CSV column holding the review (default: review or text)")
    parser.add_argument("--label-column", help="CSV column holding the label (default: label or sentiment, if any)")
    parser.add_argument("--workers", type=int, default=default_workers(),
                        help="scoring processes, one torch thread each (default: one per core)")
    parser.add_argument("--batch-size", type=int, default=64, help="reviews per model call (default: 64, the fastest on one thread)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.workers < 1 or args.batch_size < 1:
        parser.error("--workers and --batch-size must be positive")
    return args


def run(args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    import torch

    torch.set_num_threads(1)  # here too: the forked workers inherit this process's setting
    from sentiment_model.artifact import load_predictor

    predictor = load_predictor(resolve_model_dir(args.model))
    items = read_reviews(args.input, args.split, args.text_column, args.label_column, progress=not args.quiet)
    scoring_started, cpu_started = time.perf_counter(), cpu_seconds()
    scores = score_all(predictor, [item.text for item in items], args.workers, args.batch_size,
                       progress=not args.quiet)
    scoring_seconds = time.perf_counter() - scoring_started
    scoring_cpu = cpu_seconds() - cpu_started
    out = Path(args.out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(prediction(item, score), ensure_ascii=False) + "\n"
                              for item, score in zip(items, scores))
    except OSError as error:
        raise SourceError(f"{out}: cannot be written ({error.strerror or error})") from None

    processes = processes_for(len(items), args.workers)
    summary = {"reviews": len(items), "scoring_seconds": scoring_seconds, "processes": processes,
               "reviews_per_second": len(items) / scoring_seconds,
               "cpu_ms_per_review": 1000 * scoring_cpu / len(items)}
    labelled = [(item.label, score) for item, score in zip(items, scores) if item.label is not None]
    if labelled:
        metrics = compute_metrics([label for label, _ in labelled], [score for _, score in labelled])
        summary["metrics"] = metrics
        if len(labelled) < len(items):
            print(f"{len(labelled):,} of {len(items):,} reviews are labelled; figures are for those")
        print(format_metrics(metrics))
    summary["seconds"] = time.perf_counter() - started
    print(f"scored {len(items):,} reviews in {scoring_seconds:.1f} s: {summary['reviews_per_second']:,.0f} "
          f"reviews/s with {processes} process(es); {summary['seconds']:.1f} s in all, reading and model load "
          f"included")
    # On a shared machine the wall clock depends on the neighbours; CPU time per review does not.
    print(f"CPU {summary['cpu_ms_per_review']:.2f} ms per review: about "
          f"{processes * 1000 / summary['cpu_ms_per_review']:,.0f} reviews/s on {processes} idle core(s)")
    print(f"wrote {out}")
    return summary


def main(argv=None) -> int:
    args = parse_args(argv)
    from sentiment_model.artifact import ArtifactError

    try:
        run(args)
    except (SourceError, ModelPathError, ArtifactError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
