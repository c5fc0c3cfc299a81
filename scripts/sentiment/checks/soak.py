#!/usr/bin/env python3
"""Sustained load through the whole local path (HTTP -> API -> Lambda handler -> boto3 -> model
server -> inference handlers) at a fixed request rate, to find what a short benchmark cannot:
errors that appear after minutes, latency that creeps up, memory that grows.

Requests are sent on a fixed schedule (open loop): request i is due at start + i / rate, whatever
happened to the ones before, and its latency is counted from when it was due, so a stalled
server shows as latency rather than as a quietly lower rate. Every minute prints the last
minute's figures; the end prints errors, p50/p99, the achieved rate and the resident memory of
the stack's processes at start and end.

--explain-share sends that share of the requests as the website does, asking for an explanation
(1 is the site's own mix); plain and explained requests are then reported apart as well.

Targets: 5 minutes at 200 requests/s, 0 errors, p99 100 ms or less, memory growth under 50 MB
(plain requests).

    sentiment soak                               # models/default, 200/s for 5 minutes
    sentiment soak --rate 100 --duration 60 --model build/model
    sentiment soak --rate 20 --explain-share 1   # the site's mix
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sentiment.checks.bench_local import (
    add_review_arguments,
    chosen_reviews,
    post,
    process_tree,
    request_bodies,
    start_stack,
)
from sentiment.local.servers import LOCALHOST, stop_process
from sentiment.stats import percentile

MB = 1024 * 1024


def resident_bytes(pid: int) -> int:
    """VmRSS of one process (0 once it has gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def process_name(pid: int) -> str:
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return str(pid)
    words = [a.decode() for a in args if a]
    # `python -m sentiment <command> ...`: name the process by its subcommand.
    name = words[words.index("sentiment") + 1] if "sentiment" in words[:-1] else Path(words[0]).name
    return f"{name} ({pid})"


@dataclass
class Results:
    """Per request: (due time, latency from due time, status, explained); appended by the client
    threads."""
    records: list[tuple[float, float, int, bool]] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, due: float, latency: float, status: int, answer: bytes, explained: bool = False) -> None:
        with self.lock:
            self.records.append((due, latency, status, explained))
            if status != 200 and len(self.error_samples) < 5:
                self.error_samples.append(f"{status} {answer[:120]!r}")

    def summary(self, begin: float, end: float, explained: bool | None = None) -> dict:
        """Figures of the requests due in [begin, end): all of them, or only the explained
        (explained=True) or plain (False) ones."""
        with self.lock:
            chosen = [r for r in self.records if begin <= r[0] < end and explained in (None, r[3])]
        ok = sorted(latency for _, latency, status, _ in chosen if status == 200)
        seconds = max(1e-9, end - begin)
        return {"requests": len(chosen), "ok": len(ok), "errors": len(chosen) - len(ok),
                "rps": len(ok) / seconds, "p50_ms": percentile(ok, 50) * 1000,
                "p99_ms": percentile(ok, 99) * 1000, "max_ms": (ok[-1] * 1000) if ok else float("nan")}


