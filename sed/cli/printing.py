"""What the commands print on the terminal: ``sed detect``'s event summary, ``sed tag``'s tags.

Text for people (and for the pipes of ``sed tag``), not a file format: the library never calls
these. Nothing here imports pandas (``import sed.cli`` must not): the tables come from the
commands that print them.
"""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING

from sed.errors import ParameterError
from sed.events.table import cell_text, json_value

if TYPE_CHECKING:
    import pandas as pd


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
    durations = (
        (events["offset"] - events["onset"])
        .groupby(events["event_label"])
        .agg(["count", "sum"])
        .sort_values(["count", "sum"], ascending=False)
    )
    lines = [f"{len(events)} event{'s' * (len(events) != 1)}{length}:"]
    rows = [(str(label), int(row["count"]), row["sum"]) for label, row in durations.iterrows()]
    return "\n".join(lines + label_lines(rows))


def label_lines(rows: list[tuple[str, int, float]]) -> list[str]:
    """One line per label, ``  Bicycle bell     4 x     24.68 s``, in the order given.

    Parameters
    ----------
    rows : list of (str, int, float)
        Label, number of events, total duration in seconds.

    Returns
    -------
    lines : list of str
        Indented, labels padded to the longest; empty for no rows.
    """
    if not rows:
        return []
    width = max(len(label) for label, _, _ in rows)
    return [f"  {label:<{width}}  {n:>4} x  {seconds:8.2f} s" for label, n, seconds in rows]


def format_tags(
    top: pd.DataFrame,
    format: str = "text",
    *,
    filename: str,
    duration_seconds: float,
    windows: int,
    unit: str = "windows",
) -> str:
    """A recording's tags (:func:`sed.pipeline.top_classes`) as ``sed tag`` prints them.

    Parameters
    ----------
    top : pd.DataFrame
        Columns ``rank``, ``label``, ``score`` (window-averaged, in [0, 1]).
    format : {"text", "csv", "json"}
        ``text``: a title line, then ``rank. label score`` (the reference ``inference.py``);
        ``csv``: ``filename,rank,label,score``; ``json``: ``{"filename", "duration_seconds",
        "windows", "tags": [{"rank", "label", "score"}]}``. Scores to 3 decimals.
    filename : str
    duration_seconds : float
    windows : int
        How many score rows the tags were computed from.
    unit : {"windows", "frames"}
        What those rows are (a frame-level head's rows are frames): the word of the text title
        and the key of the JSON count.

    Raises
    ------
    ParameterError
        For an unknown format.
    """
    rows = [(int(r.rank), str(r.label), float(r.score)) for r in top.itertuples(index=False)]
    if format == "text":
        width = max((len(label) for _, label, _ in rows), default=0)
        lines = [f"{filename}: {windows} {unit}, {duration_seconds:.2f} s"]
        lines += [f"{rank:>3}. {label:<{width}}  {score:.3f}" for rank, label, score in rows]
        return "\n".join(lines) + "\n"
    if format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["filename", "rank", "label", "score"])
        writer.writerows([filename, rank, label, cell_text(score)] for rank, label, score in rows)
        return buffer.getvalue()
    if format == "json":
        tags = [
            {"rank": rank, "label": label, "score": json_value(score)}
            for rank, label, score in rows
        ]
        document = {
            "filename": filename,
            "duration_seconds": float(duration_seconds),
            unit: int(windows),
            "tags": tags,
        }
        return json.dumps(document, indent=1) + "\n"
    raise ParameterError(f"unknown tag format {format!r}; choose one of text, csv, json")
