"""What a batch output folder holds, file by file: the names, the paths and the readers.

The layout alone, for whoever reads a batch's folder (:func:`sed.pipeline.annotation_files`,
:mod:`sed.review`) without running one; :mod:`sed.batch` runs batches and writes these files.

A batch writes into one output folder:

- per recording, one events file per requested format, mirroring the input tree, under a name
  only ``sed`` uses: ``site1/a.wav`` -> ``site1/a.sed.csv``, ``site1/a.sed.selections.txt``...
  (:data:`OWNED_INFIX` before the suffixes of :data:`sed.events.FORMAT_SUFFIXES`), so that an
  annotation kept beside a recording (``a.csv``, ``a.txt``) is never hit, even when the output
  folder is the input folder (BirdNET-Analyzer's ``NAME.BirdNET.selection.table.txt`` habit);
- with ``scores``, per recording its score table ``site1/a.sed.scores.tsv``
  (:func:`sed.events.score_table`: ``onset offset <class>...`` over contiguous frames, for ``sed
  evaluate --scores``, sed_scores_eval and psds_eval); a recording done without it is scored
  again when a later run asks for it (scores are not kept in the result);
- ``.sed/results/<recording>.json``: the recording's canonical result (:func:`make_result`:
  events, duration, the settings fingerprint, the source file's size and modification time, the
  formats rendered). It is written last and atomically, so it marks the recording as done: a
  second run of the same command skips it; output formats added on that run are rendered from it
  without running the model again;
- ``all_events.csv``: all events of the run, written at the end; ``all_events.tsv``: the same as
  DESED, psds_eval and sed_scores_eval read them (``filename onset offset event_label``, file
  names relative to the input they were found under, or basenames); ``durations.tsv``: every
  recording done and its length (``filename duration``, the DESED layout, for psds_eval and
  sed_scores_eval and ``sed evaluate --durations``);
- ``parameters.json``: settings, fingerprint, model, package version, written at the start;
- ``failures.csv`` (``path,error``): recordings that could not be processed, when there are any;
- ``.sed/lock``: held by the batch writing into the folder (:mod:`sed.batch`);
- hidden temporary files (``.<name>.<random>.tmp``, :func:`sed.infra.atomic_open`) only while a
  file is written, or after a run was killed (the next run removes them).
"""

from __future__ import annotations

import json
import os
import re
from typing import TYPE_CHECKING

from sed.audio import Recording, recording_stem
from sed.errors import AnnotationError
from sed.events import FORMAT_SUFFIXES, SCORES_SUFFIX, event_table

if TYPE_CHECKING:
    import pandas as pd

#: The batch's own state (results, lock), hidden in the output folder.
STATE_DIR = ".sed"
#: The folder of the canonical results, under :data:`STATE_DIR`.
RESULTS_DIR = "results"
COMBINED_TABLE = "all_events.csv"
#: The combined table in the DESED layout, and the recordings' lengths beside it.
COMBINED_TSV = "all_events.tsv"
DURATIONS_TABLE = "durations.tsv"
PARAMETERS_FILE = "parameters.json"
FAILURES_FILE = "failures.csv"
#: One Raven selection table of every recording (``--combine``), its file in ``Begin File``.
COMBINED_RAVEN = "all_events.selections.txt"
#: The files a batch writes for the whole run (never a recording's).
RUN_FILES = (
    COMBINED_TABLE,
    COMBINED_TSV,
    DURATIONS_TABLE,
    PARAMETERS_FILE,
    FAILURES_FILE,
    COMBINED_RAVEN,
)
#: Put between a recording's name and a format's suffix in a batch: names no one else writes.
OWNED_INFIX = ".sed"
# The temporary files of sed.infra.atomic_open (``.<name>.<random>.tmp``).
_TEMPORARY = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")


def owned_suffix(format: str) -> str:
    """The end of a batch's file name for ``format``: ``.sed.csv``, ``.sed.selections.txt``..."""
    return OWNED_INFIX + FORMAT_SUFFIXES[format]


def source_identity(path: str) -> dict:
    """Size and modification time of an input: a changed file is processed again.

    Returns
    -------
    identity : dict
        ``{"size": bytes, "mtime_ns": nanoseconds}``, as a result stores it under ``"source"``.

    Raises
    ------
    OSError
        If ``path`` cannot be read (:func:`is_done` takes it as not done).
    """
    stat = os.stat(path)
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


#: Which per-recording file of a batch output folder is read when several formats were written.
BATCH_FORMAT_PREFERENCE = ("json", "csv", "tsv", "raven", "audacity")


def is_batch_output(folder: str | os.PathLike) -> bool:
    """True for an output folder of a ``sed detect`` batch (it holds ``.sed/results``)."""
    return os.path.isdir(os.path.join(folder, STATE_DIR, RESULTS_DIR))


