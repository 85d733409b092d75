"""`sed detect` or `sed index` on a Dask cluster against local worker processes, and the client's
memory.

    uv run python benchmarks/cluster.py [--command detect|index] [--recordings 32] [--minutes 2]
                                         [--paths 100000] [--stop-after 2000] [--repeats 1]

Makes ``--recordings`` recordings of ``--minutes`` each (44.1 kHz stereo FLAC cut from the
looped real recordings of ../shared/data, see material.py) once in /tmp/sed-bench/cluster, then
runs ``sed detect FOLDER -o OUT`` (default backend, all 521 classes; or ``sed index FOLDER -o
INDEX_DIR`` with ``--command index``: windows and frames) in a child process, each into a fresh
output folder:

1. locally with ``--jobs 1``, then with ``--scheduler`` on a LocalCluster (127.0.0.1) of one
   single-threaded worker process;
2. ``--repeats`` rounds (default 1) of ``--jobs 2`` and of a LocalCluster of 2 single-threaded
   worker processes, the order swapped every round.

Each cluster is started by this script before its run (its start-up is not timed); every
``sed detect`` runs in the environment this script started with.

For each: wall time of the whole command, and the batch's own processing time (the summary
line's "in X s": model loading in the client excluded, the workers' model loading included,
as for --jobs 2). ``sed index`` prints no processing time: its overhead is of the wall time,
which counts the client's start-up and model loading on both sides. Then: scaling efficiency
(2 workers / 1 worker), the cluster's overhead per recording against --jobs 2 (as many
single-threaded processes) for each round, with mean and standard deviation over several
rounds, and the client's peak resident memory for a ``--paths``-path list read from standard
input (empty files, each a quick failure row on the workers; the run is stopped with SIGTERM
after ``--stop-after`` tasks and compared with a run of 1,000 paths; ``--paths 0`` leaves that
out; ``sed detect`` only). Figures depend on what else runs: the load average is printed with
them.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import material
import soundfile as sf

BIN = Path(sys.executable).parent
WORK = Path(tempfile.gettempdir()) / "sed-bench" / "cluster"
# The environment `sed detect` runs in: this process's as it started. Starting a LocalCluster
# writes Dask's worker environment (distributed.nanny.pre-spawn-environ, MALLOC_TRIM_THRESHOLD_
# among it) into this process's own os.environ for good, which --jobs workers started after it
# would inherit: a third more CPU per recording (docs/cluster.md).
ENVIRONMENT = dict(os.environ)
SUMMARY = re.compile(r"(\d+) processed.* of audio in ([\d.]+) s")
INDEX_SUMMARY = re.compile(r"(\d+) added \(")


class Run(NamedTuple):
    wall: float  # seconds, the whole command
    processing: float  # seconds, from the batch's summary line
    processed: int
    peak_mb: float  # the client's peak resident memory


def cpu_model() -> str:
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} CPUs)"
    return "unknown CPU"


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def make_recordings(count: int, minutes: float) -> Path:
    """``count`` recordings of ``minutes`` each, cut from one looped real recording."""
    folder = WORK / f"in_{count}x{minutes:g}min"
    if folder.is_dir() and len(list(folder.glob("*.flac"))) == count:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    source = WORK / f"source_{count}x{minutes:g}min.flac"
    material.synthesise(source, count * minutes / 60)
    frames = int(minutes * 60 * sf.info(source).samplerate)
    with sf.SoundFile(source) as whole:
        for i in range(count):
            block = whole.read(frames, dtype="int16")
            sf.write(folder / f"rec{i:03}.flac", block, whole.samplerate, subtype="PCM_16")
    source.unlink()
    return folder


def run_sed(
    args: list[str], *, command: str = "detect", stdin: bytes | None = None, stop_when=None
):
    """Run ``sed COMMAND ARGS`` (stopped with SIGTERM once ``stop_when()``) and measure it;
    its processing time is the summary line's (``sed detect``) or the wall time (``sed index``,
    which prints none)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(BIN / "sed"), command, *args, "--quiet"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENVIRONMENT,
    )
    if stdin is not None:
        process.stdin.write(stdin)
    process.stdin.close()
    if stop_when is not None:
        while not stop_when() and process.poll() is None:
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    out, err = process.stdout.read().decode(), process.stderr.read().decode()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1) and not (stop_when and code == 128 + signal.SIGTERM):
        sys.exit(f"sed {command} {' '.join(args)} failed ({code}):\n{err}")
    if command == "index":
        found = INDEX_SUMMARY.search(out)
        processed, processing = (int(found[1]), wall) if found else (0, float("nan"))
        return Run(wall, processing, processed, usage.ru_maxrss / 1024)
    found = SUMMARY.search(out)  # none when stopped
    processed, processing = (int(found[1]), float(found[2])) if found else (0, float("nan"))
    return Run(wall, processing, processed, usage.ru_maxrss / 1024)


def fresh(name: str) -> str:
    path = WORK / "out" / name
    subprocess.run(["rm", "-rf", str(path)], check=True)
    return str(path)


def on_cluster(workers: int):
    from distributed import LocalCluster

    return LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )


def report(name: str, result: Run, audio_seconds: float) -> None:
    print(
        f"{name:<22} wall {result.wall:7.1f} s ({audio_seconds / result.wall:4.0f}x real time), "
        f"processing {result.processing:7.1f} s ({audio_seconds / result.processing:4.0f}x), "
        f"client peak RSS {result.peak_mb:.0f} MB; {load()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--command", choices=("detect", "index"), default="detect")
    parser.add_argument("--recordings", type=int, default=32)
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--paths", type=int, default=100_000, help="0: no memory measurement")
    parser.add_argument("--stop-after", type=int, default=2000, help="tasks of the long list")
    parser.add_argument(
        "--repeats", type=int, default=1, help="rounds of --jobs 2 against 2 workers"
    )
    args = parser.parse_args()

    print(f"CPU: {cpu_model()}; {load()}")
    folder = make_recordings(args.recordings, args.minutes)
    audio = args.recordings * args.minutes * 60
    print(f"{args.recordings} recordings x {args.minutes:g} min = {audio / 3600:.2f} h in {folder}")
    run_sed([str(folder / "rec000.flac"), "-o", str(WORK / "warm.csv")])  # LiteRT cache, disk
    command = args.command
    print(f"sed {command}")

    results = {
        "jobs1": local_run(folder, 1, audio, command),
        "cluster1": cluster_run(folder, 1, audio, command),
    }
    overheads = []  # (ms per recording, %) per round
    for number in range(args.repeats):
        # Swapped every round, so that a drift in the machine's load favours neither side.
        runs = (local_run, cluster_run) if number % 2 == 0 else (cluster_run, local_run)
        pair = {run.__name__: run(folder, 2, audio, command) for run in runs}
        local, remote = pair["local_run"].processing, pair["cluster_run"].processing
        overheads.append(((remote - local) / args.recordings * 1000, (remote / local - 1) * 100))
        results.update(jobs2=pair["local_run"], cluster2=pair["cluster_run"])

    one, two = results["cluster1"].processing, results["cluster2"].processing
    print(f"scaling efficiency (2 workers / 1 worker): {one / two:.2f}x ({one / two / 2:.0%})")
    # Against --jobs 2, the same work: two single-threaded processes. (--jobs 1 is one process
    # whose model runs on every core, not one single-threaded worker.)
    for ms, percent in overheads:
        print(f"cluster overhead against --jobs 2: {ms:+.0f} ms per recording ({percent:+.1f} %)")
    if len(overheads) > 1:
        ms, percent = (statistics.mean(column) for column in zip(*overheads))
        ms_sd, percent_sd = (statistics.stdev(column) for column in zip(*overheads))
        print(
            f"over {len(overheads)} rounds: {ms:+.0f} ± {ms_sd:.0f} ms per recording "
            f"({percent:+.1f} ± {percent_sd:.1f} %, mean ± standard deviation)"
        )

    if args.paths > 0 and command == "detect":
        client_memory(args.paths, args.stop_after)


def local_run(folder: Path, jobs: int, audio_seconds: float, command: str) -> Run:
    """``sed COMMAND FOLDER --jobs JOBS`` into a fresh folder, reported."""
    result = run_sed(
        [str(folder), "-o", fresh(f"jobs{jobs}"), "--jobs", str(jobs)], command=command
    )
    report(f"local --jobs {jobs}", result, audio_seconds)
    return result


def cluster_run(folder: Path, workers: int, audio_seconds: float, command: str) -> Run:
    """``sed COMMAND FOLDER --scheduler`` on a fresh LocalCluster of ``workers`` single-threaded
    worker processes (its start-up not timed), into a fresh folder, reported."""
    with on_cluster(workers) as cluster:
        address = cluster.scheduler_address
        result = run_sed(
            [str(folder), "-o", fresh(f"cluster{workers}"), "--scheduler", address],
            command=command,
        )
    report(f"cluster, {workers} worker{'s' * (workers > 1)}", result, audio_seconds)
    return result


def client_memory(paths_count: int, stop_after: int) -> None:
    """The client's memory for a long path list: empty files, each a quick failure row. The
    long list is stopped once the scheduler has finished ``stop_after`` of its tasks."""
    empty = WORK / "empty"
    if len(list(empty.glob("*.wav"))) < paths_count:
        empty.mkdir(exist_ok=True)
        for i in range(paths_count):
            (empty / f"e{i:06}.wav").touch()
    paths = sorted(str(p) for p in empty.glob("*.wav"))[:paths_count]
    with on_cluster(2) as cluster:
        finished = task_counter()
        cluster.scheduler.add_plugin(finished)
        for count, stop in ((1000, None), (paths_count, stop_after)):
            finished.count = 0
            listed = "\n".join(paths[:count]).encode() + b"\n"
            result = run_sed(
                ["-", "-o", fresh(f"paths{count}"), "--scheduler", cluster.scheduler_address],
                stdin=listed,
                stop_when=(lambda stop=stop: finished.count >= stop) if stop else None,
            )
            print(
                f"{count} paths on standard input: client peak RSS {result.peak_mb:.0f} MB, "
                f"{finished.count} tasks finished in {result.wall:.0f} s"
                + (" (then stopped)" if stop else "")
                + f"; {load()}"
            )


def task_counter():
    """A scheduler plugin counting the batch's tasks that finished (done or failed)."""
    from distributed.diagnostics.plugin import SchedulerPlugin

    class Counter(SchedulerPlugin):
        count = 0

        def transition(self, key, start, finish, *args, **kwargs):
            if finish in ("memory", "erred") and str(key).startswith("sed-detect-"):
                self.count += 1

    return Counter()


if __name__ == "__main__":
    main()
