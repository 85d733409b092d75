"""``sed detect --scheduler``: batches on a Dask cluster of worker processes on 127.0.0.1.

One ``LocalCluster`` (2 worker processes, 1 thread each) serves the module's tests; Dask's
retry bound is set to 1 for it (a task is given up after 2 worker deaths). Faults inside the
workers are caused by a worker plugin of this module (:class:`Sabotage`) that wraps the
per-recording work of ``sed.cluster`` in the worker processes: it is re-applied to a worker
restarted after a death, as Dask re-applies every plugin.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from sed.audio import find_audio_files
from sed.batch import SCHEDULER_ENV, run_batch
from sed.cli import cli
from sed.errors import ModelError, ParameterError, SedError
from tests.test_batch import SPEC, done_results, make_archive

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

from sed.cluster import TASKS_AHEAD_PER_THREAD, DaskRunner  # noqa: E402  (after the skip: it imports distributed)

CSV = ["csv"]
BIN = Path(sys.executable).parent
ALLOWED_FAILURES = 1


@pytest.fixture(scope="module")
def cluster(session_cache_dir):
    """Two single-threaded worker processes and their scheduler, on loopback only."""
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES}),
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as local,
    ):
        yield local


@pytest.fixture(scope="module")
def client(cluster):
    with distributed.Client(cluster, set_as_default=False) as connected:
        yield connected


@pytest.fixture(scope="module")
def archive(tmp_path_factory, bells_wav):
    """Three real recordings and two bad files (tests/test_batch.py's), with their outputs of a
    local run (one process, score tables too) to compare with."""
    root = tmp_path_factory.mktemp("cluster")
    make_archive(root / "in", bells_wav)
    recordings = find_audio_files([str(root / "in")]).files
    run_batch(recordings, str(root / "local"), spec=SPEC, formats=CSV, quiet=True, scores=True)
    return root


class Sabotage(distributed.WorkerPlugin):
    """Wraps ``sed.cluster.detect_result`` in each worker process, for recordings whose path
    contains ``target``: ``"die"`` ends the worker process (``os._exit``), every time or, with a
    ``marker`` file, only the first time (it creates the marker); ``"slow"`` sleeps first."""

    def __init__(self, target: str, action: str, marker: str | None = None, seconds: float = 0):
        self.target, self.action, self.marker, self.seconds = target, action, marker, seconds

    def setup(self, worker):
        import sed.cluster

        self.original = original = sed.cluster.detect_result

        def sabotaged(detector, recording, settings_fingerprint, **options):
            if self.target in recording.path:
                if self.action == "slow":
                    time.sleep(self.seconds)
                elif self.marker is None or not os.path.exists(self.marker):
                    if self.marker is not None:
                        Path(self.marker).touch()
                    os._exit(1)  # the worker process dies, as if killed or out of memory
            return original(detector, recording, settings_fingerprint, **options)

        sed.cluster.detect_result = sabotaged

    def teardown(self, worker):
        import sed.cluster

        sed.cluster.detect_result = self.original


@pytest.fixture
def sabotage(client):
    """Install a :class:`Sabotage` on the cluster for one test."""
    names = []

    def install(*args, **kwargs):
        names.append(f"sabotage-{len(names)}")
        client.register_plugin(Sabotage(*args, **kwargs), name=names[-1])

    yield install
    for name in names:
        client.unregister_worker_plugin(name)


def tree(folder: Path) -> dict[str, bytes]:
    """Every output file of a batch but its parameters and state, by relative path."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".sed" not in p.parts and p.name != "parameters.json"
    }


def worker_pids(client) -> set[int]:
    return set(client.run(os.getpid).values())


@pytest.mark.slow
def test_a_cluster_batch_writes_what_a_local_run_writes_though_a_worker_dies(
    client, cluster, archive, sabotage, tmp_path
):
    marker = tmp_path / "killed-once"
    sabotage("a2.flac", "die", marker=str(marker))  # its first try kills the worker process
    before = worker_pids(client)
    recordings = find_audio_files([str(archive / "in")]).files
    out = tmp_path / "out"
    with DaskRunner(cluster.scheduler_address) as runner:
        summary = run_batch(
            recordings, str(out), spec=SPEC, formats=CSV, quiet=True, runner=runner, scores=True
        )
        assert marker.exists()  # a worker process died running a2.flac...
        client.wait_for_workers(2, timeout=60)
        assert len(worker_pids(client) - before) == 1  # ...and its nanny started another
        # Every recording dealt with once, a2.flac by the retry; the corrupt and the empty
        # file are failure rows. Per-recording tables and score tables, all_events.*,
        # durations.tsv and failures.csv: byte for byte a local run's.
        assert (summary.count("done"), summary.count("failed")) == (3, 2)
        assert sorted(o.recording.path for o in summary.outcomes) == sorted(
            r.path for r in recordings
        )
        assert tree(out) == tree(archive / "local")
        assert "siteB/broken.wav" in (out / "failures.csv").read_text()
        # Run again: nothing left to do.
        again = run_batch(
            recordings, str(out), spec=SPEC, formats=CSV, quiet=True, runner=runner, scores=True
        )
        assert (again.count("skipped"), again.count("failed")) == (3, 2)
    assert tree(out) == tree(archive / "local")


