"""What a listener gives out, as records: events and top classes with wall-clock times."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sed.errors import ParameterError
from sed.events import round_seconds
from sed.postprocessing import Event


@dataclass(frozen=True)
class TopClasses:
    """The classes with the highest mean score over one stretch of a stream (``--every``).

    Attributes
    ----------
    onset, offset : float
        The stretch, in seconds from the start of the stream: the windows starting in it.
    labels : tuple of str
        Highest mean score first.
    scores : tuple of float
        Their mean window scores, in [0, 1].
    """

    onset: float
    offset: float
    labels: tuple[str, ...]
    scores: tuple[float, ...]


def wall_time(start_time: dt.datetime, seconds: float) -> str:
    """``start_time`` plus ``seconds`` in ISO 8601, rounded to the millisecond, with its UTC
    offset (``2025-06-01T07:30:07.778+02:00``). ``seconds`` is rounded first, by the rule of
    every file (:func:`sed.events.round_seconds`), so that the clock time shows the digits of the
    ``onset`` or ``offset`` beside it."""
    moment = start_time + dt.timedelta(seconds=float(round_seconds(seconds)))
    rounded = moment.replace(microsecond=0) + dt.timedelta(
        milliseconds=round(moment.microsecond / 1000)
    )
    return rounded.isoformat(timespec="milliseconds")


def record(item: Event | TopClasses, start_time: dt.datetime) -> dict:
    """An event or a stretch's top classes as plain data (what ``sed listen`` prints and
    appends to its files), at full precision (see :func:`rounded`).

    ``start_time`` and ``end_time`` are the wall-clock times of the onset and offset
    (:func:`wall_time`).
    """
    times = {"onset": item.onset, "offset": item.offset}
    clock = {
        "start_time": wall_time(start_time, item.onset),
        "end_time": wall_time(start_time, item.offset),
    }
    if isinstance(item, TopClasses):
        top = [{"label": label, "score": score} for label, score in zip(item.labels, item.scores)]
        return {**times, **clock, "top": top}
    return {
        **times,
        "event_label": item.event_label,
        "score": item.score,
        "mean_score": item.mean_score,
        **clock,
    }


def rounded(data):
    """A :func:`record` with every number rounded to the millisecond by the rule of every file
    ``sed`` writes (:func:`sed.events.round_seconds`): a JSON line."""
    if isinstance(data, float):
        return float(round_seconds(data))
    if isinstance(data, dict):
        return {key: rounded(value) for key, value in data.items()}
    if isinstance(data, list):
        return [rounded(value) for value in data]
    return data


def parse_start_time(text: str) -> dt.datetime:
    """An ISO 8601 date and time (``2025-06-01T05:30:00+02:00``); without an offset, local time.

    Raises
    ------
    ParameterError
        If ``text`` is not one.
    """
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ParameterError(
            f"start time {text!r} is not an ISO 8601 date and time (e.g. 2025-06-01T05:30:00)"
        ) from None
    return moment.astimezone() if moment.tzinfo is None else moment