def batch_event_files(folder: str | os.PathLike) -> dict[str, str]:
    """The per-recording event files of a batch output folder, by recording stem.

    The folder is searched recursively for the batch's names (``a.sed.csv``...: other files,
    such as annotations kept beside the recordings, are not the batch's); of the formats written
    for one recording the first of :data:`BATCH_FORMAT_PREFERENCE` is taken.

    Raises
    ------
    AnnotationError
        If two recordings in the tree share a stem.
    """
    folder = os.fspath(folder)
    found: dict[str, dict[str, str]] = {}
    for root, directories, names in os.walk(folder):
        directories[:] = sorted(d for d in directories if not d.startswith("."))
        for name in sorted(names):
            if name.startswith("."):
                continue
            for format in BATCH_FORMAT_PREFERENCE:
                if name.endswith(owned_suffix(format)):
                    stem, full = recording_stem(name), os.path.join(root, name)
                    other = found.setdefault(stem, {}).setdefault(format, full)
                    if other != full:
                        raise AnnotationError(
                            f"two recordings named {stem!r}: {other} and {full}", folder
                        )
                    break
    return {
        stem: next(formats[f] for f in BATCH_FORMAT_PREFERENCE if f in formats)
        for stem, formats in sorted(found.items())
    }


def is_temporary(name: str) -> bool:
    """True for the name of a temporary file being written, or left by a killed run
    (``.<name>.<random>.tmp``): never an output."""
    return bool(_TEMPORARY.match(name))


class BatchFolder:
    """Where a batch output folder keeps each recording's files (see the module docstring).

    Parameters
    ----------
    directory : str
        The output folder.
    """

    def __init__(self, directory: str):
        self.directory = directory

    def result_path(self, recording: Recording) -> str:
        """``.sed/results/<relative path>.json``: the recording's canonical result."""
        return os.path.join(self.directory, STATE_DIR, RESULTS_DIR, recording.relative + ".json")

    def format_path(self, recording: Recording, format: str) -> str:
        """``<relative stem>.sed<suffix>``: the recording's events in ``format``."""
        stem = os.path.splitext(recording.relative)[0]
        return os.path.join(self.directory, stem + owned_suffix(format))

    def scores_path(self, recording: Recording) -> str:
        """``<relative stem>.sed.scores.tsv``: the recording's score table."""
        stem = os.path.splitext(recording.relative)[0]
        return os.path.join(self.directory, stem + OWNED_INFIX + SCORES_SUFFIX)

    def read_result(self, recording: Recording) -> dict | None:
        """The recording's canonical result, or None if it is missing or unreadable."""
        try:
            with open(self.result_path(recording), encoding="utf-8") as handle:
                return json.load(handle)
        except (OSError, ValueError):
            return None


def events_of(result: dict) -> pd.DataFrame:
    """The event table stored in a canonical result."""
    return event_table(result["events"])


def make_result(
    recording: Recording, events: pd.DataFrame, duration_seconds: float, settings_fingerprint: str
) -> dict:
    """The canonical, JSON-serialisable result of one recording.

    Parameters
    ----------
    recording : Recording
    events : pd.DataFrame
        Its canonical event table (:func:`sed.events.event_table`).
    duration_seconds : float >= 0
        Its length, in seconds.
    settings_fingerprint : str
        Of the batch's settings (:func:`sed.batch.fingerprint`).

    Returns
    -------
    result : dict
        ``fingerprint``, ``source`` (:func:`source_identity`), ``duration_seconds`` and
        ``events`` (records); the batch adds ``formats`` and ``scores`` when it writes it.
    """
    return {
        "fingerprint": settings_fingerprint,
        "source": source_identity(recording.path),
        "duration_seconds": duration_seconds,
        "events": events.to_dict(orient="records"),
    }


def is_done(result: dict | None, recording: Recording, settings_fingerprint: str) -> bool:
    """True if ``result`` was made with these settings from the file as it is now."""
    if result is None or result.get("fingerprint") != settings_fingerprint:
        return False
    try:
        return result.get("source") == source_identity(recording.path)
    except OSError:
        return False


def completed_results(folder: str | os.PathLike) -> list[tuple[str, dict]]:
    """The canonical results of the recordings a batch output folder's last run completed.

    These are the recordings of its ``all_events.csv``: results written with the settings of
    ``parameters.json`` (results left by a run with other settings are skipped).

    Parameters
    ----------
    folder : str or os.PathLike
        The output folder of a ``sed detect`` batch.

    Returns
    -------
    results : list of (str, dict)
        Each recording's path relative to the input it was found under (``site1/a.wav``) and
        its canonical result (``events``, ``duration_seconds``...), sorted by that path.

    Raises
    ------
    AnnotationError
        If the folder is not a batch output folder or its ``parameters.json`` is unreadable.
    """
    folder = os.fspath(folder)
    if not is_batch_output(folder):
        raise AnnotationError(f"not a batch output folder (no {STATE_DIR}/{RESULTS_DIR})", folder)
    try:
        with open(os.path.join(folder, PARAMETERS_FILE), encoding="utf-8") as handle:
            settings_fingerprint = json.load(handle)["fingerprint"]
    except (OSError, ValueError, KeyError, TypeError):
        raise AnnotationError(f"{PARAMETERS_FILE} is missing or unreadable", folder) from None
    results_dir = os.path.join(folder, STATE_DIR, RESULTS_DIR)
    found = []
    for root, directories, names in os.walk(results_dir):
        directories.sort()
        for name in sorted(names):
            if not name.endswith(".json") or is_temporary(name):
                continue
            path = os.path.join(root, name)
            try:
                with open(path, encoding="utf-8") as handle:
                    result = json.load(handle)
            except (OSError, ValueError):
                continue  # unreadable: the recording is not done
            if isinstance(result, dict) and result.get("fingerprint") == settings_fingerprint:
                relative = os.path.relpath(path, results_dir)[: -len(".json")]
                found.append((relative.replace(os.sep, "/"), result))
    return sorted(found, key=lambda item: item[0])
