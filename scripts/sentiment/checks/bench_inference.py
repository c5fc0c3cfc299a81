#!/usr/bin/env python3
"""Inference handler speed: one review at a time through input_fn, predict_fn and output_fn on
one core (median latency), 200-word reviews as JSON with and without "explain": true side by side
(each review timed both ways, in turn), and batches of JSON lines scored by one process per core
(reviews/s).

    sentiment bench-inference --model models/default --data ../shared/data/imdb/test.jsonl.gz
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import time

from sentiment.data.reviews import SourceError, default_source, read_reviews
from sentiment.models import ModelPathError, resolve_model_dir
from sentiment.paths import ROOT
from sentiment.stats import percentile

_model = None


def _load(model_dir: str):
    global _model
    import torch

    torch.set_num_threads(1)
    from sentiment_model import serving

    _model = serving.model_fn(model_dir)


def _score_chunk(body: str) -> int:
    from sentiment_model import serving

    answer, _ = serving.output_fn(serving.predict_fn(serving.input_fn(body, "application/jsonlines"), _model),
                                    "application/json")
    return answer.count("\n")


def single_latency(model_dir: str, reviews: list[str]) -> list[float]:
    from sentiment_model import serving

    _load(model_dir)
    timings = []
    for review in reviews:
        started = time.perf_counter()
        serving.output_fn(serving.predict_fn(serving.input_fn(review.encode("utf-8"), "text/plain"), _model),
                            "application/json")
        timings.append(time.perf_counter() - started)
    return timings


def explained_latency(model_dir: str, reviews: list[str]) -> tuple[list[float], list[float]]:
    """Seconds for each review as {"review": ...} and as {"review": ..., "explain": true}; the
    order alternates so that a busy moment of the machine falls on both alike."""
    from sentiment_model import serving

    _load(model_dir)
    plain, explained = [], []
    for index, review in enumerate(reviews):
        bodies = [(plain, json.dumps({"review": review})), (explained, json.dumps({"review": review, "explain": True}))]
        for timings, body in bodies if index % 2 else bodies[::-1]:
            started = time.perf_counter()
            serving.output_fn(serving.predict_fn(serving.input_fn(body.encode("utf-8"), "application/json"),
                                                     _model), "application/json")
            timings.append(time.perf_counter() - started)
    return plain, explained


def batch_rate(model_dir: str, reviews: list[str], workers: int, chunk: int) -> float:
    bodies = ["".join(json.dumps(r) + "\n" for r in reviews[i: i + chunk]) for i in range(0, len(reviews), chunk)]
    with multiprocessing.get_context("fork").Pool(workers, _load, (model_dir,)) as pool:
        pool.map(_score_chunk, bodies[:workers])  # warm up every worker
        started = time.perf_counter()
        scored = sum(pool.imap_unordered(_score_chunk, bodies))
        seconds = time.perf_counter() - started
    assert scored == len(reviews), (scored, len(reviews))
    return len(reviews) / seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ROOT / "models" / "default"), help="model directory")
    parser.add_argument("--data", default=default_source(),
                        help="IMDb test reviews from any review source: a .jsonl[.gz] file, a folder with "
                             "test.jsonl.gz, aclImdb/, aclImdb_v1.tar.gz or its URL (default: %(default)s)")
    parser.add_argument("--single", type=int, default=500, help="reviews timed one at a time (default: 500)")
    parser.add_argument("--explained", type=int, default=200,
                        help="200-word reviews (190 to 210 words) timed with and without an explanation (default: 200)")
    parser.add_argument("--batch", type=int, default=10000, help="reviews scored in batches (default: 10000)")
    parser.add_argument("--chunk", type=int, default=250, help="reviews per batch request (default: 250)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes for batches (default: every core)")
    args = parser.parse_args(argv)
    try:
        args.model = str(resolve_model_dir(args.model))
        texts = [review.text for review in read_reviews(args.data, "test")]
    except (ModelPathError, SourceError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    step = max(1, len(texts) // max(args.single, args.batch))
    spread = texts[::step]
    timings = single_latency(args.model, spread[: args.single])
    milliseconds = sorted(t * 1000 for t in timings)
    print(f"one review through input_fn+predict_fn+output_fn, one core, {len(milliseconds)} reviews:")
    print(f"  median {statistics.median(milliseconds):.2f} ms   p90 {percentile(milliseconds, 90):.2f} ms   "
          f"max {milliseconds[-1]:.2f} ms")
    long_reviews = [text for text in texts if 190 <= len(text.split()) <= 210][: args.explained]
    if long_reviews:
        plain, explained = explained_latency(args.model, long_reviews)
        print(f"one 200-word review as JSON, one core, {len(long_reviews)} reviews each timed both ways:")
        for name, timings in (("without explanation", plain), ("with explanation", explained)):
            milliseconds = sorted(t * 1000 for t in timings)
            print(f"  {name:<20} median {statistics.median(milliseconds):6.2f} ms   "
                  f"p90 {percentile(milliseconds, 90):6.2f} ms")
    batch = (spread * 2)[: args.batch]
    one = batch_rate(args.model, batch, 1, args.chunk)
    every = batch_rate(args.model, batch, args.workers, args.chunk)
    print(f"batches of {args.chunk} JSON lines, {len(batch)} reviews:")
    print(f"  1 process            {one:8,.0f} reviews/s")
    print(f"  {args.workers} processes          {every:8,.0f} reviews/s   (x{every / one:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
