"""Reading events: every layout the DCASE and bioacoustics tools write, guessed from the file.

Reading takes what the DCASE and bioacoustics tools write (see ``docs/formats.md``):

- delimited event lists (:func:`read_events_table`): the DCASE/sed_eval/dcase_util layouts, with
  or without a header, separated by tabs, commas or semicolons (``onset offset event_label``;
  ``filename onset offset event_label``; ``filename scene_label onset offset event_label``; a line
  holding only a file name for a recording without events), Audacity label tracks, DESED and
  psds_eval tables, our CSV;
- Raven selection tables, including BirdNET's combined tables (``Begin File``/``Begin Path``,
  ``File Offset (s)``) and opensoundscape's ``to_raven_files`` output;
- our JSON.

A file either *names its recordings* (a file column: ``filename``, ``Begin File``...; then it may
hold several) or holds the events of one recording, named after the file (:func:`recording_stem`).
Events without a label are skipped and counted (:attr:`EventFile.unlabeled`), as sed_eval skips
them; what is really malformed is an :class:`AnnotationError` naming the file and the line.

Then the recordings of several files are paired by name (:class:`EventSet`), as evaluation and
tuning need them; and the side files of an evaluation are read here too: durations tables
(:func:`read_durations`) and sed_eval's lists of file pairs (:func:`read_file_pairs`).
"""

from __future__ import annotations

import csv
import fnmatch
import json
import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from sed.audio import AUDIO_EXTENSIONS, recording_stem
from sed.errors import AnnotationError, ParameterError, long_integer_message
from sed.events.table import EVENT_COLUMNS, MAX_SECONDS, event_table
from sed.events.writers import FORMATS
from sed.infra import read_user_text

if TYPE_CHECKING:
    import pandas as pd

#: Columns of a review's verdicts file (``sed review``): the event as detected, the reviewer's
#: verdict, and the right label of a ``relabelled`` event.
VERDICT_COLUMNS = (*EVENT_COLUMNS, "verdict", "corrected_label")
#: Verdicts: the event is right; no event of its label is there; it is an event of another label.
VERDICTS = ("correct", "wrong", "relabelled")

#: Column names read from headed tables, first match wins (case is ignored). File columns: DCASE
#: and psds_eval (``filename``), dcase_util (``file``), Raven (``Begin File``, ``Begin Path``),
#: opensoundscape (``audio_file``).
FILE_COLUMNS = ("filename", "file", "Begin File", "Begin Path", "audio_file", "filepath")
ONSET_COLUMNS = ("onset", "event_onset", "Begin Time (s)", "start", "start_time", "Start (s)")
OFFSET_COLUMNS = ("offset", "event_offset", "End Time (s)", "end", "end_time", "End (s)")
#: Label columns: DCASE, then Raven's usual annotation columns (opensoundscape writes
#: ``annotation``; BirdNET ``Common Name``). ``--label-column`` picks another.
LABEL_COLUMNS = ("event_label", "Annotation", "Label", "Class", "Species", "Common Name")
SCORE_COLUMNS = ("score", "Confidence")
MEAN_SCORE_COLUMNS = ("mean_score", "Mean Score")
#: Raven's time of a selection within its file, in a table covering several files whose
#: ``Begin Time (s)`` runs on and on (BirdNET's combined tables, Raven's file sequences).
FILE_OFFSET_COLUMN = "File Offset (s)"
#: Delimiters of event lists, tried in this order (dcase_util reads the same three).
DELIMITERS = ("\t", ",", ";")


@dataclass
class EventFile:
    """The events read from one file, the recordings it lists and the lengths it states.

    Attributes
    ----------
    events : pd.DataFrame
        The canonical event table; ``filename`` is the recording as the file names it, or the
        file's :func:`recording_stem` when it holds one recording; ``score`` is NaN where absent.
    durations : dict of str to float
        Recording lengths in seconds, keyed like ``filename``, where the file gives them (JSON).
    recordings : list of str
        Every recording the file lists, in order, those without events included (a line holding
        only a file name; a JSON recording with an empty event list).
    names_recordings : bool
        True when the file has a file column (it may hold several recordings); False when it
        holds one recording, named after the file.
    unlabeled : int
        Events (selections) without a label, skipped.
    """

    events: pd.DataFrame
    durations: dict[str, float] = field(default_factory=dict)
    recordings: list[str] = field(default_factory=list)
    names_recordings: bool = False
    unlabeled: int = 0


