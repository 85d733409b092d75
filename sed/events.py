"""Event I/O: the canonical event table and its files.

The event table is a pandas DataFrame with the sed_eval/DCASE columns
``filename, onset, offset, event_label, score`` (onset and offset in seconds, score in [0, 1]).
Every writer is a small function of this table or of :class:`sed.segmenter.WindowScores`, and
writes atomically (temporary file, then rename).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from sed.atomic import atomic_open

EVENT_COLUMNS = ("filename", "onset", "offset", "event_label", "score")
TIME_DECIMALS = 3


def event_table(rows: list[dict] | None = None) -> pd.DataFrame:
    """Build an event table, sorted by file, onset, offset and label.

    Parameters
    ----------
    rows : list of dict, optional
        Each with the keys of :data:`EVENT_COLUMNS` (extra keys become extra columns).

    Returns
    -------
    events : pd.DataFrame
        Columns :data:`EVENT_COLUMNS` first; an empty table has them too.
    """
    table = pd.DataFrame(rows or [], columns=None if rows else list(EVENT_COLUMNS))
    for column in EVENT_COLUMNS:
        if column not in table:
            table[column] = pd.Series(dtype=float if column in ("onset", "offset", "score") else str)
    table = table[list(EVENT_COLUMNS) + [c for c in table.columns if c not in EVENT_COLUMNS]]
    table = table.astype({"onset": float, "offset": float, "score": float,
                          "filename": str, "event_label": str})
    return table.sort_values(["filename", "onset", "offset", "event_label"],
                             kind="stable").reset_index(drop=True)


def write_events_csv(events: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write events as CSV: ``filename,onset,offset,event_label,score``, times to 3 decimals.

    Parameters
    ----------
    events : pd.DataFrame
        An event table (see :func:`event_table`).
    path : str or os.PathLike
        Written atomically.
    """
    table = events.copy()
    table[["onset", "offset", "score"]] = table[["onset", "offset", "score"]].round(TIME_DECIMALS)
    with atomic_open(path, "w", newline="", encoding="utf-8") as handle:
        table.to_csv(handle, index=False, float_format=f"%.{TIME_DECIMALS}f")


def write_scores_csv(window_scores, path: str | os.PathLike) -> None:
    """Write per-window scores: ``filename,start,end`` then one column per label.

    Parameters
    ----------
    window_scores : sed.segmenter.WindowScores or list of them
        Column names are the labels (AudioSet display names for raw YAMNet).
    path : str or os.PathLike
        Written atomically; scores with 7 significant digits, times with 3 decimals.
    """
    items = window_scores if isinstance(window_scores, list) else [window_scores]
    frames = [item.to_frame().reset_index() for item in items]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    for column in ("start", "end"):
        table[column] = table[column].map(lambda t: f"{t:.{TIME_DECIMALS}f}")
    with atomic_open(path, "w", newline="", encoding="utf-8") as handle:
        table.to_csv(handle, index=False, float_format="%.7g")


def summarize(events: pd.DataFrame, duration_seconds: float | None = None) -> str:
    """A short human summary: event count and, per label, count and total duration.

    Parameters
    ----------
    events : pd.DataFrame
        An event table.
    duration_seconds : float, optional
        Total audio length, mentioned when given.

    Returns
    -------
    text : str
        A few lines, most frequent labels first.
    """
    length = f" in {duration_seconds:.1f} s of audio" if duration_seconds is not None else ""
    if events.empty:
        return f"0 events{length}"
    durations = (events["offset"] - events["onset"]).groupby(events["event_label"]).agg(
        ["count", "sum"]).sort_values(["count", "sum"], ascending=False)
    lines = [f"{len(events)} event{'s' * (len(events) != 1)}{length}:"]
    width = max(len(str(label)) for label in durations.index)
    for label, row in durations.iterrows():
        lines.append(f"  {label:<{width}}  {int(row['count']):>4} x  {row['sum']:8.2f} s")
    return "\n".join(lines)


def round_times(values: np.ndarray) -> np.ndarray:
    """Round times in seconds to the precision written in files (3 decimals, 1 ms)."""
    return np.round(np.asarray(values, dtype=float), TIME_DECIMALS)
