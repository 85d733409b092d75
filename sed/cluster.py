"""Batches on a Dask cluster: each recording one task, the model loaded once per worker process.

``sed detect INPUTS -o OUT --scheduler tcp://HOST:PORT`` (or ``$SED_SCHEDULER``) runs the batch
of :func:`sed.batch.run_batch` with a :class:`DaskRunner`: the same outputs, resume state, lock,
signals and progress bar, with the per-recording work done by the workers of a running Dask
cluster (``dask scheduler`` and ``dask worker``, or dask-jobqueue on SLURM/PBS) that read the
inputs by the same paths (a shared file system). ``sed index --scheduler`` runs YAMNet over an
archive the same way (:func:`sed.indexing.index_recordings`, :meth:`DaskRunner.run` with
``ordered=True``: the client writes the index in input order).

- The batch's process (the Dask *client*) is the only writer of the output folder: a task
  returns the recording's canonical result (:func:`sed.batch.detect_result`), which the client
  writes atomically as it arrives. Workers write nothing.
- Each worker process builds the detector once, in a worker plugin (:class:`DetectorPlugin`,
  Dask's hook for per-process state), with the backend's threads set to the worker's threads,
  and checks that its model and settings are the client's (same weights content, backend, sed
  version): results are identical to a local run. A worker that joins later sets itself up the
  same way. The LiteRT conversion is cached on each worker machine as it is locally.
- Faults: a bad recording is a failure row, as locally. A worker process that dies while it
  runs a task (killed, out of memory) has the task retried on another worker by Dask, at most
  ``distributed.scheduler.allowed-failures`` times (a setting of the scheduler, 3 by default);
  then the recording is a failure row naming the reason. A lost scheduler, or workers that
  cannot run sed, stop the batch with the resume hint; so does a signal. The client killed at
  any moment (even ``SIGKILL``) loses at most the recordings in flight: Dask forgets the tasks
  of a client that is gone, and the same command resumes.
- Memory allocation: ``dask worker`` starts its processes with ``MALLOC_TRIM_THRESHOLD_`` set
  (Dask's ``distributed.nanny.pre-spawn-environ``), which also fixes glibc's mmap threshold at
  128 KiB: every larger array (audio blocks, features, scores) is then a fresh ``mmap`` whose
  pages the kernel zero-fills on first touch, 68,000 page faults and about a third more CPU time
  per 2-minute recording than in a ``--jobs`` process. While a batch's plugin is set up, its
  worker allocates as a plain process does (:func:`lift_malloc_thresholds`).
- Back-pressure: a bounded number of tasks is submitted ahead (:data:`TASKS_AHEAD_PER_THREAD`
  per worker thread), one more each time one completes, so the client's memory does not grow
  with the number of recordings.

Importing this module imports ``distributed`` (the ``dask`` extra: ``pip install 'sed[dask]'``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import itertools
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar, cast

import distributed
from distributed.comm import CommClosedError
from distributed.scheduler import KilledWorker

from sed.audio import Recording, display_path
from sed.batch import BatchStopped, FileOutcome, check_worker_model, detect_result
from sed.errors import ModelError, ParameterError, SedError

if TYPE_CHECKING:
    from sed.pipeline import Detector, DetectorSpec

#: Tasks submitted ahead per worker thread of the cluster: enough to keep every thread busy
#: while results travel back, few enough to keep the client's memory flat.
TASKS_AHEAD_PER_THREAD = 2
#: Tasks submitted ahead when the cluster has (still) no or few workers.
MIN_TASKS_AHEAD = 4
#: Seconds between two looks at how many worker threads the cluster has (workers come and go).
THREADS_REFRESH_SECONDS = 5.0
#: Tries to fetch a task's result whose connection closed on the way, and the pause between.
FETCH_ATTEMPTS = 3
FETCH_RETRY_SECONDS = 1.0
#: Seconds given to closing the connection to the scheduler.
CLOSE_TIMEOUT_SECONDS = 10.0
#: Why the tasks of a stopped batch are cancelled (shown by Dask's dashboard and logs).
STOPPED_REASON = "the sed batch stopped"
#: glibc's mmap threshold while a batch runs in a worker: the ceiling its dynamic rule reaches
#: in a plain process (DEFAULT_MMAP_THRESHOLD_MAX on 64-bit, malloc/malloc.c), with its trim
#: threshold at twice it, as that rule sets them.
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024
#: glibc's defaults of both thresholds, which an environment variable that sets one of them fixes
GLIBC_DEFAULT_THRESHOLD_BYTES = 128 * 1024
#: The environment variables that fix glibc's thresholds (mallopt(3)), with the option of each
MALLOC_THRESHOLD_VARIABLES = {"MALLOC_MMAP_THRESHOLD_": -3, "MALLOC_TRIM_THRESHOLD_": -1}
#: What a run's tasks are given: a recording (or a subclass carrying what to compute for it).
R = TypeVar("R", bound=Recording)


class DaskRunner:
    """Runs a batch's recordings on a Dask cluster (a :class:`sed.batch.RecordingRunner`).

    Parameters
    ----------
    scheduler : str or distributed.Client
        The scheduler's address (``tcp://HOST:PORT``; ``HOST:PORT`` means TCP), connected to at
        once, or a client a notebook already holds (left open by :meth:`close`).
    tasks_ahead : int >= 1, optional
        Tasks submitted ahead of the results; by default :data:`TASKS_AHEAD_PER_THREAD` per
        worker thread, at least :data:`MIN_TASKS_AHEAD`, followed as workers come and go.
    timeout_seconds : float > 0, optional
        How long to try to reach the scheduler, and to reconnect when the connection drops
        (default: Dask's ``distributed.comm.timeouts.connect``, 30 s).

    Raises
    ------
    ParameterError
        If ``scheduler`` is not an address Dask knows.
    SedError
        If the scheduler cannot be reached.

    Examples
    --------
    >>> from sed.audio import find_audio_files
    >>> from sed.batch import run_batch
    >>> with DaskRunner("tcp://10.0.0.5:8786") as runner:  # doctest: +SKIP
    ...     run_batch(find_audio_files(["archive"]).files, "out", spec=spec, runner=runner)
    """

    def __init__(
        self,
        scheduler: str | distributed.Client,
        *,
        tasks_ahead: int | None = None,
        timeout_seconds: float | None = None,
    ):
        if tasks_ahead is not None and tasks_ahead < 1:
            raise ParameterError(f"tasks_ahead must be at least 1, got {tasks_ahead}")
        self.tasks_ahead = tasks_ahead
        self._owns_client = isinstance(scheduler, str)
        self._quiet = contextlib.ExitStack()
        if isinstance(scheduler, str):
            scheduler = connect(scheduler, timeout_seconds)
            # While this runner holds the connection, what goes wrong with it is said by the
            # batch in one line; Dask's own records of it (a transfer cut when the scheduler
            # dies, in a thread of its own, with a traceback) would only repeat it.
            self._quiet.enter_context(_silenced("distributed"))
        self.client = scheduler
        self.address = str(getattr(self.client.scheduler, "address", "") or "")
        self._threads = (0, -THREADS_REFRESH_SECONDS)  # (worker threads, when counted)

    def __enter__(self) -> DaskRunner:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection to the scheduler, if this runner opened it."""
        if not self._owns_client:
            return
        # Closing ends what the client still does in its own thread (attempts to reconnect to a
        # lost scheduler, a transfer cut short by a signal), which Dask would log as errors
        # with a traceback: Dask's records stay silenced until the client is closed.
        with self._quiet, contextlib.suppress(Exception):
            self.client.close(timeout=CLOSE_TIMEOUT_SECONDS)

    def results(
        self,
        recordings: Iterable[Recording],
        *,
        spec: DetectorSpec,
        detector: Detector,
        settings_fingerprint: str,
        scores: bool = False,
    ) -> Iterator[tuple[Recording, dict | FileOutcome]]:
        """Detect ``recordings`` on the cluster; yield each with its result as it completes.

        The detector is set up on every worker first (:class:`DetectorPlugin`), so that a
        worker that cannot load the model stops the batch before any task.

        Parameters
        ----------
        recordings : iterable of Recording
            Read lazily, a few tasks ahead of the results.
        spec : sed.pipeline.DetectorSpec
            What the workers build (with the backend the client resolved).
        detector : sed.pipeline.Detector
            The client's own, built from ``spec``: the workers must match it.
        settings_fingerprint : str
            Of the batch (:func:`sed.batch.fingerprint`), stored in each result.
        scores : bool
            Results carry the recording's scores too (``sed detect --scores``).

        Yields
        ------
        recording : Recording
        result : dict or FileOutcome
            The canonical result (:func:`sed.batch.detect_result`), or a failed outcome (a
            bad recording, or the worker processes running it died too often).

        Raises
        ------
        sed.batch.BatchStopped
            If the scheduler is lost, or a worker cannot run sed (no sed or weights installed,
            another version, the model cannot be loaded).
        """
        plugin = DetectorPlugin(
            replace(spec, backend=detector.model.backend),
            model_identity(spec, detector),
            settings_fingerprint,
        )
        for recording, result in self.run(
            recordings, plugin, detect_on_worker, scores, kind="detect"
        ):
            yield recording, cast("dict | FileOutcome", result)

    def run(
        self,
        recordings: Iterable[R],
        plugin: WorkerStatePlugin,
        task: Callable[..., object],
        *args: object,
        kind: str,
        ordered: bool = False,
    ) -> Iterator[tuple[R, object]]:
        """Run ``task(recording, plugin_name, *args)`` on the cluster for each recording.

        ``plugin`` is set up on every worker first (a worker that cannot load the model stops
        the run before any task) and removed when the run ends; ``task`` finds it on its worker
        by the name it is given (:func:`worker_state`).

        Parameters
        ----------
        recordings : iterable of Recording
            Read lazily, a few tasks ahead of the results.
        plugin : WorkerStatePlugin
        task : callable
            A module-level function (pickled by name).
        *args
            Passed on to ``task``; picklable.
        kind : str
            Names the plugin and tasks on the dashboard (``detect``, ``index``).
        ordered : bool
            Yield in the order of ``recordings`` instead of as tasks complete; the tasks in
            flight then include those done but not yet yielded, so a slow first recording does
            not let results pile up here.

        Yields
        ------
        recording : Recording
        result : object
            What ``task`` returned, or a failed :class:`sed.batch.FileOutcome` when the worker
            processes running it died too often.

        Raises
        ------
        sed.batch.BatchStopped
            If the scheduler is lost, or a worker cannot run sed.
        """
        name = f"sed-{kind}-{uuid.uuid4().hex[:12]}"  # one per run: runs may share workers
        try:
            try:
                self.client.register_plugin(plugin, name=name)
            except Exception as error:  # raised by a worker: its setup failed, or no sed
                raise BatchStopped(_worker_failure(error)) from None
            yield from self._run_bounded(recordings, task, (name, *args), kind, ordered)
        finally:  # also after a signal during the set-up: no model left behind in the workers
            if self.client.status == "running":  # a lost scheduler cannot be told anything
                with contextlib.suppress(Exception):
                    self.client.unregister_worker_plugin(name)

    def _run_bounded(
        self,
        recordings: Iterable[R],
        task: Callable[..., object],
        args: tuple,
        kind: str,
        ordered: bool,
    ) -> Iterator[tuple[R, object]]:
        """Keep at most :meth:`_ahead` tasks in flight; cancel those left when stopped."""
        pending = iter(recordings)
        in_flight: dict[distributed.Future, R] = {}  # in the order submitted
        completed = distributed.as_completed(loop=self.client.loop)  # not the default client

        def top_up() -> None:
            for recording in itertools.islice(pending, max(0, self._ahead() - len(in_flight))):
                future = self.client.submit(
                    task, recording, *args, pure=False, key=_task_key(kind, recording)
                )
                in_flight[future] = recording
                if not ordered:
                    completed.add(future)

        def next_done() -> Iterator[distributed.Future]:
            if not ordered:
                yield from completed
                return
            while in_flight:
                yield next(iter(in_flight))  # the first submitted; its result is awaited

        top_up()
        try:
            for future in next_done():
                recording = in_flight.pop(future)
                result = self._collect(future, recording)
                top_up()  # before the client writes: the workers stay busy meanwhile
                yield recording, result
        finally:
            if in_flight and self.client.status == "running":
                with contextlib.suppress(Exception):
                    self.client.cancel(list(in_flight), reason=STOPPED_REASON)

    def _ahead(self) -> int:
        """Tasks to keep in flight: fixed, or per worker thread (counted every few seconds)."""
        if self.tasks_ahead is not None:
            return self.tasks_ahead
        threads, counted = self._threads
        if time.monotonic() - counted >= THREADS_REFRESH_SECONDS:
            threads = sum(self.client.nthreads().values())
            self._threads = (threads, time.monotonic())
        return max(MIN_TASKS_AHEAD, TASKS_AHEAD_PER_THREAD * threads)

    def _collect(self, future: distributed.Future, recording: Recording) -> object:
        """A finished task's result; a recording whose workers kept dying is a failed outcome.

        Raises
        ------
        sed.batch.BatchStopped
            For a lost scheduler, a cancelled task or a worker that cannot run sed.
        """
        for _ in range(FETCH_ATTEMPTS):
            try:
                return future.result()
            except KilledWorker as error:
                return FileOutcome(
                    recording,
                    "failed",
                    error=f"{display_path(recording.path)}: the Dask worker processes running "
                    f"it died {error.allowed_failures + 1} times (killed, or out of memory?), "
                    f"the last one at {error.last_worker.address}",
                )
            except CancelledError as error:
                reason = getattr(error, "reason", "unknown")
                if reason == "scheduler-connection-lost" or self.client.status != "running":
                    raise BatchStopped(
                        f"lost the connection to the Dask scheduler at {self.address}"
                    ) from None
                raise BatchStopped(
                    f"the Dask task of {display_path(recording.path)} was cancelled ({reason})"
                ) from None
            except CommClosedError:
                # The result's worker, or the scheduler, went away while the result travelled:
                # Dask computes a lost result again; a lost scheduler cancels the future.
                time.sleep(FETCH_RETRY_SECONDS)
            except Exception as error:
                raise BatchStopped(_worker_failure(error)) from None
        raise BatchStopped(
            f"the result of {display_path(recording.path)} could not be fetched from the Dask "
            f"workers ({FETCH_ATTEMPTS} tries)"
        )


def connect(address: str, timeout_seconds: float | None = None) -> distributed.Client:
    """A client of the Dask scheduler at ``address``.

    Raises
    ------
    ParameterError
        If ``address`` is not an address Dask knows (``tcp://HOST:PORT``, ``HOST:PORT``...).
    SedError
        If the scheduler cannot be reached within ``timeout_seconds`` (default: Dask's
        ``distributed.comm.timeouts.connect``).
    """
    try:
        if timeout_seconds is None:  # Dask's own setting (None is not accepted for it)
            return distributed.Client(address, set_as_default=False)
        return distributed.Client(address, timeout=timeout_seconds, set_as_default=False)
    except ValueError as error:
        raise ParameterError(
            f"--scheduler {address}: not a Dask scheduler address ({error})"
        ) from None
    except (OSError, TimeoutError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise SedError(
            f"cannot reach the Dask scheduler at {address} ({reason}); is `dask scheduler` "
            "running there, and reachable from this machine?"
        ) from None


def model_identity(spec: DetectorSpec, detector: Detector) -> dict:
    """What must be equal on the client and on every worker for equal results: the
    result-affecting settings with the weights' content (not their path, which differs from
    machine to machine) and the sed version."""
    from sed import __version__

    settings = spec.settings(detector.model)
    settings["weights"] = detector.model.weights_sha256
    return {**settings, "sed_version": __version__}


class WorkerStatePlugin(distributed.WorkerPlugin):
    """Builds once in each Dask worker process what a run's tasks use (a loaded model).

    The state is built with as many threads as the worker has; tasks take turns with it (a
    lock), since one interpreter runs one recording at a time. Workers with one thread each
    (``dask worker --nthreads 1 --nworkers N``) use the cores best, as ``--jobs N`` does
    locally. While it is set up, the worker allocates as a plain process does
    (:func:`lift_malloc_thresholds`).

    Parameters
    ----------
    factory : callable, optional
        ``factory(threads) -> state``, picklable (a module-level function or a dataclass
        instance); it raises :class:`sed.errors.SedError` when it cannot build the state here.
        Subclasses override :meth:`_build` instead.

    Raises
    ------
    ModelError
        From :meth:`setup`, naming the worker, when the state cannot be built.
    """

    def __init__(self, factory: Callable[[int], object] | None = None):
        self.factory = factory
        self.state: object | None = None
        self.error = ""
        self.lock: threading.Lock | None = None  # made on the worker: locks do not pickle
        self.lifted = False

    async def setup(self, worker: distributed.Worker) -> None:
        self.lock = threading.Lock()
        threads = worker.state.nthreads
        try:  # in a thread: loading takes seconds, and the worker must keep answering meanwhile
            self.state = await asyncio.to_thread(self._build, threads)
        except SedError as error:
            self.error = f"Dask worker {worker.address}: {error}"
            raise ModelError(self.error) from None
        lift_malloc_thresholds()  # once set up: a failed setup has no teardown
        self.lifted = True

    def _build(self, threads: int) -> object:
        if self.factory is None:
            raise RuntimeError("WorkerStatePlugin needs a factory or a _build of its own")
        return self.factory(threads)

    def teardown(self, worker: distributed.Worker) -> None:
        self.state = None  # the model's memory goes back when the run ends
        if self.lifted:
            self.lifted = False
            restore_malloc_thresholds()


class DetectorPlugin(WorkerStatePlugin):
    """Builds a batch's detector once in each Dask worker process (see
    :class:`WorkerStatePlugin`).

    Parameters
    ----------
    spec : sed.pipeline.DetectorSpec
        With the backend the client resolved (``auto`` could choose another one here).
    identity : dict
        The client's :func:`model_identity`.
    settings_fingerprint : str

    Raises
    ------
    ModelError
        From :meth:`setup`, naming the worker: the model cannot be loaded here, or it differs
        from the client's.
    """

    def __init__(self, spec: DetectorSpec, identity: dict, settings_fingerprint: str):
        super().__init__()
        self.spec = spec
        self.identity = identity
        self.settings_fingerprint = settings_fingerprint

    @property
    def detector(self) -> Detector | None:
        """The worker's detector once set up."""
        return cast("Detector | None", self.state)

    def _build(self, threads: int) -> Detector:
        detector = replace(self.spec, threads=threads, overlap=threads > 1).build()
        check_worker_model(
            model_identity(self.spec, detector),
            self.identity,
            ", and share the files the command names (label maps, heads) under the same paths",
        )
        return detector


# Batches whose plugin lifted this worker process's malloc thresholds and is still set up: the
# last one to end restores them. Dask calls setup and teardown on the worker's event loop.
_lifting_batches = 0


def lift_malloc_thresholds() -> None:
    """Let glibc's malloc in this process work as in a plain process while a batch runs.

    An environment variable that sets a malloc threshold (Dask's nanny sets
    ``MALLOC_TRIM_THRESHOLD_=65536`` in every worker it starts, to return memory to the system
    soon) also turns off glibc's dynamic mmap threshold, which stays at 128 KiB: each larger
    allocation is then mapped and unmapped anew, its pages zero-filled by the kernel at first
    touch. A batch allocates such arrays for every block of audio (68,000 page faults, a third
    more CPU time per 2-minute recording, measured in docs/cluster.md). Here the mmap threshold
    is set to the ceiling the dynamic rule reaches (:data:`MMAP_THRESHOLD_BYTES`) and the trim
    threshold to twice it, as that rule does; :func:`restore_malloc_thresholds` puts the
    environment's settings back. Nothing is changed in a process where no such variable is set
    (glibc's dynamic rule is at work there), nor without glibc.
    """
    global _lifting_batches
    libc = _glibc_with_fixed_thresholds()
    if libc is None:
        return
    _lifting_batches += 1
    if _lifting_batches == 1:
        libc.mallopt(MALLOC_THRESHOLD_VARIABLES["MALLOC_MMAP_THRESHOLD_"], MMAP_THRESHOLD_BYTES)
        libc.mallopt(MALLOC_THRESHOLD_VARIABLES["MALLOC_TRIM_THRESHOLD_"], 2 * MMAP_THRESHOLD_BYTES)


def restore_malloc_thresholds() -> None:
    """Undo :func:`lift_malloc_thresholds` once the last batch that lifted them ends: the
    thresholds the environment set (glibc's default for one it does not set), and the free
    memory above them given back to the system (``malloc_trim``)."""
    global _lifting_batches
    libc = _glibc_with_fixed_thresholds()
    if libc is None or _lifting_batches == 0:
        return
    _lifting_batches -= 1
    if _lifting_batches == 0:
        for variable, option in MALLOC_THRESHOLD_VARIABLES.items():
            value = os.environ.get(variable, "")
            libc.mallopt(option, int(value) if value.isdigit() else GLIBC_DEFAULT_THRESHOLD_BYTES)
        libc.malloc_trim(0)


def _glibc_with_fixed_thresholds() -> ctypes.CDLL | None:
    """This process's glibc when an environment variable fixed its malloc thresholds, else None."""
    if not any(variable in os.environ for variable in MALLOC_THRESHOLD_VARIABLES):
        return None
    try:
        version = os.confstr("CS_GNU_LIBC_VERSION") or ""
        return ctypes.CDLL("libc.so.6") if version.startswith("glibc") else None
    except (AttributeError, ValueError, OSError):  # no confstr (Windows) or name, no libc.so.6
        return None


def worker_state(plugin_name: str) -> tuple[WorkerStatePlugin, object, threading.Lock]:
    """On a Dask worker: the plugin of that name, the state it built, and the lock its tasks
    take turns with.

    Raises
    ------
    ModelError
        If this worker has no such state (its setup failed).
    """
    worker = distributed.get_worker()
    plugin = worker.plugins.get(plugin_name)
    if not isinstance(plugin, WorkerStatePlugin) or plugin.state is None or plugin.lock is None:
        error = plugin.error if isinstance(plugin, WorkerStatePlugin) else ""
        raise ModelError(error or f"Dask worker {worker.address}: sed's model is not set up")
    return plugin, plugin.state, plugin.lock


def detect_on_worker(
    recording: Recording, plugin_name: str, scores: bool = False
) -> dict | FileOutcome:
    """The task of one recording, on a Dask worker: :func:`sed.batch.detect_result` with the
    detector of this worker's :class:`DetectorPlugin` (and the recording's scores, with
    ``scores``).

    Raises
    ------
    ModelError
        If this worker has no detector (its setup failed).
    """
    plugin, detector, lock = worker_state(plugin_name)
    if not isinstance(plugin, DetectorPlugin):
        raise ModelError(f"{plugin_name} is not a sed detector")
    with lock:
        return detect_result(
            cast("Detector", detector), recording, plugin.settings_fingerprint, scores=scores
        )


def call_on_worker(
    recording: R, plugin_name: str, function: Callable[..., object], *args: object
) -> object:
    """The task of one recording, on a Dask worker: ``function(state, recording, *args)`` with
    the state this worker's :class:`WorkerStatePlugin` built (its turn under the plugin's lock).

    Raises
    ------
    ModelError
        If this worker has no state (its setup failed).
    """
    _, state, lock = worker_state(plugin_name)
    with lock:
        return function(state, recording, *args)


@contextlib.contextmanager
def _silenced(logger_name: str) -> Iterator[None]:
    """Drop the records of a logger (and its children) while the block runs."""
    logger = logging.getLogger(logger_name)
    previous = logger.disabled
    logger.disabled = True
    children = [
        child
        for name, child in logging.root.manager.loggerDict.items()
        if name.startswith(logger_name + ".") and isinstance(child, logging.Logger)
    ]
    before = [child.disabled for child in children]
    for child in children:
        child.disabled = True
    try:
        yield
    finally:
        logger.disabled = previous
        for child, was in zip(children, before):
            child.disabled = was


def _task_key(kind: str, recording: Recording) -> str:
    """A unique task name that says which recording it is (Dask's dashboard shows it)."""
    return f"sed-{kind}-{uuid.uuid4().hex[:8]}-{recording.relative}"


def _worker_failure(error: BaseException) -> str:
    """One line for an error raised on a worker (not a bad recording: those are outcomes)."""
    if isinstance(error, SedError):
        return str(error)
    first = str(error).splitlines()[0] if str(error) else ""
    return (
        f"a Dask worker cannot run sed ({type(error).__name__}{': ' + first if first else ''}); "
        "install the same sed version, with its weights, on every worker"
    )
