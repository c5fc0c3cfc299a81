#!/usr/bin/env python3
"""Benchmark the local stack through its whole path (HTTP -> API -> Lambda handler -> boto3 ->
model server -> inference handlers) and print the figures the README quotes:

1. start-up: seconds from running `sentiment local` to the first answered prediction
   (target: 10 s or less with models/default);
2. load: N concurrent clients, each sending its next review as soon as the last one is answered,
   for D seconds, once with plain requests and once with the site's mix (the website asks for an
   explanation on every submit), side by side in one run (targets with 16 clients for 30 s:
   plain at least 200 requests/s, 0 errors, p99 100 ms or less; explained at least 0.2 of the
   plain rate).

3. with --hostile N: N clients send crafted reviews as fast as they are answered (20,000 characters
   of unclosed tags, of one-letter sentences, of abbreviations, each asking for an explanation)
   while one visitor sends an ordinary explained review every 100 ms: how long the crafted ones
   take, and how long the visitor waits behind them (target: every ordinary review answered
   within 1 s).

Reviews are real IMDb test reviews when --data exists (cut to the API's limit; 1,314 characters
on average), else, or with --short-reviews, a fixed set of one-sentence reviews.

    sentiment bench-local                            # models/default, 16 clients, 30 s per mix
    sentiment bench-local --clients 1,8,32 --duration 10 --mix plain,site
    sentiment bench-local --hostile 3 --mix none --duration 20
    sentiment bench-local --api-port 8081 --hostile 3 --mix none   # a stack that is already running
"""
from __future__ import annotations

import argparse
import collections
import http.client
import json
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path

from sentiment.checks.crafted import CRAFTED_SHAPES, crafted
from sentiment.contract import DEFAULT_MAX_REVIEW_CHARS
from sentiment.data.reviews import SourceError, default_source, read_reviews
from sentiment.local.servers import LOCALHOST, free_port, spawn, stop_process
from sentiment.stats import percentile

FALLBACK_REVIEWS = [
    "A masterpiece. The performances are moving and I was gripped from start to finish.",
    "A waste of two hours: the plot makes no sense and the ending is awful.",
    "Charming, funny in places and well worth a rainy afternoon.",
    "The worst film I have seen this year. Boring, predictable and badly acted.",
    "Beautifully shot, with a score that stays with you long after the credits.",
    "I walked out halfway through. Nothing happens and nobody seems to care.",
]


def load_reviews(data: str, count: int, max_chars: int) -> tuple[list[str], str]:
    try:
        texts = [review.text[:max_chars] for review in read_reviews(data, "test", progress=False)]
    except SourceError as error:
        return FALLBACK_REVIEWS, f"{len(FALLBACK_REVIEWS)} short built-in reviews ({error})"
    random.Random(0).shuffle(texts)
    texts = texts[:count]
    mean = statistics.mean(len(t) for t in texts)
    return texts, f"{len(texts)} IMDb test reviews from {data} (mean {mean:.0f} characters)"


def chosen_reviews(args: argparse.Namespace) -> tuple[list[str], str]:
    """The reviews to send and their description: --short-reviews, or --reviews IMDb reviews
    from --data cut to --max-chars."""
    if args.short_reviews:
        return FALLBACK_REVIEWS, f"{len(FALLBACK_REVIEWS)} one-sentence reviews"
    return load_reviews(args.data, args.reviews, args.max_chars)


def post(connection: http.client.HTTPConnection, body: bytes) -> tuple[int, bytes]:
    connection.request("POST", "/predict", body=body, headers={
        "Content-Type": "application/json", "Origin": f"http://{LOCALHOST}"})
    response = connection.getresponse()
    return response.status, response.read()


