"""Plots: the four panels on one time axis, written as a real PNG."""

from __future__ import annotations

import numpy as np
import pytest

from sed.errors import ParameterError
from sed.events import event_table
from sed.plotting import check_figure_path, recording_figure, save_figure
from sed.scores import ScoreGrid


def test_figure_has_four_panels_on_one_time_axis(tmp_path, rng):
    waveform = rng.uniform(-0.5, 0.5, 16000 * 5).astype(np.float32)
    starts = np.arange(9) * 0.5
    scores = rng.uniform(0, 1, (9, 12)).astype(np.float32)
    ws = ScoreGrid(
        "x.wav", starts, starts + 0.96, scores, tuple(f"class {i}" for i in range(12)), 5.0
    )
    events = event_table(
        [{"filename": "x", "onset": 1.0, "offset": 2.0, "event_label": "dog", "score": 0.9}]
    )
    reference = event_table(
        [
            {"filename": "x", "onset": 1.2, "offset": 2.5, "event_label": "dog", "score": 1.0},
            {"filename": "x", "onset": 3.0, "offset": 4.0, "event_label": "cat", "score": 1.0},
        ]
    )
    figure = recording_figure(
        waveform,
        rng.normal(size=(498, 64)),
        ws,
        estimated=events,
        reference=reference,
        top_n=5,
        title="x.wav",
    )
    axes = [a for a in figure.axes if a.get_label() != "<colorbar>"][:4]
    assert all(a.get_xlim() == (0.0, 5.0) for a in axes)
    assert [t.get_text() for t in axes[3].get_yticklabels()] == ["cat", "dog"]
    assert len(axes[2].get_yticklabels()) == 5
    save_figure(figure, tmp_path / "f.png")
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ParameterError):
        recording_figure(waveform, np.zeros((498, 64)), ws, top_n=0)


@pytest.mark.parametrize("name", ["figure.txt", "figure", "figure.jpeg"])
def test_figure_suffix_is_checked_before_drawing(tmp_path, name):
    with pytest.raises(ParameterError, match="a figure file must end in .png, .pdf, .svg"):
        check_figure_path(tmp_path / name)
    assert check_figure_path(tmp_path / "f.SVG") == "svg"
