"""Plots: one recording's waveform, log-mel spectrogram, window scores and events, on one time axis.

This module only draws: :func:`sed.pipeline.plot_file` scores the recording and calls it.

Four panels share the x axis (seconds): the waveform at 16 kHz; YAMNet's log-mel spectrogram
(64 bands, 125 to 7500 Hz, 10 ms frames: exactly the model's input) on a mel-scaled frequency
axis with ticks in Hz (:func:`sed.mel_axis.draw_log_mel`, as ``sed review`` draws it); a heat
map of the window scores of the top-N labels (highest maximum score first; each window drawn
over its hop-long stretch around its centre); and an event roll with, for each label, the
reference events above the estimated ones. Drawn with matplotlib's object API (no pyplot state),
so it works headless.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from sed.errors import ParameterError
from sed.infra import atomic_path
from sed.params import YamnetParams
from sed.postprocessing.boundaries import centre_stretches

if TYPE_CHECKING:
    import pandas as pd

    from sed.scores import ScoreGrid

REFERENCE_COLOUR = "#2a9d8f"
ESTIMATED_COLOUR = "#e76f51"


#: Labels in the heat map of window scores unless asked for another number.
DEFAULT_TOP_N = 10
#: Figure formats :func:`save_figure` writes, by file suffix.
FIGURE_FORMATS = ("png", "pdf", "svg")
#: Resolution of the figures :func:`save_figure` writes, in dots per inch.
FIGURE_DPI = 120


def check_figure_path(path: str | os.PathLike) -> str:
    """The figure format of ``path`` from its suffix.

    Raises
    ------
    ParameterError
        If the suffix is not one of :data:`FIGURE_FORMATS`.
    """
    suffix = os.path.splitext(os.fspath(path))[1].lstrip(".").lower()
    if suffix not in FIGURE_FORMATS:
        raise ParameterError(
            f"a figure file must end in {', '.join('.' + f for f in FIGURE_FORMATS)}"
            f", got {os.fspath(path)!r}"
        )
    return suffix


def save_figure(figure, path: str | os.PathLike, *, dpi: int = FIGURE_DPI) -> None:
    """Write a matplotlib ``Figure`` atomically, in the format of the suffix (see
    :func:`check_figure_path`)."""
    suffix = check_figure_path(path)
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format=suffix, dpi=dpi)


def recording_figure(
    waveform: np.ndarray,
    log_mel: np.ndarray,
    window_scores: ScoreGrid,
    params: YamnetParams = YamnetParams(),
    *,
    estimated: pd.DataFrame | None = None,
    reference: pd.DataFrame | None = None,
    top_n: int = DEFAULT_TOP_N,
    band_hz: tuple[float, float] | None = None,
    title: str = "",
):
    """The four-panel figure of one recording.

    Parameters
    ----------
    waveform : np.ndarray [shape=(n_samples,)]
        Mono audio at ``params.sample_rate``.
    log_mel : np.ndarray [shape=(n_frames, 64)]
        YAMNet's log-mel spectrogram (frames every ``params.stft_hop_seconds``).
    window_scores : sed.scores.ScoreGrid
    params : YamnetParams
        The framing of ``waveform`` and ``log_mel``.
    estimated, reference : pd.DataFrame, optional
        Event tables (``onset, offset, event_label``).
    top_n : int >= 1
        Labels in the heat map.
    band_hz : (float, float), optional
        The frequencies the spectrogram panel shows, in Hz, within YAMNet's log-mel band
        (:func:`sed.params.check_band`, checked by :func:`sed.mel_axis.draw_log_mel`); by
        default the whole band, 125 to 7500 Hz.
    title : str

    Raises
    ------
    ParameterError
        If ``top_n`` < 1, or for a band outside the log-mel band.

    Returns
    -------
    figure : matplotlib.figure.Figure
        Its axes, top to bottom (``figure.axes[:4]``; colour bars follow): waveform, log-mel
        spectrogram (y in Hz on a mel scale), window scores, event roll.
    """
    from matplotlib.figure import Figure

    from sed.mel_axis import draw_log_mel

    if top_n < 1:
        raise ParameterError(f"top N must be at least 1, got {top_n}")
    duration = window_scores.duration_seconds
    roll_labels = event_roll_labels(estimated, reference)
    top = np.argsort(-window_scores.scores.max(axis=0), kind="stable")[:top_n]
    heights = [1.2, 2.6, max(1.6, 0.28 * len(top) + 0.6), max(1.0, 0.4 * len(roll_labels) + 0.6)]
    figure = Figure(figsize=(12, sum(heights) + 0.8), layout="constrained")
    axes = figure.subplots(4, 1, sharex=True, height_ratios=heights)
    if title:
        figure.suptitle(title)

    times = np.arange(len(waveform)) / params.sample_rate
    axes[0].plot(times, waveform, linewidth=0.4, color="#264653")
    axes[0].set_ylabel("amplitude")
    axes[0].set_ylim(
        -1.05 * max(1e-3, np.abs(waveform).max()), 1.05 * max(1e-3, np.abs(waveform).max())
    )

    image = draw_log_mel(axes[1], log_mel, params.stft_hop_seconds, params, band_hz=band_hz)
    figure.colorbar(image, ax=axes[1], label="log mel", pad=0.01)

    # Each window's cell is its centres stretch; the first cell is drawn where it is, not
    # stretched back to 0 s as an event's onset is.
    onsets, offsets = centre_stretches(
        window_scores.starts, window_scores.ends, window_scores.hop_seconds, first_window=False
    )
    edges = np.append(onsets, offsets[-1])
    heat = axes[2].pcolormesh(
        edges,
        np.arange(len(top) + 1),
        window_scores.scores[:, top].T,
        vmin=0,
        vmax=1,
        cmap="viridis",
        shading="flat",
        rasterized=True,
    )
    axes[2].set_yticks(
        np.arange(len(top)) + 0.5, [window_scores.labels[k] for k in top], fontsize=8
    )
    axes[2].invert_yaxis()
    axes[2].set_ylabel("window scores")
    figure.colorbar(heat, ax=axes[2], label="score", pad=0.01)

    draw_event_roll(axes[3], roll_labels, estimated, reference)
    axes[3].set_xlabel("time (s)")
    axes[3].set_xlim(0, duration)
    return figure


def event_roll_labels(estimated, reference) -> list[str]:
    """The rows of an event roll: every label of either table, sorted."""
    labels = set()
    for table in (estimated, reference):
        if table is not None:
            labels |= set(table["event_label"])
    return sorted(labels)


def draw_event_roll(axis, labels, estimated, reference) -> None:
    """Draw an event roll on ``axis``: a row per label (top to bottom as ``labels``), reference
    events in the upper half of each row, estimated events in the lower half.

    Parameters
    ----------
    axis : matplotlib.axes.Axes
    labels : list of str
        The rows (see :func:`event_roll_labels`).
    estimated, reference : pd.DataFrame or None
        Event tables (``onset, offset, event_label``, seconds).
    """
    for row, label in enumerate(labels):
        for table, offset, colour in (
            (reference, 0.05, REFERENCE_COLOUR),
            (estimated, 0.5, ESTIMATED_COLOUR),
        ):
            if table is None:
                continue
            events = table[table["event_label"] == label]
            spans = [(r.onset, max(r.offset - r.onset, 0.02)) for r in events.itertuples()]
            axis.broken_barh(spans, (row + offset, 0.45), facecolors=colour)
    axis.set_yticks(np.arange(len(labels)) + 0.5, labels, fontsize=8)
    axis.set_ylim(len(labels) if labels else 1, 0)
    axis.set_ylabel("events")
    handles = []
    from matplotlib.patches import Patch

    if reference is not None:
        handles.append(Patch(color=REFERENCE_COLOUR, label="reference (upper)"))
    if estimated is not None:
        handles.append(Patch(color=ESTIMATED_COLOUR, label="estimated (lower)"))
    if handles:
        axis.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(1.005, 1.0),
            fontsize=8,
            frameon=False,
        )
    if not labels:
        axis.text(
            0.5,
            0.5,
            "no events given",
            transform=axis.transAxes,
            ha="center",
            va="center",
            color="grey",
        )
