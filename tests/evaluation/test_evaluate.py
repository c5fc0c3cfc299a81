"""Evaluation: the figures are right on hand-checked examples, and the command scores raw test
reviews through the model's own text pipeline, writing JSON and plots."""
import json
import random

import pytest

from sentiment.evaluation import evaluate
from sentiment.evaluation.metrics import compute_metrics, roc_auc


def test_figures_on_a_hand_checked_example():
    labels = [1, 1, 1, 0, 0, 0, 0, 1]
    scores = [0.9, 0.8, 0.3, 0.2, 0.6, 0.1, 0.4, 0.7]
    metrics = compute_metrics(labels, scores)
    # predicted: 1 1 0 0 1 0 0 1 -> tp 3, fn 1, fp 1, tn 3
    assert metrics["confusion_matrix"]["matrix"] == [[3, 1], [1, 3]]
    assert metrics["accuracy"] == 0.75
    assert metrics["precision"] == 0.75 and metrics["recall"] == 0.75 and metrics["f1"] == 0.75


def test_roc_auc_equals_the_share_of_correctly_ordered_pairs():
    rng = random.Random(0)
    labels = [rng.randint(0, 1) for _ in range(200)]
    scores = [round(rng.random(), 1) for _ in range(200)]  # many ties
    pairs = [(p, n) for p, lp in zip(scores, labels) if lp for n, ln in zip(scores, labels) if not ln]
    expected = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in pairs) / len(pairs)
    assert roc_auc(labels, scores) == pytest.approx(expected)


def test_evaluate_command_writes_metrics_and_plots(tiny_model_dir, tiny_imdb, tmp_path, capsys):
    out = tmp_path / "evaluation"
    assert evaluate.main(["--model", str(tiny_model_dir), "--data", str(tiny_imdb), "--out", str(out),
                          "--workers", "2", "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["reviews"] == 200 and metrics["accuracy"] >= 0.9
    assert {"confusion_matrix.png", "roc_curve.png", "score_histogram.png"} <= {p.name for p in out.iterdir()}
    printed = capsys.readouterr().out
    assert f"accuracy   {metrics['accuracy']:.4f}" in printed


def test_one_process_and_two_give_the_same_scores(tiny_model_dir, tiny_imdb, tmp_path):
    for workers in ("1", "2"):
        assert evaluate.main(["--model", str(tiny_model_dir), "--data", str(tiny_imdb), "--out",
                              str(tmp_path / workers), "--workers", workers, "--quiet"]) == 0
    one, two = (json.loads((tmp_path / w / "metrics.json").read_text()) for w in ("1", "2"))
    assert one["accuracy"] == two["accuracy"] and one["roc_auc"] == pytest.approx(two["roc_auc"])


def test_a_model_tarball_is_accepted(tiny_model_dir, tiny_imdb, tmp_path):
    import tarfile

    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in tiny_model_dir.iterdir():
            tar.add(path, arcname=path.name)
    assert evaluate.main(["--model", str(archive), "--data", str(tiny_imdb), "--out", str(tmp_path / "e"),
                          "--quiet", "--workers", "1"]) == 0


def test_bad_model_or_data_is_one_line_error(tiny_model_dir, tmp_path, capsys):
    assert evaluate.main(["--model", str(tmp_path), "--data", str(tmp_path), "--quiet"]) == 2
    assert "not a model directory" in capsys.readouterr().err
    assert evaluate.main(["--model", str(tiny_model_dir), "--data", str(tmp_path / "none"), "--quiet"]) == 2
    assert "not found" in capsys.readouterr().err
