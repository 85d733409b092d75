"""Which windows of an index a search may return: some recordings, some hours of the day.

A recordist looking for a dawn chorus, a night-time machine or one site's events narrows the
archive before ranking it: by the recordings' names (glob patterns, as a shell matches them) and
by the clock time each window starts at, taken from the ``YYYYMMDD_HHMMSS`` that recorders
(AudioMoth, Song Meter) put in their file names (:func:`sed.index.start_time_from_name`).
BirdNET-Analyzer and OpenSoundscape filter their tables the same way after the fact; here the
filter comes first, so the ``k`` hits are the best of the windows the user asked about, not the
few of them that happen to rank among the archive's best.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import TYPE_CHECKING

import numpy as np

from sed.errors import ParameterError

if TYPE_CHECKING:
    from sed.index import Index, IndexedRecording

SECONDS_PER_DAY = 24 * 3600
_CLOCK_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class TimeOfDay:
    """A range of clock times, ``start`` included, ``end`` excluded; it wraps past midnight when
    ``end`` is not after ``start`` (22:00-04:00 is six hours of night; 00:00-00:00 the whole day).

    Attributes
    ----------
    start, end : datetime.time
        Local clock times, as in the recordings' file names (no time zone).
    """

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> TimeOfDay:
        """``HH:MM-HH:MM`` (24-hour clock), e.g. ``04:30-07:00`` or ``22:00-04:00``.

        Raises
        ------
        ParameterError
            If ``text`` is not of that form or names an hour above 23 or a minute above 59.
        """
        found = _CLOCK_RANGE.match(text)
        if found is None:
            raise ParameterError(
                f"--time-of-day takes HH:MM-HH:MM (e.g. 04:30-07:00), not {text!r}"
            )
        start_hour, start_minute, end_hour, end_minute = (int(part) for part in found.groups())
        try:
            start, end = time(start_hour, start_minute), time(end_hour, end_minute)
        except ValueError:
            raise ParameterError(f"--time-of-day {text!r}: not a clock time") from None
        return cls(start, end)

    def contains(self, seconds_of_day: np.ndarray) -> np.ndarray:
        """Which clock times (seconds since midnight, in [0, 86400)) fall in the range.

        Parameters
        ----------
        seconds_of_day : np.ndarray [shape=(n,), dtype=float64]

        Returns
        -------
        inside : np.ndarray [shape=(n,), dtype=bool]
        """
        start, end = _seconds(self.start), _seconds(self.end)
        if start < end:
            return (seconds_of_day >= start) & (seconds_of_day < end)
        return (seconds_of_day >= start) | (seconds_of_day < end)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class Selection:
    """The windows a filtered search may return.

    Attributes
    ----------
    rows : np.ndarray [shape=(m,), dtype=int64]
        Sorted vector rows of the index.
    undated : int
        Recordings that matched the name patterns but were left out because a time of day was
        asked for and their names hold no start time.
    """

    rows: np.ndarray
    undated: int = 0


def select_windows(
    index: Index, *, recordings: Sequence[str] = (), time_of_day: TimeOfDay | None = None
) -> Selection | None:
    """The windows of the index in the named recordings and starting in the time of day.

    Parameters
    ----------
    index : sed.index.Index
    recordings : sequence of str
        Glob patterns (:func:`fnmatch.fnmatchcase`: ``*``, ``?``, ``[...]``; ``*`` also matches
        ``/``), each matched against a recording's name as it was indexed (the ``filename`` of
        hits) and its absolute path; a recording is kept when any pattern matches. Empty: every
        recording.
    time_of_day : TimeOfDay, optional
        Keep the windows whose onset (the recording's start time from its name plus
        ``i * hop_seconds``) falls in the range; recordings whose names hold no start time are
        left out and counted in :attr:`Selection.undated`.

    Returns
    -------
    selection : Selection or None
        None when no filter is given (every window).

    Raises
    ------
    ParameterError
        If a pattern matches no recording, or no window is left.
    """
    if not recordings and time_of_day is None:
        return None
    chosen = list(index.recordings)
    for pattern in recordings:
        if not any(_matches(recording, pattern) for recording in chosen):
            raise ParameterError(f"--recording {pattern!r} matches no recording of the index")
    if recordings:
        chosen = [r for r in chosen if any(_matches(r, pattern) for pattern in recordings)]
    undated = 0
    parts = []
    for recording in chosen:
        windows = np.arange(recording.n_windows, dtype=np.int64)
        if time_of_day is not None:
            if recording.start_time is None:
                undated += 1
                continue
            onsets = _seconds_of_day(recording.start_time) + windows * index.hop_seconds
            windows = windows[time_of_day.contains(np.mod(onsets, SECONDS_PER_DAY))]
        parts.append(recording.first_row + windows)
    rows = np.sort(np.concatenate(parts)) if parts else np.zeros(0, np.int64)
    if len(rows) == 0:
        asked = [f"--recording {' '.join(recordings)}"] * bool(recordings)
        asked += [f"--time-of-day {time_of_day}"] * (time_of_day is not None)
        hint = (
            f" ({undated} recording{'s' * (undated != 1)} without a YYYYMMDD_HHMMSS start time "
            "in the name)"
            if undated
            else ""
        )
        raise ParameterError(f"no window of the index is left by {' and '.join(asked)}{hint}")
    return Selection(rows, undated)


def _matches(recording: IndexedRecording, pattern: str) -> bool:
    return fnmatch.fnmatchcase(recording.filename, pattern) or fnmatch.fnmatchcase(
        recording.path, pattern
    )


def _seconds(clock: time) -> float:
    return clock.hour * 3600 + clock.minute * 60 + clock.second


def _seconds_of_day(iso_start: str) -> float:
    return _seconds(datetime.fromisoformat(iso_start).time())
