"""Batch annotation of whole archives: folders of recordings, resumable, one bad file at a time.

A batch writes into one output folder the files :mod:`sed.batch_folder` describes (events
per recording and format, ``.sed/results``, ``all_events.csv``, ``durations.tsv``,
``parameters.json``, ``failures.csv``); this module runs the batch that writes them.

Nothing a user owns is lost:

- a batch never replaces a file it did not write: before any work, a recording's output file that
  exists but is not listed in its result (nor in the record written before the files, which
  marks them as the batch's) refuses the run, and so do run files (``all_events.csv``...) in a
  folder that no batch wrote;
- every file is written to a temporary file and renamed, so a run killed at any moment loses at
  most the recordings in progress and never leaves a partial output file; temporary files a
  killed run leaves behind are hidden (``.<name>.<random>.tmp``) and removed by the next run;
- a lock (``.sed/lock``, ``flock``) lets one batch at a time write into a folder: a second one
  is refused with one line while the first (or any of its worker processes) runs. The lock
  covers the folder's ancestors and descendants too: a batch is refused inside or around a
  folder where another batch is writing (a held ``.sed/lock``) or has written (``.sed/results``),
  so two batches' files never mix (:func:`check_nesting`);
- a folder holding results of other settings (``parameters.json`` and the results record their
  fingerprint) is refused, naming the settings that differ, unless ``overwrite``
  (``--overwrite``) is given: a changed ``--threshold`` never silently redoes and replaces an
  earlier run's results (:func:`check_same_settings`);
- ``SIGINT`` and ``SIGTERM`` stop a batch within a few seconds: worker processes are ended, and
  :class:`sed.errors.Interrupted` says how many recordings are done and that the same command
  resumes. Worker processes ignore ``SIGINT`` (the parent stops them) and end on their own when
  the parent dies, even by ``SIGKILL`` (they watch its pipe);
- a write that fails marks the recording failed (``failures.csv``); a full or read-only file
  system stops the batch with the resume hint (:class:`sed.errors.WriteError`).

The recordings are detected in this process, in ``jobs`` local worker processes (which write
their own outputs), or by a :class:`RecordingRunner` such as a Dask cluster
(:mod:`sed.cluster`), whose results this process writes as they arrive.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import csv
import errno
import hashlib
import itertools
import json
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol, TypeVar

from sed.audio import Recording, display_path
from sed.batch_folder import (
    COMBINED_RAVEN,
    COMBINED_TABLE,
    COMBINED_TSV,
    DURATIONS_TABLE,
    FAILURES_FILE,
    PARAMETERS_FILE,
    RESULTS_DIR,
    RUN_FILES,
    STATE_DIR,
    BatchFolder,
    events_of,
    is_done,
    is_temporary,
    make_result,
)
from sed.errors import (
    DISK_FULL_ERRNOS,
    Interrupted,
    ModelError,
    OutputError,
    ParameterError,
    SedError,
    WriteError,
    printable,
)
from sed.events import (
    FORMAT_SUFFIXES,
    event_table,
    events_raven,
    write_durations_tsv,
    write_events,
    write_events_csv,
    write_events_tsv,
    write_score_table,
)
from sed.infra import atomic_open, stop_on_signals, write_error
from sed.outputs import Output, check_outputs

try:
    import fcntl
except ImportError:  # Windows: no flock; batches are then not locked against each other
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from sed.pipeline import Detector, DetectorSpec
    from sed.scores import ScoreGrid

#: Worker processes of a batch unless asked for more: one, whose model uses every core.
DEFAULT_JOBS = 1
#: The environment variable naming the Dask scheduler a batch runs on (``tcp://HOST:PORT``);
#: see :mod:`sed.cluster`.
SCHEDULER_ENV = "SED_SCHEDULER"
#: The lock file, under :data:`sed.batch_folder.STATE_DIR`.
LOCK_FILE = "lock"
#: ``errno`` values after which nothing more can be written: the batch stops (resume later).
STOPPING_ERRNOS = DISK_FULL_ERRNOS | {errno.EROFS}
#: Seconds a worker process gets to end after SIGTERM before it is killed.
WORKER_GRACE_SECONDS = 3.0
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
T = TypeVar("T")
R = TypeVar("R")


def check_unique_stems(recordings: Sequence[Recording]) -> None:
    """Refuse two recordings that would write the same outputs (``a.wav`` and ``a.flac`` in one
    folder).

    Raises
    ------
    ParameterError
        Naming both files.
    """
    seen: dict[str, str] = {}
    for recording in recordings:
        stem = os.path.splitext(recording.relative)[0]
        if stem in seen and seen[stem] != recording.path:
            raise ParameterError(
                f"{seen[stem]} and {recording.path} would write the same output "
                f"files ({stem}.*); rename one or process them separately"
            )
        seen[stem] = recording.path


def combined_names(recordings: Sequence[Recording], *, basenames: bool = False) -> dict[str, str]:
    """The ``filename`` of each recording in ``all_events.tsv`` and ``durations.tsv``.

    Parameters
    ----------
    recordings : sequence of Recording
    basenames : bool
        The file names alone (DESED's convention when all recordings sit in one folder) instead
        of the paths relative to the input they were found under.

    Returns
    -------
    names : dict of str to str
        Recording path to name, ``/``-separated.

    Raises
    ------
    ParameterError
        If two recordings would get one name (``a/x.wav`` and ``b/x.wav`` with ``basenames``).
    """
    names: dict[str, str] = {}
    seen: dict[str, str] = {}
    for recording in recordings:
        name = os.path.basename(recording.relative) if basenames else recording.relative
        if name in seen and seen[name] != recording.path:
            raise ParameterError(
                f"{seen[name]} and {recording.path} would have one name ({name}) in "
                f"{COMBINED_TSV}; leave out --basenames"
            )
        # A name that is not UTF-8 is written as every table writes it (``caf\\xe9.wav``).
        seen[name], names[recording.path] = recording.path, display_path(name)
    return names


def fingerprint(settings: dict) -> str:
    """A short hash of the result-affecting settings (canonical JSON, SHA-256, 16 hex digits)."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class FileOutcome:
    """What happened to one recording.

    Attributes
    ----------
    recording : Recording
    status : {"done", "skipped", "failed"}
    duration_seconds : float
        Audio length (0 when it failed).
    n_events : int
    error : str
        The one-line error of a failed recording.
    stops_batch : bool
        True when nothing more can be written (a full or read-only file system).
    label_totals : tuple of (str, int, float)
        Per event label: the number of events and their total duration in seconds.
    """

    recording: Recording
    status: str
    duration_seconds: float = 0.0
    n_events: int = 0
    error: str = ""
    stops_batch: bool = False
    label_totals: tuple[tuple[str, int, float], ...] = ()


def _outcome_of(recording: Recording, status: str, result: dict) -> FileOutcome:
    """The outcome of a recording done now or earlier, from its stored result."""
    totals: dict[str, list] = {}
    for event in result["events"]:
        total = totals.setdefault(str(event["event_label"]), [0, 0.0])
        total[0] += 1
        total[1] += float(event["offset"]) - float(event["onset"])
    return FileOutcome(
        recording,
        status,
        result["duration_seconds"],
        len(result["events"]),
        label_totals=tuple((label, n, seconds) for label, (n, seconds) in totals.items()),
    )


class BatchStopped(SedError):
    """Raised by a :class:`RecordingRunner` when the batch cannot go on (a lost cluster): the
    batch adds how many recordings are done and that the same command resumes."""


class RecordingRunner(Protocol):
    """Runs a batch's per-recording work somewhere else than in local processes (a Dask
    cluster: :class:`sed.cluster.DaskRunner`), while the batch's own process stays the only
    writer of its output folder.
    """

    def results(
        self,
        recordings: Iterable[Recording],
        *,
        spec: DetectorSpec,
        detector: Detector,
        settings_fingerprint: str,
        scores: bool,
    ) -> Iterator[tuple[Recording, dict | FileOutcome]]:
        """Each recording with what :func:`detect_result` gave for it (with its ``scores``),
        in the order they finish. Closing the generator (the batch stopping) must cancel the
        work in flight.

        Raises
        ------
        BatchStopped
            When nothing more can be run.
        """
        ...


@dataclass
class BatchSummary:
    """Totals of a batch run.

    Attributes
    ----------
    outcomes : list of FileOutcome
        What happened to each recording dealt with so far.
    wall_seconds : float
        Processing time, model loading excluded, in seconds.
    total : int
        Recordings in the batch.
    """

    outcomes: list[FileOutcome] = field(default_factory=list)
    wall_seconds: float = 0.0
    total: int = 0

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    def progress(self) -> str:
        """``12 of 40 recordings done``: done now or by an earlier run."""
        done = self.count("done") + self.count("skipped")
        return f"{done} of {self.total} recording{'s' * (self.total != 1)} done"

    @property
    def audio_seconds(self) -> float:
        """Audio processed in this run (skipped recordings not counted)."""
        return sum(o.duration_seconds for o in self.outcomes if o.status == "done")

    @property
    def covered_seconds(self) -> float:
        """Audio the batch's results cover: processed now or by an earlier run, in seconds."""
        return sum(o.duration_seconds for o in self.outcomes if o.status != "failed")

    def label_totals(self) -> list[tuple[str, int, float]]:
        """Per event label over every recording done (now or earlier): ``(label, events,
        total seconds)``, most events first, then longest."""
        totals: dict[str, list] = {}
        for outcome in self.outcomes:
            for label, n, seconds in outcome.label_totals:
                total = totals.setdefault(label, [0, 0.0])
                total[0] += n
                total[1] += seconds
        rows = [(label, n, seconds) for label, (n, seconds) in totals.items()]
        return sorted(rows, key=lambda row: (-row[1], -row[2]))

    def __str__(self) -> str:
        speed = (
            f", {self.audio_seconds / self.wall_seconds:.0f}x real time"
            if self.wall_seconds > 0 and self.audio_seconds > 0
            else ""
        )
        timing = f"in {self.wall_seconds:.1f} s{speed}"
        if self.count("skipped"):
            # A resumed run: the results cover the earlier runs' audio as well.
            timing = f"({self.audio_seconds / 3600:.2f} h processed now {timing})"
        return (
            f"{len(self.outcomes)} recording{'s' * (len(self.outcomes) != 1)}: "
            f"{self.count('done')} processed, "
            f"{self.count('skipped')} already done, {self.count('failed')} failed; "
            f"{self.covered_seconds / 3600:.2f} h of audio {timing}; "
            f"{sum(o.n_events for o in self.outcomes)} events"
        )


class BatchOutputs(BatchFolder):
    """A batch's output folder as the batch writes it (its layout: :class:`BatchFolder`).

    Parameters
    ----------
    directory : str
    formats : list of str
        Event formats written per recording (:data:`sed.events.FORMATS`), each under
        :func:`sed.batch_folder.owned_suffix` (``a.wav`` -> ``a.sed.csv``,
        ``a.sed.selections.txt``...).
    scores : bool
        Also write each recording's score table (``a.sed.scores.tsv``); a result records it
        as ``"scores": true``.
    """

    def __init__(self, directory: str, formats: Sequence[str], *, scores: bool = False):
        super().__init__(directory)
        self.formats = list(formats)
        self.scores = scores
        self.combine = False  # one Raven table of the run, all_events.selections.txt

    def lacks_scores(self, result: dict) -> bool:
        """True if scores are asked for and ``result``'s recording has none written."""
        return self.scores and not result.get("scores")

    def check_owned(self, recordings: Sequence[Recording]) -> None:
        """Refuse to run where a file the batch would write exists and the batch did not write it.

        A recording's files are the batch's when its result (or the record written before them)
        lists their format; the run files (``all_events.csv``...) are when the folder holds the
        batch's state (``.sed/``).

        Raises
        ------
        OutputError
            Naming the first such file and how many there are.
        """
        foreign = []
        if not os.path.isdir(os.path.join(self.directory, STATE_DIR)):
            foreign += [
                path
                for path in (os.path.join(self.directory, name) for name in RUN_FILES)
                if os.path.lexists(path)
            ]
        for recording in recordings:
            result = self.read_result(recording) or {}
            owned = set(result.get("formats", ()))
            foreign += [
                path
                for format in self.formats
                if format not in owned
                and os.path.lexists(path := self.format_path(recording, format))
            ]
            if self.lacks_scores(result) and os.path.lexists(path := self.scores_path(recording)):
                foreign.append(path)
        if foreign:
            more = f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else ""
            raise OutputError(
                f"exists and was not written by a sed batch{more}; it will not be replaced: "
                "move it away or choose another output folder",
                foreign[0],
            )

    def write(
        self, recording: Recording, result: dict, window_scores: ScoreGrid | None = None
    ) -> None:
        """Write every format (and the score table of ``window_scores`` when scores are asked
        for), then the canonical result that marks the recording done.

        Files of other formats that an earlier run wrote from an older result (other settings,
        or an edited recording) are deleted: they no longer describe this recording. Only files
        listed in that older result are touched. Before a file of a new format is written, a
        record listing it (not done: no fingerprint) marks it as the batch's, so that a run
        killed in between finds it its own.

        Raises
        ------
        WriteError
            If a file cannot be written or removed.
        """
        previous = self.read_result(recording) or {}
        owned = list(previous.get("formats", ()))
        scores = self.scores and window_scores is not None
        if set(self.formats) - set(owned) or (scores and not previous.get("scores")):
            self.write_result(
                recording,
                {
                    "formats": owned + [f for f in self.formats if f not in owned],
                    "scores": bool(previous.get("scores")) or scores,
                },
            )
        for format in set(owned) - set(self.formats):
            stale = self.format_path(recording, format) if format in FORMAT_SUFFIXES else None
            if stale and os.path.isfile(stale):
                _remove(stale)
        if previous.get("scores") and not scores and os.path.isfile(self.scores_path(recording)):
            _remove(self.scores_path(recording))  # scored with other settings: no longer true
        result = dict(result, formats=list(self.formats), scores=scores)
        self.render(recording, result, only_missing=False)
        if scores and window_scores is not None:
            write_score_table(window_scores, self.scores_path(recording))
        self.write_result(recording, result)

    def store(self, recording: Recording, result: dict) -> FileOutcome:
        """:meth:`write` a recording's result; an output that cannot be written is a failed
        outcome (one that stops the batch when the file system is full or read-only)."""
        result = dict(result)
        window_scores = result.pop("score_grid", None)  # see detect_result
        try:
            self.write(recording, result, window_scores)
        except WriteError as error:
            stops = error.errno in STOPPING_ERRNOS
            return FileOutcome(recording, "failed", error=str(error), stops_batch=stops)
        return _outcome_of(recording, "done", result)

    def complete(self, recording: Recording, result: dict) -> None:
        """Render a done recording's missing formats from its stored result (no model run).

        The result lists the new formats before their files are written (see :meth:`write`).
        """
        written = list(result.get("formats", ()))
        if set(self.formats) - set(written):
            result = dict(result, formats=written + [f for f in self.formats if f not in written])
            self.write_result(recording, result)
        self.render(recording, result, only_missing=True)

    def write_result(self, recording: Recording, result: dict) -> None:
        """Write the canonical result atomically; written last, it marks the recording done."""
        with atomic_open(self.result_path(recording), "w", encoding="utf-8") as handle:
            json.dump(result, handle)

    def render(self, recording: Recording, result: dict, *, only_missing: bool) -> None:
        events = events_of(result)
        durations = {recording.path: result["duration_seconds"]}
        for format in self.formats:
            path = self.format_path(recording, format)
            if not (only_missing and os.path.exists(path)):
                write_events(events, path, format, durations=durations)

    def remove_stale_temporaries(self) -> None:
        """Delete the hidden temporary files a killed run left (``.<name>.<random>.tmp``)."""
        for root, _, files in os.walk(self.directory):
            for name in files:
                if is_temporary(name):
                    _remove(os.path.join(root, name))


def _remove(path: str) -> None:
    """Delete a file of the batch's; a failure is a :class:`WriteError`."""
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
    except OSError as error:
        raise write_error(error, path) from None


# --- the work done for one recording, in this process or in a worker process ----------------


@dataclass
class RecordingWorker:
    """Detects one recording at a time and writes its outputs: what a batch runs per recording.

    Attributes
    ----------
    detector : sed.pipeline.Detector
        The loaded model with its settings.
    outputs : BatchOutputs
    settings_fingerprint : str
    """

    detector: Detector
    outputs: BatchOutputs
    settings_fingerprint: str

    def process(self, recording: Recording) -> FileOutcome:
        """Detect, write every format and the canonical result; a bad file is a failed outcome,
        and so is an output that cannot be written (one that stops the batch when the file
        system is full or read-only)."""
        result = detect_result(
            self.detector, recording, self.settings_fingerprint, scores=self.outputs.scores
        )
        if isinstance(result, FileOutcome):
            return result
        return self.outputs.store(recording, result)


def detect_result(
    detector: Detector, recording: Recording, settings_fingerprint: str, *, scores: bool = False
) -> dict | FileOutcome:
    """The canonical result of one recording (:func:`sed.batch_folder.make_result`), or its
    failed outcome.

    What a batch computes per recording, wherever it runs (this process, a worker process, a
    Dask worker); writing it is :meth:`BatchOutputs.store`'s, in the batch's own process.

    Parameters
    ----------
    detector : Detector
    recording : Recording
    settings_fingerprint : str
    scores : bool
        Also carry the recording's scores (:class:`sed.scores.ScoreGrid`) under the key
        ``"score_grid"``, for :meth:`BatchOutputs.store` to write as its score table; they are
        never part of the stored result.

    Returns
    -------
    result : dict or FileOutcome
        The result, or a ``"failed"`` outcome whose error is the one-line message of a bad
        recording (:class:`sed.errors.SedError`) or of one too long for the memory.
    """
    try:
        detection = detector.detect_file(recording.path, keep_scores=scores)
    except SedError as error:
        return FileOutcome(recording, "failed", error=str(error))
    except MemoryError:
        return FileOutcome(recording, "failed", error=f"{recording.path}: out of memory")
    duration = detection.duration_seconds
    result = make_result(recording, detection.events, duration, settings_fingerprint)
    if detection.score_grid is not None:
        result["score_grid"] = detection.score_grid
    return result


# Set only inside the worker processes of a parallel batch (by `_init_worker`), which end with the
# batch: each builds its detector once and reuses it for every recording it is given.
_process_worker: RecordingWorker | None = None
# The batch's lock file, held open (shared) by a worker process until it ends (`_shared_lock`).
_worker_lock_files: list = []


def _init_process(setup: Callable[..., None], setup_args: tuple) -> None:
    """Set up a worker process of :func:`worker_processes`: signals, the parent watchdog, then
    ``setup(*setup_args)``."""
    # The parent stops the workers itself: a terminal's Ctrl-C (sent to the whole process
    # group) must not end them half-way with a traceback. SIGTERM keeps its default (end now).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):  # blocked by the parent at spawn (POSIX)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    _exit_with_parent()
    setup(*setup_args)


def _init_worker(
    spec: DetectorSpec, outputs: BatchOutputs, settings_fingerprint: str, lock_path: str | None
) -> None:
    """Set up a detecting worker process: the shared lock, the detector."""
    global _process_worker
    if lock_path is not None:
        _shared_lock(lock_path)
    _process_worker = RecordingWorker(spec.build(), outputs, settings_fingerprint)


def _exit_with_parent() -> None:
    """End this process as soon as its parent is gone, even killed by SIGKILL.

    A thread waits on the parent's sentinel (the pipe multiprocessing keeps from the parent,
    which reaches end-of-file when the parent dies) and exits at once: outputs are written
    atomically, so an abandoned write leaves only a temporary file the next run removes.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch():
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="sed-parent-watchdog", daemon=True).start()


def _process_in_worker(recording: Recording) -> FileOutcome:
    if _process_worker is None:
        raise RuntimeError("_process_in_worker runs only in a batch worker process")
    return _process_worker.process(recording)


def run_batch(
    recordings: Sequence[Recording],
    output_dir: str,
    *,
    spec: DetectorSpec,
    formats: Sequence[str] = ("csv",),
    jobs: int = DEFAULT_JOBS,
    quiet: bool = False,
    command: Sequence[str] = (),
    basenames: bool = False,
    runner: RecordingRunner | None = None,
    scores: bool = False,
    overwrite: bool = False,
    combine: bool = False,
) -> BatchSummary:
    """Process recordings into ``output_dir``, skipping those already done with these settings.

    Parameters
    ----------
    recordings : sequence of Recording
        From :func:`sed.audio.find_audio_files`.
    output_dir : str
        Created if missing. It may be the input folder: the batch's file names are its own.
    spec : sed.pipeline.DetectorSpec
        Built once per process (the model is loaded once per worker).
    formats : sequence of str
        Event formats written per recording (not part of the fingerprint: adding one on a later
        run only renders it from the stored result).
    jobs : int >= 1
        Worker processes. With 1, everything runs in this process.
    quiet : bool
        No progress bar.
    command : sequence of str
        Recorded in ``parameters.json``.
    basenames : bool
        Name recordings by their file names alone in ``all_events.tsv`` and ``durations.tsv``
        (see :func:`combined_names`).
    runner : RecordingRunner, optional
        Detect the recordings elsewhere, such as on a Dask cluster
        (:class:`sed.cluster.DaskRunner`), instead of in ``jobs`` local processes; this process
        still writes every file.
    scores : bool
        Also write each recording's score table, ``NAME.sed.scores.tsv``
        (:func:`sed.events.score_table`). Recordings done by an earlier run without it are
        scored again.
    overwrite : bool
        Redo a folder holding results of other settings (:func:`check_same_settings`), replacing
        them; without it such a folder is refused.
    combine : bool
        Also write every recording's events as one Raven selection table,
        ``all_events.selections.txt``, the recording in its ``Begin File`` column (named as in
        ``all_events.tsv``). Without it, such a table of an earlier run is removed.

    Returns
    -------
    summary : BatchSummary
        Failed recordings are listed in ``failures.csv``; the batch never stops for one.

    Raises
    ------
    OutputError
        Before any work: ``output_dir`` cannot be written or is a file, a file the batch would
        write exists and the batch did not write it, another batch is writing into the folder or
        one inside or around it, or one has written there (:func:`check_nesting`). Before any
        recording is processed: the folder holds results of other settings
        (:func:`check_same_settings`) and ``overwrite`` is not given.
    ModelError, ParameterError
        If the model cannot be loaded or a setting is wrong (before any recording is processed).
    WriteError
        If the file system is full or read-only (the batch stops; the message says how many
        recordings are done and that the same command resumes), or a run file cannot be written.
    Interrupted
        On ``SIGINT`` or ``SIGTERM`` (or Ctrl-C in a notebook): worker processes are ended first;
        the message says how many recordings are done and that the same command resumes.
    SedError
        If a worker process died (killed from outside, out of memory), or the ``runner``
        cannot go on (the message says how many recordings are done and that the same command
        resumes).
    """
    if jobs < 1:
        raise ParameterError(f"--jobs must be at least 1, got {jobs}")
    if runner is not None and jobs != 1:
        raise ParameterError(
            "--jobs sets local worker processes; on a cluster the workers set the parallelism"
        )
    check_outputs([Output(output_dir, "output folder", folder=True)])
    outputs = BatchOutputs(output_dir, formats, scores=scores)
    outputs.combine = combine
    check_unique_stems(recordings)
    names = combined_names(recordings, basenames=basenames)
    outputs.check_owned(recordings)  # nothing read or written yet
    summary = BatchSummary(total=len(recordings))
    with stop_on_signals(), _folder_lock(output_dir) as lock_path:
        try:
            _run(
                recordings, outputs, spec, jobs, quiet, command, lock_path, summary, names, runner,
                overwrite=overwrite,
            )  # fmt: skip
        except BatchStopped as error:
            raise SedError(
                f"{error.message}; the batch stopped with {summary.progress()}: run the same "
                "command again to resume"
            ) from None
        except KeyboardInterrupt as error:
            number = error.signal_number if isinstance(error, Interrupted) else signal.SIGINT
            stopped = Interrupted(number)
            raise Interrupted(
                number,
                f"{stopped.message}: {summary.progress()}; run the same command again to resume",
            ) from None
    return summary


def _run(
    recordings, outputs, spec, jobs, quiet, command, lock_path, summary, names, runner, *,
    overwrite=False,
):  # fmt: skip
    """The body of :func:`run_batch`, inside the lock and with signals turned into exceptions."""
    outputs.remove_stale_temporaries()
    detector = spec.build()  # fails early, before any file, if the model or settings are bad
    settings = spec.settings(detector.model)
    settings_fingerprint = fingerprint(settings)
    if not overwrite:
        check_same_settings(outputs, recordings, settings, settings_fingerprint)
    _write_parameters(
        outputs, settings, settings_fingerprint, outputs.formats, command, len(recordings)
    )
    started = time.perf_counter()  # throughput is measured from here, model loading excluded
    todo: list[Recording] = []
    for recording in recordings:
        result = outputs.read_result(recording)
        if (
            result is not None
            and is_done(result, recording, settings_fingerprint)
            and not outputs.lacks_scores(result)
        ):
            outputs.complete(recording, result)
            summary.outcomes.append(_outcome_of(recording, "skipped", result))
        else:
            todo.append(recording)

    progress = _progress_bar(len(recordings), initial=len(summary.outcomes), quiet=quiet)
    try:
        with _workers(
            detector, spec, outputs, settings_fingerprint, jobs, len(todo), lock_path, runner
        ) as run:
            for outcome in run(todo):
                summary.outcomes.append(outcome)
                progress.update(1)
                progress.set_postfix_str(_speed(summary, started), refresh=False)
                if outcome.stops_batch:
                    _write_failures_if_possible(outputs, summary)
                    raise WriteError(
                        f"{outcome.error}; the batch stopped with {summary.progress()}: make "
                        "room on the device (or make it writable), then run the same command "
                        "again to resume"
                    )
    finally:
        progress.close()
    summary.wall_seconds = time.perf_counter() - started
    _write_combined(outputs, recordings, settings_fingerprint, names)
    _write_failures(outputs, _failed_in_order(summary, recordings))


def _failed_in_order(summary: BatchSummary, recordings: Sequence[Recording]) -> list[FileOutcome]:
    """The failed outcomes in input order, not in the order they finished."""
    order = {recording: i for i, recording in enumerate(recordings)}
    failed = (o for o in summary.outcomes if o.status == "failed")
    return sorted(failed, key=lambda o: order[o.recording])


def _write_failures_if_possible(outputs: BatchOutputs, summary: BatchSummary) -> None:
    """List the failures so far when the batch stops on a full disk (which may refuse that too)."""
    recordings = [o.recording for o in summary.outcomes]
    with contextlib.suppress(WriteError):
        _write_failures(outputs, _failed_in_order(summary, recordings))


@contextlib.contextmanager
def _workers(
    detector: Detector,
    spec: DetectorSpec,
    outputs,
    settings_fingerprint,
    jobs,
    todo,
    lock_path,
    runner: RecordingRunner | None = None,
):
    """Yield ``run(recordings) -> iterator of FileOutcome``: by the ``runner``, in this process,
    or in ``jobs`` worker processes that are ended (SIGTERM, then SIGKILL) if the batch stops
    early."""
    if runner is not None and todo > 0:  # nothing to do: no need to reach the cluster
        with _remote(runner, detector, spec, outputs, settings_fingerprint) as remote_run:
            yield remote_run
        return
    if jobs == 1 or todo <= 1:
        worker = RecordingWorker(detector, outputs, settings_fingerprint)
        yield lambda recordings: map(worker.process, recordings)
        return
    # Each worker runs the model on one thread and reads in line: the processes fill the cores.
    worker_spec = replace(spec, threads=1, overlap=False)
    with worker_processes(
        jobs, _init_worker, (worker_spec, outputs, settings_fingerprint, lock_path)
    ) as pool:

        def run(recordings: Sequence[Recording]) -> Iterator[FileOutcome]:
            with _signals_blocked():
                futures = [pool.submit(_process_in_worker, recording) for recording in recordings]
            with _lost_worker_is_one_line():
                for future in concurrent.futures.as_completed(futures):
                    yield future.result()

        yield run


@contextlib.contextmanager
def worker_processes(
    jobs: int, setup: Callable[..., None], setup_args: tuple = ()
) -> Iterator[concurrent.futures.ProcessPoolExecutor]:
    """A pool of ``jobs`` local worker processes that stop with the batch, however it stops.

    The workers are spawned (not forked: TensorFlow and LiteRT are not fork-safe once
    initialised), ignore ``SIGINT`` (a terminal's Ctrl-C reaches the whole process group: the
    parent stops them itself), and end on their own when the parent dies, even by ``SIGKILL``.
    If the block raises (a signal turned into :class:`sed.errors.Interrupted`, an error), they
    are ended at once: ``SIGTERM``, then ``SIGKILL`` after :data:`WORKER_GRACE_SECONDS`.

    Parameters
    ----------
    jobs : int >= 1
    setup : callable
        Run once in each worker process as ``setup(*setup_args)`` (loads its model into a
        module global); a module-level function, since it is pickled by name.
    setup_args : tuple
        Picklable.

    Yields
    ------
    pool : concurrent.futures.ProcessPoolExecutor
        Submit to it with :func:`results_in_order`, or inside ``_signals_blocked`` (a worker
        started by a submission inherits the signal mask).
    """
    from multiprocessing import resource_tracker

    context = multiprocessing.get_context("spawn")
    # Started now, since starting it later would unblock the signals blocked below.
    resource_tracker.ensure_running()
    with _signals_blocked():  # workers start with SIGINT/SIGTERM blocked until they handle them
        pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=jobs,
            mp_context=context,
            initializer=_init_process,
            initargs=(setup, setup_args),
        )
    try:
        yield pool
    except BaseException:
        _end_workers(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def results_in_order(
    pool: concurrent.futures.Executor,
    function: Callable[[T], R],
    items: Iterable[T],
    *,
    ahead: int,
) -> Iterator[tuple[T, R]]:
    """Each item with ``function(item)`` computed in ``pool``, in the order of ``items``.

    At most ``ahead`` items are submitted and not yet yielded, so the memory their results
    take stays bounded however many items there are, and however slow the first one is.

    Raises
    ------
    SedError
        If a worker process died (killed from outside, out of memory): the resume hint.
    """
    pending = iter(items)
    queue: collections.deque[tuple[T, concurrent.futures.Future]] = collections.deque()

    def top_up() -> None:
        with _signals_blocked():
            for item in itertools.islice(pending, max(0, ahead - len(queue))):
                queue.append((item, pool.submit(function, item)))

    top_up()
    with _lost_worker_is_one_line():
        while queue:
            item, future = queue.popleft()
            result = future.result()
            top_up()  # before the caller writes: the workers stay busy meanwhile
            yield item, result


@contextlib.contextmanager
def _lost_worker_is_one_line() -> Iterator[None]:
    """A worker process that ended unexpectedly as one line with the resume hint."""
    try:
        yield
    except concurrent.futures.process.BrokenProcessPool:
        raise SedError(
            "a worker process ended unexpectedly (killed from outside, or out of memory?); "
            "run the same command again to resume"
        ) from None


@contextlib.contextmanager
def _remote(
    runner: RecordingRunner, detector: Detector, spec: DetectorSpec, outputs, settings_fingerprint
):
    """Yield ``run(recordings) -> iterator of FileOutcome`` for a :class:`RecordingRunner`:
    results arrive here and are written here, one at a time, as they come."""
    started: list = []

    def run(recordings: Sequence[Recording]) -> Iterator[FileOutcome]:
        results = runner.results(
            recordings,
            spec=spec,
            detector=detector,
            settings_fingerprint=settings_fingerprint,
            scores=outputs.scores,
        )
        started.append(results)
        for recording, result in results:
            yield result if isinstance(result, FileOutcome) else outputs.store(recording, result)

    try:
        yield run
    finally:  # now, not when garbage-collected: the runner cancels the work still in flight
        for results in started:
            results.close()


@contextlib.contextmanager
def _signals_blocked():
    """Block SIGINT and SIGTERM in this thread; processes started meanwhile inherit the mask.
    A signal that arrives meanwhile is delivered when the block ends."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _end_workers(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """End a pool's worker processes now: SIGTERM, then SIGKILL after a grace period."""
    # ProcessPoolExecutor has no public way to end busy workers before Python 3.14
    # (terminate_workers); its process table is the only handle on them.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        with contextlib.suppress(Exception):
            process.terminate()
    deadline = time.monotonic() + WORKER_GRACE_SECONDS
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join(WORKER_GRACE_SECONDS)
    pool.shutdown(wait=False, cancel_futures=True)


@contextlib.contextmanager
def _folder_lock(directory: str) -> Iterator[str | None]:
    """Hold ``<directory>/.sed/lock`` for the batch; yield its path (None without ``flock``).

    The lock is taken exclusively to check that no other batch holds it, then shared with the
    batch's worker processes (:func:`_shared_lock`), so a second batch is refused while the
    first or any of its workers runs. The operating system releases it when they end, however
    they end.

    Raises
    ------
    OutputError
        If another batch holds it: ``<directory>: another sed batch is writing into this folder
        (pid N, started T); wait for it to end or choose another output folder``.
    WriteError
        If the lock file cannot be created.
    """
    path = os.path.join(directory, STATE_DIR, LOCK_FILE)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        # Held read-only: a file open for writing would keep the file system from being
        # remounted read-only while the batch runs.
        handle = open(os.open(path, os.O_RDONLY | os.O_CREAT, 0o666), encoding="utf-8")  # noqa: SIM115
    except OSError as error:
        raise write_error(error, path) from None
    with handle:
        if fcntl is None:
            yield None
            return
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "a process"
            raise OutputError(
                f"another sed batch is writing into this folder ({holder}); wait for it to end "
                "or choose another output folder",
                directory,
            ) from None
        started = datetime.now().astimezone().isoformat(timespec="seconds")
        try:  # who holds it, for the message of a batch refused meanwhile
            with open(path, "w", encoding="utf-8") as note:
                note.write(f"pid {os.getpid()}, started {started}\n")
        except OSError as error:
            raise write_error(error, path) from None
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:  # another batch took it in the instant of the conversion
            raise OutputError(
                "another sed batch started writing into this folder; wait for it to end or "
                "choose another output folder",
                directory,
            ) from None
        check_nesting(directory)
        yield path


def check_nesting(directory: str) -> None:
    """Refuse a batch folder inside or around another batch's folder.

    Another batch's folder is one holding ``.sed/results`` (a batch wrote there) or a ``.sed/lock``
    that is held (a batch is writing there now). Called with this batch's own lock held, so of
    two batches started at once into nested folders at least one sees the other's lock.

    Raises
    ------
    OutputError
        Naming the other batch's folder: its files and this batch's would mix.
    """
    own = os.path.realpath(directory)
    parent = os.path.dirname(own)
    while parent != own:  # up to the root
        if _batch_folder_state(parent):
            raise OutputError(
                f"is inside {parent}, the folder of another sed batch "
                f"({_batch_folder_state(parent)}); their files would mix: choose a folder "
                "outside it",
                directory,
            )
        own, parent = parent, os.path.dirname(parent)
    for root, folders, _ in os.walk(directory):
        folders[:] = [name for name in folders if name != STATE_DIR]
        if root != directory and (state := _batch_folder_state(root)):
            raise OutputError(
                f"holds {root}, the folder of another sed batch ({state}); their files would "
                "mix: choose a folder that does not hold it",
                directory,
            )


def _batch_folder_state(folder: str) -> str:
    """What says ``folder`` is a batch's: ``"a batch is writing there"``, ``"a batch wrote
    there"``, or ``""``."""
    lock = os.path.join(folder, STATE_DIR, LOCK_FILE)
    if fcntl is not None and os.path.isfile(lock):
        try:
            with open(lock, encoding="utf-8") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return "a batch is writing there"
        except OSError:
            pass
    if os.path.isdir(os.path.join(folder, STATE_DIR, RESULTS_DIR)):
        return "a batch wrote there"
    return ""


def check_worker_model(mine: dict, client: dict, share_also: str = "") -> None:
    """Refuse work in a worker (local process or Dask) whose model is not the client's.

    Parameters
    ----------
    mine, client : dict
        What identifies the model and its settings here and in the client process (weights
        fingerprint, sed version, hop, backend, ...).
    share_also : str
        Advice appended to the message (e.g. files to share under the same paths).

    Raises
    ------
    ModelError
        Naming the keys that differ.
    """
    differs = sorted(key for key in {*mine, *client} if mine.get(key) != client.get(key))
    if differs:
        raise ModelError(
            f"its model or settings differ from the client's ({', '.join(differs)}): install "
            f"the same sed version and weights on every worker{share_also}"
        )


def check_same_settings(
    outputs: BatchFolder, recordings: Sequence[Recording], settings: dict, settings_fingerprint: str
) -> None:
    """Refuse a batch folder whose results were made with other settings.

    The earlier settings are those of ``parameters.json``; a folder holding no result of other
    settings (a new folder, or the same settings) passes. Recordings that changed on disk are
    redone as always: only the settings count here.

    Raises
    ------
    OutputError
        ``<folder>: holds the results of N recordings made with other settings
        (parameters.json: threshold_on 0.5, now 0.3); they will not be replaced: give
        --overwrite to redo them, or choose another output folder``.
    """
    other = 0
    for recording in recordings:
        result = outputs.read_result(recording)
        if result and result.get("fingerprint") not in (None, settings_fingerprint):
            other += 1
    if not other:
        return
    differ = ""
    with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
        with open(os.path.join(outputs.directory, PARAMETERS_FILE), encoding="utf-8") as handle:
            before = json.load(handle).get("settings", {})
        differ = ", ".join(_settings_differ(before, settings))
    plural = "s" * (other != 1)
    raise OutputError(
        f"holds the results of {other} recording{plural} made with other settings"
        f"{f' ({PARAMETERS_FILE}: {differ})' if differ else ''}; they will not be replaced: "
        "give --overwrite to redo them, or choose another output folder",
        outputs.directory,
    )


def _settings_differ(before: dict, now: dict, prefix: str = "") -> list[str]:
    """``threshold_on 0.5, now 0.3`` for each setting that differs, nested ones by their last
    name."""
    now = json.loads(json.dumps(now, default=str))  # as parameters.json holds them
    found = []
    for key in sorted(set(before) | set(now), key=str):
        old, new = before.get(key), now.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            found += _settings_differ(old, new, prefix)
        elif old != new:
            found.append(f"{key} {json.dumps(old)}, now {json.dumps(new)}")
    return found


def _shared_lock(path: str) -> None:
    """Take the batch's lock, shared, in a worker process, for the process's whole life."""
    handle = open(path, encoding="utf-8")  # noqa: SIM115 (held until the process ends)
    fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)  # the parent holds it shared: no wait
    _worker_lock_files.append(handle)


