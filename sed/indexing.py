"""``sed index`` over an archive: the model in this process, in local worker processes, or on a
Dask cluster, and this process alone writing the index.

What costs is running YAMNet over the audio: each recording's window embeddings
(:mod:`sed.index`) and, for a frame search, its layer 6 and 14 feature frames
(:mod:`sed.frame_index`). That work runs where ``sed detect`` batches run theirs: here, in
``jobs`` worker processes (:func:`sed.batch.worker_processes`: spawned, ended with the run on
``SIGINT``/``SIGTERM``, gone when this process dies), or as one task per recording on a Dask
cluster (:class:`sed.cluster.DaskRunner`, the model loaded once per worker process). The arrays
come back here, and this process writes them through :class:`sed.index.IndexWriter` and
:class:`sed.frame_index.FrameWriter` in the order of the inputs, each recording as soon as it is
next: the index holds the same rows and the same bytes whatever ran the model, and only a few
recordings' arrays wait here at a time (:data:`RESULTS_AHEAD_PER_JOB` per worker process, or
the cluster's tasks in flight).

Resume, failures and progress are the index's: recordings already indexed are skipped before
any work is sent, a recording that cannot be read is reported and the run goes on, and a run
that stops (a signal, a lost cluster) keeps every recording committed so far: the same command
resumes.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sed.audio import Recording
from sed.batch import (
    DEFAULT_JOBS,
    BatchStopped,
    FileOutcome,
    check_worker_model,
    results_in_order,
    worker_processes,
)
from sed.errors import AudioError, Interrupted, ModelError, ParameterError, SedError
from sed.frame_index import FrameWriter, recording_frames
from sed.index import (
    IndexReport,
    IndexWriter,
    check_index_folder,
    index_settings,
    is_index,
    open_index,
)

if TYPE_CHECKING:
    from sed.cluster import DaskRunner
    from sed.model import Yamnet

#: Recordings submitted to each local worker process ahead of the one written next: enough to
#: keep every process busy while this one writes, few enough to keep its memory flat.
RESULTS_AHEAD_PER_JOB = 2


@dataclass(frozen=True)
class IndexTask(Recording):
    """A recording with what ``sed index`` still has to compute for it.

    Attributes
    ----------
    windows : bool
        Its window embeddings (it is not in the index yet).
    frames : bool
        Its layer 6 and 14 frames (asked for, and the index has none for it).
    """

    windows: bool = True
    frames: bool = False


@dataclass
class EmbeddedRecording:
    """What a worker computed for one :class:`IndexTask`.

    Attributes
    ----------
    duration_seconds : float
        True length, in seconds.
    embeddings : np.ndarray [shape=(n_windows, 1024), dtype=float32] or None
        Window ``i`` starts at ``i * hop_seconds``; None unless ``task.windows``.
    frames : list of np.ndarray [shape=(n_frames, channels), dtype=float32] or None
        Layer 6 and 14 frames (:func:`sed.frame_index.recording_frames`); None unless
        ``task.frames``.
    """

    duration_seconds: float
    embeddings: np.ndarray | None = None
    frames: list[np.ndarray] | None = None


def embed_recording(
    model: Yamnet, task: IndexTask, resampler: str
) -> EmbeddedRecording | FileOutcome:
    """Run YAMNet over one recording for the index: what a worker does per recording.

    A model loaded with one thread (:attr:`sed.model.Yamnet.threads`, as in worker processes)
    decodes in the same thread; any other in a second one, overlapping the model.

    Returns
    -------
    embedded : EmbeddedRecording or FileOutcome
        The arrays, or a ``"failed"`` outcome whose error is the one-line message of a file that
        cannot be read (or is too long for the memory).
    """
    from sed.segmenter import score_file

    embedded = EmbeddedRecording(0.0)
    # Decoding overlaps the model in a second thread, unless this process has one thread (a
    # worker of `--jobs` or a single-threaded Dask worker: the processes already fill the
    # cores), as `sed detect`'s workers decide.
    overlap = model.threads != 1
    try:
        if task.windows:
            scored = score_file(
                task.path, model, resampler=resampler, keep_embeddings=True, overlap=overlap
            )
            embedded.embeddings = np.asarray(scored.embeddings, np.float32)
            embedded.duration_seconds = float(scored.duration_seconds)
        if task.frames:
            embedded.frames, duration = recording_frames(
                task.path, model, resampler=resampler, overlap=overlap
            )
            if not task.windows:
                embedded.duration_seconds = duration
    except AudioError as error:
        return FileOutcome(task, "failed", error=str(error))
    except MemoryError:
        return FileOutcome(task, "failed", error=f"{task.path}: out of memory")
    return embedded


@dataclass(frozen=True)
class ModelLoader:
    """Loads this process's model in a worker, and checks it computes the same vectors.

    Attributes
    ----------
    weights : str or None
        The weights path; None for the default ones (``$SED_YAMNET_WEIGHTS`` or the weights
        package, found on each machine).
    backend : str
        The backend this process resolved (``auto`` could choose another one on a worker).
    settings : dict
        :func:`sed.index.index_settings` of this process's model: a worker's must be equal.
    """

    weights: str | None
    backend: str
    settings: dict

    @classmethod
    def of(cls, model: Yamnet, settings: dict) -> ModelLoader:
        """The loader of ``model`` (the weights path dropped when they are the default ones)."""
        from sed.model.weights import find_weights

        with contextlib.suppress(ModelError):
            if os.path.samefile(find_weights(None), model.source):
                return cls(None, model.backend, settings)
        return cls(model.source, model.backend, settings)

    def __call__(self, threads: int) -> Yamnet:
        """Load the model with ``threads`` threads.

        Raises
        ------
        ModelError
            If it cannot be loaded here, or computes other vectors than this process's (other
            weights, sed version or settings).
        """
        from sed.pipeline import load_model

        model = load_model(
            self.weights,
            hop_seconds=self.settings["hop_seconds"],
            backend=self.backend,
            threads=threads,
        )
        check_worker_model(index_settings(model, self.settings["resampler"]), self.settings)
        return model


# Set only inside the worker processes of a parallel `sed index` (by `_load_worker_model`).
_process_model: Yamnet | None = None


def _load_worker_model(loader: ModelLoader) -> None:
    """Set up a worker process: its model, on one thread (the processes fill the cores)."""
    global _process_model
    _process_model = loader(1)


def _embed_in_worker(task: IndexTask, resampler: str) -> EmbeddedRecording | FileOutcome:
    if _process_model is None:
        raise RuntimeError("_embed_in_worker runs only in a `sed index` worker process")
    return embed_recording(_process_model, task, resampler)


def index_recordings(
    recordings: Sequence[Recording],
    folder: str | os.PathLike,
    model: Yamnet,
    *,
    frames: bool = True,
    resampler: str | None = None,
    jobs: int = DEFAULT_JOBS,
    runner: DaskRunner | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> IndexReport:
    """Embed every window (and the frames) of every recording into an index folder.

    Parameters
    ----------
    recordings : sequence of Recording
        From :func:`sed.audio.find_audio_files`; written in this order, whatever runs the
        model. A file named twice is indexed once (the repeat is reported skipped).
    folder : str or os.PathLike
        Created if missing. An existing index is extended: recordings it holds (by absolute
        path) are skipped before any work is sent.
    model : sed.model.Yamnet
        Its weights and hop must be the index's when it exists. Worker processes and Dask
        workers load the same weights with the same settings, and refuse to work otherwise.
    frames : bool
        Also store each recording's layer 6 and 14 frames (:mod:`sed.frame_index`), also those
        of recordings indexed earlier without them.
    resampler : {"soxr", "resampy"}, optional
    jobs : int >= 1
        Local worker processes running the model; with 1, it runs in this process.
    runner : sed.cluster.DaskRunner, optional
        Run the model on a Dask cluster instead (``jobs`` must then be 1).
    progress : callable, optional
        Called as ``progress(path, n_windows)`` after each recording is committed
        (``n_windows`` is -1 for one already indexed).

    Returns
    -------
    report : IndexReport
        Failed recordings (unreadable files, or whose Dask workers kept dying) are listed with
        their one-line reason; the run never stops for one.

    Raises
    ------
    ModelError, ParameterError
        Before any work: the index was built with other weights, another hop or framing;
        ``jobs`` is below 1 or given with ``runner``; a worker's model differs.
    OutputError
        If ``folder`` is a file, or a folder holding other files than an index.
    Interrupted
        On ``SIGINT`` or ``SIGTERM`` (as :func:`sed.infra.stop_on_signals` raises them): worker
        processes are ended first; the message says how many recordings are indexed and that the
        same command resumes.
    SedError
        If a worker process died, or the cluster cannot go on (with the resume hint).
    """
    from sed.audio import DEFAULT_RESAMPLER

    if jobs < 1:
        raise ParameterError(f"--jobs must be at least 1, got {jobs}")
    if runner is not None and jobs != 1:
        raise ParameterError(
            "--jobs sets local worker processes; on a cluster the workers set the parallelism"
        )
    folder = os.fspath(folder)
    resampler = resampler or DEFAULT_RESAMPLER
    check_index_folder(folder)
    settings = index_settings(model, resampler)
    report = IndexReport()
    with (
        IndexWriter(folder, settings) as writer,
        FrameWriter(folder) if frames else contextlib.nullcontext() as frame_writer,
    ):
        tasks = _tasks(recordings, writer, frame_writer, report, progress)
        computed = _computed(tasks, model, settings, resampler, jobs=jobs, runner=runner)
        try:
            # Closed at once when this loop stops, not when garbage-collected: the worker
            # processes are ended, the cluster's tasks in flight cancelled.
            with contextlib.closing(computed):
                for task, result in computed:
                    _commit(task, result, writer, frame_writer, report, progress)
        except BatchStopped as error:
            raise SedError(f"{error.message}; {_resume_hint(report, tasks)}") from None
        except KeyboardInterrupt as error:
            number = error.signal_number if isinstance(error, Interrupted) else signal.SIGINT
            message = f"{Interrupted(number).message}: {_resume_hint(report, tasks)}"
            raise Interrupted(number, message) from None
    return report


def _tasks(
    recordings: Sequence[Recording],
    writer: IndexWriter,
    frame_writer: FrameWriter | None,
    report: IndexReport,
    progress: Callable[[str, int], None] | None,
) -> list[IndexTask]:
    """What is left to compute, in input order: the recordings not indexed yet, then (with
    frames) those indexed earlier without frames. Those already done are reported skipped."""
    tasks = []
    given: set[str] = set()
    for recording in recordings:
        absolute = os.path.abspath(recording.path)
        # A file named twice is stored once: its repeat counts as already indexed.
        repeat = absolute in given
        given.add(absolute)
        windows = not repeat and recording.path not in writer
        frames = not repeat and frame_writer is not None and absolute not in frame_writer
        if not windows:
            report.skipped.append(recording.path)
            if progress:
                progress(recording.path, -1)
        if windows or frames:
            tasks.append(IndexTask(recording.path, recording.relative, windows, frames))
    if frame_writer is not None and is_index(writer.folder):
        tasks += [
            IndexTask(earlier.path, earlier.filename, windows=False, frames=True)
            for earlier in open_index(writer.folder).recordings
            if earlier.path not in frame_writer and earlier.path not in given
        ]
    return tasks


def _computed(
    tasks: Sequence[IndexTask],
    model: Yamnet,
    settings: dict,
    resampler: str,
    *,
    jobs: int,
    runner: DaskRunner | None,
) -> Generator[tuple[IndexTask, EmbeddedRecording | FileOutcome], None, None]:
    """Each task with its result, in the order of ``tasks``: on the cluster, in worker
    processes, or here."""
    if not tasks:
        return
    if runner is not None:
        from sed.cluster import WorkerStatePlugin, call_on_worker

        plugin = WorkerStatePlugin(ModelLoader.of(model, settings))
        results: Iterable = runner.run(
            tasks, plugin, call_on_worker, embed_recording, resampler, kind="index", ordered=True
        )
        yield from results
        return
    if jobs == 1 or len(tasks) == 1:
        for task in tasks:
            yield task, embed_recording(model, task, resampler)
        return
    with worker_processes(
        min(jobs, len(tasks)), _load_worker_model, (ModelLoader.of(model, settings),)
    ) as pool:
        embed = functools.partial(_embed_in_worker, resampler=resampler)
        yield from results_in_order(pool, embed, tasks, ahead=RESULTS_AHEAD_PER_JOB * jobs)


def _commit(
    task: IndexTask,
    result: EmbeddedRecording | FileOutcome,
    writer: IndexWriter,
    frame_writer: FrameWriter | None,
    report: IndexReport,
    progress: Callable[[str, int], None] | None,
) -> None:
    """Write one recording's result: its windows, then its frames (each committed atomically)."""
    if isinstance(result, FileOutcome):
        report.failed[task.path] = result.error
        return
    if result.embeddings is not None:
        writer.add(task.path, result.duration_seconds, result.embeddings)
        report.added.append(task.path)
        report.windows += len(result.embeddings)
        if progress:
            progress(task.path, len(result.embeddings))
    if result.frames is not None and frame_writer is not None:
        frame_writer.add(os.path.abspath(task.path), result.frames)


def _resume_hint(report: IndexReport, tasks: Sequence[IndexTask]) -> str:
    """``3 of 10 recordings indexed; run the same command again to resume``."""
    total = len(report.skipped) + sum(task.windows for task in tasks)
    done = len(report.skipped) + len(report.added)
    return (
        f"{done} of {total} recording{'s' * (total != 1)} indexed; run the same command again "
        "to resume"
    )
