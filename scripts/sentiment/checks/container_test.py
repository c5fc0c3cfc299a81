"""The endpoint's contract against the real SageMaker serving stack and the local model server.

Packages a model as model.tar.gz (as `sentiment package` and the CDK asset do), starts the real
serving stack of the PyTorch 2.6 inference image on it (sentiment.local.toolkit_server: the
toolkit and TorchServe with Java 17, on 127.0.0.1, no Docker) and the local model server
(sentiment.local.model_server) on the same archive, sends every case of
sentiment.checks.serving_contract to both, and prints one row per case. Fails (exit 1) on any
answer that departs from the documented one or from the other server's; exit 2 when the real
stack cannot run here (Java or the toolkit packages missing: `make toolkits`).

    sentiment container-test                       # models/default
    sentiment container-test --model build/model.tar.gz
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from sentiment.checks.serving_contract import CASES, Answer, Case, disagreements, documented_problems, send
from sentiment.paths import DEFAULT_MODEL


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(DEFAULT_MODEL),
                        help="model folder or model.tar.gz to serve (default: models/default)")
    parser.add_argument("--timeout", type=float, default=180,
                        help="seconds the real serving stack may take to answer its first prediction (default: 180)")
    parser.add_argument("--only", metavar="TEXT",
                        help="run only the cases whose name contains TEXT (case-insensitive)")
    return parser.parse_args(argv)


def judge(case: Case, emulator: Answer, real: Answer) -> list[str]:
    """Every problem with one case: each server against the documentation, then the two
    against each other."""
    problems = [f"local: {problem}" for problem in documented_problems(case, emulator)]
    problems += [f"real: {problem}" for problem in documented_problems(case, real)]
    problems += [f"servers differ: {problem}" for problem in disagreements(case, emulator, real)]
    return problems


def table(rows: list[tuple[Case, Answer, Answer, list[str]]]) -> str:
    width = max(len(case.name) for case, *_ in rows)
    header = f"{'#':>3}  {'case':<{width}}  {'documented':<15}  {'local model server':<30}  {'real container':<30}  result"
    lines = [header, "-" * len(header)]
    for number, (case, emulator, real, problems) in enumerate(rows, start=1):
        documented = str(case.status) if case.answer == "error" else f"200 {case.answer}"
        lines.append(f"{number:>3}  {case.name:<{width}}  {documented:<15}  {emulator.summary()[:30]:<30}  "
                     f"{real.summary()[:30]:<30}  {'ok' if not problems else 'FAIL'}")
        lines += [f"{'':>5}{problem}" for problem in problems]
    return "\n".join(lines)


def run(cases: tuple[Case, ...], emulator_url: str, real_url: str) -> list[tuple[Case, Answer, Answer, list[str]]]:
    import requests

    rows = []
    with requests.Session() as emulator_session, requests.Session() as real_session:
        for case in cases:
            emulator = send(emulator_session, emulator_url, case)
            real = send(real_session, real_url, case)
            rows.append((case, emulator, real, judge(case, emulator, real)))
    return rows


def main(argv=None) -> int:
    args = parse_args(argv)
    from sentiment.local.model_server import start_runtime_server
    from sentiment.local.toolkit_server import ToolkitServer, ToolkitUnavailable
    from sentiment.packaging import build_model_archive

    cases = tuple(case for case in CASES if not args.only or args.only.lower() in case.name.lower())
    if not cases:
        print(f"error: no case name contains {args.only!r}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="sentiment-container-test-") as scratch:
        try:
            archive = build_model_archive(Path(args.model), Path(scratch) / "model.tar.gz")
        except (FileNotFoundError, OSError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(f"serving {archive.name} from {args.model} on the real serving stack and the local model server ...",
              flush=True)
        real = ToolkitServer(archive)
        try:
            real.start(args.timeout)
        except ToolkitUnavailable as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        except RuntimeError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        ready = time.perf_counter() - started
        emulator = start_runtime_server(archive, progress=lambda message: None)
        try:
            rows = run(cases, emulator.url, real.url)
        finally:
            emulator.stop()
            real.stop()
    failures = [row for row in rows if row[3]]
    print(table(rows))
    print(f"\n{len(rows)} cases, {len(rows) - len(failures)} as documented and equal on both servers, "
          f"{len(failures)} failed; real stack ready in {ready:.1f} s, "
          f"{time.perf_counter() - started:.1f} s in all")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
