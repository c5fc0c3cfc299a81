"""Binary classification figures and plots shared by evaluation and batch scoring (scikit-learn
computes them; this module names and formats them)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from sentiment_model.calibration import CALIBRATION_BINS, expected_calibration_error


def roc_auc(labels, scores) -> float:
    """Area under the ROC curve (nan when only one class is present)."""
    from sklearn.metrics import roc_auc_score

    labels = np.asarray(labels)
    if len(np.unique(labels)) < 2:
        return float("nan")
    return float(roc_auc_score(labels, scores))


def compute_metrics(labels, scores, threshold: float = 0.5) -> dict:
    """Classification figures through scikit-learn: accuracy, precision, recall, F1, ROC-AUC,
    the confusion matrix and the expected calibration error."""
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    labels = np.asarray(labels, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    if len(labels) == 0 or len(labels) != len(scores):
        raise ValueError("labels and scores must be non-empty and of the same length")
    predicted = (scores >= threshold).astype(np.int64)
    precision, recall, f1, _ = precision_recall_fscore_support(
        labels, predicted, average="binary", pos_label=1, zero_division=0)
    matrix = confusion_matrix(labels, predicted, labels=[0, 1])
    return {
        "reviews": len(labels),
        "accuracy": float(accuracy_score(labels, predicted)),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "roc_auc": roc_auc(labels, scores),
        "expected_calibration_error": expected_calibration_error(labels, scores),
        "confusion_matrix": {"labels": ["negative", "positive"], "rows_are": "true label",
                             "matrix": matrix.astype(int).tolist()},
    }


def format_metrics(metrics: dict) -> str:
    (tn, fp), (fn, tp) = metrics["confusion_matrix"]["matrix"]
    return "\n".join([
        f"reviews    {metrics['reviews']}",
        f"accuracy   {metrics['accuracy']:.4f}",
        f"precision  {metrics['precision']:.4f}",
        f"recall     {metrics['recall']:.4f}",
        f"f1         {metrics['f1']:.4f}",
        f"roc_auc    {metrics['roc_auc']:.4f}",
        f"ece        {metrics['expected_calibration_error']:.4f}  (expected calibration error, 10 bins)",
        "confusion matrix (rows: true, columns: predicted)",
        "             negative  positive",
        f"  negative   {tn:8d}  {fp:8d}",
        f"  positive   {fn:8d}  {tp:8d}",
    ])


def plot_metrics(labels, scores, metrics: dict, out_dir: Path) -> list[Path]:
    """Confusion matrix, ROC curve and score histogram as PNG files in out_dir."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    labels = np.asarray(labels)
    scores = np.asarray(scores, dtype=np.float64)
    written = []

    matrix = np.array(metrics["confusion_matrix"]["matrix"])
    figure, axes = plt.subplots(figsize=(4.5, 4))
    axes.imshow(matrix, cmap="Blues")
    for (row, column), value in np.ndenumerate(matrix):
        axes.text(column, row, f"{value:,}", ha="center", va="center",
                  color="white" if value > matrix.max() / 2 else "black")
    axes.set(xticks=[0, 1], yticks=[0, 1], xticklabels=["negative", "positive"],
             yticklabels=["negative", "positive"], xlabel="predicted", ylabel="true",
             title=f"Confusion matrix (accuracy {metrics['accuracy']:.3f})")
    figure.tight_layout()
    written.append(out_dir / "confusion_matrix.png")
    figure.savefig(written[-1], dpi=90)
    plt.close(figure)

    from sklearn.calibration import calibration_curve
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(labels, scores)
    figure, axes = plt.subplots(figsize=(4.5, 4))
    axes.plot(fpr, tpr, label=f"AUC {metrics['roc_auc']:.3f}")
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey")
    axes.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC curve")
    axes.legend(loc="lower right")
    figure.tight_layout()
    written.append(out_dir / "roc_curve.png")
    figure.savefig(written[-1], dpi=90)
    plt.close(figure)

    figure, axes = plt.subplots(figsize=(6, 4))
    bins = np.linspace(0, 1, 41)
    axes.hist(scores[labels == 0], bins=bins, alpha=0.6, label="negative reviews")
    axes.hist(scores[labels == 1], bins=bins, alpha=0.6, label="positive reviews")
    axes.set(xlabel="score (probability positive)", ylabel="reviews", title="Score distribution")
    axes.legend()
    figure.tight_layout()
    written.append(out_dir / "score_histogram.png")
    figure.savefig(written[-1], dpi=90)
    plt.close(figure)

    observed, predicted = calibration_curve(labels, scores, n_bins=CALIBRATION_BINS, strategy="uniform")
    figure, axes = plt.subplots(figsize=(4.5, 4))
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    axes.plot(predicted, observed, marker="o",
              label=f"model (ECE {metrics.get('expected_calibration_error', float('nan')):.3f})")
    axes.set(xlabel="mean predicted probability positive", ylabel="share of positive reviews",
             title="Reliability (10 bins)")
    axes.legend(loc="upper left")
    figure.tight_layout()
    written.append(out_dir / "reliability.png")
    figure.savefig(written[-1], dpi=90)
    plt.close(figure)
    return written
