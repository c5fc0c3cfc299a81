#!/usr/bin/env python3
"""Measure a deployed model the way its callers see it: send N labelled reviews (half negative,
half positive) to a SageMaker endpoint or to the API, a bounded number at a time, and print
accuracy, latency p50/p99 and errors.

    --endpoint-name NAME   InvokeEndpoint on the SageMaker runtime (boto3 honours
                           AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME, e.g. the local model server)
    --api-url URL          POST URL/predict with {"review": ...}
    --explain              ask for explanations too ({"review": ..., "explain": true}, as the
                           website does): their latency; off by default

Exit status: 0 when every review was answered, 1 when some were not, 2 when none was (the
endpoint is unreachable or refuses everything) or the input is bad.

    sentiment evaluate-endpoint --api-url http://127.0.0.1:8081 --data ../shared/data/imdb -n 1000
    sentiment evaluate-endpoint --endpoint-name sentiment --data ../shared/data/imdb -n 500
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sentiment.data.reviews import OFFICIAL_URL, Review, SourceError, load_reviews
from sentiment.evaluation.metrics import compute_metrics
from sentiment.infra.stack_outputs import StackOutputsError, read_stack_outputs, require
from sentiment.stats import percentile


@dataclass(frozen=True)
class Outcome:
    label: int
    seconds: float
    score: float | None = None
    error: str | None = None


def balanced_sample(reviews: list[Review], count: int) -> list[Review]:
    """count reviews, half of each label (as far as there are), evenly spread over each label's
    reviews, alternating negative and positive so a partial run is balanced too."""
    by_label = [[r for r in reviews if r.label == label] for label in (0, 1)]
    wanted = [min(count // 2, len(by_label[0])), min(count - count // 2, len(by_label[1]))]
    for label in (0, 1):  # one label short: take more of the other
        wanted[label] = min(len(by_label[label]), count - wanted[1 - label])
    picked = [[group[i * len(group) // want] for i in range(want)] if want else []
              for group, want in zip(by_label, wanted)]
    mixed = []
    for index in range(max(wanted)):
        mixed += [group[index] for group in picked if index < len(group)]
    return mixed


# ---------------------------------------------------------------------------------------------
# The two ways to ask: the runtime API and the public API
# ---------------------------------------------------------------------------------------------

def request_body(text: str, explain: bool) -> dict:
    return {"review": text, "explain": True} if explain else {"review": text}


def read_answer(body: bytes, explain: bool = False) -> float:
    answer = json.loads(body)
    if answer.get("sentiment") not in ("positive", "negative"):
        raise ValueError("no sentiment in the answer")
    if explain and not isinstance(answer.get("explanation"), dict):
        raise ValueError("no explanation in the answer")
    return float(answer["score"])


class EndpointScorer:
    """InvokeEndpoint through one thread-safe boto3 client."""

    def __init__(self, endpoint_name: str, client, explain: bool = False) -> None:
        self.endpoint_name, self.client, self.explain = endpoint_name, client, explain
        self.target = f"endpoint {endpoint_name}"

    def __call__(self, text: str) -> float:
        response = self.client.invoke_endpoint(
            EndpointName=self.endpoint_name, ContentType="application/json", Accept="application/json",
            Body=json.dumps(request_body(text, self.explain)).encode("utf-8"))
        return read_answer(response["Body"].read(), self.explain)

    @staticmethod
    def describe(error: Exception) -> str:
        from botocore.exceptions import ClientError

        if isinstance(error, ClientError):
            return error.response.get("Error", {}).get("Code") or "ClientError"
        return type(error).__name__


def runtime_client(region: str | None, concurrency: int, timeout: float):
    import boto3
    from botocore.config import Config

    return boto3.client("sagemaker-runtime", region_name=region, config=Config(
        max_pool_connections=concurrency, connect_timeout=min(timeout, 5), read_timeout=timeout,
        retries={"mode": "standard", "total_max_attempts": 1}))


class ApiScorer:
    """POST {api}/predict, one keep-alive session per thread."""

    def __init__(self, api_url: str, timeout: float, explain: bool = False) -> None:
        self.url = api_url.rstrip("/") + "/predict"
        self.target, self.timeout, self.explain = self.url, timeout, explain
        self.local = threading.local()

    def __call__(self, text: str) -> float:
        import requests

        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
        response = session.post(self.url, json=request_body(text, self.explain), timeout=self.timeout)
        if response.status_code != 200:
            raise HttpStatusError(response.status_code)
        return read_answer(response.content, self.explain)

    @staticmethod
    def describe(error: Exception) -> str:
        if isinstance(error, HttpStatusError):
            return f"HTTP {error.status}"
        return type(error).__name__


class HttpStatusError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


# ---------------------------------------------------------------------------------------------
# Sending, and the figures
# ---------------------------------------------------------------------------------------------

def send_all(scorer, reviews: list[Review], concurrency: int, progress: bool = True) -> list[Outcome]:
    from tqdm import tqdm

    def one(review: Review) -> Outcome:
        started = time.perf_counter()
        try:
            score = scorer(review.text)
        except Exception as error:  # noqa: BLE001 - every failure is counted by kind, never raised
            return Outcome(review.label, time.perf_counter() - started, error=scorer.describe(error))
        return Outcome(review.label, time.perf_counter() - started, score)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(tqdm(pool.map(one, reviews), total=len(reviews), desc="sending", unit=" reviews",
                         disable=not progress, mininterval=1))


def summarize(outcomes: list[Outcome], seconds: float) -> dict:
    import numpy as np

    answered = [o for o in outcomes if o.error is None]
    summary = {"reviews": len(outcomes), "answered": len(answered), "errors": len(outcomes) - len(answered),
               "error_kinds": dict(Counter(o.error for o in outcomes if o.error)),
               "seconds": seconds, "reviews_per_second": len(outcomes) / seconds if seconds else 0.0}
    if answered:
        latencies = np.array([o.seconds for o in answered]) * 1000
        summary["latency_ms"] = {"p50": percentile(latencies, 50), "p99": percentile(latencies, 99)}
        summary["metrics"] = compute_metrics([o.label for o in answered], [o.score for o in answered])
    return summary


def format_summary(summary: dict, target: str, concurrency: int) -> str:
    lines = [f"target     {target}",
             (f"sent       {summary['reviews']:,} reviews in {summary['seconds']:.1f} s "
              f"({summary['reviews_per_second']:,.0f}/s, {concurrency} at a time)")]
    if "metrics" in summary:
        lines += [f"accuracy   {summary['metrics']['accuracy']:.4f} on {summary['answered']:,} answered reviews",
                  f"latency    p50 {summary['latency_ms']['p50']:.0f} ms, p99 {summary['latency_ms']['p99']:.0f} ms"]
    kinds = ", ".join(f"{kind} x{count}" for kind, count in sorted(summary["error_kinds"].items()))
    lines.append(f"errors     {summary['errors']}" + (f" ({kinds})" if kinds else ""))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------

def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--endpoint-name", help="SageMaker endpoint to invoke")
    target.add_argument("--api-url", help="API base URL; reviews go to POST <url>/predict")
    target.add_argument("--stack-outputs", help="cdk deploy --outputs-file JSON: use its ApiUrl")
    parser.add_argument("--data", default=OFFICIAL_URL,
                        help="labelled reviews, any source `sentiment evaluate` reads (default: the official URL)")
    parser.add_argument("--split", default="test", choices=("test", "train"), help="split to read (default: test)")
    parser.add_argument("-n", "--reviews", type=int, default=500, help="reviews to send (default: 500)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight at most (default: 16)")
    parser.add_argument("--timeout", type=float, default=30, help="seconds to wait for one answer (default: 30)")
    parser.add_argument("--region", help="AWS region for --endpoint-name (default: the SDK's configuration)")
    parser.add_argument("--explain", action="store_true",
                        help='ask for an explanation of every review ("explain": true), as the website does')
    parser.add_argument("--out", help="also write the figures as JSON here")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.reviews < 1 or args.concurrency < 1 or args.timeout <= 0:
        parser.error("-n, --concurrency and --timeout must be positive")
    return args


def make_scorer(args: argparse.Namespace, client=None):
    if args.endpoint_name:
        return EndpointScorer(args.endpoint_name, client or runtime_client(args.region, args.concurrency, args.timeout),
                              args.explain)
    api_url = args.api_url or require(read_stack_outputs(args.stack_outputs), "ApiUrl", args.stack_outputs)
    if not api_url.startswith(("http://", "https://")):
        raise StackOutputsError(f"{api_url}: the API URL must start with http:// or https://")
    return ApiScorer(api_url, args.timeout, args.explain)


def run(args: argparse.Namespace, client=None) -> dict:
    scorer = make_scorer(args, client)
    reviews = balanced_sample(load_reviews(args.data, args.split, progress=not args.quiet), args.reviews)
    started = time.perf_counter()
    outcomes = send_all(scorer, reviews, args.concurrency, progress=not args.quiet)
    summary = summarize(outcomes, time.perf_counter() - started)
    summary["target"] = scorer.target
    print(format_summary(summary, scorer.target, args.concurrency))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def main(argv=None) -> int:
    args = parse_args(argv)
    from botocore.exceptions import BotoCoreError

    try:
        summary = run(args)
    except (SourceError, StackOutputsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except BotoCoreError as error:  # no region configured, for instance
        print(f"error: {' '.join(str(error).split())}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: {args.out}: cannot be written ({error.strerror or error})", file=sys.stderr)
        return 2
    if summary["answered"] == 0:
        kinds = ", ".join(summary["error_kinds"])
        print(f"error: {summary['target']}: no review was answered ({kinds})", file=sys.stderr)
        return 2
    return 1 if summary["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