def event_files(path: str | os.PathLike, *, pattern: str | None = None) -> dict[str, str]:
    """Event or annotation files by recording stem: a single file, or every file of a folder.

    Parameters
    ----------
    path : str or os.PathLike
        A file, or a folder whose files (not recursive; hidden files skipped) are all taken.
    pattern : str, optional
        A glob (``*.txt``) a folder's file names must match; a single file is taken whatever
        its name.

    Returns
    -------
    files : dict of str to str
        :func:`sed.audio.recording_stem` to path.

    Raises
    ------
    AnnotationError
        If the path does not exist, a folder holds no file, or two files of a folder share a stem.
    """
    path = os.fspath(path)
    if os.path.isfile(path):
        return {recording_stem(path): path}
    if not os.path.isdir(path):
        raise AnnotationError("no such file or folder", path)
    files: dict[str, str] = {}
    for name in sorted(os.listdir(path)):
        full = os.path.join(path, name)
        if name.startswith(".") or not os.path.isfile(full):
            continue
        if pattern is not None and not fnmatch.fnmatch(name, pattern):
            continue
        stem = recording_stem(name)
        if stem in files:
            raise AnnotationError(
                f"two files for recording {stem!r}: {os.path.basename(files[stem])} and {name}",
                path,
            )
        files[stem] = full
    if not files:
        matching = f" matching {pattern!r}" if pattern is not None else ""
        raise AnnotationError(f"folder holds no event files{matching}", path)
    return files


def read_events(
    path: str | os.PathLike, format: str | None = None, *, label_column: str | None = None
) -> EventFile:
    """Read events or annotations from a file in any layout ``sed`` knows.

    Parameters
    ----------
    path : str or os.PathLike
    format : {"table", "json", "csv", "tsv", "audacity", "raven"}, optional
        ``json`` for our JSON, anything else for a delimited table (:func:`read_events_table`,
        which recognises every table layout from its header or fields); by default ``json``
        for a ``.json`` file.
    label_column : str, optional
        In a table with a header (Raven, CSV...), the column holding the labels, where the table
        has it (case is ignored); others use the first of :data:`LABEL_COLUMNS`.

    Returns
    -------
    event_file : EventFile

    Raises
    ------
    AnnotationError
        If the file cannot be read or is malformed; the message gives the file, the line and
        what is wrong (a missing column, a time that is not a number, an offset before its
        onset, an unknown layout...).
    ParameterError
        For an unknown format.
    """
    if os.fspath(path).lower().endswith(".jams"):  # JSON that no table reader would make out
        raise AnnotationError(
            "a JAMS file, which sed does not read: convert its sound events to a table of "
            "onset, offset, event_label (CSV or TSV) first",
            path,
        )
    if format is None:
        format = "json" if os.fspath(path).lower().endswith(".json") else "table"
    if format == "json":
        return read_events_json(path)
    if format in ("table", "raven", "csv", "tsv", "audacity"):
        return read_events_table(path, label_column=label_column)
    raise ParameterError(f"unknown event format {format!r}; choose one of {', '.join(FORMATS)}")


def _read_lines(path) -> list[str]:
    return read_user_text(path, AnnotationError, "event file").splitlines()