@pytest.mark.slow
def test_a_recording_whose_workers_keep_dying_is_a_failure_row(client, archive, sabotage, tmp_path):
    sabotage("a2.flac", "die")  # every time
    recordings = find_audio_files([str(archive / "in")]).files
    out = tmp_path / "out"
    # One task at a time: Dask also counts a death against the tasks waiting in the dying
    # worker's queue, which could then fail too (rarely, with the default of 3 retries).
    with DaskRunner(client, tasks_ahead=1) as runner:
        summary = run_batch(recordings, str(out), spec=SPEC, formats=CSV, quiet=True, runner=runner)
    assert (summary.count("done"), summary.count("failed")) == (2, 3)
    failures = (out / "failures.csv").read_text()
    assert (
        f'a2.flac,"the Dask worker processes running it died {ALLOWED_FAILURES + 1} times '
        "(killed, or out of memory?), the last one at tcp://127.0.0.1:"
    ) in failures
    assert not (out / "siteA" / "deep" / "a2.sed.csv").exists()
    # The other recordings are the local run's.
    local = tree(archive / "local")
    assert tree(out)["siteA/a1.sed.csv"] == local["siteA/a1.sed.csv"]


@pytest.mark.slow
def test_a_worker_whose_model_differs_from_the_clients_refuses_to_work(model):
    from sed.cluster import DetectorPlugin, model_identity

    detector = SPEC.build()
    identity = model_identity(SPEC, detector)
    assert identity["weights"] == detector.model.weights_sha256  # content, not a path
    other = {**identity, "sed_version": "0.0.1", "backend": "tensorflow"}
    plugin = DetectorPlugin(SPEC, other, "f" * 16)
    with pytest.raises(ModelError, match=r"differ from the client's \(backend, sed_version\)"):
        plugin._build(threads=1)
    assert DetectorPlugin(SPEC, identity, "f" * 16)._build(threads=1).model.backend == "litert"


def mapped_by_malloc(nbytes: int) -> bool:
    """Whether glibc's malloc in this process serves ``nbytes`` by a fresh ``mmap`` (not from
    its heap): the bytes it holds mapped (``mallinfo2().hblkhd``) grow by them."""
    import ctypes

    class Mallinfo2(ctypes.Structure):  # glibc's struct mallinfo2, in its order
        _fields_ = [
            (name, ctypes.c_size_t)
            for name in (
                "arena", "ordblks", "smblks", "hblks", "hblkhd",
                "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost",
            )
        ]  # fmt: skip

    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = Mallinfo2
    libc.malloc.restype = ctypes.c_void_p
    before = libc.mallinfo2().hblkhd
    block = libc.malloc(nbytes)
    mapped = libc.mallinfo2().hblkhd - before >= nbytes
    libc.free(ctypes.c_void_p(block))
    return mapped