def _progress_bar(total: int, *, initial: int, quiet: bool):
    from tqdm import tqdm

    return tqdm(
        total=total,
        initial=initial,
        unit="file",
        file=sys.stderr,
        disable=quiet,
        dynamic_ncols=True,
        desc="sed detect",
    )


def _speed(summary: BatchSummary, started: float) -> str:
    elapsed = time.perf_counter() - started
    hours = summary.audio_seconds / 3600
    factor = summary.audio_seconds / elapsed if elapsed > 0 else 0.0
    return f"{hours:.2f} h audio, {factor:.0f}x real time, {summary.count('failed')} failed"


def _write_parameters(outputs, settings, settings_fingerprint, formats, command, count) -> None:
    from sed import __version__

    parameters = {
        "sed_version": __version__,
        "fingerprint": settings_fingerprint,
        "settings": settings,
        "formats": list(formats),
        "recordings": count,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": list(command),
    }
    with atomic_open(
        os.path.join(outputs.directory, PARAMETERS_FILE), "w", encoding="utf-8"
    ) as handle:
        json.dump(parameters, handle, indent=2, default=str)


def _write_combined(
    outputs: BatchOutputs,
    recordings: Sequence[Recording],
    settings_fingerprint: str,
    names: dict[str, str],
) -> None:
    """``all_events.csv`` (paths as found), ``all_events.tsv`` and ``durations.tsv`` (names of
    :func:`combined_names`) of the recordings done with these settings."""
    import pandas as pd

    tables, renamed, durations = [], [], {}
    for recording in recordings:
        result = outputs.read_result(recording)
        if result is not None and is_done(result, recording, settings_fingerprint):
            events = events_of(result)
            tables.append(events)
            renamed.append(events.assign(filename=names[recording.path]))
            durations[names[recording.path]] = result["duration_seconds"]

    def combine(parts):
        if not parts:
            return event_table()
        return event_table(pd.concat(parts, ignore_index=True).to_dict(orient="records"))

    write_events_csv(combine(tables), os.path.join(outputs.directory, COMBINED_TABLE))
    write_events_tsv(
        combine(renamed), os.path.join(outputs.directory, COMBINED_TSV), with_filename=True
    )
    write_durations_tsv(durations, os.path.join(outputs.directory, DURATIONS_TABLE))
    raven = os.path.join(outputs.directory, COMBINED_RAVEN)
    if outputs.combine:
        with atomic_open(raven, "w", encoding="utf-8", newline="") as handle:
            handle.write(events_raven(combine(renamed), begin_file=True))
    else:
        _remove(raven)  # a table of an earlier run would miss this run's recordings


def _write_failures(outputs: BatchOutputs, failed: list[FileOutcome]) -> None:
    path = os.path.join(outputs.directory, FAILURES_FILE)
    if not failed:
        _remove(path)  # a stale list from an earlier run would mislead
        return
    # Names that are not UTF-8 are written as sed.audio.display_path writes them, and so is
    # any such character of a message.
    with atomic_open(path, "w", newline="", encoding="utf-8", errors="backslashreplace") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "error"])
        for outcome in failed:
            message, name = outcome.error, outcome.recording.path
            for prefix in (f"{name}: ", f"{printable(name)}: "):  # the path is its own column
                if message.startswith(prefix):
                    message = message[len(prefix) :]
                    break
            writer.writerow([display_path(name), message])
