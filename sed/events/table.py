"""The canonical event table and the one rounding rule of every file written.

The event table is a pandas DataFrame with the sed_eval/DCASE columns
``filename, onset, offset, event_label, score`` (onset and offset in seconds, score in [0, 1]).
Every format writes times with one rounding rule (:func:`round_seconds`), and every writer
formats its numbers with the helpers here (:func:`seconds_text`, :func:`cell_text`,
:func:`json_value`), so that one time has the same digits in every file.
"""

from __future__ import annotations

import math
import os
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

EVENT_COLUMNS = ("filename", "onset", "offset", "event_label", "score")
#: Decimals of every time written (milliseconds) and of scores.
TIME_DECIMALS = 3
#: The longest time read from a file, in seconds (7 days): an onset, offset or duration beyond
#: it is refused as a misreading (milliseconds or samples taken for seconds), before any array
#: is sized by it (an offset of 1e12 s would ask numpy for terabytes of segments).
MAX_SECONDS = 7 * 24 * 3600.0
#: Decimals of the Audacity and Raven files (what those tools write); times are still rounded to
#: the millisecond first.
AUDACITY_DECIMALS = 6


def event_table(rows: list[dict] | None = None, *, sort: bool = True) -> pd.DataFrame:
    """Build an event table, sorted by file, onset, offset and label.

    Parameters
    ----------
    rows : list of dict, optional
        Each with the keys of :data:`EVENT_COLUMNS` (extra keys become extra columns).
    sort : bool
        False keeps the rows' order: readers keep a file's order, on which sed_eval's greedy
        event matching depends.

    Returns
    -------
    events : pd.DataFrame
        Columns :data:`EVENT_COLUMNS` first; an empty table has them too.
    """
    import pandas as pd

    table = pd.DataFrame(rows or [], columns=None if rows else list(EVENT_COLUMNS))
    for column in EVENT_COLUMNS:
        if column not in table:
            table[column] = pd.Series(
                dtype=float if column in ("onset", "offset", "score") else str
            )
    table = table[list(EVENT_COLUMNS) + [c for c in table.columns if c not in EVENT_COLUMNS]]
    table = table.astype(
        {"onset": float, "offset": float, "score": float, "filename": str, "event_label": str}
    )
    if sort:
        table = table.sort_values(["filename", "onset", "offset", "event_label"], kind="stable")
    return table.reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# One rounding rule for every format.


def _milliseconds(value) -> Decimal:
    return Decimal(repr(float(value))).quantize(Decimal("0.001"), rounding=ROUND_HALF_EVEN)


def round_seconds(values) -> np.ndarray:
    """Round times (or scores) to the millisecond: the one rule of every file written.

    The value's shortest decimal form (Python's ``repr``) is rounded to 3 decimals, halves to
    even: 15.2275 gives 15.228 and 15.2265 gives 15.226 whatever the binary value's last bits,
    so every format writes the same digits for one time.

    Parameters
    ----------
    values : float or array-like of float
        Seconds (or scores); NaN stays NaN.

    Returns
    -------
    rounded : np.ndarray [dtype=float64]
        Same shape as ``values``.
    """
    array = np.asarray(values, dtype=float)
    rounded = [math.nan if math.isnan(v) else float(_milliseconds(v)) for v in array.ravel()]
    return np.array(rounded, dtype=float).reshape(array.shape)


def seconds_text(value: float, decimals: int = TIME_DECIMALS) -> str:
    """A time as written in files: rounded by :func:`round_seconds`, then ``decimals`` digits
    (``15.2275`` gives ``"15.228"``, or ``"15.228000"`` with 6)."""
    rounded = _milliseconds(value)
    return f"{rounded:.{decimals}f}"


def cell_text(value) -> str:
    """A score or extra number cell as written in tables: 3 decimals by the same rule.

    Parameters
    ----------
    value : float, int, str or None
        A float (Python or numpy) is written by :func:`seconds_text`; None or NaN give an empty
        cell; anything else its ``str``.

    Returns
    -------
    text : str
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (float, np.floating)):
        return seconds_text(float(value))
    return str(value)


def json_value(value):
    """A value as written in JSON: floats rounded to the millisecond by :func:`round_seconds`'s
    rule (NaN gives ``None``, JSON's ``null``), numpy integers as ints, anything else as it is.

    Parameters
    ----------
    value : object
        A cell of an event table, or a tag's score.

    Returns
    -------
    value : float, int, None or object
        Something :func:`json.dumps` writes.
    """
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(_milliseconds(value))
    if isinstance(value, np.integer):
        return int(value)
    return value


def events_of_recording(events: pd.DataFrame, path: str | os.PathLike) -> pd.DataFrame:
    """The events of one recording in a table of several (``all_events.csv``), by stem.

    Parameters
    ----------
    events : pd.DataFrame
        An event table whose ``filename`` column names each event's recording.
    path : str or os.PathLike
        The recording; events pair with it by :func:`sed.audio.recording_stem`, as
        ``sed evaluate`` pairs them.

    Returns
    -------
    events : pd.DataFrame
        Its rows, in order, with a fresh index; none when the table names other recordings only.
    """
    from sed.audio import recording_stem

    stem = recording_stem(path)
    keep = [recording_stem(str(name)) == stem for name in events["filename"]]
    return events[keep].reset_index(drop=True)
