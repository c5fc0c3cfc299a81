"""The quality gate: a model whose validation accuracy is below `minValidationAccuracy` is not
deployed.

Two places apply it. A SageMaker training job publishes its figures as metrics, parsed from the
lines model_code/train.py prints (METRIC_DEFINITIONS below); the training job's custom resource
(stacks/training_job/handler.py) reads the final values from DescribeTrainingJob and fails the
deployment below the threshold. A model given with `-c modelArtifact=` is checked at synth, from
the metrics.json that train.py writes into every model folder (and so into model.tar.gz).
"""
from __future__ import annotations

import json
import tarfile
from pathlib import Path

# The metric the gate reads: train.py's last line, "validation accuracy 0.9212 (epoch 5); model
# written to ...", states the accuracy of the weights it kept (the best epoch or the average of
# the last ones). The per-epoch figures below are published for the console's charts only: their
# final value is the last epoch's, not necessarily the kept weights'.
GATE_METRIC = "validation:accuracy"
METRIC_DEFINITIONS = (
    {"Name": GATE_METRIC, "Regex": r"validation accuracy ([0-9]*\.[0-9]+) \("},
    {"Name": "validation:epoch_accuracy", "Regex": r"\| validation loss [0-9.]+ acc ([0-9]*\.[0-9]+)"},
    {"Name": "validation:loss", "Regex": r"\| validation loss ([0-9]*\.[0-9]+)"},
    {"Name": "validation:short_accuracy", "Regex": r"short-text validation accuracy ([0-9]*\.[0-9]+)"},
    {"Name": "validation:calibration_error", "Regex": r"validation calibration error ([0-9]*\.[0-9]+)"},
    {"Name": "train:loss", "Regex": r"train loss ([0-9]*\.[0-9]+)"},
    {"Name": "train:accuracy", "Regex": r"train loss [0-9.]+ acc ([0-9]*\.[0-9]+)"},
)
# The key of the same figure in metrics.json.
METRICS_FILE_KEY = "validation_accuracy"


class QualityGateError(ValueError):
    """The model's figures are missing or below the threshold; one line for the user."""


def read_artifact_metrics(path: Path) -> dict:
    """metrics.json of a model folder or of a model.tar.gz (at its root or under ./)."""
    path = Path(path)
    if path.is_dir():
        metrics = path / "metrics.json"
        if not metrics.is_file():
            raise QualityGateError(f"{path} has no metrics.json, so its validation accuracy is unknown")
        return json.loads(metrics.read_text())
    with tarfile.open(path, "r:gz") as archive:
        for name in ("metrics.json", "./metrics.json"):
            try:
                member = archive.getmember(name)
            except KeyError:
                continue
            handle = archive.extractfile(member)
            if handle is not None:
                return json.loads(handle.read())
    raise QualityGateError(f"{path} has no metrics.json, so its validation accuracy is unknown")


def check(value: float | None, threshold: float, *, metric: str, source: str) -> None:
    """Raises QualityGateError naming the metric, its value and the threshold."""
    if value is None:
        raise QualityGateError(f"{source} reports no {metric}, so the quality gate "
                               f"(minValidationAccuracy {threshold}) cannot pass; a model trained on "
                               f"every review (--fit-all) has none: pass -c minValidationAccuracy=0 to deploy it")
    if value < threshold:
        raise QualityGateError(f"{metric} {value:.4f} of {source} is below minValidationAccuracy {threshold}")


def check_artifact(path: Path, threshold: float) -> float:
    """The artifact's validation accuracy, after checking it against the threshold."""
    metrics = read_artifact_metrics(path)
    value = metrics.get(METRICS_FILE_KEY)
    check(value if isinstance(value, (int, float)) else None, threshold,
          metric=METRICS_FILE_KEY, source=f"{Path(path).name} (metrics.json)")
    return float(value)
