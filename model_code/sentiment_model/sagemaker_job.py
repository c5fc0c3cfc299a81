"""What a SageMaker training job asks of its entry point besides training (train.py uses it):

- hyperparameters arrive as flags, and the training toolkit renders a boolean as `--flag True`;
- the first 1,024 characters of <output dir>/failure become the job's FailureReason, and without
  that file the toolkit writes a generic one of its own;
- stdout and stderr go to CloudWatch Logs, where every redraw of a progress bar is a line.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

SAGEMAKER_OUTPUT_DIR = Path("/opt/ml/output")


def flag(value: str) -> bool:
    """Booleans as SageMaker passes them ("True"/"False") or as people type them."""
    lowered = str(value).strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def add_switch(group, name: str, help: str) -> None:
    """An off-by-default boolean that takes the bare flag, as people type it, or a value, as the
    SageMaker training toolkit renders a boolean hyperparameter (`--dry-run True`)."""
    group.add_argument(name, type=flag, nargs="?", const=True, default=False, metavar="BOOL",
                       help=f"{help} (bare, or true/false)")


def failure_file() -> Path | None:
    """$SM_OUTPUT_DIR/failure under the training toolkit; /opt/ml/output/failure in a training
    container without it. None elsewhere: on a workstation stderr says it, and /opt/ml is not ours."""
    if os.environ.get("SM_OUTPUT_DIR"):
        return Path(os.environ["SM_OUTPUT_DIR"]) / "failure"
    return SAGEMAKER_OUTPUT_DIR / "failure" if SAGEMAKER_OUTPUT_DIR.is_dir() else None


def write_failure(reason: str) -> None:
    path = failure_file()
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(" ".join(reason.split())[:1024] + "\n", encoding="utf-8")
    except OSError as error:
        print(f"warning: cannot write {path}: {error}", file=sys.stderr, flush=True)


class ArgumentParser(argparse.ArgumentParser):
    """argparse's, and a bad flag or hyperparameter is also the job's FailureReason."""

    def error(self, message: str):
        write_failure(f"bad hyperparameter or flag: {message}")
        super().error(message)


class EpochProgress:
    """Progress through one epoch's batches: tqdm's bar on a terminal; anywhere else (CloudWatch
    Logs, a pipe, a file) one line per tenth of the epoch, since every redraw of a bar there
    becomes a log line of its own."""

    def __init__(self, total: int, label: str, quiet: bool = False, stream=None):
        self.stream = stream or sys.stderr
        self.total, self.label, self.done, self.reported_tenths = total, label, 0, 0
        self.started = time.perf_counter()
        self.bar = None
        self.lines = not quiet and not self.stream.isatty()
        if not quiet and not self.lines:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=label, unit=" batches", mininterval=5, file=self.stream)

    def step(self, running_loss: float) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{running_loss:.4f}", refresh=False)
            self.bar.update()
        elif self.lines and self.done * 10 // self.total > self.reported_tenths:
            self.reported_tenths = self.done * 10 // self.total
            print(f"{self.label}: {self.done}/{self.total} batches ({100 * self.done // self.total}%), "
                  f"running loss {running_loss:.4f}, {time.perf_counter() - self.started:.0f} s",
                  file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
