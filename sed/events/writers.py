"""Every event file format written: CSV, the DCASE TSV, Audacity labels, Raven selection tables,
JSON, and the durations table.

Each writer is a small function of the event table (:mod:`sed.events.table`) returning text, with
a ``write_*`` twin that writes it atomically (temporary file, then rename). A new format is a
writer here, a suffix in :data:`FORMAT_SUFFIXES`, and its reader in :mod:`sed.events.readers`.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from sed.audio import recording_stem
from sed.errors import ParameterError
from sed.events.table import AUDACITY_DECIMALS, cell_text, json_value, seconds_text
from sed.infra import atomic_open
from sed.params import YamnetParams

if TYPE_CHECKING:
    import pandas as pd

#: Formats ``sed detect --format`` writes and :func:`sed.events.readers.read_events` reads, with
#: their file suffixes.
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
#: The frequency band written in Raven tables: YAMNet's mel range, in Hz.
RAVEN_BAND_HZ = (YamnetParams().mel_min_hz, YamnetParams().mel_max_hz)


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
        check_format(name)
    output = os.fspath(output)
    if len(formats) == 1:
        return {formats[0]: output}
    base = os.path.join(os.path.dirname(output), recording_stem(output))
    return {name: base + FORMAT_SUFFIXES[name] for name in formats}


def format_of_suffix(path: str | os.PathLike) -> str | None:
    """The format whose suffix (:data:`FORMAT_SUFFIXES`, case ignored) ends ``path``'s name.

    ``ev.selections.txt`` gives ``raven``, ``ev.audacity.txt`` ``audacity``, ``ev.json``
    ``json``; a name with no such suffix (``ev.txt``, ``ev``) gives None.
    """
    name = os.path.basename(os.fspath(path)).lower()
    for format, suffix in sorted(FORMAT_SUFFIXES.items(), key=lambda item: -len(item[1])):
        if name.endswith(suffix):
            return format
    return None


def output_formats(output: str | os.PathLike, formats=None, *, option: str = "-o") -> list[str]:
    """The formats an events file is written in: those asked for, else the one its suffix names.

    The rule: without ``--format``, the suffix of ``output`` decides (``ev.json`` is JSON,
    ``ev.selections.txt`` a Raven table), and a name with no format's suffix gets
    :data:`DEFAULT_FORMAT`. One ``--format`` whose suffix contradicts the name's (``-o ev.csv
    --format raven``) is refused; a name with no format's suffix (``ev.txt``) takes any format.
    With several formats the name only gives the stem (:func:`format_paths`).

    Parameters
    ----------
    output : str or os.PathLike
        The events file, or ``-`` (standard output: no suffix to read).
    formats : sequence of str, optional
        The formats given (``--format``); None or empty when none was.
    option : str
        How the user named ``output``, for messages.

    Raises
    ------
    ParameterError
        For an unknown format, or one that contradicts the suffix.
    """
    formats = list(dict.fromkeys(formats or ()))
    for name in formats:
        check_format(name)
    named = None if os.fspath(output) == "-" else format_of_suffix(output)
    if not formats:
        return [named or DEFAULT_FORMAT]
    if len(formats) == 1 and named is not None and named != formats[0]:
        suffix = FORMAT_SUFFIXES[formats[0]]
        raise ParameterError(
            f"{option} {os.fspath(output)} has the suffix of {named} "
            f"({FORMAT_SUFFIXES[named]}), and --format {formats[0]} writes {suffix} files: "
            f"name it {recording_stem(output)}{suffix}, or leave out --format"
        )
    return formats


def check_scores_suffix(path: str | os.PathLike, *, option: str = "--scores") -> None:
    """Refuse a score table named as an events format other than TSV (``--scores s.csv``):
    score tables are tab-separated (:func:`sed.events.score_table`).

    Raises
    ------
    ParameterError
        Naming the file and the suffix to use.
    """
    named = format_of_suffix(path)
    if named not in (None, "tsv"):
        raise ParameterError(
            f"{option} {os.fspath(path)} has the suffix of {named} "
            f"({FORMAT_SUFFIXES[named]}), and score tables are tab-separated: name it "
            f"{recording_stem(path)}.scores.tsv"
        )


def check_format(format: str) -> None:
    """Raise :class:`ParameterError` unless ``format`` is one of :data:`FORMATS`."""
    if format not in FORMAT_SUFFIXES:
        raise ParameterError(f"unknown event format {format!r}; choose one of {', '.join(FORMATS)}")


def format_events(
    events: pd.DataFrame,
    format: str = DEFAULT_FORMAT,
    *,
    durations: Mapping[str, float] | None = None,
) -> str:
    """An event table as the text of one of :data:`FORMATS` (what :func:`write_events` writes).

    Parameters
    ----------
    events : pd.DataFrame
        An event table.
    format : {"csv", "tsv", "audacity", "raven", "json"}
    durations : mapping of str to float, optional
        Recording lengths in seconds by filename; written by ``json`` only.

    Raises
    ------
    ParameterError
        For an unknown format, or several recordings in one Audacity or Raven file.
    """
    check_format(format)
    if format == "json":
        return events_json(events, durations=durations)
    formatter = {
        "csv": events_csv,
        "tsv": events_tsv,
        "audacity": events_audacity,
        "raven": events_raven,
    }[format]
    return formatter(events)


def write_events(
    events: pd.DataFrame,
    path: str | os.PathLike,
    format: str = DEFAULT_FORMAT,
    *,
    durations: Mapping[str, float] | None = None,
) -> None:
    """Write an event table in one of :data:`FORMATS`, atomically (see :func:`format_events`).

    Parameters
    ----------
    events : pd.DataFrame
    path : str or os.PathLike
    format : {"csv", "tsv", "audacity", "raven", "json"}
    durations : mapping of str to float, optional
        Recording lengths in seconds by filename; written by ``json`` only.

    Raises
    ------
    ParameterError
        For an unknown format, or several recordings in one Audacity or Raven file.
    """
    write_text(format_events(events, format, durations=durations), path)


def write_text(text: str, path: str | os.PathLike) -> None:
    """Write the text of a file format atomically, in UTF-8, line ends as they are in ``text``.

    Raises
    ------
    sed.errors.WriteError
        If the file cannot be written.
    """
    with atomic_open(path, "w", newline="", encoding="utf-8") as handle:
        handle.write(text)


def events_csv(events: pd.DataFrame) -> str:
    """Our CSV: ``filename,onset,offset,event_label,score`` then extra columns (``mean_score``),
    times and scores to 3 decimals (:func:`round_seconds`)."""

    table = events.copy()
    for column in table.columns:
        if column in ("onset", "offset") or (
            column not in ("filename", "event_label") and table[column].dtype.kind == "f"
        ):
            table[column] = [cell_text(v) for v in table[column]]
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


def write_events_csv(events: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write :func:`events_csv` atomically."""
    write_text(events_csv(events), path)


