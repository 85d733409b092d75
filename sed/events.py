"""Event I/O: the canonical event table and every file format it is read from and written to.

The event table is a pandas DataFrame with the sed_eval/DCASE columns
``filename, onset, offset, event_label, score`` (onset and offset in seconds, score in [0, 1]).
Every writer is a small function of this table or of :class:`sed.segmenter.WindowScores`, and
writes atomically (temporary file, then rename). Times are written with one rounding rule in every
format (:func:`round_seconds`).

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
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING

import numpy as np

from sed.audio import AUDIO_EXTENSIONS, recording_stem
from sed.errors import AnnotationError, ParameterError
from sed.infra import atomic_open, read_user_text
from sed.params import YamnetParams

if TYPE_CHECKING:
    import pandas as pd

    from sed.segmenter import WindowScores

EVENT_COLUMNS = ("filename", "onset", "offset", "event_label", "score")
#: Decimals of every time written (milliseconds) and of scores.
TIME_DECIMALS = 3
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


def _cell(value) -> str:
    """A score or extra number cell: 3 decimals by the same rule, empty where missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (float, np.floating)):
        return seconds_text(float(value))
    return str(value)


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
#: The frequency band written in Raven tables: YAMNet's mel range, in Hz.
RAVEN_BAND_HZ = (YamnetParams().mel_min_hz, YamnetParams().mel_max_hz)

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
    _write_text(format_events(events, format, durations=durations), path)


def _write_text(text: str, path) -> None:
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
            table[column] = [_cell(v) for v in table[column]]
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


def write_events_csv(events: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write :func:`events_csv` atomically."""
    _write_text(events_csv(events), path)


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
        cells = [seconds_text(v) if isinstance(v, float) else str(v) for v in row]
        lines.append("\t".join(cells))
    return "\n".join(lines) + "\n"


def write_events_tsv(
    events: pd.DataFrame, path: str | os.PathLike, *, with_filename: bool | None = None
) -> None:
    """Write :func:`events_tsv` atomically."""
    _write_text(events_tsv(events, with_filename=with_filename), path)


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


def events_raven(events: pd.DataFrame) -> str:
    """A Raven Pro selection table (tab-separated, one recording).

    Columns :data:`RAVEN_COLUMNS`, then ``Annotation`` (the label), ``Score`` and, when the
    table has it, ``Mean Score``. ``View`` is ``Spectrogram 1``, ``Channel`` 1, and the band is
    YAMNet's mel range (:data:`RAVEN_BAND_HZ`); times with 6 decimals. No events give the header
    line alone, as Raven saves an empty table.

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
            _cell(row.score),
        ]
        if has_mean:
            cells.append(_cell(row.mean_score))
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
            {key: _json_value(value) for key, value in row.items()}
            for row in table.to_dict("records")
        ]
        recordings.append(entry)
    return json.dumps({"recordings": recordings}, indent=1) + "\n"


def _json_value(value):
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(_milliseconds(value))
    if isinstance(value, np.integer):
        return int(value)
    return value


#: Score tables are named ``NAME<SCORES_SUFFIX>``; a batch writes ``NAME.sed.scores.tsv``.
SCORES_SUFFIX = ".scores.tsv"


def frame_times(window_scores: WindowScores) -> tuple[np.ndarray, np.ndarray]:
    """The contiguous, non-overlapping stretch of the recording each window (or frame) stands for.

    Each window stands for the hop-long stretch centred on its centre (the ``centres`` boundary
    convention of :mod:`sed.postprocessing`); the first one reaches back to 0 s and the last one
    to the end of the recording. Frames of a frame-level model, whose length is their hop, stand
    for themselves. This is the layout sed_scores_eval reads: frame ``i`` ends where frame
    ``i + 1`` starts.

    Parameters
    ----------
    window_scores : sed.segmenter.WindowScores
        Anything with ``starts``, ``ends`` (seconds, shape ``(n_windows,)``), ``hop_seconds``
        and ``duration_seconds``: the hop and the frame length come from it.

    Returns
    -------
    onsets, offsets : np.ndarray [shape=(n,), dtype=float64]
        In seconds, rounded to milliseconds (:func:`round_seconds`); ``n`` is the number of
        windows that start inside the recording (at least one when there are windows).
    """
    starts = np.asarray(window_scores.starts, dtype=np.float64)
    ends = np.asarray(window_scores.ends, dtype=np.float64)
    if len(starts) == 0:
        return np.zeros(0), np.zeros(0)
    hop = window_scores.hop_seconds or float(ends[0] - starts[0])
    centres = 0.5 * (starts + ends)
    edges = round_seconds(np.concatenate([centres - 0.5 * hop, [centres[-1] + 0.5 * hop]]))
    edges[0] = 0.0
    duration = float(round_seconds(np.array([window_scores.duration_seconds]))[0])
    # Windows whose stretch starts at or after the end of the recording stand for nothing in it.
    inside = max(1, int(np.searchsorted(edges[:-1], duration, side="left")))
    edges = edges[: inside + 1]
    edges[-1] = max(duration, edges[-2] + 10.0**-TIME_DECIMALS)
    return edges[:-1], edges[1:]


