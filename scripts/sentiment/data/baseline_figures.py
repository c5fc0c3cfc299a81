"""The linear baseline's figures for one prepared dataset, kept in a file beside it.

`sentiment baseline --dataset data/processed` (which `make prepare` runs) fits the baseline on the
dataset's own training split and writes `data/processed-baseline.json`: the figures the model
registry records beside the model's (validation accuracy, short-text validation accuracy and
expected calibration error) and the hash of the dataset folder they were computed for. The
stacks read it at synth and pass the figures to the training job's registration only while that
hash is the hash of the folder they upload; a missing file, or one left from another dataset,
means the version records no baseline figures.

The file lies beside the folder, not in it: inside, it would change the dataset's hash (and so the
training job's name) each time the baseline is refitted. This module imports only the standard
library, so the stacks read the file without loading numpy or scikit-learn.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

FORMAT_VERSION = 1
# The figures, by the names stacks/training_job/registry.py's FIGURES give them.
FIGURE_NAMES = ("validation_accuracy", "short_validation_accuracy", "calibration_error")


def baseline_file(dataset_dir) -> Path:
    """<dataset folder>-baseline.json, beside the folder (as prepare's <folder>-unlabelled)."""
    folder = Path(dataset_dir)
    return folder.with_name(folder.name + "-baseline.json")


def write_baseline_figures(dataset_dir, *, dataset_hash: str, figures: Mapping[str, float | None],
                           details: Mapping | None = None) -> Path:
    """Writes the dataset's baseline file; a figure that is None (a dataset without short
    validation snippets) is left out. `details` (review counts, timings) is kept for people."""
    unknown = set(figures) - set(FIGURE_NAMES)
    if unknown:
        raise ValueError(f"unknown baseline figures: {', '.join(sorted(unknown))}")
    path = baseline_file(dataset_dir)
    record = {"format_version": FORMAT_VERSION, "dataset_hash": dataset_hash,
              "figures": {name: float(figures[name]) for name in FIGURE_NAMES if figures.get(name) is not None},
              **({"details": dict(details)} if details else {})}
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return path


def read_baseline_figures(dataset_dir, dataset_hash: str) -> tuple[dict[str, float], str | None]:
    """(figures, why none): the file's figures when it exists and was written for a folder of
    `dataset_hash`; ({}, None) when there is no file; ({}, the reason, one line) when the file
    cannot be read or belongs to another dataset. Figures are for reviewers, so a bad file never
    stops a deployment: the caller warns and registers without them."""
    path = baseline_file(dataset_dir)
    if not path.is_file():
        return {}, None
    rerun = f"rerun `sentiment baseline --dataset {dataset_dir}` (make prepare)"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        version = record["format_version"]
        figures = {name: float(value) for name, value in record["figures"].items() if name in FIGURE_NAMES}
        recorded = str(record["dataset_hash"])
    except (OSError, ValueError, TypeError, AttributeError, KeyError, UnicodeDecodeError) as error:
        return {}, (f"{path} is not a baseline file ({type(error).__name__}: {error}), so the registry records "
                    f"no baseline figures; {rerun}")
    if version != FORMAT_VERSION:
        return {}, (f"{path} has format_version {version!r}, not {FORMAT_VERSION}, so the registry records no "
                    f"baseline figures; {rerun}")
    if recorded != dataset_hash:
        return {}, (f"{path} was written for another dataset (hash {recorded[:16]}, not {dataset_hash[:16]}), "
                    f"so the registry records no baseline figures; {rerun}")
    return figures, None
