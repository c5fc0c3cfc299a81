#!/usr/bin/env python3
"""Times `cdk synth` of all stacks with the project's pinned CDK CLI and prints the median.

Target: 30 s or less. Uses data/processed when it exists, otherwise a stand-in dataset (what
synthesis reads of it is only its bytes, for the upload and the training job's name).

    sentiment bench-synth [--runs 3]      # or: make bench-synth
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sentiment.paths import ROOT

CDK = ROOT / "node_modules" / ".bin" / "cdk"
TARGET_S = 30.0


def cdk_environment() -> dict[str, str]:
    return {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
            "CDK_DISABLE_CLI_TELEMETRY": "true", "CDK_DISABLE_VERSION_CHECK": "1"}


def synth_once(outdir: Path, context: dict[str, str]) -> float:
    command = [str(CDK), "synth", "--no-notices", "--quiet", "--output", str(outdir)]
    for key, value in context.items():
        command += ["--context", f"{key}={value}"]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=cdk_environment(), capture_output=True, text=True,
                            check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"cdk synth failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return elapsed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Median wall time of `cdk synth` (all stacks).")
    parser.add_argument("--runs", type=int, default=3, help="synthesis runs (default: 3)")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "processed",
                        help="prepared dataset to synthesize with (default: data/processed, or a "
                             "stand-in when it does not exist)")
    args = parser.parse_args(argv)
    if not CDK.exists():
        sys.exit(f"{CDK} is missing; run `make node` (npm ci) first")

    with tempfile.TemporaryDirectory() as workdir:
        data = args.data
        if not (data / "manifest.json").is_file():
            data = Path(workdir) / "dataset"
            data.mkdir()
            (data / "manifest.json").write_text("{}")
            print(f"no prepared dataset at {args.data}; using a stand-in")
        times = []
        for run in range(1, args.runs + 1):
            times.append(synth_once(Path(workdir) / f"cdk.out.{run}", {"trainingData": str(data)}))
            print(f"run {run}: {times[-1]:.1f} s")
    median = statistics.median(times)
    verdict = "within" if median <= TARGET_S else "OVER"
    print(f"cdk synth median of {len(times)}: {median:.1f} s ({verdict} the {TARGET_S:.0f} s target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
