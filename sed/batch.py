"""Batch annotation of whole archives: folders of recordings, resumable, one bad file at a time.

A batch writes into one output folder:

- per recording, one events file per requested format, mirroring the input tree
  (``site1/a.wav`` -> ``site1/a.csv``, ``site1/a.selections.txt``...: the suffixes of
  :data:`sed.events.FORMAT_SUFFIXES`);
- ``.sed/results/<recording>.json``: the recording's canonical result (events, duration, the
  settings fingerprint, the source file's size and modification time). It is written last and
  atomically, so it marks the recording as done: a second run of the same command skips it;
  output formats added on that run are rendered from it without running the model again;
- ``all_events.csv``: all events of the run, written at the end;
- ``parameters.json``: settings, fingerprint, model, package version, written at the start;
- ``failures.csv`` (``path,error``): recordings that could not be processed, when there are any.

Every file is written to a temporary file and renamed, so a run killed at any moment loses at
most the recordings in progress and never leaves a partial output file. Temporary files a killed
run leaves behind are hidden (``.<name>.<random>.tmp``) and removed by the next run.
"""

from __future__ import annotations

import concurrent.futures
import csv
import hashlib
import json
import multiprocessing
import os
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sed.audio import Recording, recording_stem
from sed.errors import AnnotationError, ParameterError, SedError
from sed.events import FORMAT_SUFFIXES, event_table, write_events, write_events_csv
from sed.infra import atomic_open

if TYPE_CHECKING:
    import pandas as pd

    from sed.pipeline import Detector, DetectorSpec

STATE_DIR = ".sed"
#: Worker processes of a batch unless asked for more: one, whose model uses every core.
DEFAULT_JOBS = 1
COMBINED_TABLE = "all_events.csv"
PARAMETERS_FILE = "parameters.json"
FAILURES_FILE = "failures.csv"
_STALE_TEMPORARY = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")


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


def fingerprint(settings: dict) -> str:
    """A short hash of the result-affecting settings (canonical JSON, SHA-256, 16 hex digits)."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def source_identity(path: str) -> dict:
    """Size and modification time of an input: a changed file is processed again."""
    stat = os.stat(path)
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


#: Which per-recording file of a batch output folder is read when several formats were written.
BATCH_FORMAT_PREFERENCE = ("json", "csv", "tsv", "raven", "audacity")


def is_batch_output(folder: str | os.PathLike) -> bool:
    """True for an output folder of a ``sed detect`` batch (it holds ``.sed/results``)."""
    return os.path.isdir(os.path.join(folder, STATE_DIR, "results"))


def batch_event_files(folder: str | os.PathLike) -> dict[str, str]:
    """The per-recording event files of a batch output folder, by recording stem.

    The folder is searched recursively; the run's own files (``all_events.csv``,
    ``parameters.json``, ``failures.csv``) are skipped, and of the formats written for one
    recording the first of :data:`BATCH_FORMAT_PREFERENCE` is taken.

    Raises
    ------
    AnnotationError
        If two recordings in the tree share a stem.
    """
    folder = os.fspath(folder)
    run_files = {COMBINED_TABLE, FAILURES_FILE, PARAMETERS_FILE}
    found: dict[str, dict[str, str]] = {}
    for root, directories, names in os.walk(folder):
        directories[:] = sorted(d for d in directories if not d.startswith("."))
        for name in sorted(names):
            if name.startswith(".") or (root == folder and name in run_files):
                continue
            for format in BATCH_FORMAT_PREFERENCE:
                if name.endswith(FORMAT_SUFFIXES[format]):
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
    """

    recording: Recording
    status: str
    duration_seconds: float = 0.0
    n_events: int = 0
    error: str = ""


@dataclass
class BatchSummary:
    """Totals of a batch run."""

    outcomes: list[FileOutcome] = field(default_factory=list)
    wall_seconds: float = 0.0  # processing time, model loading excluded

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def audio_seconds(self) -> float:
        """Audio processed in this run (skipped recordings not counted)."""
        return sum(o.duration_seconds for o in self.outcomes if o.status == "done")

    def __str__(self) -> str:
        speed = (
            f", {self.audio_seconds / self.wall_seconds:.0f}x real time"
            if self.wall_seconds > 0 and self.audio_seconds > 0
            else ""
        )
        return (
            f"{len(self.outcomes)} recordings: {self.count('done')} processed, "
            f"{self.count('skipped')} already done, {self.count('failed')} failed; "
            f"{self.audio_seconds / 3600:.2f} h of audio in {self.wall_seconds:.1f} s{speed}; "
            f"{sum(o.n_events for o in self.outcomes)} events"
        )