@pytest.mark.slow
@pytest.mark.skipif(
    not (getattr(os, "confstr", None) and (os.confstr("CS_GNU_LIBC_VERSION") or "")[:5] == "glibc"),
    reason="glibc's malloc only",
)
def test_workers_allocate_as_a_plain_process_while_batches_run(client):
    """Dask starts its workers with MALLOC_TRIM_THRESHOLD_ set, which fixes glibc's mmap
    threshold at 128 KiB: a 1 MiB array is mapped anew each time (a third more CPU time per
    recording). A batch's plugin lifts the thresholds while it is set up; the last of two batches
    sharing the workers to end puts Dask's setting back."""
    from sed.cluster import DetectorPlugin, model_identity

    one_mib = 1024 * 1024
    assert set(client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_").values()) == {"65536"}
    assert set(client.run(mapped_by_malloc, one_mib).values()) == {True}
    identity = model_identity(SPEC, SPEC.build())
    names = ["batch-1", "batch-2"]
    for name in names:
        client.register_plugin(DetectorPlugin(SPEC, identity, "f" * 16), name=name)
    try:
        assert set(client.run(mapped_by_malloc, one_mib).values()) == {False}
        client.unregister_worker_plugin(names.pop(0))
        assert set(client.run(mapped_by_malloc, one_mib).values()) == {False}  # one batch left
    finally:
        for name in names:
            client.unregister_worker_plugin(name)
    assert set(client.run(mapped_by_malloc, one_mib).values()) == {True}


def sed_command(*args: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "sed"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **env},
    )


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.slow
def test_the_client_stopped_or_killed_mid_run_resumes(
    cluster, client, archive, sabotage, tmp_path, bells_wav
):
    # Ten recordings that take 0.4 s or more each on the workers: the client is stopped mid-run.
    audio, rate = sf.read(bells_wav, dtype="float32")
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(10):
        sf.write(folder / f"rec{i:02}.wav", audio[i * rate : (i + 4) * rate], rate)
    sabotage("rec", "slow", seconds=0.4)
    out = tmp_path / "out"
    results = out / ".sed" / "results"
    command = ["detect", str(folder), "-o", str(out), "--classes", "Bicycle bell,Speech"]

    process = sed_command(*command, **{SCHEDULER_ENV: cluster.scheduler_address})
    in_flight = []  # the batch's tasks the scheduler holds, sampled while it runs

    def two_done() -> bool:
        with contextlib.suppress(RuntimeError):  # the scheduler's thread changed the dict
            keys = list(cluster.scheduler.tasks)
            in_flight.append(
                sum(bool(re.fullmatch(r"sed-detect-\w{8}-rec\d\d\.wav", k)) for k in keys)
            )
        return len(done_results(results)) >= 2

    assert wait_for(two_done, 120)
    # Back-pressure: 2 tasks ahead per worker thread (and one or two finished ones the client
    # is still taking), not all 10 at once.
    assert 0 < max(in_flight) <= TASKS_AHEAD_PER_THREAD * 2 + 2 < 10
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    lines = stderr.decode().strip().splitlines()
    assert process.returncode == 128 + signal.SIGTERM, lines
    assert lines[-1].startswith("sed detect: interrupted by SIGTERM: "), lines
    assert lines[-1].endswith("recordings done; run the same command again to resume"), lines
    assert "Traceback" not in stderr.decode(), stderr.decode()
    stopped = len(done_results(results))
    assert 2 <= stopped < 10

    process = sed_command(*command, "--scheduler", cluster.scheduler_address)
    assert wait_for(lambda: len(done_results(results)) > stopped, 120)
    process.kill()  # SIGKILL: no clean-up at all
    process.communicate(timeout=30)
    killed = len(done_results(results))
    assert killed < 10

    with DaskRunner(client) as runner:
        summary = run_batch(
            find_audio_files([str(folder)]).files,
            str(out),
            spec=SPEC,
            formats=CSV,
            quiet=True,
            runner=runner,
        )
    assert (summary.count("skipped"), summary.count("done")) == (killed, 10 - killed)
    assert len(done_results(results)) == 10
    assert not list(out.rglob(".*.tmp"))  # the killed run's temporary files are gone
    tables = [json.loads(p.read_text())["events"] for p in sorted(results.glob("*.json"))]
    combined = (out / "all_events.csv").read_text().splitlines()
    assert len(combined) == 1 + sum(map(len, tables))


