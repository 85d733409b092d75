"""Training data from an excerpt table: spans of recordings with a label, and perhaps a verdict.

An excerpt table is an event table (``filename, onset, offset, event_label``, comma- or
tab-separated, the columns of :data:`sed.events.readers.VERDICT_COLUMNS`' first four) or the
verdicts file a review page exports (the same columns, then ``verdict`` and ``corrected_label``;
docs/review.md). It is how the search loop teaches ``sed train`` a sound: the hits of
``sed search``, judged on the ``sed review`` page, are the training data as they are.

- an excerpt without a verdict column, or with ``correct``, is a positive of its ``event_label``;
- ``wrong`` (no event of that label there) is a negative: the background
  (:data:`sed.heads.head.BACKGROUND_LABEL`);
- ``relabelled`` is a positive of its ``corrected_label``;
- a row with an empty verdict (not judged) is left out.

Each excerpt is cut from its recording at 16 kHz into a file of the excerpt cache (keyed by the
recording's content and the span, so a second run reuses it), and those files are the clips of a
:class:`sed.heads.datasets.TrainingData`. An excerpt shorter than one window (0.96 s) is taken as
the window centred on it, with the recording's own sound around it (zeros beyond its ends), as
``sed embed`` and ``sed search`` treat short clips. Excerpts of one recording that overlap (once
widened so) form one group, so that no split puts the same sound on both sides.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sed.audio import DEFAULT_RESAMPLER, load_audio
from sed.errors import AnnotationError, AudioError, ParameterError
from sed.events.readers import VERDICT_COLUMNS, VERDICTS
from sed.heads.datasets import TrainingData, _check_classes, _finish, background_clips
from sed.heads.head import BACKGROUND_LABEL
from sed.infra import atomic_path, cache_dir, content_sha256, read_user_text
from sed.params import YamnetParams

#: The columns an excerpt table must have (an event table's), and its optional verdict columns.
EXCERPT_COLUMNS = VERDICT_COLUMNS[:4]
VERDICT_COLUMN, CORRECTED_COLUMN = "verdict", "corrected_label"
EXCERPT_CACHE_VERSION = 1


@dataclass
class Excerpt:
    """One usable row of an excerpt table.

    Attributes
    ----------
    recording : str
        The audio file, resolved (see :func:`read_excerpts`).
    onset_seconds, offset_seconds : float
        The span, in seconds from the start of the recording; ``offset > onset >= 0``.
    label : str
        The class it is a positive of, or :data:`BACKGROUND_LABEL` for a ``wrong`` verdict.
    verdict : str
        ``correct``, ``wrong``, ``relabelled``, or ``""`` for a table without verdicts.
    line : int
        Its line in the table (1 is the header), named in errors.
    """

    recording: str
    onset_seconds: float
    offset_seconds: float
    label: str
    verdict: str
    line: int


def default_excerpt_dir() -> str:
    """Where excerpts are cut to: ``excerpts/`` in :func:`sed.infra.cache_dir`."""
    return os.path.join(cache_dir(), "excerpts")


def _rows(path: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the numbered non-blank rows of a comma- or tab-separated table."""
    text = read_user_text(path, AnnotationError, "excerpt table")
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    delimiter = "\t" if "\t" in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows = []
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append((reader.line_num, [cell.strip() for cell in row]))
    except csv.Error as error:
        raise AnnotationError(
            f"line {reader.line_num}: not a readable table ({error})", path
        ) from None
    if not rows:
        raise AnnotationError("file is empty: expected a header line, then a row per excerpt", path)
    return rows[0][1], rows[1:]


