"""Plots: one recording's waveform, log-mel spectrogram, window scores and events, on one time axis.

Four panels share the x axis (seconds): the waveform at 16 kHz; YAMNet's log-mel spectrogram
(64 bands, 125 to 7500 Hz, 10 ms frames: exactly the model's input); a heat map of the window
scores of the top-N labels (highest maximum score first; each window drawn over its hop-long
stretch around its centre); and an event roll with, for each label, the reference events above
the estimated ones. Drawn with matplotlib's object API (no pyplot state), so it works headless.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from sed.params import DEFAULT_BATCH_SIZE

from sed.errors import ParameterError

REFERENCE_COLOUR = "#2a9d8f"
ESTIMATED_COLOUR = "#e76f51"


def plot_recording(path: str | os.PathLike, output: str | os.PathLike, *, model,
                   selection=None, estimated: pd.DataFrame | None = None,
                   reference: pd.DataFrame | None = None, top_n: int = 10,
                   resampler: str = "soxr", batch_size: int = DEFAULT_BATCH_SIZE) -> None:
    """Score a recording and write its figure (see :func:`recording_figure`).

    Parameters
    ----------
    path : str or os.PathLike
        Audio file.
    output : str or os.PathLike
        Figure file; the format follows the suffix (``.png``, ``.pdf``, ``.svg``). Written
        atomically.
    model : sed.model.Yamnet
    selection : sed.classes.ClassSelection, optional
        Labels eligible for the heat map; by default all 521 classes.
    estimated, reference : pd.DataFrame, optional
        Event tables to draw in the event roll.
    top_n : int >= 1
    resampler : {"soxr", "resampy"}
    batch_size : int > 0
        Windows per model call.

    Raises
    ------
    AudioError
        If the file cannot be used.
    ParameterError
        If ``top_n`` < 1.
    """
    from sed.atomic import atomic_path
    from sed.audio import load_audio
    from sed.features import log_mel_spectrogram, pad_waveform
    from sed.segmenter import score_waveform

    waveform, info = load_audio(path, sample_rate=model.params.sample_rate, resampler=resampler)
    window_scores = score_waveform(waveform, model, filename=os.fspath(path),
                                   duration_seconds=info.duration_seconds, batch_size=batch_size)
    if selection is not None:
        window_scores = window_scores.select(selection)
    log_mel = log_mel_spectrogram(pad_waveform(waveform, model.params), model.params,
                                  implementation=model.feature_implementation)
    figure = recording_figure(waveform, model.params.sample_rate, log_mel, window_scores,
                              estimated=estimated, reference=reference, top_n=top_n,
                              title=os.path.basename(os.fspath(path)),
                              frame_hop_seconds=model.params.stft_hop_seconds)
    suffix = os.path.splitext(os.fspath(output))[1].lstrip(".").lower() or "png"
    with atomic_path(output) as temporary:
        figure.savefig(temporary, format=suffix, dpi=120)


def recording_figure(waveform: np.ndarray, sample_rate: int, log_mel: np.ndarray, window_scores,
                     *, estimated: pd.DataFrame | None = None,
                     reference: pd.DataFrame | None = None, top_n: int = 10, title: str = "",
                     frame_hop_seconds: float = 0.01):
    """The four-panel figure of one recording.

    Parameters
    ----------
    waveform : np.ndarray [shape=(n_samples,)]
        Mono audio at ``sample_rate``.
    sample_rate : int > 0
        In Hz.
    log_mel : np.ndarray [shape=(n_frames, 64)]
        YAMNet's log-mel spectrogram (10 ms frames, 25 ms windows).
    window_scores : sed.segmenter.WindowScores
    estimated, reference : pd.DataFrame, optional
        Event tables (``onset, offset, event_label``).
    top_n : int >= 1
        Labels in the heat map.
    title : str
    frame_hop_seconds : float > 0
        Hop of the log-mel frames, in seconds (YAMNet: 0.01).

    Returns
    -------
    figure : matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    if top_n < 1:
        raise ParameterError(f"top N must be at least 1, got {top_n}")
    duration = window_scores.duration_seconds
    roll_labels = _roll_labels(estimated, reference)
    top = np.argsort(-window_scores.scores.max(axis=0), kind="stable")[:top_n]
    heights = [1.2, 2.0, max(1.6, 0.28 * len(top) + 0.6), max(1.0, 0.4 * len(roll_labels) + 0.6)]
    figure = Figure(figsize=(12, sum(heights) + 0.8), layout="constrained")
    axes = figure.subplots(4, 1, sharex=True, height_ratios=heights)
    if title:
        figure.suptitle(title)

    times = np.arange(len(waveform)) / sample_rate
    axes[0].plot(times, waveform, linewidth=0.4, color="#264653")
    axes[0].set_ylabel("amplitude")
    axes[0].set_ylim(-1.05 * max(1e-3, np.abs(waveform).max()), 1.05 * max(1e-3, np.abs(waveform).max()))

    frame_edges = np.arange(len(log_mel) + 1) * frame_hop_seconds
    image = axes[1].pcolormesh(frame_edges, np.arange(log_mel.shape[1] + 1), log_mel.T,
                               shading="flat", cmap="magma", rasterized=True)
    axes[1].set_ylabel("mel band\n(125-7500 Hz)")
    figure.colorbar(image, ax=axes[1], label="log mel", pad=0.01)

    hop = window_scores.hop_seconds or (window_scores.ends[0] - window_scores.starts[0])
    centres = 0.5 * (window_scores.starts + window_scores.ends)
    edges = np.concatenate([centres - hop / 2, [centres[-1] + hop / 2]])
    heat = axes[2].pcolormesh(edges, np.arange(len(top) + 1),
                              window_scores.scores[:, top].T, vmin=0, vmax=1, cmap="viridis",
                              shading="flat", rasterized=True)
    axes[2].set_yticks(np.arange(len(top)) + 0.5, [window_scores.labels[k] for k in top],
                       fontsize=8)
    axes[2].invert_yaxis()
    axes[2].set_ylabel("window scores")
    figure.colorbar(heat, ax=axes[2], label="score", pad=0.01)

    _event_roll(axes[3], roll_labels, estimated, reference)
    axes[3].set_xlabel("time (s)")
    axes[3].set_xlim(0, duration)
    return figure


def _roll_labels(estimated, reference) -> list[str]:
    labels = set()
    for table in (estimated, reference):
        if table is not None:
            labels |= set(table["event_label"])
    return sorted(labels)


def _event_roll(axis, labels, estimated, reference) -> None:
    """Reference events in the upper half of each label's row, estimated in the lower half."""
    for row, label in enumerate(labels):
        for table, offset, colour in ((reference, 0.05, REFERENCE_COLOUR),
                                      (estimated, 0.5, ESTIMATED_COLOUR)):
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
        axis.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8,
                    frameon=False)
    if not labels:
        axis.text(0.5, 0.5, "no events given", transform=axis.transAxes, ha="center",
                  va="center", color="grey")
