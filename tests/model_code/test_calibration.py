"""Expected calibration error (sentiment_model/calibration.py), which training reports and the
registry records."""
from __future__ import annotations

import numpy as np
import pytest

from sentiment_model.calibration import expected_calibration_error


def test_scores_that_match_the_share_of_positives_in_their_bin_have_no_error():
    # Four texts at 0.75 (one bin), three of them positive: a share of 0.75.
    assert expected_calibration_error([1, 1, 1, 0], [0.75, 0.75, 0.75, 0.75]) == pytest.approx(0.0)


def test_the_error_is_the_count_weighted_gap_of_each_bin():
    labels = [1, 1, 0, 0, 0, 1]
    scores = [0.95, 0.95, 0.95, 0.95, 0.05, 0.05]
    # Bin 0.9-1.0: mean score 0.95, positives 0.5 -> gap 0.45 over 4 texts;
    # bin 0.0-0.1: mean 0.05, positives 0.5 -> gap 0.45 over 2 texts.
    assert expected_calibration_error(labels, scores) == pytest.approx(0.45)
    # A score of exactly 1.0 falls in the last bin, not past it.
    assert expected_calibration_error([1], [1.0]) == pytest.approx(0.0)


def test_empty_or_mismatched_inputs_are_refused():
    with pytest.raises(ValueError):
        expected_calibration_error([], [])
    with pytest.raises(ValueError):
        expected_calibration_error([1, 0], np.array([0.5]))