class BatchOutputs:
    """The layout of a batch's output folder (see the module docstring).

    Parameters
    ----------
    directory : str
    formats : list of str
        Event formats written per recording (:data:`sed.events.FORMATS`), each with its suffix
        of :data:`sed.events.FORMAT_SUFFIXES` (``a.wav`` -> ``a.csv``, ``a.selections.txt``...).
    """

    def __init__(self, directory: str, formats: Sequence[str]):
        self.directory = directory
        self.formats = list(formats)

    def result_path(self, recording: Recording) -> str:
        return os.path.join(self.directory, STATE_DIR, "results", recording.relative + ".json")

    def format_path(self, recording: Recording, format: str) -> str:
        stem = os.path.splitext(recording.relative)[0]
        return os.path.join(self.directory, stem + FORMAT_SUFFIXES[format])

    def check_no_clash(self, recordings: Sequence[Recording]) -> None:
        """Refuse recordings whose outputs would overwrite the run's own files.

        Raises
        ------
        ParameterError
            For example for a recording ``all_events.wav`` at the top of the input tree.
        """
        reserved = {
            os.path.join(self.directory, name)
            for name in (COMBINED_TABLE, PARAMETERS_FILE, FAILURES_FILE)
        }
        for recording in recordings:
            for format in self.formats:
                if self.format_path(recording, format) in reserved:
                    raise ParameterError(
                        f"{recording.path}: its {format} output would overwrite "
                        "the batch's own file of that name; rename it"
                    )

    def read_result(self, recording: Recording) -> dict | None:
        try:
            with open(self.result_path(recording), encoding="utf-8") as handle:
                return json.load(handle)
        except (OSError, ValueError):
            return None

    def write(self, recording: Recording, result: dict) -> None:
        """Write every format, then the canonical result that marks the recording done.

        Files of other formats that an earlier run wrote from an older result (other settings,
        or an edited recording) are deleted: they no longer describe this recording. Only files
        listed in that older result are touched.
        """
        previous = self.read_result(recording) or {}
        for format in set(previous.get("formats", ())) - set(self.formats):
            stale = self.format_path(recording, format) if format in FORMAT_SUFFIXES else None
            if stale and os.path.isfile(stale):
                os.remove(stale)
        result = dict(result, formats=list(self.formats))
        self.render(recording, result, only_missing=False)
        self.write_result(recording, result)

    def complete(self, recording: Recording, result: dict) -> None:
        """Render a done recording's missing formats from its stored result (no model run)."""
        self.render(recording, result, only_missing=True)
        written = list(result.get("formats", ()))
        if set(self.formats) - set(written):
            self.write_result(
                recording,
                dict(result, formats=written + [f for f in self.formats if f not in written]),
            )

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
                if _STALE_TEMPORARY.match(name):
                    os.remove(os.path.join(root, name))


def events_of(result: dict) -> pd.DataFrame:
    """The event table stored in a canonical result."""
    return event_table(result["events"])


def make_result(
    recording: Recording, events: pd.DataFrame, duration_seconds: float, settings_fingerprint: str
) -> dict:
    """The canonical, JSON-serialisable result of one recording."""
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
        """Detect, write every format and the canonical result; a bad file is a failed outcome."""
        try:
            detection = self.detector.detect_file(recording.path)
            duration = detection.window_scores.duration_seconds
            result = make_result(recording, detection.events, duration, self.settings_fingerprint)
            self.outputs.write(recording, result)
        except SedError as error:
            return FileOutcome(recording, "failed", error=str(error))
        except MemoryError:
            return FileOutcome(recording, "failed", error=f"{recording.path}: out of memory")
        return FileOutcome(recording, "done", duration, len(detection.events))


# Set only inside the worker processes of a parallel batch (by `_init_worker`), which end with the
# batch: each builds its detector once and reuses it for every recording it is given.
_process_worker: RecordingWorker | None = None


def _init_worker(spec: DetectorSpec, outputs: BatchOutputs, settings_fingerprint: str) -> None:
    global _process_worker
    _process_worker = RecordingWorker(spec.build(), outputs, settings_fingerprint)