def _seconds(path, line: int, text, what: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        # A spreadsheet of a decimal-comma locale writes 2,5 (and separates cells with ;).
        comma = isinstance(text, str) and re.fullmatch(r"\s*\d+,\d+\s*", text)
        hint = f" (a decimal comma? write {text.strip().replace(',', '.')})" if comma else ""
        raise AnnotationError(f"line {line}: {what} {text!r} is not a number{hint}", path) from None
    if not math.isfinite(value) or value < 0:
        raise AnnotationError(f"line {line}: {what} {text!r} is not a time >= 0 s", path)
    if value > MAX_SECONDS:
        raise AnnotationError(
            f"line {line}: {what} {text!r} is more than {MAX_SECONDS / 86400:g} days, longer than "
            "any recording sed reads (a time in milliseconds or samples, not seconds?)",
            path,
        )
    return value


def _event_row(path, line: int, filename, onset, offset, label, score=None) -> dict:
    """One validated event; raises AnnotationError naming the file and line."""
    onset, offset = _seconds(path, line, onset, "onset"), _seconds(path, line, offset, "offset")
    if offset < onset:
        raise AnnotationError(f"line {line}: offset {offset:g} s is before onset {onset:g} s", path)
    row = {
        "filename": filename,
        "onset": onset,
        "offset": offset,
        "event_label": str(label).strip(),
        "score": np.nan,
    }
    if score not in (None, ""):
        try:
            row["score"] = float(score)
        except (TypeError, ValueError):
            raise AnnotationError(f"line {line}: score {score!r} is not a number", path) from None
    return row


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class _Rows:
    """Collects the rows of one file: events, listed recordings, skipped unlabeled events."""

    def __init__(self, path):
        self.path = path
        self.events: list[dict] = []
        self.recordings: list[str] = []
        self.unlabeled = 0
        self.named: bool | None = None  # whether rows name their recording (the same on all)

    def recording(self, line: int, name: str | None) -> str:
        """The recording of a row: its file cell, or the file's stem."""
        named = bool(name)
        if self.named is None:
            self.named = named
        elif named != self.named:
            raise AnnotationError(
                f"line {line}: "
                + ("names a recording" if named else "names no recording")
                + ", unlike the lines before it",
                self.path,
            )
        recording = name if name else recording_stem(self.path)
        if recording not in self.recordings:
            self.recordings.append(recording)
        return recording

    def add(self, line: int, name, onset, offset, label, score=None, mean_score=None) -> None:
        """An event; without a label it is counted and skipped (times still checked)."""
        recording = self.recording(line, name)
        row = _event_row(self.path, line, recording, onset, offset, label or "", score)
        if not row["event_label"]:
            self.unlabeled += 1
            return
        if mean_score is not None:
            row["mean_score"] = float(mean_score) if _is_number(mean_score) else np.nan
        self.events.append(row)

    def result(self) -> EventFile:
        named = bool(self.named)
        recordings = self.recordings if named else [recording_stem(self.path)]
        events = event_table(self.events, sort=False)
        return EventFile(events, {}, recordings, named, self.unlabeled)


def _split(text: str, delimiter: str) -> list[str]:
    if delimiter == "\t":
        return [_unquoted(cell.strip()) for cell in text.split("\t")]
    return [cell.strip() for cell in next(csv.reader([text], delimiter=delimiter))]


def _unquoted(cell: str) -> str:
    """A tab-separated cell as pandas and dcase_util read it: one that starts and ends with
    ``"`` is quoted as CSV quotes (what :func:`sed.events.writers.tsv_cell` writes)."""
    if len(cell) >= 2 and cell[0] == '"' and cell[-1] == '"':
        return cell[1:-1].replace('""', '"')
    return cell


def _find_column(header: list[str], names: Iterable[str]) -> int | None:
    folded = [cell.casefold() for cell in header]
    for name in names:
        if name.casefold() in folded:
            return folded.index(name.casefold())
    return None


def _is_header(cells: list[str]) -> bool:
    return _find_column(cells, ONSET_COLUMNS) is not None and (
        _find_column(cells, OFFSET_COLUMNS) is not None
    )


def _missing_time_column(cells: list[str]) -> str | None:
    """For a first line that names columns (no cell is a number, one is a known column) but has
    no onset or offset column: the missing one, named as the table's own kind names it (Raven's
    ``Begin Time (s)`` where it has Raven's ``Selection``). None for any other line."""
    known = (*FILE_COLUMNS, *ONSET_COLUMNS, *OFFSET_COLUMNS, *LABEL_COLUMNS, *SCORE_COLUMNS)
    if (
        any(_is_number(cell) for cell in cells)
        or _find_column(cells, [*known, "Selection"]) is None
    ):
        return None
    raven = _find_column(cells, ["Selection"]) is not None
    if _find_column(cells, ONSET_COLUMNS) is None:
        return "Raven column 'Begin Time (s)'" if raven else "column 'onset'"
    return "Raven column 'End Time (s)'" if raven else "column 'offset'"


def _positional(cells: list[str]) -> tuple[int | None, int, int, int | None] | None:
    """Where the file, onset, offset and label are in a headerless row (dcase_util's layouts),
    or None when the row has no layout. Trailing empty cells are already dropped."""
    numbers = [_is_number(cell) for cell in cells]
    n = len(cells)
    if n == 2:  # onset offset
        return (None, 0, 1, None)
    if n == 3:  # onset offset event_label, or file onset offset
        return (0, 1, 2, None) if not numbers[0] and numbers[1] and numbers[2] else (None, 0, 1, 2)
    if n == 4:  # file onset offset event_label, or file scene_label onset offset
        return (0, 2, 3, None) if not numbers[1] and numbers[2] and numbers[3] else (0, 1, 2, 3)
    if n == 5 and numbers[1] and numbers[2]:  # file onset offset event_label identifier
        return (0, 1, 2, 3)
    if n in (5, 6, 7):  # file scene_label onset offset event_label [source [identifier]]
        return (0, 2, 3, 4)
    return None


def _delimiter(lines: list[str]) -> str:
    """Tab where any line has one; else the first of ``,`` and ``;`` under which the first line
    reads as a header (complete or not) or an event."""
    if any("\t" in line for line in lines):
        return "\t"
    first = lines[0] if lines else ""
    for delimiter in DELIMITERS[1:]:
        if delimiter in first:
            cells = _split(first, delimiter)
            if _is_header(cells) or _parses(cells) or _missing_time_column(cells):
                return delimiter
    return "\t"


def _parses(cells: list[str]) -> bool:
    layout = _positional(_trim(cells))
    return layout is not None and all(_is_number(cells[i]) for i in layout[1:3])


def _trim(cells: list[str]) -> list[str]:
    end = len(cells)
    while end and not cells[end - 1]:
        end -= 1
    return cells[:end]


def read_events_table(path: str | os.PathLike, *, label_column: str | None = None) -> EventFile:
    """Read a delimited event list or table, with or without a header.

    With a header, columns are found by name (case ignored): the file (:data:`FILE_COLUMNS`),
    onset and offset (:data:`ONSET_COLUMNS`, :data:`OFFSET_COLUMNS`), label (``label_column`` or
    :data:`LABEL_COLUMNS`), score; Raven's ``File Offset (s)`` places a selection in its own file,
    and a selection Raven lists once per view is read once. A table with a ``verdict`` column is
    a review's verdicts file (:data:`VERDICT_COLUMNS`, exported by the ``sed review`` page), read
    as the events the reviewer confirmed: ``correct`` rows keep their label, ``relabelled`` rows
    take their ``corrected_label``; ``wrong`` rows (no event of that label there) and rows without
    a verdict are left out (a recording with a ``wrong`` row is still listed). So the file
    serves as a reference for ``sed evaluate`` and as strong annotations. Without a header, the
    layouts dcase_util reads: ``onset offset [event_label]``; ``file onset offset [event_label]``;
    ``file scene_label onset offset [event_label [source [identifier]]]``; an audio file name
    alone (``a.wav``: a recording without events). Tabs, commas or semicolons separate the
    fields; blank lines, trailing empty fields and Audacity's frequency lines (starting with
    ``\\`` and a tab) are skipped. A tab-separated cell that starts and ends with ``"`` is read
    unquoted, as pandas reads it (see :func:`sed.events.writers.tsv_cell`).

    Parameters
    ----------
    path : str or os.PathLike
    label_column : str, optional
        The label column of a headed table, where it has one by that name.

    Returns
    -------
    event_file : EventFile

    Raises
    ------
    AnnotationError
        For an unknown layout, a missing column, a time that is not a number or is negative, an
        offset before its onset, a line with more fields than the header, a verdict not in
        :data:`VERDICTS` or ``relabelled`` without a corrected label; file and line named.
    """
    numbered = [
        (number, text)
        for number, text in enumerate(_read_lines(path), start=1)
        # Audacity's frequency lines are a backslash and a tab; a name that starts with a
        # backslash (a file system allows it) is a row.
        if text.strip() and not text.startswith("\\\t")
    ]
    rows = _Rows(path)
    # Excel's "sep=," first line names the delimiter of the lines after it.
    stated = re.fullmatch(r"sep=(.)", numbered[0][1].strip()) if numbered else None
    if stated:
        numbered = numbered[1:]
    if not numbered:
        return rows.result()
    delimiter = stated.group(1) if stated else _delimiter([text for _, text in numbered])
    first = _split(numbered[0][1], delimiter)
    if _is_header(first):
        _read_headed(path, numbered, delimiter, rows, label_column)
    elif missing := _missing_time_column(first):
        raise AnnotationError(
            f"line {numbered[0][0]}: missing {missing}; the columns are {', '.join(first)}", path
        )
    else:
        _read_headerless(path, numbered, delimiter, rows)
    return rows.result()


def _read_headerless(path, numbered, delimiter, rows: _Rows) -> None:
    for line, text in numbered:
        cells = _trim(_split(text, delimiter))
        if len(cells) == 1 and cells[0].lower().endswith(AUDIO_EXTENSIONS):
            rows.recording(line, cells[0])  # a recording without events (dcase_util)
            continue
        layout = _positional(cells)
        if layout is None:
            raise AnnotationError(
                f"line {line}: expected onset, offset and event_label (optionally filename "
                "first, or filename, scene_label, onset, offset, event_label), separated by "
                f"tabs, commas or semicolons; got {len(cells)} field{'s' * (len(cells) != 1)}",
                path,
            )
        file, onset, offset, label = layout
        rows.add(
            line,
            cells[file] if file is not None else None,
            cells[onset],
            cells[offset],
            cells[label] if label is not None else None,
        )


def _read_headed(path, numbered, delimiter, rows: _Rows, label_column) -> None:
    header_line, header_text = numbered[0]
    header = _trim(_split(header_text, delimiter))
    column = {
        "file": _find_column(header, FILE_COLUMNS),
        "onset": _find_column(header, ONSET_COLUMNS),
        "offset": _find_column(header, OFFSET_COLUMNS),
        "score": _find_column(header, SCORE_COLUMNS),
        "mean_score": _find_column(header, MEAN_SCORE_COLUMNS),
        "file_offset": _find_column(header, [FILE_OFFSET_COLUMN]),
        "selection": _find_column(header, ["Selection"]),
        "view": _find_column(header, ["View"]),
        "verdict": _find_column(header, ["verdict"]),
        "corrected_label": _find_column(header, ["corrected_label"]),
    }
    label = _find_column(header, [label_column]) if label_column else None
    if label is None:
        label = _find_column(header, [*LABEL_COLUMNS, "annotation", "Common name"])
    if label is None:
        raise AnnotationError(
            f"line {header_line}: no label column (one of {', '.join(LABEL_COLUMNS)}"
            + (f", or {label_column!r}" if label_column else "; choose one with --label-column")
            + f"); the columns are {', '.join(header)}",
            path,
        )
    seen: set[tuple[str, str]] = set()
    for line, text in numbered[1:]:
        cells = _split(text, delimiter)
        if len(_trim(cells)) > len(header):
            raise AnnotationError(
                f"line {line}: expected {len(header)} fields, got {len(_trim(cells))}", path
            )
        cells += [""] * (len(header) - len(cells))

        def cell(name, cells=cells):
            return cells[column[name]] if column[name] is not None else None

        name = cell("file")
        if name and not any(cells[i] for i in range(len(cells)) if i != column["file"]):
            rows.recording(line, name)  # DESED: a recording without events
            continue
        if column["view"] is not None and column["selection"] is not None:
            key = (name or "", cell("selection") or "")
            if key in seen:  # Raven lists a selection once per view
                continue
            seen.add(key)
        event_label: str | None = cells[label]
        if column["verdict"] is not None:
            verdict = (cell("verdict") or "").strip()
            event_label = _confirmed_label(path, line, event_label, verdict, cell)
            if event_label is None:
                if verdict:  # judged wrong: the recording was reviewed, it is listed
                    rows.recording(line, name)
                continue
        onset, offset = cell("onset"), cell("offset")
        if cell("file_offset"):
            begin = _seconds(path, line, onset, "Begin Time")
            end = _seconds(path, line, offset, "End Time")
            onset = cell("file_offset")
            offset = repr(_seconds(path, line, onset, FILE_OFFSET_COLUMN) + (end - begin))
        rows.add(line, name, onset, offset, event_label, cell("score"), cell("mean_score"))


def _confirmed_label(path, line: int, label: str | None, verdict: str, cell) -> str | None:
    """The label a review verdict confirms for a row, or None when it confirms no event."""
    if verdict in ("", "wrong"):
        return None
    if verdict == "correct":
        return label
    if verdict == "relabelled":
        corrected = (cell("corrected_label") or "").strip()
        if not corrected:
            raise AnnotationError(f"line {line}: verdict relabelled without corrected_label", path)
        return corrected
    raise AnnotationError(
        f"line {line}: unknown verdict {verdict!r} (expected {', '.join(VERDICTS)})", path
    )


def read_events_json(path: str | os.PathLike) -> EventFile:
    """Read events written by :func:`sed.events.writers.events_json` (recordings, their lengths,
    events)."""
    text = "\n".join(_read_lines(path))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise AnnotationError(f"line {error.lineno}: not valid JSON ({error.msg})", path) from None
    except ValueError:  # an integer of more than 4,300 digits (Python's limit)
        raise AnnotationError(long_integer_message(text), path) from None
    if not isinstance(data, dict) or not isinstance(data.get("recordings"), list):
        raise AnnotationError('line 1: expected {"recordings": [...]}', path)
    rows, durations, recordings, unlabeled = [], {}, [], 0
    named = any(isinstance(r, dict) and r.get("filename") for r in data["recordings"])
    for number, recording in enumerate(data["recordings"], start=1):
        where = f"recording {number}"
        if not isinstance(recording, dict) or not isinstance(recording.get("events"), list):
            raise AnnotationError(f"{where}: expected filename and a list of events", path)
        name = str(recording.get("filename") or recording_stem(path))
        recordings.append(name)
        if recording.get("duration_seconds") is not None:
            try:
                durations[name] = _seconds(path, 0, recording["duration_seconds"], "duration")
            except AnnotationError as error:
                raise AnnotationError(
                    error.message.replace("line 0: duration", f"{where}: duration_seconds"), path
                ) from None
        for index, event in enumerate(recording["events"], start=1):
            if not isinstance(event, dict):
                raise AnnotationError(f"{where}, event {index}: expected an object", path)
            try:
                row = _event_row(
                    path,
                    0,
                    name,
                    event.get("onset"),
                    event.get("offset"),
                    event.get("event_label") or "",
                    event.get("score"),
                )
            except AnnotationError as error:
                raise AnnotationError(
                    error.message.replace("line 0", f"{where}, event {index}"), path
                ) from None
            if not row["event_label"]:
                unlabeled += 1
                continue
            row.update({k: v for k, v in event.items() if k not in row})
            rows.append(row)
    recordings = list(dict.fromkeys(recordings)) if named else [recording_stem(path)]
    return EventFile(event_table(rows, sort=False), durations, recordings, named, unlabeled)


# --------------------------------------------------------------------------------------------
# Recordings across files: what evaluation and tuning pair by name.


@dataclass
class RecordingEvents:
    """The events of one recording, from whichever file holds them.

    Attributes
    ----------
    name : str
        The recording as its file names it (``audio/a.wav``), or the file's stem.
    source : str
        The file the events were read from.
    events : pd.DataFrame
        Its event table (``filename`` is ``name``).
    duration_seconds : float or None
        The length the file states (JSON), if any.
    """

    name: str
    source: str
    events: pd.DataFrame
    duration_seconds: float | None = None


@dataclass
class EventSet:
    """The recordings of one side of an evaluation (references or estimates), by stem.

    Attributes
    ----------
    recordings : dict of str to RecordingEvents
        Keyed by :func:`recording_stem` of the recording's name.
    unlabeled : dict of str to int
        Events skipped for want of a label, by file (files without any left out).
    files : list of str
        The files read.
    """

    recordings: dict[str, RecordingEvents] = field(default_factory=dict)
    unlabeled: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def add_file(self, path: str, event_file: EventFile) -> None:
        """Add a file's recordings.

        Raises
        ------
        AnnotationError
            If a recording of the same stem already came from another file, or the file names
            two recordings with one stem (``a/x.wav`` and ``b/x.wav``).
        """
        self.files.append(path)
        if event_file.unlabeled:
            self.unlabeled[path] = event_file.unlabeled
        groups = dict(iter(event_file.events.groupby("filename", sort=False)))
        for name in event_file.recordings:
            stem = recording_stem(name)
            other = self.recordings.get(stem)
            if other is not None:
                where = f"{other.name!r} and {name!r}" if other.source == path else other.source
                raise AnnotationError(
                    f"two sets of events for recording {stem!r} (also in {where}); "
                    "recordings are matched by the name before its first dot",
                    path,
                )
            events = groups.get(name, event_file.events.iloc[:0])
            self.recordings[stem] = RecordingEvents(
                name, path, events.reset_index(drop=True), event_file.durations.get(name)
            )

    @property
    def unlabeled_total(self) -> int:
        return sum(self.unlabeled.values())


def read_event_set(paths: Iterable[str], *, label_column: str | None = None) -> EventSet:
    """Read event files into one :class:`EventSet` (see :meth:`EventSet.add_file`).

    Parameters
    ----------
    paths : iterable of str
        Files in any layout :func:`read_events` reads.
    label_column : str, optional
        See :func:`read_events`.

    Raises
    ------
    AnnotationError
        For a malformed file, or a recording found twice.
    """
    events = EventSet()
    for path in paths:
        events.add_file(path, read_events(path, label_column=label_column))
    return events


def read_durations(path: str | os.PathLike) -> dict[str, tuple[str, float]]:
    """Read a durations table: ``filename duration`` per line (DESED, psds_eval and
    sed_scores_eval's ``audio durations``), tab-, comma- or semicolon-separated, header optional.

    Returns
    -------
    durations : dict of str to (str, float)
        :func:`recording_stem` to the name as written and the length in seconds.

    Raises
    ------
    AnnotationError
        For a line without two fields, a length that is not a positive number, or a recording
        listed twice (file and line named).
    """
    lines = [(n, t) for n, t in enumerate(_read_lines(path), start=1) if t.strip()]
    if not lines:
        raise AnnotationError("no recordings listed (expected lines 'filename duration')", path)
    delimiter = next((d for d in DELIMITERS if d in lines[0][1]), "\t")
    durations: dict[str, tuple[str, float]] = {}
    for index, (line, text) in enumerate(lines):
        cells = _trim(_split(text, delimiter))
        if index == 0 and len(cells) == 2 and not _is_number(cells[1]):
            continue  # the header: filename, duration
        if len(cells) != 2:
            raise AnnotationError(
                f"line {line}: expected filename and duration, got {len(cells)} fields", path
            )
        seconds = _seconds(path, line, cells[1], "duration")
        stem = recording_stem(cells[0])
        if stem in durations:
            raise AnnotationError(f"line {line}: recording {stem!r} listed twice", path)
        durations[stem] = (cells[0], seconds)
    return durations


def read_file_pairs(path: str | os.PathLike) -> list[tuple[str, str]]:
    """Read sed_eval's file list: ``reference_file<DELIMITER>estimated_file`` per line (tab,
    comma or semicolon), as its ``sound_event_eval.py`` evaluator takes it.

    Relative paths are relative to the list's folder.

    Raises
    ------
    AnnotationError
        For a line without two fields (file and line named).
    """
    folder = os.path.dirname(os.fspath(path))
    pairs = []
    for line, text in enumerate(_read_lines(path), start=1):
        if not text.strip():
            continue
        delimiter = next((d for d in DELIMITERS if d in text), "\t")
        cells = _trim(_split(text, delimiter))
        if len(cells) != 2:
            raise AnnotationError(
                f"line {line}: expected a reference file and an estimated file, got "
                f"{len(cells)} field{'s' * (len(cells) != 1)}",
                path,
            )
        pairs.append((os.path.join(folder, cells[0]), os.path.join(folder, cells[1])))
    if not pairs:
        raise AnnotationError("no file pairs listed", path)
    return pairs
