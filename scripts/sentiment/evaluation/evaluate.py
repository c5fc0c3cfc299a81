#!/usr/bin/env python3
"""Evaluate a trained model on labelled reviews (by default the IMDb test split): accuracy,
precision, recall, F1, ROC-AUC and the confusion matrix, printed, saved as JSON, drawn as PNG.

The raw review text goes through the model directory's own text pipeline (the one serving
uses), so the figures are what the endpoint would score.

    sentiment evaluate --model models/default --data ../shared/data/imdb --out build/evaluation
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from sentiment.data.reviews import OFFICIAL_URL, SourceError, load_reviews
from sentiment.evaluation.metrics import compute_metrics, format_metrics, plot_metrics
from sentiment.evaluation.scoring import score_all
from sentiment.models import ModelPathError, resolve_model_dir
from sentiment.paths import ROOT
from sentiment_model.artifact import ArtifactError, load_predictor


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ROOT / "models" / "default"),
                        help="model directory or model.tar.gz (default: models/default)")
    parser.add_argument("--data", default=OFFICIAL_URL,
                        help="labelled reviews: aclImdb_v1.tar.gz or its URL, an aclImdb/ folder, a folder with "
                             "test.jsonl[.gz], or a .jsonl[.gz] file (default: the official URL)")
    parser.add_argument("--split", default="test", choices=("test", "train"), help="split to read (default: test)")
    parser.add_argument("--out", default="build/evaluation", help="folder for metrics.json and plots")
    parser.add_argument("--limit", type=int, help="evaluate only the first N reviews")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="scoring processes, one torch thread each (default: every core)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser.parse_args(argv)


def evaluate(args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    model_dir = resolve_model_dir(args.model)
    import torch

    torch.set_num_threads(1)  # before the scoring processes fork: one thread each
    predictor = load_predictor(model_dir)
    reviews = load_reviews(args.data, args.split, progress=not args.quiet)
    if args.limit:
        reviews = reviews[: args.limit] if args.limit >= len(reviews) else \
            [reviews[i] for i in range(0, len(reviews), max(1, len(reviews) // args.limit))][: args.limit]
    labels = [r.label for r in reviews]
    scores = score_all(predictor, [r.text for r in reviews], args.workers, progress=not args.quiet)
    metrics = compute_metrics(labels, scores)
    metrics["seconds"] = round(time.perf_counter() - started, 1)
    metrics["model"] = str(args.model)
    metrics["data"] = {"source": str(args.data), "split": args.split}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    plots = plot_metrics(labels, scores, metrics, out)
    print(format_metrics(metrics))
    print(f"wrote {out / 'metrics.json'} and {', '.join(p.name for p in plots)} in {metrics['seconds']} s")
    return metrics


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        evaluate(args)
    except (SourceError, ModelPathError, ArtifactError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
