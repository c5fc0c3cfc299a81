"""The one percentile every benchmark and report quotes (numpy's linear interpolation)."""
from __future__ import annotations

from collections.abc import Sequence


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100) of values, in any order; nan for no values."""
    if len(values) == 0:
        return float("nan")
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=float), p))
