"""Event I/O: the canonical event table and its files.

The event table is a pandas DataFrame with the sed_eval/DCASE columns
``filename, onset, offset, event_label, score`` (onset and offset in seconds, score in [0, 1]).
Every writer is a small function of this table or of :class:`sed.segmenter.WindowScores`, and
writes atomically (temporary file, then rename).
"""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sed.audio import recording_stem
from sed.errors import AnnotationError, ParameterError
from sed.infra import atomic_open
from sed.params import YamnetParams

if TYPE_CHECKING:
    import pandas as pd

    from sed.segmenter import WindowScores

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
    return table.sort_values(
        ["filename", "onset", "offset", "event_label"], kind="stable"
    ).reset_index(drop=True)


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


def write_scores_csv(
    window_scores: WindowScores | list[WindowScores], path: str | os.PathLike
) -> None:
    """Write per-window scores: ``filename,start,end`` then one column per label.

    Parameters
    ----------
    window_scores : sed.segmenter.WindowScores or list of them
        Column names are the labels (AudioSet display names for raw YAMNet).
    path : str or os.PathLike
        Written atomically; scores with 7 significant digits, times with 3 decimals.
    """
    import pandas as pd

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
    durations = (
        (events["offset"] - events["onset"])
        .groupby(events["event_label"])
        .agg(["count", "sum"])
        .sort_values(["count", "sum"], ascending=False)
    )
    lines = [f"{len(events)} event{'s' * (len(events) != 1)}{length}:"]
    width = max(len(str(label)) for label in durations.index)
    for label, row in durations.iterrows():
        lines.append(f"  {label:<{width}}  {int(row['count']):>4} x  {row['sum']:8.2f} s")
    return "\n".join(lines)


def round_times(values: np.ndarray) -> np.ndarray:
    """Round times in seconds to the precision written in files (3 decimals, 1 ms)."""
    return np.round(np.asarray(values, dtype=float), TIME_DECIMALS)


# --------------------------------------------------------------------------------------------
# Formats: every writer and reader is a small function of the event table.

#: Formats ``sed detect --format`` writes and :func:`read_events` reads, with their file suffixes.
FORMAT_SUFFIXES = {
    "csv": ".csv",
    "tsv": ".tsv",
    "audacity": ".audacity.txt",
    "raven": ".selections.txt",
    "json": ".json",
}
FORMATS = tuple(FORMAT_SUFFIXES)
#: The format ``sed detect`` writes unless asked for others.
DEFAULT_FORMAT = "csv"
#: The fixed leading columns of a Raven Pro selection table.
RAVEN_COLUMNS = (
    "Selection",
    "View",
    "Channel",
    "Begin Time (s)",
    "End Time (s)",
    "Low Freq (Hz)",
    "High Freq (Hz)",
)
#: Columns of a review's verdicts file (``sed review``): the event as detected, the reviewer's
#: verdict, and the right label of a ``relabelled`` event.
VERDICT_COLUMNS = (*EVENT_COLUMNS, "verdict", "corrected_label")
#: Verdicts: the event is right; no event of its label is there; it is an event of another label.
VERDICTS = ("correct", "wrong", "relabelled")
#: Column names accepted for the label of a Raven selection (the first present is used).
RAVEN_LABEL_COLUMNS = ("Annotation", "Label", "Class", "Species", "Common Name", "event_label")
#: The frequency band written in Raven tables: YAMNet's mel range, in Hz.
RAVEN_BAND_HZ = (YamnetParams().mel_min_hz, YamnetParams().mel_max_hz)
AUDACITY_DECIMALS = 6


@dataclass
class EventFile:
    """The events read from one file, and the recording lengths the file states.

    Attributes
    ----------
    events : pd.DataFrame
        The canonical event table; ``filename`` is the file's own (if it names recordings) or
        the annotation file's stem (:func:`recording_stem`); ``score`` is NaN where absent.
    durations : dict of str to float
        Recording lengths in seconds, keyed like ``filename``, where the file gives them (JSON).
    """

    events: pd.DataFrame
    durations: dict[str, float]


