"""The stages on window indices: median filter, thresholds with hysteresis, gaps and durations.

Each is a function of plain arrays and numbers, shared by the whole-recording form
(:mod:`sed.postprocessing.recording`) and the incremental one
(:mod:`sed.postprocessing.streaming`), so both find the same events by the same code. Where an
event starts and ends in seconds is :mod:`sed.postprocessing.boundaries`.
"""

from __future__ import annotations

import numpy as np

from sed.errors import ParameterError
from sed.events.table import round_seconds


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


def median_filter_windows(median_filter_seconds: float, hop_seconds: float) -> int:
    """Length of the median filter in windows: odd, at least 1 (1 means no filtering)."""
    if median_filter_seconds <= 0 or hop_seconds <= 0:
        return 1
    n = max(1, int(round(median_filter_seconds / hop_seconds)))
    return n + 1 - n % 2


def median_filter(scores: np.ndarray, length: int) -> np.ndarray:
    """Running median over windows, per column, with the edges repeated (``mode="nearest"``).

    :func:`scipy.ndimage.median_filter` along the windows: row ``i`` is the median of rows
    ``i - length // 2`` to ``i + length // 2``, the first and last rows standing in for those
    beyond the ends (as ``numpy.pad(mode="edge")`` would pad).

    Parameters
    ----------
    scores : np.ndarray [shape=(n_windows, n_labels), dtype=float32 or float64]
    length : int >= 1, odd
        :func:`median_filter_windows` gives one.

    Returns
    -------
    filtered : np.ndarray [shape=(n_windows, n_labels)]
        Same dtype as ``scores``; ``scores`` itself when ``length`` is 1 or there are no windows.

    Raises
    ------
    ParameterError
        If ``length`` is even (an even window has no middle row to centre on).
    """
    _check_odd(length)
    if length <= 1 or len(scores) == 0:
        return scores
    from scipy import ndimage

    return ndimage.median_filter(scores, size=(length, 1), mode="nearest")


def running_medians(padded: np.ndarray, length: int) -> np.ndarray:
    """Median of every complete run of ``length`` rows of ``padded``, per column.

    Each output row is the median of its own ``length`` rows, whatever came before or after
    them: :func:`median_filter` and the incremental :class:`EventStream` get the same values
    (this is :func:`median_filter` without the rows that read its edge padding).

    Parameters
    ----------
    padded : np.ndarray [shape=(n_rows, n_labels), dtype=float32 or float64]
    length : int >= 1, odd

    Returns
    -------
    medians : np.ndarray [shape=(max(0, n_rows - length + 1), n_labels)]
        Row ``i`` is the median of ``padded[i : i + length]``; same dtype as ``padded``.

    Raises
    ------
    ParameterError
        If ``length`` is even.
    """
    _check_odd(length)
    if len(padded) < length:
        return padded[:0]
    half = length // 2
    return median_filter(padded, length)[half : len(padded) - half]


def _check_odd(length: int) -> None:
    if length % 2 == 0:
        raise ParameterError(f"the median filter's length must be odd, got {length}")


def hysteresis_runs(
    scores: np.ndarray, on: float, off: float, eligible: np.ndarray | None = None
) -> list[tuple[int, int]]:
    """Runs of windows at or above ``off`` that hold at least one window at or above ``on``.

    Parameters
    ----------
    scores : np.ndarray [shape=(n_windows,)]
    on, off : float, off <= on
    eligible : np.ndarray [shape=(n_windows,), dtype=bool], optional
        Windows that may be active at all (``top`` mode: those the label wins).

    Returns
    -------
    runs : list of (first, last)
        Inclusive window indices.
    """
    above_off = scores >= off
    above_on = scores >= on
    if eligible is not None:
        above_off &= eligible
        above_on &= eligible
    closed, still_open = hysteresis_step(above_off, above_on)
    if still_open is not None and still_open[1]:
        closed.append((still_open[0], len(above_off) - 1))
    return closed