def events_tsv(events: pd.DataFrame, *, with_filename: bool | None = None) -> str:
    """The DCASE list, tab-separated with a header: ``onset offset event_label``.

    Parameters
    ----------
    events : pd.DataFrame
    with_filename : bool, optional
        Write the ``filename`` column first (``filename onset offset event_label``: DESED,
        psds_eval and sed_scores_eval read it as it is). By default only for events of several
        recordings.

    Notes
    -----
    The header line keeps dcase_util's ``load_event_list``, pandas, psds_eval and sed_scores_eval
    from taking the first event for column names. Times to 3 decimals.
    """
    if with_filename is None:
        with_filename = events["filename"].nunique() > 1
    columns = ["filename", "onset", "offset", "event_label"][0 if with_filename else 1 :]
    lines = ["\t".join(columns)]
    for row in events[columns].itertuples(index=False):
        cells = [seconds_text(v) if isinstance(v, float) else tsv_cell(str(v)) for v in row]
        lines.append("\t".join(cells))
    return "\n".join(lines) + "\n"


def tsv_cell(text: str) -> str:
    """A name or label as a cell of a tab-separated table.

    The DCASE tables have no quoting of their own, but their readers (pandas, which psds_eval and
    sed_scores_eval use, and dcase_util's ``csv`` reader) take a cell that starts with ``"`` for
    a quoted one. Such a cell is written quoted as CSV quotes it (``\"\"\"a.wav\"`` for
    ``\"a.wav``), which :func:`sed.events.readers.read_events` reads back too; any other is
    written as it is. Tabs and line breaks never reach a cell: names are written as
    :func:`sed.audio.display_path` writes them (``a\\tb.wav``), and labels with them are
    refused where they are made.
    """
    if not text.startswith('"'):
        return text
    return '"' + text.replace('"', '""') + '"'