def format_paths(output: str | os.PathLike, formats) -> dict[str, str]:
    """The file each format is written to.

    Parameters
    ----------
    output : str or os.PathLike
        With one format, the file itself. With several, its name up to the first dot plus each
        format's suffix (:data:`FORMAT_SUFFIXES`): ``ev.csv`` gives ``ev.csv``, ``ev.tsv``...
    formats : sequence of str

    Raises
    ------
    ParameterError
        For an unknown format.
    """
    formats = list(dict.fromkeys(formats))
    for name in formats:
        if name not in FORMAT_SUFFIXES:
            raise ParameterError(
                f"unknown event format {name!r}; choose one of " + ", ".join(FORMATS)
            )
    output = os.fspath(output)
    if len(formats) == 1:
        return {formats[0]: output}
    base = os.path.join(os.path.dirname(output), recording_stem(output))
    return {name: base + FORMAT_SUFFIXES[name] for name in formats}


def write_events(
    events: pd.DataFrame,
    path: str | os.PathLike,
    format: str = DEFAULT_FORMAT,
    *,
    durations: dict[str, float] | None = None,
) -> None:
    """Write an event table in one of :data:`FORMATS` (atomically).

    Parameters
    ----------
    events : pd.DataFrame
        An event table.
    path : str or os.PathLike
    format : {"csv", "tsv", "audacity", "raven", "json"}
    durations : dict of str to float, optional
        Recording lengths in seconds by filename; written by ``json`` only.

    Raises
    ------
    ParameterError
        For an unknown format, or several recordings in one Audacity or Raven file.
    """
    writers = {
        "csv": write_events_csv,
        "tsv": write_events_tsv,
        "audacity": write_events_audacity,
        "raven": write_events_raven,
    }
    if format == "json":
        write_events_json(events, path, durations=durations)
    elif format in writers:
        writers[format](events, path)
    else:
        raise ParameterError(f"unknown event format {format!r}; choose one of {', '.join(FORMATS)}")


def _one_recording(events: pd.DataFrame, what: str) -> None:
    if events["filename"].nunique() > 1:
        raise ParameterError(
            f"{what} files hold the events of one recording; got {events['filename'].nunique()}"
        )


