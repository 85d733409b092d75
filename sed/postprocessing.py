"""Post-processing: window scores in, events out.

``top`` mode (the seed design): in each window the highest scoring selected class is the winner;
a window is active when the winner's score is at least the threshold; consecutive active windows
with the same winner merge into one event, from the start of its first window to the end of its
last (clipped to the file length); an event's score is its highest window score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sed.errors import ParameterError
from sed.events import event_table

DEFAULT_THRESHOLD = 0.5


def check_threshold(threshold: float, name: str = "threshold") -> float:
    """Return ``threshold`` as a float, or raise :class:`ParameterError` if outside [0, 1]."""
    try:
        value = float(threshold)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number in [0, 1], got {threshold!r}") from None
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ParameterError(f"{name} must be in [0, 1], got {threshold!r}")
    return value


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Runs of consecutive True values.

    Parameters
    ----------
    mask : np.ndarray [shape=(n,), dtype=bool]

    Returns
    -------
    runs : list of (first, last)
        Inclusive index pairs of every maximal run of True.
    """
    padded = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2])]


def top_class_events(window_scores, *, threshold: float = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """Events of the single winning class per window (``--mode top``).

    Parameters
    ----------
    window_scores : sed.segmenter.WindowScores
        Scores of the selected labels, ``(n_windows, n_labels)``.
    threshold : float in [0, 1]
        A window is active when its winner's score is at least this.

    Returns
    -------
    events : pd.DataFrame
        The canonical event table (:data:`sed.events.EVENT_COLUMNS`): onset = start of the first
        window, offset = end of the last window clipped to ``duration_seconds``, score = highest
        window score of the event.

    Raises
    ------
    ParameterError
        If ``threshold`` is outside [0, 1].
    """
    threshold = check_threshold(threshold)
    scores = window_scores.scores
    if scores.size == 0:
        return event_table()
    winner = scores.argmax(axis=1)
    best = scores[np.arange(len(winner)), winner]
    # Label -1 marks inactive windows so that runs break at them.
    label = np.where(best >= threshold, winner, -1)
    rows = []
    for k in np.unique(label[label >= 0]):
        for first, last in runs(label == k):
            rows.append({
                "filename": window_scores.filename,
                "onset": float(window_scores.starts[first]),
                "offset": float(min(window_scores.ends[last], window_scores.duration_seconds)),
                "event_label": window_scores.labels[k],
                "score": float(best[first:last + 1].max()),
            })
    return event_table(rows)


@dataclass(frozen=True)
class PostProcessing:
    """One post-processing configuration.

    Attributes
    ----------
    mode : {"top"}
        ``top``: one winning class per window (see :func:`top_class_events`).
    threshold : float in [0, 1]
        Minimum winner score of an active window.
    """

    mode: str = "top"
    threshold: float = DEFAULT_THRESHOLD

    def __post_init__(self):
        if self.mode != "top":
            raise ParameterError(f"unknown post-processing mode {self.mode!r}; choose top")
        check_threshold(self.threshold)

    def events(self, window_scores) -> pd.DataFrame:
        """Turn window scores into the canonical event table."""
        return top_class_events(window_scores, threshold=self.threshold)
