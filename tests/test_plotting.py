"""Plots: the four panels on one time axis, written as a real PNG; the spectrogram's frequency
axis in Hz on YAMNet's mel scale."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from sed.cli import cli
from sed.errors import ParameterError
from sed.events import event_table
from sed.features import hz_to_mel, log_mel_spectrogram, pad_waveform
from sed.mel_axis import check_band, frequency_ticks
from sed.params import YamnetParams
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


def tone_figure(band_hz=None):
    """The figure of 2 s of a 1 kHz tone then 2 s of a 4 kHz tone, drawn (ticks are placed at
    drawing time, from the axis's height)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    params = YamnetParams()
    t = np.arange(4 * params.sample_rate) / params.sample_rate
    waveform = (0.5 * np.sin(2 * np.pi * np.where(t < 2, 1000, 4000) * t)).astype(np.float32)
    log_mel = log_mel_spectrogram(pad_waveform(waveform, params), params)
    starts = np.arange(7) * 0.5
    ws = ScoreGrid("t.wav", starts, starts + 0.96, np.zeros((7, 2), np.float32), ("a", "b"), 4.0)
    figure = recording_figure(waveform, log_mel, ws, params, band_hz=band_hz)
    FigureCanvasAgg(figure).draw()
    return figure, log_mel


def test_the_spectrogram_axis_is_in_hz_on_yamnets_mel_scale():
    figure, log_mel = tone_figure()
    axis = figure.axes[1]
    assert axis.get_ylim() == (125.0, 7500.0)
    assert axis.get_ylabel() == "frequency (Hz)"
    labels = [t.get_text() for t in axis.get_yticklabels()]
    assert labels == ["125", "250", "500", "1k", "2k", "4k", "7.5k"]
    np.testing.assert_allclose(axis.get_yticks(), [125, 250, 500, 1000, 2000, 4000, 7500])
    # Mel-scaled: an octave is shorter at the top than at the bottom, as hz_to_mel says.
    to_pixels = axis.transData.transform
    heights = [to_pixels((0, hz))[1] for hz in (125, 1000, 7500)]
    share = (heights[1] - heights[0]) / (heights[2] - heights[0])
    expected = (hz_to_mel(1000) - hz_to_mel(125)) / (hz_to_mel(7500) - hz_to_mel(125))
    assert share == pytest.approx(expected, abs=1e-6)
    # Each tone lights the band whose cell holds its frequency.
    mesh = axis.collections[0]
    rows = mesh.get_coordinates()[:, 0, 1]  # the cells' lower edges, then the top
    for frames, hz in ((slice(20, 180), 1000), (slice(220, 380), 4000)):
        band = int(np.argmax(log_mel[frames].mean(axis=0)))
        assert rows[band] <= hz <= rows[band + 1]


def test_a_band_zooms_the_spectrogram_and_a_band_outside_is_refused():
    figure, _ = tone_figure((500.0, 3000.0))
    axis = figure.axes[1]
    assert axis.get_ylim() == (500.0, 3000.0)
    assert [t.get_text() for t in axis.get_yticklabels()] == ["500", "1k", "2k", "3k"]
    assert len(frequency_ticks(1000.0, 1200.0)) >= 3  # a narrow band still gets ticks
    for band in [(100.0, 7500.0), (125.0, 8000.0), (3000.0, 500.0), (1000.0, 1000.0)]:
        with pytest.raises(ParameterError, match="within YAMNet's log-mel band, 125 to 7500 Hz"):
            check_band(band)
    assert check_band(None) == (125.0, 7500.0)


def test_sed_plot_refuses_a_band_in_one_line_before_reading_anything(tmp_path):
    result = CliRunner().invoke(
        cli,
        ["plot", str(tmp_path / "absent.wav"), "-o", str(tmp_path / "f.png"), "--fmax", "9e3"],
        prog_name="sed",
    )
    assert result.exit_code == 2
    assert result.stderr == (
        "sed plot: error: --fmin/--fmax: the frequency band must lie within YAMNet's log-mel "
        "band, 125 to 7500 Hz, its lower end below its upper end; got 125 to 9000 Hz\n"
    )