def process_tree(pid: int) -> list[int]:
    """pid and its descendants (Linux /proc; just pid elsewhere)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU seconds used so far by these processes (0 where unreadable)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    return total


def time_to_first_prediction(model: str, ports: tuple[int, int, int], timeout: float):
    """Start the stack as a user would and poll until a prediction comes back."""
    site, api, runtime = ports
    started = time.perf_counter()
    stack = spawn("local", ["--model", model, "--port", str(site), "--api-port", str(api),
                                     "--model-port", str(runtime)], quiet=True)
    body = json.dumps({"review": "A wonderful film."}).encode()
    while True:
        if stack.poll() is not None:
            raise RuntimeError(f"`sentiment local` exited with status {stack.returncode}")
        if time.perf_counter() - started > timeout:
            stop_process(stack)
            raise RuntimeError(f"no prediction within {timeout:.0f} s")
        try:
            connection = http.client.HTTPConnection(LOCALHOST, api, timeout=5)
            status, _ = post(connection, body)
            connection.close()
            if status == 200:
                return stack, time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.02)


MIXES = {"plain": False, "site": True}  # mix -> whether every request asks for an explanation
# The crafted shapes that cost the most before reading became linear, sent at the API's limit.
HOSTILE_SHAPES = ("unclosed start tags", "initials", "abbreviations")
ORDINARY_INTERVAL_S = 0.1
ORDINARY_TARGET_S = 1.0


def crafted_bodies(max_chars: int) -> dict[str, bytes]:
    return {name: json.dumps({"review": crafted([CRAFTED_SHAPES[name]], max_chars), "explain": True}).encode()
            for name in HOSTILE_SHAPES}


def head_of_line(api_port: int, hostile: int, ordinary: list[str], duration: float, max_chars: int) -> dict:
    """Latencies of crafted requests from `hostile` clients, and of ordinary explained reviews
    sent every ORDINARY_INTERVAL_S meanwhile by one more client."""
    crafted = list(crafted_bodies(max_chars).items())
    ordinary_bodies = request_bodies(ordinary, explain=True)
    end = time.perf_counter() + duration
    crafted_seen: dict[str, list[tuple[int, float]]] = {name: [] for name, _ in crafted}
    ordinary_seen: list[tuple[int, float]] = []
    lock = threading.Lock()

    def send(connection, body) -> tuple[int, float, http.client.HTTPConnection]:
        started = time.perf_counter()
        try:
            status, _ = post(connection, body)
        except (OSError, http.client.HTTPException):
            status = 0
            connection.close()
            connection = http.client.HTTPConnection(LOCALHOST, api_port, timeout=60)
        return status, time.perf_counter() - started, connection

    def attacker(index: int) -> None:
        connection = http.client.HTTPConnection(LOCALHOST, api_port, timeout=60)
        turn = index
        while time.perf_counter() < end:
            name, body = crafted[turn % len(crafted)]
            status, seconds, connection = send(connection, body)
            with lock:
                crafted_seen[name].append((status, seconds))
            turn += 1
        connection.close()

    def visitor() -> None:
        connection = http.client.HTTPConnection(LOCALHOST, api_port, timeout=60)
        rng, due = random.Random(0), time.perf_counter() + 0.5  # the crafted requests start first
        while due < end:
            time.sleep(max(0.0, due - time.perf_counter()))
            status, seconds, connection = send(connection, ordinary_bodies[rng.randrange(len(ordinary_bodies))])
            ordinary_seen.append((status, seconds))
            due = max(due + ORDINARY_INTERVAL_S, time.perf_counter())
        connection.close()

    threads = [threading.Thread(target=attacker, args=(i,), daemon=True) for i in range(hostile)]
    threads.append(threading.Thread(target=visitor, daemon=True))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    def figures(seen: list[tuple[int, float]]) -> dict:
        times = sorted(seconds for _, seconds in seen)
        statuses = collections.Counter(status for status, _ in seen)
        return {"requests": len(seen), "statuses": dict(sorted(statuses.items())),
                "p50_s": percentile(times, 50) if times else float("nan"),
                "p99_s": percentile(times, 99) if times else float("nan"),
                "max_s": times[-1] if times else float("nan")}

    return {"hostile_clients": hostile, "crafted": {name: figures(seen) for name, seen in crafted_seen.items()},
            "ordinary": figures(ordinary_seen)}


def report_head_of_line(result: dict) -> bool:
    for name, found in result["crafted"].items():
        print(f"  crafted, {name}: {found['requests']} requests, statuses {found['statuses']}, "
              f"p50 {found['p50_s']:.3f} s, max {found['max_s']:.3f} s")
    ordinary = result["ordinary"]
    met = ordinary["requests"] > 0 and ordinary["max_s"] <= ORDINARY_TARGET_S and set(ordinary["statuses"]) == {200}
    print(f"ordinary explained reviews meanwhile: {ordinary['requests']} requests, statuses {ordinary['statuses']}, "
          f"p50 {ordinary['p50_s']:.3f} s, p99 {ordinary['p99_s']:.3f} s, max {ordinary['max_s']:.3f} s "
          f"(target: all answered 200 within {ORDINARY_TARGET_S:.0f} s): {'met' if met else 'MISSED'}")
    return met


def request_bodies(reviews: list[str], explain: bool) -> list[bytes]:
    """What the site sends (explain: true on every submit) or a plain API client."""
    return [json.dumps({"review": review, "explain": True} if explain else {"review": review}).encode()
            for review in reviews]


def start_stack(model: str):
    """`sentiment local` on free ports, once it answers: (process, seconds to the first
    prediction, API port), or None after printing why it did not start."""
    ports = (free_port(), free_port(), free_port())
    try:
        stack, startup = time_to_first_prediction(model, ports, timeout=120)
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return None
    return stack, startup, ports[1]


def load_test(api_port: int, bodies: list[bytes], clients: int, duration: float, warmup: float) -> dict:
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[list[str]] = [[] for _ in range(clients)]
    sent = [0] * clients
    start_line = threading.Barrier(clients + 1)
    window: dict[str, float] = {}

    def client(index: int) -> None:
        connection = http.client.HTTPConnection(LOCALHOST, api_port, timeout=30)
        rng = random.Random(index)
        start_line.wait()
        while time.perf_counter() < window["end"]:
            body = bodies[rng.randrange(len(bodies))]
            started = time.perf_counter()
            try:
                status, answer = post(connection, body)
            except (OSError, http.client.HTTPException) as error:
                status, answer = 0, str(error).encode()
                connection.close()
                connection = http.client.HTTPConnection(LOCALHOST, api_port, timeout=30)
            done = time.perf_counter()
            sent[index] += 1
            if started < window["begin"]:
                continue  # warm-up: connections opening, caches filling
            if status == 200:
                latencies[index].append(done - started)
            else:
                errors[index].append(f"{status} {answer[:120]!r}")
        connection.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    now = time.perf_counter()
    window.update(begin=now + warmup, end=now + warmup + duration)
    start_line.wait()
    for thread in threads:
        thread.join()
    measured = time.perf_counter() - window["begin"]
    all_latencies = sorted(x for per_client in latencies for x in per_client)
    all_errors = [e for per_client in errors for e in per_client]

    return {
        "requests": len(all_latencies) + len(all_errors), "requests_with_warmup": sum(sent),
        "ok": len(all_latencies), "errors": len(all_errors),
        "error_samples": sorted(set(all_errors))[:5], "seconds": measured,
        "rps": len(all_latencies) / measured,
        "p50_ms": percentile(all_latencies, 50) * 1000, "p90_ms": percentile(all_latencies, 90) * 1000,
        "p99_ms": percentile(all_latencies, 99) * 1000,
        "max_ms": all_latencies[-1] * 1000 if all_latencies else float("nan"),
    }


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="models/default",
                        help="model directory or model.tar.gz (default: models/default)")
    parser.add_argument("--clients", default="16",
                        help="concurrent clients, or several counts separated by commas (default: 16)")
    parser.add_argument("--mix", default="plain,site",
                        help="what the clients send, comma-separated: 'plain' requests, or the 'site' mix in "
                             "which every request asks for an explanation; 'none' skips the load runs "
                             "(default: plain,site)")
    parser.add_argument("--hostile", type=int, default=0,
                        help="also run N clients sending crafted reviews while one visitor sends ordinary ones "
                             "(default: 0, no such run)")
    parser.add_argument("--api-port", type=int,
                        help="measure the API of a local stack that is already running on this port instead of "
                             "starting one (no start-up figure, no CPU figures)")
    parser.add_argument("--duration", type=float, default=30, help="seconds of measured load per run (default: 30)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of unmeasured load first (default: 2)")
    add_review_arguments(parser)
    args = parser.parse_args(argv)
    try:
        args.clients = [int(value) for value in args.clients.split(",") if value.strip()]
    except ValueError:
        parser.error(f"--clients must be whole numbers separated by commas, got {args.clients!r}")
    if not args.clients or min(args.clients) < 1:
        parser.error("--clients must name at least one count of 1 or more")
    args.mix = [value.strip() for value in args.mix.split(",") if value.strip() and value.strip() != "none"]
    if set(args.mix) - set(MIXES):
        parser.error(f"--mix must be plain, site, both (comma-separated) or none, got {','.join(args.mix)!r}")
    if not args.mix and not args.hostile:
        parser.error("nothing to measure: --mix none needs --hostile")
    return args


def add_review_arguments(parser: argparse.ArgumentParser) -> None:
    """What to send (shared with `sentiment soak`): --data, --short-reviews, --reviews, --max-chars,
    and --json for the figures."""
    parser.add_argument("--data", default=default_source(),
                        help="IMDb test reviews from any review source: a .jsonl[.gz] file, a folder with "
                             "test.jsonl.gz, aclImdb/, aclImdb_v1.tar.gz or its URL (default: %(default)s)")
    parser.add_argument("--short-reviews", action="store_true",
                        help="send a fixed set of one-sentence reviews instead of IMDb's")
    parser.add_argument("--reviews", type=int, default=2000, help="distinct reviews to send (default: %(default)s)")
    parser.add_argument("--max-chars", type=int, default=DEFAULT_MAX_REVIEW_CHARS,
                        help="reviews are cut to this length, the API's limit (default: %(default)s)")
    parser.add_argument("--json", help="also write the figures to this JSON file")


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.api_port is None and not Path(args.model).exists():
        print(f"error: {args.model}: no such model directory or model.tar.gz", file=sys.stderr)
        return 2
    reviews, described = chosen_reviews(args)
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} cores, load average {load:.2f} before the run")
    stack, startup, api_port = None, None, args.api_port
    if api_port is None:
        started = start_stack(args.model)
        if started is None:
            return 1
        stack, startup, api_port = started
        print(f"start-up: first prediction answered {startup:.2f} s after running `sentiment local` "
              f"(target <= 10 s): {'met' if startup <= 10 else 'MISSED'}")
    runs, hostile = [], None
    try:
        stack_pids = process_tree(stack.pid) if stack else []
        for clients in args.clients:
            for mix in args.mix:
                print(f"load: {clients} clients, {mix} requests, for {args.duration:.0f} s "
                      f"(after {args.warmup:.0f} s warm-up), {described}", flush=True)
                stack_cpu, client_cpu = cpu_seconds(stack_pids), time.process_time()
                result = load_test(api_port, request_bodies(reviews, MIXES[mix]), clients, args.duration, args.warmup)
                stack_cpu, client_cpu = cpu_seconds(stack_pids) - stack_cpu, time.process_time() - client_cpu
                handled = max(1, result["requests_with_warmup"])
                result.update(clients=clients, mix=mix, stack_cpu_ms_per_request=stack_cpu / handled * 1000,
                              client_cpu_ms_per_request=client_cpu / handled * 1000)
                report(result)
                runs.append(result)
        if args.hostile:
            print(f"head of line: {args.hostile} clients sending crafted {args.max_chars:,}-character reviews for "
                  f"{args.duration:.0f} s, one visitor sending ordinary ones every {ORDINARY_INTERVAL_S * 1000:.0f} ms",
                  flush=True)
            hostile = head_of_line(api_port, args.hostile, FALLBACK_REVIEWS, args.duration, args.max_chars)
    finally:
        if stack is not None:
            stop_process(stack, timeout=10)
    met = summarize(runs)
    if hostile is not None:
        met &= report_head_of_line(hostile)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"startup_s": startup, "reviews": described, "load_average": load,
                                               "runs": runs, "head_of_line": hostile, "targets_met": met},
                                              indent=2) + "\n")
    # Figures that miss a target are a finding, not a failure; failed requests are.
    return 1 if any(run["errors"] for run in runs) else 0


def report(result: dict) -> None:
    print(f"  requests {result['requests']}, errors {result['errors']}, {result['rps']:.1f} requests/s")
    print(f"  latency p50 {result['p50_ms']:.1f} ms, p90 {result['p90_ms']:.1f} ms, "
          f"p99 {result['p99_ms']:.1f} ms, max {result['max_ms']:.1f} ms")
    print(f"  CPU per request: {result['stack_cpu_ms_per_request']:.2f} ms in the stack (API and model server), "
          f"{result['client_cpu_ms_per_request']:.2f} ms in the load clients; load average "
          f"{os.getloadavg()[0]:.2f} after the run")
    for sample in result["error_samples"]:
        print(f"  error: {sample}")


def summarize(runs: list[dict]) -> bool:
    """One line per client count: plain and explained rates side by side, and the targets."""
    met = True
    for clients in dict.fromkeys(run["clients"] for run in runs):
        by_mix = {run["mix"]: run for run in runs if run["clients"] == clients}
        plain, site = by_mix.get("plain"), by_mix.get("site")
        if plain:
            plain_met = plain["rps"] >= 200 and plain["errors"] == 0 and plain["p99_ms"] <= 100
            print(f"{clients} clients, plain: {plain['rps']:.1f} requests/s, p99 {plain['p99_ms']:.1f} ms "
                  f"(target >= 200 requests/s, 0 errors, p99 <= 100 ms): {'met' if plain_met else 'MISSED'}")
            met &= plain_met or clients < 16  # the rate target is for 16 or more clients
        if plain and site:
            ratio = site["rps"] / plain["rps"] if plain["rps"] else float("nan")
            ratio_met = ratio >= 0.2 and site["errors"] == 0
            print(f"{clients} clients, site mix (every request explained): {site['rps']:.1f} requests/s, "
                  f"p99 {site['p99_ms']:.1f} ms, {ratio:.2f} of plain (target >= 0.2): {'met' if ratio_met else 'MISSED'}")
            met &= ratio_met
    return met


if __name__ == "__main__":
    sys.exit(main())
