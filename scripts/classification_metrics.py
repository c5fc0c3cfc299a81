"""Binary classification figures and plots shared by evaluation and batch scoring."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve as the Mann-Whitney statistic (ties count one half)."""
    labels = np.asarray(labels).astype(bool)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = np.asarray(scores)[order]
    ranks = np.empty(len(scores), dtype=np.float64)
    # Average ranks over ties.
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    for start, count in zip(first, counts):
        ranks[order[start: start + count]] = start + (count + 1) / 2
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def compute_metrics(labels, scores, threshold: float = 0.5) -> dict:
    labels = np.asarray(labels, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    if len(labels) == 0 or len(labels) != len(scores):
        raise ValueError("labels and scores must be non-empty and of the same length")
    predicted = (scores >= threshold).astype(np.int64)
    tp = int(((predicted == 1) & (labels == 1)).sum())
    tn = int(((predicted == 0) & (labels == 0)).sum())
    fp = int(((predicted == 1) & (labels == 0)).sum())
    fn = int(((predicted == 0) & (labels == 1)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "reviews": len(labels),
        "accuracy": (tp + tn) / len(labels),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "roc_auc": roc_auc(labels, scores),
        "confusion_matrix": {"labels": ["negative", "positive"], "rows_are": "true label",
                             "matrix": [[tn, fp], [fn, tp]]},
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

    order = np.argsort(-scores, kind="mergesort")
    sorted_labels = labels[order]
    tpr = np.concatenate([[0], np.cumsum(sorted_labels) / max(1, sorted_labels.sum())])
    fpr = np.concatenate([[0], np.cumsum(1 - sorted_labels) / max(1, (1 - sorted_labels).sum())])
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
    return written
