"""Expected calibration error: how far a model's probabilities sit from the share of positives
among the texts it gives them. Training reports it on the held-out texts (and so the training
job's metrics and the model registry carry it); `sentiment evaluate` and `sentiment baseline`
report it beside scikit-learn's figures. NumPy only, as the training image has it."""
from __future__ import annotations

import numpy as np

CALIBRATION_BINS = 10


def expected_calibration_error(labels, scores, bins: int = CALIBRATION_BINS) -> float:
    """Mean gap between predicted probability and observed share of positives, over equal-width
    bins of the score weighted by how many texts fall in each (10 bins by default)."""
    labels = np.asarray(labels, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    if len(labels) == 0 or len(labels) != len(scores):
        raise ValueError("labels and scores must be non-empty and of the same length")
    which = np.minimum((scores * bins).astype(int), bins - 1)
    total = 0.0
    for index in range(bins):
        inside = which == index
        if inside.any():
            total += inside.sum() * abs(scores[inside].mean() - labels[inside].mean())
    return float(total / len(scores))
