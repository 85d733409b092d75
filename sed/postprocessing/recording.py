"""The whole recording at once: :func:`detect_events`, every stage in order on all its windows."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sed.postprocessing.boundaries import grow_boundaries, level_activity, window_boundaries
from sed.postprocessing.stages import (
    hysteresis_runs,
    median_filter,
    median_filter_windows,
    merge_and_filter,
)

if TYPE_CHECKING:
    import pandas as pd

    from sed.postprocessing.config import PostProcessing
    from sed.segmenter import WindowScores


def detect_events(window_scores: WindowScores, config: PostProcessing) -> pd.DataFrame:
    """Window scores to events, with every stage of ``config`` (see :mod:`sed.postprocessing`).

    Parameters
    ----------
    window_scores : sed.segmenter.WindowScores
        Scores of the selected event labels, ``(n_windows, n_labels)`` in [0, 1].
    config : PostProcessing

    Returns
    -------
    events : pd.DataFrame
        The canonical event table (:data:`sed.events.EVENT_COLUMNS`) plus ``mean_score``.
        Onsets and offsets are clipped to ``[0, duration_seconds]``.

    Raises
    ------
    ParameterError
        If per-label thresholds name a label that is not in ``window_scores.labels``.
    """
    on, off = config.thresholds(window_scores.labels)
    if np.asarray(window_scores.scores).size == 0:
        return _no_events()
    filtered = filtered_scores(window_scores, config.median_filter_seconds)
    activity = recording_activity(window_scores, config)
    rows = []
    for k, label in enumerate(window_scores.labels):
        for onset, offset, score, mean_score in label_events(
            window_scores, filtered, k, on[k], off[k], config, activity
        ):
            rows.append(
                {
                    "filename": window_scores.filename,
                    "onset": onset,
                    "offset": offset,
                    "event_label": label,
                    "score": score,
                    "mean_score": mean_score,
                }
            )
    if not rows:
        return _no_events()
    from sed.events import event_table  # pandas, imported only when events are made

    return event_table(rows)


def _no_events() -> pd.DataFrame:
    import pandas as pd

    from sed.events import event_table

    return event_table().assign(mean_score=pd.Series(dtype=float))


def filtered_scores(window_scores: WindowScores, median_filter_seconds: float) -> np.ndarray:
    """Window scores after the median filter (see :func:`median_filter_windows`).

    Returns
    -------
    scores : np.ndarray [shape=(n_windows, n_labels)]
    """
    length = median_filter_windows(median_filter_seconds, window_scores.hop_seconds)
    return median_filter(np.asarray(window_scores.scores), length)


def recording_activity(window_scores: WindowScores, config: PostProcessing) -> np.ndarray | None:
    """The :func:`level_activity` that ``refined`` boundaries need, or None when not needed or
    when the window scores carry no frame level (then ``refined`` falls back to ``centres``).

    Scores on frames that tile the recording (a frame-level head's,
    :attr:`sed.segmenter.WindowScores.frames_tile`) are never refined: their events span their
    frames, which the head placed (on ``sed_dev/office`` refining them lowered event F1 from
    0.58 to 0.40; ``docs/frame-heads.md``)."""
    if (
        config.boundaries != "refined"
        or window_scores.frame_level_db is None
        or window_scores.frames_tile
    ):
        return None
    return level_activity(window_scores.frame_level_db, config.refine_background_seconds)


def label_events(
    window_scores: WindowScores,
    filtered: np.ndarray,
    k: int,
    on: float,
    off: float,
    config: PostProcessing,
    activity: np.ndarray | None = None,
) -> list[tuple[float, float, float, float]]:
    """The events of one label: thresholds, boundaries, gaps and durations, scores.

    Parameters
    ----------
    window_scores : sed.segmenter.WindowScores
    filtered : np.ndarray [shape=(n_windows, n_labels)]
        Median-filtered scores (:func:`filtered_scores`).
    k : int
        Column of the label.
    on, off : float
        The label's thresholds.
    config : PostProcessing
        Its mode, boundaries, ``min_gap_seconds`` and ``min_duration_seconds`` are used.
    activity : np.ndarray [shape=(n_frames,)], optional
        :func:`recording_activity` of the recording, for ``refined`` boundaries.

    Returns
    -------
    events : list of (onset, offset, score, mean_score)
        Seconds, in time order; scores are the max and mean of the unfiltered window scores.
    """
    eligible = filtered.argmax(axis=1) == k if config.mode == "top" else None
    spans = []
    for first, last in hysteresis_runs(filtered[:, k], on, off, eligible):
        onset, offset = window_boundaries(window_scores, first, last, config.boundaries)
        if activity is not None:
            onset, offset = grow_boundaries(
                activity,
                onset,
                offset,
                margin_db=config.refine_margin_db,
                reach_seconds=config.refine_reach_seconds,
            )
        spans.append((first, last, onset, offset))
    spans.sort(key=lambda span: span[2])  # grown boundaries may reorder neighbours
    raw = window_scores.scores
    return [
        (
            onset,
            offset,
            float(raw[first : last + 1, k].max()),
            float(raw[first : last + 1, k].mean()),
        )
        for first, last, onset, offset in merge_and_filter(
            spans,
            config.min_gap_seconds,
            config.min_duration_seconds,
            window_scores.duration_seconds,
        )
    ]