def score_table(window_scores: WindowScores) -> pd.DataFrame:
    """The score table of one recording: ``onset offset <label>...`` over contiguous frames.

    The layout of sed_scores_eval (``sed_scores_eval.io.write_sed_scores``) and of the DCASE
    task 4 baseline's score files, which PSDS and threshold-free F-scores are computed from.

    Parameters
    ----------
    window_scores : sed.segmenter.WindowScores
        Scores ``(n_windows, n_labels)`` in [0, 1]; see :func:`frame_times` for the times.

    Returns
    -------
    table : pd.DataFrame [shape=(n_frames, 2 + n_labels)]
        Columns ``onset``, ``offset`` (seconds) then one per label, in the order of ``labels``.
    """
    import pandas as pd

    onsets, offsets = frame_times(window_scores)
    table = pd.DataFrame(
        np.asarray(window_scores.scores)[: len(onsets)], columns=list(window_scores.labels)
    )
    table.insert(0, "offset", offsets)
    table.insert(0, "onset", onsets)
    return table


def score_table_text(window_scores: WindowScores) -> str:
    """:func:`score_table` as tab-separated text: times to 3 decimals, scores to 7 significant
    digits."""
    table = score_table(window_scores)
    for column in ("onset", "offset"):
        table[column] = table[column].map(seconds_text)
    buffer = io.StringIO()
    table.to_csv(buffer, sep="\t", index=False, float_format="%.7g", lineterminator="\n")
    return buffer.getvalue()


def write_score_table(window_scores: WindowScores, path: str | os.PathLike) -> None:
    """Write :func:`score_table_text` atomically.

    Parameters
    ----------
    window_scores : sed.segmenter.WindowScores
        Column names are the labels (AudioSet display names for raw YAMNet).
    path : str or os.PathLike
    """
    _write_text(score_table_text(window_scores), path)