def hysteresis_step(
    above_off: np.ndarray,
    above_on: np.ndarray,
    *,
    offset: int = 0,
    carried: tuple[int, bool] | None = None,
) -> tuple[list[tuple[int, int]], tuple[int, bool] | None]:
    """The hysteresis runs of one piece of a sequence that arrives in pieces.

    :func:`hysteresis_runs` is this function on the whole sequence at once; the incremental
    :class:`EventStream` calls it on each new piece, so both find runs by the same code.

    Parameters
    ----------
    above_off, above_on : np.ndarray [shape=(n,), dtype=bool]
        Which windows of the piece are at or above the off and on thresholds (and eligible).
    offset : int
        Index of the piece's first window in the whole sequence.
    carried : (first, reached_on) or None
        The run still open at the end of the previous piece: its first window and whether a
        window of it reached the on threshold.

    Returns
    -------
    closed : list of (first, last)
        Runs that ended inside the piece (or just before it) and reached the on threshold;
        inclusive window indices of the whole sequence.
    still_open : (first, reached_on) or None
        The run that reaches the end of the piece, to carry into the next one.
    """
    if len(above_off) == 0:
        return [], carried
    closed = []
    if carried is not None and not above_off[0]:
        if carried[1]:
            closed.append((carried[0], offset - 1))
        carried = None
    still_open = None
    for a, b in runs(above_off):
        first, reached = a + offset, bool(above_on[a : b + 1].any())
        if a == 0 and carried is not None:
            first, reached = carried[0], reached or carried[1]
        if b == len(above_off) - 1:
            still_open = (first, reached)
        elif reached:
            closed.append((first, b + offset))
    return closed, still_open


def merge_and_filter(
    spans, min_gap_seconds: float, min_duration_seconds: float, duration_seconds: float
) -> list[tuple[int, int, float, float]]:
    """Clip events of one label to the recording, merge close ones, drop short ones.

    Parameters
    ----------
    spans : list of (first, last, onset, offset)
        Window indices and times in seconds, in time order.
    min_gap_seconds, min_duration_seconds : float >= 0
    duration_seconds : float
        Length of the recording.

    Returns
    -------
    spans : list of (first, last, onset, offset)
        Events separated by less than ``min_gap_seconds`` (or overlapping) are merged first
        (:func:`merge_spans`); then events shorter than ``min_duration_seconds`` are dropped
        (:func:`long_enough`).
    """
    return [
        (first, last, onset, offset)
        for first, last, onset, offset, _ in merge_spans(spans, min_gap_seconds, duration_seconds)
        if long_enough(onset, offset, min_duration_seconds)
    ]


def merge_spans(
    spans, min_gap_seconds: float, duration_seconds: float
) -> list[tuple[int, int, float, float, int]]:
    """Clip events of one label to ``[0, duration_seconds]`` and merge those less than
    ``min_gap_seconds`` apart (or overlapping), in the order given.

    Returns
    -------
    groups : list of (first, last, onset, offset, n_spans)
        ``n_spans``: how many consecutive spans of the input each group holds.
    """
    merged: list[list] = []
    for first, last, onset, offset in spans:
        onset, offset = max(0.0, onset), min(offset, duration_seconds)
        if merged and onset - merged[-1][3] < merge_threshold(min_gap_seconds):
            merged[-1][0] = min(merged[-1][0], first)
            merged[-1][1] = max(merged[-1][1], last)
            merged[-1][3] = max(merged[-1][3], offset)
            merged[-1][4] += 1
        else:
            merged.append([first, last, onset, offset, 1])
    return [tuple(group) for group in merged]


def merge_threshold(min_gap_seconds: float) -> float:
    """An event merges into the previous one when its onset comes less than this (in seconds)
    after the previous offset: ``min_gap_seconds``, or 1 ns so that touching events merge."""
    return max(min_gap_seconds, 1e-9)


def long_enough(onset: float, offset: float, min_duration_seconds: float) -> bool:
    """Whether a merged event is kept: at least ``min_duration_seconds`` long, and not empty
    once written: its offset and onset must differ in milliseconds, the resolution of every
    event file (:func:`sed.events.table.round_seconds`). A stream of a few samples would
    otherwise give an event of length 0.000 s."""
    if not (offset - onset >= min_duration_seconds and offset > onset):
        return False
    rounded_onset, rounded_offset = round_seconds([onset, offset])
    return bool(rounded_offset > rounded_onset)
