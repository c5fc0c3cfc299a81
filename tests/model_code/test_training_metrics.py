"""The training job's MetricDefinitions against what model_code/train.py really prints: SageMaker
parses the job's log with these regexes, and the quality gate reads the last value of the gated one."""
from __future__ import annotations

import json
import re
import subprocess
import sys

from sentiment.paths import ROOT
from stacks.quality_gate import GATE_METRIC, METRIC_DEFINITIONS


def final_values(log: str) -> dict[str, float]:
    """What SageMaker's FinalMetricDataList holds: each metric's last match in the log."""
    values = {}
    for line in log.splitlines():
        for definition in METRIC_DEFINITIONS:
            match = re.search(definition["Regex"], line)
            if match:
                values[definition["Name"]] = float(match.group(1))
    return values


def test_the_metric_regexes_read_train_py_log_and_the_gated_one_is_metrics_json_figure(tiny_dataset, tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "model_code" / "train.py"), "--data-dir", str(tiny_dataset),
                             "--model-dir", str(tmp_path / "model"), "--output-data-dir", str(tmp_path / "out"),
                             "--epochs", "3", "--hidden-dim", "8", "--embedding-dim", "8", "--threads", "1",
                             "--quiet"], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr

    values = final_values(result.stdout)
    metrics = json.loads((tmp_path / "model" / "metrics.json").read_text())
    # The short-text figure is printed only where the dataset has validation snippets (this one has none).
    short = metrics["validation_short_accuracy"]
    assert set(values) == {definition["Name"] for definition in METRIC_DEFINITIONS
                           if short is not None or definition["Name"] != "validation:short_accuracy"}, result.stdout
    if short is not None:
        assert abs(values["validation:short_accuracy"] - short) < 1e-4
    # The expected calibration error of the whole model on the validation reviews.
    assert 0.0 <= metrics["validation_calibration_error"] <= 1.0
    assert abs(values["validation:calibration_error"] - metrics["validation_calibration_error"]) < 1e-4
    # The log prints four decimals.
    assert abs(values[GATE_METRIC] - metrics["validation_accuracy"]) < 1e-4
    assert abs(values["validation:epoch_accuracy"] - metrics["history"][-1]["validation_accuracy"]) < 1e-4
    assert abs(values["train:loss"] - metrics["history"][-1]["train_loss"]) < 1e-4