def read_score_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a score table (ours, sed_scores_eval's or the DCASE baseline's).

    Parameters
    ----------
    path : str or os.PathLike
        Tab-separated ``onset offset <class>...``, one line per frame.

    Returns
    -------
    table : pd.DataFrame
        As :func:`score_table` returns it.

    Raises
    ------
    AnnotationError
        If the file cannot be read, lacks the ``onset`` and ``offset`` columns or a class, has
        a value that is not a number, or frames that are not sorted and contiguous.
    """
    import pandas as pd

    try:
        table = pd.read_csv(path, sep="\t")
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise AnnotationError(f"cannot read the score table: {error}", path) from None
    if list(table.columns[:2]) != ["onset", "offset"] or len(table.columns) < 3:
        raise AnnotationError(
            "a score table has the columns onset, offset, then one per class "
            f"(tab-separated); found {', '.join(map(str, table.columns[:4]))}",
            path,
        )
    not_numbers = [c for c in table.columns if table[c].dtype.kind not in "fiu"]
    if not_numbers:
        raise AnnotationError(f"column {not_numbers[0]!r} holds values that are not numbers", path)
    onsets, offsets = table["onset"].to_numpy(), table["offset"].to_numpy()
    empty = offsets <= onsets
    apart = np.concatenate([[False], np.abs(onsets[1:] - offsets[:-1]) > 1e-6])
    broken = np.flatnonzero(empty | apart)
    if len(broken):
        raise AnnotationError(
            f"line {int(broken[0]) + 2}: frames must be sorted, non-empty and contiguous (each "
            "onset the previous offset)",
            path,
        )
    return table


def score_table_files(path: str | os.PathLike) -> dict[str, str]:
    """Score tables by recording stem: one file, or a folder of them.

    Parameters
    ----------
    path : str or os.PathLike
        A score table; or a folder searched recursively for ``*.scores.tsv`` (what ``sed
        detect --scores`` writes); failing those, the folder's own ``*.tsv`` files
        (sed_scores_eval's and the DCASE baseline's layout, one ``<recording>.tsv`` each).

    Returns
    -------
    files : dict of str to str
        :func:`sed.audio.recording_stem` to path.

    Raises
    ------
    AnnotationError
        If the path does not exist, holds no score table, or two tables share a stem.
    """
    path = os.fspath(path)
    if os.path.isfile(path):
        return {recording_stem(path): path}
    if not os.path.isdir(path):
        raise AnnotationError("no such score table or folder", path)
    found = sorted(
        os.path.join(root, name)
        for root, _, names in os.walk(path)
        for name in names
        if name.endswith(SCORES_SUFFIX) and not name.startswith(".")
    )
    if not found:
        found = sorted(
            entry.path
            for entry in os.scandir(path)
            if entry.is_file() and entry.name.endswith(".tsv") and not entry.name.startswith(".")
        )
    if not found:
        raise AnnotationError(f"holds no score table (*{SCORES_SUFFIX} or *.tsv)", path)
    files: dict[str, str] = {}
    for file in found:
        stem = recording_stem(file)
        if stem in files:
            raise AnnotationError(f"two score tables for recording {stem!r}: {files[stem]}", file)
        files[stem] = file
    return files


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
        import io

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["filename", "rank", "label", "score"])
        writer.writerows([filename, rank, label, _cell(score)] for rank, label, score in rows)
        return buffer.getvalue()
    if format == "json":
        tags = [
            {"rank": rank, "label": label, "score": _json_value(score)}
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


# --------------------------------------------------------------------------------------------
# Reading.


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
        raise AnnotationError(f"line {line}: {what} {text!r} is not a number", path) from None
    if not math.isfinite(value) or value < 0:
        raise AnnotationError(f"line {line}: {what} {text!r} is not a time >= 0 s", path)
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
        return [cell.strip() for cell in text.split("\t")]
    return [cell.strip() for cell in next(csv.reader([text], delimiter=delimiter))]


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
    ``\\``) are skipped.

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
        if text.strip() and not text.startswith("\\")
    ]
    rows = _Rows(path)
    if not numbered:
        return rows.result()
    delimiter = _delimiter([text for _, text in numbered])
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
    """Read events written by :func:`events_json` (recordings, their lengths, events)."""
    try:
        data = json.loads("\n".join(_read_lines(path)))
    except json.JSONDecodeError as error:
        raise AnnotationError(f"line {error.lineno}: not valid JSON ({error.msg})", path) from None
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


def write_durations_tsv(durations: Mapping[str, float], path: str | os.PathLike) -> None:
    """Write a durations table ``filename<TAB>duration`` with its header (DESED's layout, read by
    psds_eval and sed_scores_eval), lengths in seconds to 3 decimals, atomically."""
    lines = ["filename\tduration"]
    lines += [f"{name}\t{seconds_text(seconds)}" for name, seconds in durations.items()]
    _write_text("\n".join(lines) + "\n", path)


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


# --------------------------------------------------------------------------------------------
# Appending: events written one by one while they are found (``sed listen -o``).

#: Columns of a CSV that events are appended to: the event table's, the mean score, and the
#: wall-clock times of onset and offset (ISO 8601).
APPEND_CSV_COLUMNS = (*EVENT_COLUMNS, "mean_score", "start_time", "end_time")
_JSON_TAIL = "\n]}\n]}\n"
#: Columns of a Raven selection table that events are appended to.
_APPEND_RAVEN_COLUMNS = (*RAVEN_COLUMNS, "Annotation", "Score", "Mean Score")


class EventAppender:
    """Append events to an events file one at a time, each in one flushed write.

    The file can be read (by ``sed evaluate``, :func:`read_events`, a spreadsheet or a script)
    while events are still being added. A missing file is created with its header; an existing
    one is appended to only if it is an events file of the same format (CSV: the same header;
    Raven: the same columns, selections numbered on; JSON: the layout of
    :func:`write_events_json`, which gets one more recording). Nothing already in the file is
    rewritten; only a JSON file's closing brackets move.

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
            rounded = {key: _json_value(value) for key, value in event.items()}
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