def run_schedule(api_port: int, bodies: dict[bool, list[bytes]], rate: float, begin: float, end: float,
                 clients: int, results: Results, explain_share: float = 0.0) -> None:
    """Client threads take the next due slot in turn; a thread that finds its slot already past
    sends at once (the latency then includes the lateness). bodies[True] are explained requests,
    sent for explain_share of the slots."""
    next_slot = [0]
    slot_lock = threading.Lock()

    def client(index: int) -> None:
        rng = random.Random(index)
        connection = http.client.HTTPConnection(LOCALHOST, api_port, timeout=30)
        while True:
            with slot_lock:
                slot = next_slot[0]
                next_slot[0] += 1
            due = begin + slot / rate
            if due >= end:
                break
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            explained = rng.random() < explain_share
            kind = bodies[explained]
            try:
                status, answer = post(connection, kind[rng.randrange(len(kind))])
            except (OSError, http.client.HTTPException) as error:
                status, answer = 0, str(error).encode()
                connection.close()
                connection = http.client.HTTPConnection(LOCALHOST, api_port, timeout=30)
            results.add(due, time.perf_counter() - due, status, answer, explained)
        connection.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="models/default", help="model directory or model.tar.gz (default: models/default)")
    parser.add_argument("--rate", type=float, default=200, help="requests per second to send (default: 200)")
    parser.add_argument("--duration", type=float, default=300, help="seconds of measured load (default: 300)")
    parser.add_argument("--warmup", type=float, default=10, help="seconds at the same rate before measuring (default: 10)")
    parser.add_argument("--clients", type=int, default=32, help="client threads sharing the schedule (default: 32)")
    parser.add_argument("--explain-share", type=float, default=0.0,
                        help="share of requests that ask for an explanation, as the website's all do; 1 is the "
                             "site's mix (default: 0)")
    add_review_arguments(parser)
    parser.add_argument("--p99-target-ms", type=float, default=100, help="p99 target (default: 100)")
    parser.add_argument("--memory-bound-mb", type=float, default=50, help="allowed resident memory growth (default: 50)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if not Path(args.model).exists():
        print(f"error: {args.model}: no such model directory or model.tar.gz", file=sys.stderr)
        return 2
    if not 0 <= args.explain_share <= 1:
        print(f"error: --explain-share must be between 0 and 1, got {args.explain_share}", file=sys.stderr)
        return 2
    reviews, described = chosen_reviews(args)
    bodies = {explained: request_bodies(reviews, explained) for explained in (False, True)}
    load_before = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load_before[0]:.2f} / {load_before[1]:.2f} / "
          f"{load_before[2]:.2f} (1/5/15 min) before the run", flush=True)
    started = start_stack(args.model)
    if started is None:
        return 1
    stack, startup, api_port = started
    print(f"stack ready in {startup:.1f} s; {args.rate:.0f} requests/s for {args.duration:.0f} s after "
          f"{args.warmup:.0f} s warm-up, {args.clients} client threads, {described}", flush=True)
    results = Results()
    try:
        pids = process_tree(stack.pid)
        names = {pid: process_name(pid) for pid in pids}
        start = time.perf_counter() + 0.2
        measure_from, end = start + args.warmup, start + args.warmup + args.duration
        load = threading.Thread(target=run_schedule, daemon=True,
                                args=(api_port, bodies, args.rate, start, end, args.clients, results,
                                      args.explain_share))
        load.start()
        time.sleep(max(0.0, measure_from - time.perf_counter()))
        memory_start = {pid: resident_bytes(pid) for pid in pids}
        minute_start, next_report = measure_from, measure_from + 60
        while load.is_alive():
            load.join(timeout=1.0)
            now = time.perf_counter()
            if now >= next_report or (not load.is_alive() and now > minute_start):
                window_end = min(now, end)
                minute = results.summary(minute_start, window_end)
                rss = sum(resident_bytes(pid) for pid in pids) / MB
                print(f"  {window_end - measure_from:5.0f} s: {minute['rps']:.1f} requests/s, errors "
                      f"{minute['errors']}, p50 {minute['p50_ms']:.1f} ms, p99 {minute['p99_ms']:.1f} ms, "
                      f"stack memory {rss:.0f} MB, load average {os.getloadavg()[0]:.2f}", flush=True)
                minute_start, next_report = window_end, next_report + 60
        memory_end = {pid: resident_bytes(pid) for pid in pids}
    finally:
        stop_process(stack, timeout=10)
    total = results.summary(measure_from, end)
    growth = {pid: (memory_end[pid] - memory_start[pid]) / MB for pid in pids}
    print(f"requests {total['requests']}, errors {total['errors']}, achieved {total['rps']:.1f} requests/s "
          f"(asked {args.rate:.0f})")
    print(f"latency from the scheduled send: p50 {total['p50_ms']:.1f} ms, p99 {total['p99_ms']:.1f} ms, "
          f"max {total['max_ms']:.1f} ms")
    kinds = {}
    if 0 < args.explain_share < 1:
        for explained, kind in ((False, "plain"), (True, "explained")):
            kinds[kind] = part = results.summary(measure_from, end, explained)
            print(f"  {kind}: {part['requests']} requests, errors {part['errors']}, {part['rps']:.1f} requests/s, "
                  f"p50 {part['p50_ms']:.1f} ms, p99 {part['p99_ms']:.1f} ms")
    for pid in pids:
        print(f"resident memory {names[pid]}: {memory_start[pid] / MB:.1f} MB at start, "
              f"{memory_end[pid] / MB:.1f} MB at end ({growth[pid]:+.1f} MB)")
    total_growth = sum(growth.values())
    print(f"stack memory growth {total_growth:+.1f} MB; load average {os.getloadavg()[0]:.2f} after the run")
    for sample in results.error_samples:
        print(f"  error: {sample}")
    checks = {
        "0 errors": total["errors"] == 0,
        f"p99 <= {args.p99_target_ms:.0f} ms": total["p99_ms"] <= args.p99_target_ms,
        f"rate >= 98% of {args.rate:.0f}/s": total["rps"] >= 0.98 * args.rate,
        f"memory growth < {args.memory_bound_mb:.0f} MB": total_growth < args.memory_bound_mb,
    }
    print("targets: " + ", ".join(f"{name} {'met' if ok else 'MISSED'}" for name, ok in checks.items()))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({
            "rate": args.rate, "duration_s": args.duration, "clients": args.clients, "reviews": described,
            "explain_share": args.explain_share, "by_kind": kinds,
            "load_average_before": load_before, "load_average_after": os.getloadavg(), **total,
            "memory_start_mb": {names[p]: memory_start[p] / MB for p in pids},
            "memory_end_mb": {names[p]: memory_end[p] / MB for p in pids},
            "memory_growth_mb": total_growth, "targets": checks}, indent=2) + "\n")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
