"""Clip evaluation: accuracy, confusion matrix and per-class table."""

from __future__ import annotations

import numpy as np
import pytest

from sed.heads.clips import ClipEvaluation


def test_clip_evaluation_tables():
    evaluation = ClipEvaluation(
        ("a", "b", "c"), np.array([0, 0, 1, 1, 2]), np.array([0, 1, 1, 1, 0])
    )
    assert evaluation.accuracy == pytest.approx(0.6)
    assert evaluation.confusion().to_numpy().tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert evaluation.per_class()["accuracy"].tolist() == [0.5, 1.0, 0.0]
