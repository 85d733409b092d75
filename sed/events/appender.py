"""Appending: events written one by one while they are found (``sed listen -o``).

:class:`EventAppender` adds each event to a file in one flushed write, made by the format's own
writer (:mod:`sed.events.writers`), so the file reads like one ``sed detect`` writes at every
moment; :func:`check_appendable` refuses, before anything is written, a file it must not touch.
"""

from __future__ import annotations

import json
import os

from sed.errors import AnnotationError, ParameterError
from sed.events.readers import read_events
from sed.events.table import EVENT_COLUMNS, event_table, json_value
from sed.events.writers import (
    FORMAT_SUFFIXES,
    FORMATS,
    RAVEN_COLUMNS,
    events_csv,
    events_raven,
    format_events,
)

#: Columns of a CSV that events are appended to: the event table's, the mean score, and the
#: wall-clock times of onset and offset (ISO 8601).
APPEND_CSV_COLUMNS = (*EVENT_COLUMNS, "mean_score", "start_time", "end_time")
_JSON_TAIL = "\n]}\n]}\n"
#: Columns of a Raven selection table that events are appended to.
_APPEND_RAVEN_COLUMNS = (*RAVEN_COLUMNS, "Annotation", "Score", "Mean Score")


class EventAppender:
    """Append events to an events file one at a time, each in one flushed write.

    The file can be read (by ``sed evaluate``, :func:`sed.events.readers.read_events`, a
    spreadsheet or a script) while events are still being added. A missing file is created with
    its header; an existing one is appended to only if it is an events file of the same format
    (CSV: the same header; Raven: the same columns, selections numbered on; JSON: the layout of
    :func:`sed.events.writers.events_json`, which gets one more recording). Nothing already in
    the file is rewritten; only a JSON file's closing brackets move.

    Parameters
    ----------
    path : str or os.PathLike
    format : {"csv", "tsv", "audacity", "raven", "json"}
    filename : str
        The recording's name: the ``filename`` column (CSV) or the JSON recording's name.
    start_time : str, optional
        ISO 8601 wall-clock time of the recording's start, written in its JSON entry.

    Raises
    ------
    AnnotationError
        If the file exists but is not an events file of that format (it is left as it is).
    ParameterError
        For an unknown format.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        format: str,
        *,
        filename: str,
        start_time: str | None = None,
    ):
        if format not in FORMAT_SUFFIXES:
            raise ParameterError(
                f"unknown event format {format!r}; choose one of {', '.join(FORMATS)}"
            )
        self.path, self.format, self.filename = os.fspath(path), format, filename
        self._selection = 0  # Raven: the last selection number in the file
        existing = os.path.exists(self.path) and os.path.getsize(self.path) > 0
        if existing:
            self._selection = check_appendable(self.path, format)
        # Open for the appender's lifetime: every append is one write and a flush ("x": a file
        # that appeared since the check is not overwritten).
        mode = "r+b" if os.path.exists(self.path) else "x+b"
        self._handle = open(self.path, mode)  # noqa: SIM115
        self._handle.seek(0, os.SEEK_END)
        if format == "json":
            self._start_json_recording(existing, start_time)
        elif not existing:
            header = {
                "csv": ",".join(APPEND_CSV_COLUMNS),
                "tsv": "\t".join(("onset", "offset", "event_label")),
                "raven": "\t".join(_APPEND_RAVEN_COLUMNS),
            }
            if format in header:
                self._write(header[format] + "\n")
        elif not self._ends_with_newline():
            self._write("\n")

    def append(self, event: dict) -> None:
        """Write one event: a mapping with ``onset``, ``offset``, ``event_label``, ``score`` and,
        where the format holds them, ``mean_score``, ``start_time`` and ``end_time``."""
        if self.format in ("csv", "tsv", "audacity", "raven"):
            self._write(self._line(event))
        else:
            rounded = {key: json_value(value) for key, value in event.items()}
            text = ("," if self._json_events else "") + "\n" + json.dumps(rounded)
            self._json_events += 1
            self._handle.seek(self._json_tail)
            self._write(text + _JSON_TAIL)
            self._json_tail += len(text.encode("utf-8"))

    def _line(self, event: dict) -> str:
        """The event's line, made by the writer of its format (:func:`format_events`) from a
        one-event table, so an appended line equals the line ``sed detect`` writes."""
        row = {
            "filename": self.filename,
            "mean_score": float("nan"),
            "start_time": "",
            "end_time": "",
            **event,
        }
        table = event_table([row])
        if self.format == "csv":
            text = events_csv(table[list(APPEND_CSV_COLUMNS)])
        elif self.format == "raven":
            text = events_raven(table[[*EVENT_COLUMNS, "mean_score"]])
        else:
            text = format_events(table[list(EVENT_COLUMNS)], self.format)
        line = text.rstrip("\n").split("\n")[-1]
        if self.format == "raven":  # selections are numbered on from the file's last one
            self._selection += 1
            line = str(self._selection) + line[line.index("\t") :]
        return line + "\n"

    def close(self, duration_seconds: float | None = None) -> None:
        """Finish the file (JSON: the recording's length, when given) and close it."""
        if self.format == "json" and duration_seconds is not None:
            self._handle.seek(self._json_tail)
            self._write(f'\n], "duration_seconds": {float(duration_seconds)!r}}}\n]}}\n')
            self._handle.truncate()
        self._handle.close()

    def _write(self, text: str) -> None:
        self._handle.write(text.encode("utf-8"))
        self._handle.flush()

    def _ends_with_newline(self) -> bool:
        self._handle.seek(-1, os.SEEK_END)
        last = self._handle.read(1)
        self._handle.seek(0, os.SEEK_END)
        return last == b"\n"

    def _start_json_recording(self, existing: bool, start_time: str | None) -> None:
        entry: dict = {"filename": self.filename}
        if start_time is not None:
            entry["start_time"] = start_time
        opening = json.dumps(entry)[:-1] + ', "events": ['
        if existing:  # after the last recording: overwrite the list's closing "]}"
            self._handle.seek(0)
            text = self._handle.read().decode("utf-8")
            end = len(text.rstrip())
            if not text[:end].endswith("]}") and not text[: end - 1].rstrip().endswith("]"):
                raise AnnotationError("the JSON file does not end its recordings list", self.path)
            close = text.rindex("]", 0, end)
            empty = text[:close].rstrip().endswith("[")
            position = len(text[:close].encode("utf-8"))
            prefix = "" if empty else ","
        else:
            prefix, position = '{"recordings": [', 0
        self._handle.seek(position)
        head = prefix + "\n" + opening
        self._write(head + _JSON_TAIL)
        self._handle.truncate()
        self._json_tail = position + len(head.encode("utf-8"))
        self._json_events = 0


def check_appendable(path: str | os.PathLike, format: str) -> int:
    """Refuse an existing file that :class:`EventAppender` must not append to (it is only read).

    Returns
    -------
    n_events : int
        Events already in the file (0 when it is missing or empty).

    Raises
    ------
    AnnotationError
        If the file exists but is not an events file of ``format`` (for CSV and Raven: with
        the columns the appender writes).
    """
    path = os.fspath(path)
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return 0
    what = f"exists and is not a {format} events file to append to"
    expected = {"csv": ",".join(APPEND_CSV_COLUMNS), "raven": "\t".join(_APPEND_RAVEN_COLUMNS)}
    if format in expected:
        with open(path, encoding="utf-8-sig", errors="replace") as handle:
            header = handle.readline().rstrip("\r\n")
        if header != expected[format]:
            raise AnnotationError(f"{what} (its first line is not {expected[format]!r})", path)
    try:
        return len(read_events(path, format).events)
    except AnnotationError as error:
        raise AnnotationError(f"{what}: {error.message}", path) from None