def is_excerpt_table(path: str | os.PathLike) -> bool:
    """True if ``path`` is a file whose header has an event table's columns
    (:data:`EXCERPT_COLUMNS`: ``filename, onset, offset, event_label``, in any order, any case).

    A clip CSV (``filename,label``) is not one; a folder is not one.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        return False
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as handle:
            first = next((line for line in handle if line.strip()), "")
    except OSError:
        return False
    delimiter = "\t" if "\t" in first else ","
    header = {cell.strip().lower() for cell in first.split(delimiter)}
    return all(column in header for column in EXCERPT_COLUMNS)


def _resolve(name: str, table_dir: str, audio_dir: str | None) -> str | None:
    """The audio file a ``filename`` cell names: under ``audio_dir`` when given, else as written
    (absolute, or relative to the working folder), else relative to the table's folder."""
    candidates = (
        [os.path.join(audio_dir, name)]
        if audio_dir is not None
        else [name, os.path.join(table_dir, name)]
    )
    return next((c for c in candidates if os.path.isfile(c)), None)


def read_excerpts(
    path: str | os.PathLike, *, audio_dir: str | os.PathLike | None = None
) -> list[Excerpt]:
    """The excerpts of an excerpt table or a review's verdicts file.

    Parameters
    ----------
    path : str or os.PathLike
        A table with a header holding ``filename, onset, offset, event_label`` (seconds), and
        optionally ``verdict`` and ``corrected_label`` (:data:`sed.events.readers.VERDICTS`).
    audio_dir : str or os.PathLike, optional
        Folder the ``filename`` cells are relative to. By default a cell is taken as written
        (absolute, or relative to the working folder, as ``sed search`` writes the indexed
        paths), else relative to the table's folder.

    Returns
    -------
    excerpts : list of Excerpt
        In table order; rows with an empty verdict (not judged) are left out.

    Raises
    ------
    AnnotationError
        For a missing column, a time that is not a number, negative or an offset not after its
        onset, an unknown verdict, ``relabelled`` without a corrected label, or an audio file
        not found (the line named, with the count of others).
    ParameterError
        If ``audio_dir`` is not a folder.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise AnnotationError("no such file", path)
    if audio_dir is not None and not os.path.isdir(audio_dir):
        raise ParameterError("audio folder does not exist", audio_dir)
    header, rows = _rows(path)
    lowered = [cell.lower() for cell in header]
    missing = [column for column in EXCERPT_COLUMNS if column not in lowered]
    if missing:
        raise AnnotationError(
            f"line 1: no column {', '.join(map(repr, missing))}; an excerpt table has "
            f"{', '.join(EXCERPT_COLUMNS)}[, {VERDICT_COLUMN}, {CORRECTED_COLUMN}]; the columns "
            f"are {', '.join(header)}",
            path,
        )
    known = (*EXCERPT_COLUMNS, VERDICT_COLUMN, CORRECTED_COLUMN)
    at = {name: lowered.index(name) for name in known if name in lowered}
    table_dir = os.path.dirname(os.path.abspath(path))
    excerpts, not_found = [], []
    for line, cells in rows:
        cells = cells + [""] * (len(header) - len(cells))

        def cell(name: str, cells=cells) -> str:
            return cells[at[name]] if name in at else ""

        verdict = cell(VERDICT_COLUMN)
        if VERDICT_COLUMN in at and not verdict:
            continue  # listed on the page but not judged
        if verdict and verdict not in VERDICTS:
            raise AnnotationError(
                f"line {line}: unknown verdict {verdict!r} (expected {', '.join(VERDICTS)})", path
            )
        label = {
            "wrong": BACKGROUND_LABEL,
            "relabelled": cell(CORRECTED_COLUMN),
        }.get(verdict, cell("event_label"))
        if not label:
            what = CORRECTED_COLUMN if verdict == "relabelled" else "event_label"
            raise AnnotationError(f"line {line}: empty {what}", path)
        times = []
        for column in ("onset", "offset"):
            try:
                value = float(cell(column))
            except ValueError:
                raise AnnotationError(
                    f"line {line}: {column} {cell(column)!r} is not a number of seconds", path
                ) from None
            if not (np.isfinite(value) and value >= 0):
                raise AnnotationError(f"line {line}: {column} {value:g} is not >= 0", path)
            times.append(value)
        if times[1] <= times[0]:
            raise AnnotationError(
                f"line {line}: offset {times[1]:g} is not after onset {times[0]:g}", path
            )
        name = cell("filename")
        recording = _resolve(name, table_dir, os.fspath(audio_dir) if audio_dir else None)
        if recording is None:
            not_found.append((line, name))
            continue
        excerpts.append(Excerpt(recording, times[0], times[1], label, verdict, line))
    if not_found:
        line, name = not_found[0]
        where = os.fspath(audio_dir) if audio_dir is not None else f"here or in {table_dir}"
        raise AnnotationError(
            f"line {line}: audio file {name!r} not found {where}"
            + (f" (and {len(not_found) - 1} more)" if len(not_found) > 1 else "")
            + ("" if audio_dir else "; pass the audio folder with --audio-dir"),
            path,
        )
    return excerpts


def window_span(start: int, end: int, window: int) -> tuple[int, int]:
    """The samples an excerpt is embedded from: itself, or the window centred on it when shorter.

    Parameters
    ----------
    start, end : int
        The excerpt, in samples; ``end > start``.
    window : int > 0
        One window, in samples (YAMNet: 15,360 at 16 kHz).

    Returns
    -------
    start, end : int
        ``end - start >= window``; ``start`` may be negative and ``end`` past the recording
        (:func:`cut_span` pads those parts with zeros).
    """
    if end - start >= window:
        return start, end
    first = (start + end) // 2 - window // 2
    return first, first + window


def cut_span(waveform: np.ndarray, start: int, end: int) -> np.ndarray:
    """``waveform[start:end]``, with zeros where the span runs past either end.

    Parameters
    ----------
    waveform : np.ndarray [shape=(n_samples,)]
    start, end : int
        Samples; ``end > start``, either may lie outside the waveform.

    Returns
    -------
    clip : np.ndarray [shape=(end - start,), dtype=float32]
    """
    clip = np.zeros(end - start, np.float32)
    inside = waveform[max(start, 0) : max(min(end, len(waveform)), 0)]
    offset = max(-start, 0)
    clip[offset : offset + len(inside)] = inside
    return clip


def cut_excerpts(
    excerpts: list[Excerpt],
    *,
    folder: str | os.PathLike | None = None,
    params: YamnetParams | None = None,
    resampler: str = DEFAULT_RESAMPLER,
    source: str = "",
) -> list[str]:
    """Cut each excerpt (widened to a window when shorter, :func:`window_span`) into a 16 kHz
    float WAV file of ``folder``, once: the file is named by the recording's content and the
    span, so a later run finds it.

    Parameters
    ----------
    excerpts : list of Excerpt
    folder : str or os.PathLike, optional
        By default :func:`default_excerpt_dir`.
    params : YamnetParams, optional
        The sample rate and window length (the defaults: 16 kHz, 0.96 s).
    resampler : {"soxr", "resampy"}
    source : str
        The table, named in errors.

    Returns
    -------
    paths : list of str
        One file per excerpt, in order.

    Raises
    ------
    AudioError
        If a recording cannot be read, or an excerpt starts past its end (the line named).
    """
    import soundfile

    folder = os.fspath(folder) if folder is not None else default_excerpt_dir()
    params = params or YamnetParams()
    rate = params.sample_rate
    window = int(round(params.patch_window_seconds * rate))
    paths: list[str] = []
    loaded: dict[str, tuple[str, np.ndarray | None]] = {}
    for excerpt in excerpts:
        if excerpt.recording not in loaded:
            loaded[excerpt.recording] = (content_sha256(excerpt.recording), None)
        digest, waveform = loaded[excerpt.recording]
        start = int(round(excerpt.onset_seconds * rate))
        end = max(int(round(excerpt.offset_seconds * rate)), start + 1)
        start, end = window_span(start, end, window)
        key = hashlib.sha256(
            json.dumps(
                [EXCERPT_CACHE_VERSION, digest, start, end, rate, resampler], sort_keys=True
            ).encode()
        ).hexdigest()
        target = os.path.join(folder, key[:2], key + ".wav")
        if not os.path.isfile(target):
            if waveform is None:  # read a recording only when one of its excerpts is new
                waveform, _ = load_audio(excerpt.recording, sample_rate=rate, resampler=resampler)
                loaded[excerpt.recording] = (digest, waveform)
            if start >= len(waveform):
                raise AudioError(
                    f"line {excerpt.line}: the excerpt at {excerpt.onset_seconds:g} s starts "
                    f"past the end of {excerpt.recording} ({len(waveform) / rate:g} s)",
                    source or None,
                )
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with atomic_path(target) as temporary:
                soundfile.write(
                    temporary, cut_span(waveform, start, end), rate, subtype="FLOAT", format="WAV"
                )
        paths.append(target)
    return paths


def excerpt_groups(excerpts: list[Excerpt], params: YamnetParams | None = None) -> list[str]:
    """A group per excerpt: excerpts of one recording whose spans (widened to a window) overlap
    share one, so that no split puts one sound on both sides.

    Returns
    -------
    groups : list of str
        ``"<recording>#<n>"``, in the excerpts' order.
    """
    params = params or YamnetParams()
    window = params.patch_window_seconds
    spans = []
    for row, excerpt in enumerate(excerpts):
        onset, offset = excerpt.onset_seconds, excerpt.offset_seconds
        if offset - onset < window:
            onset = (onset + offset) / 2 - window / 2
            offset = onset + window
        spans.append((excerpt.recording, onset, offset, row))
    groups = [""] * len(excerpts)
    current: dict[str, tuple[float, int]] = {}  # recording -> (furthest offset, group number)
    counts: dict[str, int] = {}
    for recording, onset, offset, row in sorted(spans):
        furthest, number = current.get(recording, (-np.inf, -1))
        if onset >= furthest:
            number = counts.get(recording, 0)
            counts[recording] = number + 1
        current[recording] = (max(furthest, offset), number)
        groups[row] = f"{recording}#{number}"
    return groups


def excerpt_dataset(
    path: str | os.PathLike,
    *,
    classes: list[str] | None = None,
    audio_dir: str | os.PathLike | None = None,
    background: str | os.PathLike | None = None,
    folder: str | os.PathLike | None = None,
    params: YamnetParams | None = None,
    resampler: str = DEFAULT_RESAMPLER,
) -> TrainingData:
    """A data set from an excerpt table or a review's verdicts file (see the module's text).

    Parameters
    ----------
    path : str or os.PathLike
        The table (:func:`read_excerpts`).
    classes : list of str, optional
        Use only the positives of these classes, in this order (``wrong`` excerpts are kept as
        the background); by default every label, sorted.
    audio_dir : str or os.PathLike, optional
        Folder the file names are relative to.
    background : str or os.PathLike, optional
        A further folder of background recordings.
    folder : str or os.PathLike, optional
        Where excerpts are cut to (:func:`cut_excerpts`).
    params : YamnetParams, optional
        Sample rate and window length.
    resampler : {"soxr", "resampy"}

    Returns
    -------
    data : TrainingData
        A clip per excerpt (the cut file), grouped by :func:`excerpt_groups`.

    Raises
    ------
    AnnotationError
        For a bad table (:func:`read_excerpts`) or one without any judged excerpt.
    ParameterError
        For an unknown class, or fewer than two labels (positives and ``wrong`` excerpts or a
        background folder).
    AudioError
        If a recording cannot be read.
    """
    path = os.fspath(path)
    excerpts = read_excerpts(path, audio_dir=audio_dir)
    if not excerpts:
        raise AnnotationError("holds no judged excerpt", path)
    labels = sorted({e.label for e in excerpts if e.label != BACKGROUND_LABEL})
    wanted = _check_classes(classes, labels, path, "a label of the table")
    excerpts = [e for e in excerpts if e.label in wanted or e.label == BACKGROUND_LABEL]
    paths = cut_excerpts(excerpts, folder=folder, params=params, resampler=resampler, source=path)
    frames = [
        pd.DataFrame(
            {
                "path": paths,
                "label": [e.label for e in excerpts],
                "group": excerpt_groups(excerpts, params),
            }
        )
    ]
    if background is not None:
        frames.append(background_clips(background))
    return _finish(frames, tuple(wanted), path)
