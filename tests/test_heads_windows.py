"""Training windows: which windows of a clip hold its sound."""

from __future__ import annotations

import numpy as np

from sed.heads.windows import usable_windows


def test_usable_windows():
    levels = np.array([-20, -30, -45, -90, -200], np.float32)
    assert usable_windows(levels).all()
    assert usable_windows(levels, min_level_dbfs=-80).tolist() == [1, 1, 1, 0, 0]
    assert usable_windows(levels, -80, max_db_below_peak=20).tolist() == [1, 1, 0, 0, 0]
    # The loudest window is kept even below the floor: a clip always has a window.
    assert usable_windows(np.array([-200.0, -200.0]), -80).tolist() == [1, 0]