@pytest.mark.slow
def test_a_lost_scheduler_stops_the_batch_with_the_resume_hint(tmp_path, bells_wav):
    """A scheduler and a worker started as users start them (``dask scheduler``, ``dask
    worker``); the scheduler is killed mid-run."""
    audio, rate = sf.read(bells_wav, dtype="float32")
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(20):
        sf.write(folder / f"rec{i:02}.wav", audio[i : i + 10 * rate], rate)
    address_file = tmp_path / "scheduler.json"
    env = {**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "3s"}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    scheduler = subprocess.Popen(
        [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0"]
        + ["--no-dashboard", "--scheduler-file", str(address_file)],
        **quiet,
    )
    worker = None
    try:
        assert wait_for(address_file.exists, 60)
        worker = subprocess.Popen(
            [str(BIN / "dask"), "worker", "--scheduler-file", str(address_file)]
            + ["--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"],
            **quiet,
        )
        address = json.loads(address_file.read_text())["address"]
        out = tmp_path / "out"
        process = subprocess.Popen(
            [str(BIN / "sed"), "detect", str(folder), "-o", str(out), "--scheduler", address],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        results = out / ".sed" / "results"
        assert wait_for(lambda: len(done_results(results)) >= 1, 120)
        scheduler.kill()
        _, stderr = process.communicate(timeout=60)
    finally:
        for started in (scheduler, worker):
            if started is not None and started.poll() is None:
                started.kill()
                started.wait(30)
    lines = stderr.decode().strip().splitlines()
    assert process.returncode == 1, lines
    assert "Traceback" not in stderr.decode()
    assert lines[-1].startswith(
        f"sed detect: error: lost the connection to the Dask scheduler at {address}; the batch "
        "stopped with "
    ), lines
    assert lines[-1].endswith(" of 20 recordings done: run the same command again to resume")


# ---- refused before any work (no cluster needed) ---------------------------------------------


@pytest.fixture
def small_archive(tmp_path, rng):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(2):
        sf.write(folder / f"r{i}.wav", (0.1 * rng.standard_normal(16000)).astype(np.float32), 16000)
    return folder


def invoke(*args: str, **env: str):
    return CliRunner().invoke(cli, list(args), env=env or None, prog_name="sed")


def test_scheduler_without_dask_is_one_clear_line(small_archive, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    monkeypatch.delitem(sys.modules, "sed.cluster", raising=False)
    result = invoke(
        "detect", str(small_archive), "-o", str(tmp_path / "o"), "--scheduler", "tcp://h:1"
    )
    assert result.exit_code == 2
    line = result.output.strip().splitlines()[-1]
    assert line.startswith("sed detect: error: --scheduler needs Dask distributed (")
    assert line.endswith("): pip install 'sed[dask]'")
    assert not (tmp_path / "o").exists()


def test_an_unreachable_scheduler_is_one_clear_line(small_archive, tmp_path):
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        result = invoke(
            "detect", str(small_archive), "-o", str(tmp_path / "o"), "--scheduler", "127.0.0.1:9"
        )
    assert result.exit_code == 1
    line = result.output.strip().splitlines()[-1]
    assert line.startswith("sed detect: error: cannot reach the Dask scheduler at 127.0.0.1:9 (")
    assert line.endswith("); is `dask scheduler` running there, and reachable from this machine?")
    assert not (tmp_path / "o").exists()  # refused before any file


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--jobs", "2"], "--jobs sets local worker processes; with --scheduler the cluster's"),
        (["--scheduler", "nonsense://x"], "--scheduler nonsense://x: not a Dask scheduler address"),
    ],
)
def test_scheduler_options_that_cannot_work_are_refused(small_archive, tmp_path, extra, message):
    args = ["detect", str(small_archive), "-o", str(tmp_path / "o"), *extra]
    result = invoke(*args, **{SCHEDULER_ENV: "tcp://127.0.0.1:9"})
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_scheduler_with_one_recording_is_refused_but_the_environment_is_ignored(
    small_archive, tmp_path
):
    one = str(small_archive / "r0.wav")
    given = invoke("detect", one, "-o", str(tmp_path / "e.csv"), "--scheduler", "tcp://h:1")
    assert given.exit_code == 2
    assert "--scheduler runs a batch" in given.output
    # From the environment it is not a request for this run: the run goes on (here to a
    # refusal that comes later, before the model is loaded: --basenames with one recording).
    without = invoke("detect", one, "-o", str(tmp_path / "e.csv"), "--basenames")
    with_env = invoke(
        "detect", one, "-o", str(tmp_path / "e.csv"), "--basenames", SCHEDULER_ENV="tcp://h:1"
    )
    assert with_env.exit_code == without.exit_code == 2
    assert with_env.output == without.output
    assert "--basenames names the recordings of a batch" in with_env.output


def test_the_runner_refuses_a_bad_bound_and_an_unreachable_scheduler():
    with pytest.raises(ParameterError, match="tasks_ahead must be at least 1"):
        DaskRunner("tcp://127.0.0.1:9", tasks_ahead=0)
    with pytest.raises(SedError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        DaskRunner("tcp://127.0.0.1:9", timeout_seconds=0.5)


def test_dask_is_not_imported_by_the_command_line():
    code = "import sys, sed.cli; print([m for m in ('dask', 'distributed') if m in sys.modules])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr


@pytest.mark.slow
def test_an_index_built_on_the_cluster_is_the_index_of_one_process(
    client, bells_wav, model, tmp_path
):
    from sed.indexing import index_recordings
    from tests.test_search import index_contents, one_process_index, parallel_inputs

    inputs = parallel_inputs(tmp_path / "in", bells_wav)
    reference = one_process_index(inputs, tmp_path / "one", model)
    folder = tmp_path / "cluster"
    with DaskRunner(client) as runner:
        report = index_recordings(
            find_audio_files([str(inputs)]).files, folder, model, runner=runner
        )
    assert len(report.added) == 3 and list(report.failed) == [str(inputs / "rec01_broken.wav")]
    assert report.failed[str(inputs / "rec01_broken.wav")].startswith(
        f"{inputs}/rec01_broken.wav: "
    )
    assert index_contents(folder) == index_contents(reference)


def test_an_index_with_jobs_and_a_scheduler_is_refused_before_any_work(small_archive, tmp_path):
    folder = tmp_path / "idx"
    result = invoke(
        "index", str(small_archive), "-o", str(folder), "--jobs", "2",
        **{SCHEDULER_ENV: "tcp://127.0.0.1:9"},
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.output.strip() == (
        "sed index: error: --jobs sets local worker processes; with --scheduler the cluster's "
        "workers set the parallelism"
    )
    assert not folder.exists()
