"""Synthetic mixtures: the event-to-background ratio and the strong labels of windows."""

from __future__ import annotations

import numpy as np
import pytest

from sed.heads.mixing import mix, rms, window_labels


def test_mixing_ebr_and_window_labels(rng):
    event = rng.standard_normal(8000)
    background = 0.1 * rng.standard_normal(32000)
    mixture = mix(event, background, onset=16000, ebr_db=-6.0)
    added = mixture[16000:24000] - background[16000:24000]
    assert 20 * np.log10(rms(added) / rms(background[16000:24000])) == pytest.approx(-6, abs=0.01)
    np.testing.assert_allclose(mixture[:16000], background[:16000], atol=1e-7)
    starts = np.arange(5) * 0.5
    # A 0.5 s event at 1.0-1.5 s: windows 1 and 2 hold it whole, window 0 not at all.
    assert window_labels(starts, starts + 0.96, 1.0, 1.5).tolist() == [0, 1, 1, 0, 0]
    assert window_labels(starts, starts + 0.96, 0.9, 1.5).tolist() == [-1, 1, 1, 0, 0]