def _process_in_worker(recording: Recording) -> FileOutcome:
    assert _process_worker is not None, "called outside a batch worker process"
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
) -> BatchSummary:
    """Process recordings into ``output_dir``, skipping those already done with these settings.

    Parameters
    ----------
    recordings : sequence of Recording
        From :func:`sed.audio.find_audio_files`.
    output_dir : str
        Created if missing.
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

    Returns
    -------
    summary : BatchSummary
        Failed recordings are listed in ``failures.csv``; the batch never stops for one.

    Raises
    ------
    ModelError, ParameterError
        If the model cannot be loaded or a setting is wrong (before any recording is processed).
    """
    if jobs < 1:
        raise ParameterError(f"--jobs must be at least 1, got {jobs}")
    outputs = BatchOutputs(output_dir, formats)
    check_unique_stems(recordings)
    outputs.check_no_clash(recordings)
    os.makedirs(output_dir, exist_ok=True)
    outputs.remove_stale_temporaries()
    detector = spec.build()  # fails early, before any file, if the model or settings are bad
    settings = spec.settings(detector.model)
    settings_fingerprint = fingerprint(settings)
    _write_parameters(outputs, settings, settings_fingerprint, formats, command, len(recordings))
    started = time.perf_counter()  # throughput is measured from here, model loading excluded

    summary = BatchSummary()
    todo: list[Recording] = []
    for recording in recordings:
        result = outputs.read_result(recording)
        if result is not None and is_done(result, recording, settings_fingerprint):
            outputs.complete(recording, result)
            summary.outcomes.append(
                FileOutcome(recording, "skipped", result["duration_seconds"], len(result["events"]))
            )
        else:
            todo.append(recording)

    progress = _progress_bar(len(recordings), initial=len(summary.outcomes), quiet=quiet)
    try:
        for outcome in _outcomes(todo, detector, spec, outputs, settings_fingerprint, jobs):
            summary.outcomes.append(outcome)
            progress.update(1)
            progress.set_postfix_str(_speed(summary, started), refresh=False)
    finally:
        progress.close()
    summary.wall_seconds = time.perf_counter() - started
    _write_combined(outputs, recordings, settings_fingerprint)
    order = {recording: i for i, recording in enumerate(recordings)}  # input order, not finish
    _write_failures(
        outputs,
        sorted(
            (o for o in summary.outcomes if o.status == "failed"), key=lambda o: order[o.recording]
        ),
    )
    return summary


def _outcomes(todo, detector: Detector, spec: DetectorSpec, outputs, settings_fingerprint, jobs):
    if jobs == 1 or len(todo) <= 1:
        worker = RecordingWorker(detector, outputs, settings_fingerprint)
        for recording in todo:
            yield worker.process(recording)
        return
    # spawn, not fork: TensorFlow and LiteRT are not fork-safe once initialised. Each worker
    # runs the model on one thread and reads in line: the processes fill the cores.
    context = multiprocessing.get_context("spawn")
    worker_spec = replace(spec, threads=1, overlap=False)
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=context,
        initializer=_init_worker,
        initargs=(worker_spec, outputs, settings_fingerprint),
    ) as pool:
        futures = [pool.submit(_process_in_worker, recording) for recording in todo]
        try:
            for future in concurrent.futures.as_completed(futures):
                yield future.result()
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


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
    outputs: BatchOutputs, recordings: Sequence[Recording], settings_fingerprint: str
) -> None:
    import pandas as pd

    tables = []
    for recording in recordings:
        result = outputs.read_result(recording)
        if result is not None and is_done(result, recording, settings_fingerprint):
            tables.append(events_of(result))
    combined = (
        event_table()
        if not tables
        else event_table(pd.concat(tables, ignore_index=True).to_dict(orient="records"))
    )
    write_events_csv(combined, os.path.join(outputs.directory, COMBINED_TABLE))


def _write_failures(outputs: BatchOutputs, failed: list[FileOutcome]) -> None:
    path = os.path.join(outputs.directory, FAILURES_FILE)
    if not failed:
        if os.path.exists(path):
            os.remove(path)  # a stale list from an earlier run would mislead
        return
    with atomic_open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "error"])
        for outcome in failed:
            message = outcome.error
            prefix = outcome.recording.path + ": "
            writer.writerow(
                [
                    outcome.recording.path,
                    message[len(prefix) :] if message.startswith(prefix) else message,
                ]
            )


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
        raise AnnotationError(f"not a batch output folder (no {STATE_DIR}/results)", folder)
    try:
        with open(os.path.join(folder, PARAMETERS_FILE), encoding="utf-8") as handle:
            settings_fingerprint = json.load(handle)["fingerprint"]
    except (OSError, ValueError, KeyError, TypeError):
        raise AnnotationError(f"{PARAMETERS_FILE} is missing or unreadable", folder) from None
    results_dir = os.path.join(folder, STATE_DIR, "results")
    found = []
    for root, directories, names in os.walk(results_dir):
        directories.sort()
        for name in sorted(names):
            if not name.endswith(".json") or _STALE_TEMPORARY.match(name):
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
