"""Grouped splits: folds and the validation split never separate a group."""

from __future__ import annotations

import numpy as np
import pytest

from sed.errors import ParameterError
from sed.heads.splits import grouped_folds, validation_split
from tests.helpers import synthetic_windows


def test_grouped_folds_keep_groups_apart(rng):
    data, _ = synthetic_windows(rng)
    folds = grouped_folds(data, 4, seed=1)
    assert sorted(np.concatenate(folds).tolist()) == list(range(24))
    groups = [set(data.clips["group"].iloc[f]) for f in folds]
    assert all(not (a & b) for i, a in enumerate(groups) for b in groups[i + 1 :])
    assert [f.tolist() for f in folds] == [f.tolist() for f in grouped_folds(data, 4, seed=1)]
    train, validation = validation_split(data, 0.25, seed=0)
    assert not set(data.clips["group"].iloc[train]) & set(data.clips["group"].iloc[validation])
    assert len(validation) == 6
    with pytest.raises(ParameterError, match="cannot make 13 folds of 12 groups"):
        grouped_folds(data, 13)