def write_events_tsv(events: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write the DCASE/sed_eval list: tab-separated ``onset offset event_label``, no header.

    Events of several recordings get the DCASE four-column form ``filename onset offset
    event_label``. Times in seconds with 3 decimals.
    """
    columns = ["onset", "offset", "event_label"]
    if events["filename"].nunique() > 1:
        columns = ["filename"] + columns
    _write_tab_separated(events[columns], path, TIME_DECIMALS)


def write_events_audacity(events: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write an Audacity label track: ``onset<TAB>offset<TAB>label`` (seconds, 6 decimals).

    Raises
    ------
    ParameterError
        If the events are of several recordings (a label track belongs to one).
    """
    _one_recording(events, "Audacity label")
    _write_tab_separated(events[["onset", "offset", "event_label"]], path, AUDACITY_DECIMALS)


def _write_tab_separated(table: pd.DataFrame, path, decimals: int) -> None:
    with atomic_open(path, "w", newline="", encoding="utf-8") as handle:
        for row in table.itertuples(index=False):
            cells = [f"{v:.{decimals}f}" if isinstance(v, float) else str(v) for v in row]
            handle.write("\t".join(cells) + "\n")


def write_events_raven(events: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a Raven Pro selection table (tab-separated, one recording).

    Columns :data:`RAVEN_COLUMNS`, then ``Annotation`` (the label), ``Score`` and, when the
    table has it, ``Mean Score``. ``View`` is ``Spectrogram 1``, ``Channel`` 1, and the band is
    YAMNet's mel range (:data:`RAVEN_BAND_HZ`); times in seconds with 6 decimals.

    Raises
    ------
    ParameterError
        If the events are of several recordings.
    """
    _one_recording(events, "Raven selection table")
    header = [*RAVEN_COLUMNS, "Annotation", "Score"]
    has_mean = "mean_score" in events
    if has_mean:
        header.append("Mean Score")
    with atomic_open(path, "w", newline="", encoding="utf-8") as handle:
        handle.write("\t".join(header) + "\n")
        for number, row in enumerate(events.itertuples(index=False), start=1):
            cells = [
                str(number),
                "Spectrogram 1",
                "1",
                f"{row.onset:.6f}",
                f"{row.offset:.6f}",
                f"{RAVEN_BAND_HZ[0]:.1f}",
                f"{RAVEN_BAND_HZ[1]:.1f}",
                str(row.event_label),
                _number(row.score),
            ]
            if has_mean:
                cells.append(_number(row.mean_score))
            handle.write("\t".join(cells) + "\n")


def _number(value) -> str:
    import pandas as pd

    return "" if pd.isna(value) else f"{value:.{TIME_DECIMALS}f}"


def write_events_json(
    events: pd.DataFrame, path: str | os.PathLike, *, durations: dict[str, float] | None = None
) -> None:
    """Write events as JSON, grouped by recording.

    The layout: ``{"recordings": [{"filename": ..., "duration_seconds": ..., "events":
    [{"onset": ..., "offset": ..., "event_label": ..., "score": ..., ...}]}]}``; a recording of
    ``durations`` without events is listed with an empty list, ``duration_seconds`` is left out
    where unknown, and missing scores are ``null``.
    """
    durations = durations or {}
    names = list(dict.fromkeys([*events["filename"], *durations]))
    recordings = []
    for name in names:
        table = events[events["filename"] == name].drop(columns="filename")
        entry: dict = {"filename": name}
        if name in durations:
            entry["duration_seconds"] = float(durations[name])
        entry["events"] = [
            {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
            for row in table.to_dict("records")
        ]
        recordings.append(entry)
    with atomic_open(path, "w", encoding="utf-8") as handle:
        json.dump({"recordings": recordings}, handle, indent=1)
        handle.write("\n")


def guess_format(path: str | os.PathLike) -> str:
    """The format of an event or annotation file, from its suffix and first line.

    ``.json`` is JSON, ``.csv`` our CSV; a text file whose first line starts with
    ``Selection<TAB>`` is a Raven table; anything else is read as a tab-separated list
    (DCASE ``.tsv``/``.txt``/``.ann`` or an Audacity label file, which share one layout).
    """
    name = os.fspath(path).lower()
    if name.endswith(".json"):
        return "json"
    if name.endswith(".csv"):
        return "csv"
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as handle:
            first = handle.readline()
    except OSError:
        return "tsv"
    return "raven" if first.startswith("Selection\t") else "tsv"


def event_files(path: str | os.PathLike) -> dict[str, str]:
    """Event or annotation files by recording stem: a single file, or every file of a folder.

    Parameters
    ----------
    path : str or os.PathLike
        A file, or a folder whose files (not recursive; hidden files skipped) are all taken.

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
        stem = recording_stem(name)
        if stem in files:
            raise AnnotationError(
                f"two files for recording {stem!r}: {os.path.basename(files[stem])} and {name}",
                path,
            )
        files[stem] = full
    if not files:
        raise AnnotationError("folder holds no event files", path)
    return files


def read_events(path: str | os.PathLike, format: str | None = None) -> EventFile:
    """Read events or annotations from a file of any of :data:`FORMATS`.

    Parameters
    ----------
    path : str or os.PathLike
    format : {"csv", "tsv", "audacity", "raven", "json"}, optional
        By default guessed (:func:`guess_format`).

    Returns
    -------
    event_file : EventFile

    Raises
    ------
    AnnotationError
        If the file cannot be read or is malformed; the message gives the file, the line and
        what is wrong (a missing column, a time that is not a number, an offset before its
        onset, an empty label...).
    """
    format = format or guess_format(path)
    readers = {
        "csv": read_events_csv,
        "tsv": read_events_tsv,
        "audacity": read_events_tsv,
        "raven": read_events_raven,
        "json": read_events_json,
    }
    if format not in readers:
        raise ParameterError(f"unknown event format {format!r}; choose one of {', '.join(FORMATS)}")
    return readers[format](path)


def _read_lines(path) -> list[str]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return handle.read().splitlines()
    except FileNotFoundError:
        raise AnnotationError("no such file", path) from None
    except IsADirectoryError:
        raise AnnotationError("is a directory, not an event file", path) from None
    except (OSError, UnicodeDecodeError) as error:
        raise AnnotationError(
            f"cannot read: {getattr(error, 'strerror', None) or error}", path
        ) from None


def _event_row(path, line: int, filename, onset, offset, label, score=None) -> dict:
    """One validated event; raises AnnotationError naming the file and line."""

    def seconds(text, what):
        try:
            value = float(text)
        except (TypeError, ValueError):
            raise AnnotationError(f"line {line}: {what} {text!r} is not a number", path) from None
        if not math.isfinite(value) or value < 0:
            raise AnnotationError(f"line {line}: {what} {text!r} is not a time >= 0 s", path)
        return value

    onset, offset = seconds(onset, "onset"), seconds(offset, "offset")
    if offset < onset:
        raise AnnotationError(f"line {line}: offset {offset:g} s is before onset {onset:g} s", path)
    label = "" if label is None else str(label).strip()
    if not label:
        raise AnnotationError(f"line {line}: empty event_label", path)
    row = {
        "filename": filename,
        "onset": onset,
        "offset": offset,
        "event_label": label,
        "score": np.nan,
    }
    if score not in (None, ""):
        try:
            row["score"] = float(score)
        except (TypeError, ValueError):
            raise AnnotationError(f"line {line}: score {score!r} is not a number", path) from None
    return row


_TSV_HEADERS = (["onset", "offset", "event_label"], ["filename", "onset", "offset", "event_label"])


def read_events_tsv(path: str | os.PathLike) -> EventFile:
    """Read a tab-separated list: DCASE/sed_eval ``onset offset event_label`` (or ``filename
    onset offset event_label``) or an Audacity label file.

    Empty lines, a header line naming those columns, and Audacity's spectral-selection lines
    (starting with a backslash) are skipped. Events without ``filename`` belong to the file's
    :func:`recording_stem`.
    """
    stem = recording_stem(path)
    rows: list[dict] = []
    for line, text in enumerate(_read_lines(path), start=1):
        if not text.strip() or text.startswith("\\"):
            continue
        cells = [cell.strip() for cell in text.split("\t")]
        if [c.lower() for c in cells] in _TSV_HEADERS and not rows:
            continue
        if len(cells) == 3:
            rows.append(_event_row(path, line, stem, *cells))
        elif len(cells) == 4:
            rows.append(_event_row(path, line, cells[0], *cells[1:]))
        else:
            raise AnnotationError(
                f"line {line}: expected 3 tab-separated fields (onset, offset, "
                f"event_label) or 4 (filename first), got {len(cells)}",
                path,
            )
    return EventFile(event_table(rows), {})


def read_events_csv(path: str | os.PathLike) -> EventFile:
    """Read our events CSV (``filename,onset,offset,event_label,score``, extra columns kept;
    ``filename`` and ``score`` may be absent).

    A file with a ``verdict`` column is a review's verdicts file (:data:`VERDICT_COLUMNS`,
    written by the ``sed review`` page): it is read as the events the reviewer confirmed.
    ``correct`` rows keep their label, ``relabelled`` rows take their ``corrected_label``, and
    ``wrong`` rows (no event of that label there) and rows without a verdict are left out. So the
    file serves as a reference for ``sed evaluate`` and as annotations.

    Raises
    ------
    AnnotationError
        Also for a verdict not in :data:`VERDICTS`, or ``relabelled`` without a corrected label.
    """
    lines = _read_lines(path)
    records = list(csv.reader(lines))
    header = [cell.strip() for cell in records[0]] if records else []
    missing = [c for c in ("onset", "offset", "event_label") if c not in header]
    if missing:
        raise AnnotationError(
            f"line 1: missing column {missing[0]!r} (expected a header {','.join(EVENT_COLUMNS)})",
            path,
        )
    stem = recording_stem(path)
    rows = []
    for line, cells in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            raise AnnotationError(
                f"line {line}: expected {len(header)} fields, got {len(cells)}", path
            )
        record = dict(zip(header, cells))
        label: str | None = record["event_label"]
        if "verdict" in record:
            label = _confirmed_label(path, line, record)
            if label is None:
                continue
        row = _event_row(
            path,
            line,
            record.get("filename") or stem,
            record["onset"],
            record["offset"],
            label,
            record.get("score"),
        )
        for column, value in record.items():
            if column not in row:
                row[column] = _maybe_number(value)
        rows.append(row)
    return EventFile(event_table(rows), {})


def _confirmed_label(path, line: int, record: dict) -> str | None:
    """The label a review verdict confirms for a row, or None when it confirms no event."""
    verdict = record["verdict"].strip()
    if verdict in ("", "wrong"):
        return None
    if verdict == "correct":
        return record["event_label"]
    if verdict == "relabelled":
        corrected = (record.get("corrected_label") or "").strip()
        if not corrected:
            raise AnnotationError(f"line {line}: verdict relabelled without corrected_label", path)
        return corrected
    raise AnnotationError(
        f"line {line}: unknown verdict {verdict!r} (expected {', '.join(VERDICTS)})", path
    )


def _maybe_number(text: str):
    try:
        return float(text)
    except ValueError:
        return text


def read_events_raven(path: str | os.PathLike) -> EventFile:
    """Read a Raven selection table.

    Times come from ``Begin Time (s)`` and ``End Time (s)``, the label from the first of
    :data:`RAVEN_LABEL_COLUMNS` present, the score from ``Score`` or ``Confidence`` if present.
    A selection listed once per view (Raven repeats it for ``Waveform 1`` and ``Spectrogram 1``)
    is read once.
    """
    lines = _read_lines(path)
    header = lines[0].split("\t") if lines else []
    for column in ("Begin Time (s)", "End Time (s)"):
        if column not in header:
            raise AnnotationError(f"line 1: missing Raven column {column!r}", path)
    label_column = next((c for c in RAVEN_LABEL_COLUMNS if c in header), None)
    if label_column is None:
        raise AnnotationError(
            "line 1: no label column (one of " + ", ".join(RAVEN_LABEL_COLUMNS) + ")", path
        )
    score_column = next((c for c in ("Score", "Confidence") if c in header), None)
    stem, rows, seen = recording_stem(path), [], set()
    for line, text in enumerate(lines[1:], start=2):
        if not text.strip():
            continue
        cells = text.split("\t")
        if len(cells) != len(header):
            raise AnnotationError(
                f"line {line}: expected {len(header)} fields, got {len(cells)}", path
            )
        record = dict(zip(header, cells))
        if record.get("Selection") is not None:
            if record["Selection"] in seen:
                continue
            seen.add(record["Selection"])
        row = _event_row(
            path,
            line,
            stem,
            record["Begin Time (s)"],
            record["End Time (s)"],
            record[label_column],
            record.get(score_column) if score_column else None,
        )
        if record.get("Mean Score"):
            row["mean_score"] = _maybe_number(record["Mean Score"])
        rows.append(row)
    return EventFile(event_table(rows), {})


def read_events_json(path: str | os.PathLike) -> EventFile:
    """Read events written by :func:`write_events_json` (recordings, their lengths, events)."""
    try:
        data = json.loads("\n".join(_read_lines(path)))
    except json.JSONDecodeError as error:
        raise AnnotationError(f"line {error.lineno}: not valid JSON ({error.msg})", path) from None
    if not isinstance(data, dict) or not isinstance(data.get("recordings"), list):
        raise AnnotationError('line 1: expected {"recordings": [...]}', path)
    rows, durations = [], {}
    for number, recording in enumerate(data["recordings"], start=1):
        where = f"recording {number}"
        if not isinstance(recording, dict) or not isinstance(recording.get("events"), list):
            raise AnnotationError(f"{where}: expected filename and a list of events", path)
        name = str(recording.get("filename") or recording_stem(path))
        if recording.get("duration_seconds") is not None:
            try:
                durations[name] = float(recording["duration_seconds"])
            except (TypeError, ValueError):
                raise AnnotationError(f"{where}: duration_seconds is not a number", path) from None
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
                    event.get("event_label"),
                    event.get("score"),
                )
            except AnnotationError as error:
                raise AnnotationError(
                    error.message.replace("line 0", f"{where}, event {index}"), path
                ) from None
            row.update({k: v for k, v in event.items() if k not in row})
            rows.append(row)
    return EventFile(event_table(rows), durations)