def write_events_tsv(
    events: pd.DataFrame, path: str | os.PathLike, *, with_filename: bool | None = None
) -> None:
    """Write :func:`events_tsv` atomically."""
    write_text(events_tsv(events, with_filename=with_filename), path)


def _one_recording(events: pd.DataFrame, what: str) -> None:
    if events["filename"].nunique() > 1:
        raise ParameterError(
            f"{what} files hold the events of one recording; got {events['filename'].nunique()}"
        )


def events_audacity(events: pd.DataFrame) -> str:
    """An Audacity label track: ``onset<TAB>offset<TAB>label``, no header, 6 decimals (what
    Audacity's File > Export > Labels writes; no events give an empty file, as Audacity's does).

    Raises
    ------
    ParameterError
        If the events are of several recordings (a label track belongs to one).
    """
    _one_recording(events, "Audacity label")
    lines = [
        f"{seconds_text(row.onset, AUDACITY_DECIMALS)}\t"
        f"{seconds_text(row.offset, AUDACITY_DECIMALS)}\t{row.event_label}\n"
        for row in events.itertuples(index=False)
    ]
    return "".join(lines)


def events_raven(events: pd.DataFrame, *, begin_file: bool = False) -> str:
    """A Raven Pro selection table (tab-separated, one recording, or several with
    ``begin_file``).

    Columns :data:`RAVEN_COLUMNS`, then ``Annotation`` (the label), ``Score`` and, when the
    table has it, ``Mean Score``. ``View`` is ``Spectrogram 1``, ``Channel`` 1, and the band is
    YAMNet's mel range (:data:`RAVEN_BAND_HZ`): the frequencies YAMNet analyses, the same for
    every event, not a band measured on the event; times with 6 decimals. No events give the
    header line alone, as Raven saves an empty table.

    Parameters
    ----------
    events : pd.DataFrame
        An event table.
    begin_file : bool
        Add a ``Begin File`` column holding each event's ``filename`` (BirdNET's combined
        table): the events of several recordings in one table, times within their recording.

    Raises
    ------
    ParameterError
        If the events are of several recordings and ``begin_file`` is False.
    """
    if not begin_file:
        _one_recording(events, "Raven selection table")
    header = [*RAVEN_COLUMNS, "Annotation", "Score"]
    has_mean = "mean_score" in events
    if has_mean:
        header.append("Mean Score")
    if begin_file:
        header.append("Begin File")
    lines = ["\t".join(header)]
    for number, row in enumerate(events.itertuples(index=False), start=1):
        cells = [
            str(number),
            "Spectrogram 1",
            "1",
            seconds_text(row.onset, AUDACITY_DECIMALS),
            seconds_text(row.offset, AUDACITY_DECIMALS),
            f"{RAVEN_BAND_HZ[0]:.1f}",
            f"{RAVEN_BAND_HZ[1]:.1f}",
            str(row.event_label),
            cell_text(row.score),
        ]
        if has_mean:
            cells.append(cell_text(row.mean_score))
        if begin_file:  # a name starting with a quote would open a quoted cell in pandas
            cells.append(tsv_cell(str(row.filename)))
        lines.append("\t".join(cells))
    return "\n".join(lines) + "\n"


def events_json(events: pd.DataFrame, *, durations: Mapping[str, float] | None = None) -> str:
    """Events as JSON, grouped by recording.

    The layout: ``{"recordings": [{"filename": ..., "duration_seconds": ..., "events":
    [{"onset": ..., "offset": ..., "event_label": ..., "score": ..., ...}]}]}``; a recording of
    ``durations`` without events is listed with an empty list, ``duration_seconds`` is left out
    where unknown, missing scores are ``null``, and times and scores are rounded to the
    millisecond (:func:`round_seconds`).
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
            {key: json_value(value) for key, value in row.items()}
            for row in table.to_dict("records")
        ]
        recordings.append(entry)
    return json.dumps({"recordings": recordings}, indent=1) + "\n"


def write_durations_tsv(durations: Mapping[str, float], path: str | os.PathLike) -> None:
    """Write a durations table ``filename<TAB>duration`` with its header (DESED's layout, read by
    psds_eval and sed_scores_eval), lengths in seconds to 3 decimals, atomically."""
    lines = ["filename\tduration"]
    lines += [f"{tsv_cell(name)}\t{seconds_text(seconds)}" for name, seconds in durations.items()]
    write_text("\n".join(lines) + "\n", path)
