"""`sed listen`: latency and CPU share in real time, and memory over a day of audio.

    uv run python benchmarks/listen.py latency [--minutes 10] [--data DIR] [-- SED_OPTIONS]
    uv run python benchmarks/listen.py memory [--hours 24] [--data DIR] [-- SED_OPTIONS]

Both pipe 16 kHz 16-bit mono PCM into ``sed listen - --rate 16000`` (all 521 classes and the
default post-processing unless options follow ``--``), made by looping the real recordings of
../shared/data (material.py: the 44.1 kHz mono files, resampled with soxr; synthetic stand-in
audio where they are absent, and the script says so).

latency: the PCM is written at real-time pace, in 20 ms writes. The library's Listener, fed the
same samples in the same 20 ms blocks beforehand, tells after which block each event is decided
(the last audio it depends on). An event's latency is the wall time its JSON line is read from
the pipe minus the time that block was written. Also: the CPU share of one core used by the
listening process while listening (its CPU time from /proc over the wall time of the feeding,
start-up excluded), and its peak memory.

memory: the PCM is written as fast as `sed listen` reads it. The process's resident memory and
peak (VmRSS, VmHWM from /proc) are printed after every hour of audio; compare the peak at 1 h
with the peak at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

import material
import numpy as np
import soundfile as sf

BIN = Path(sys.executable).parent
RATE = 16000
WRITE_SECONDS = 0.02


def cpu_model() -> str:
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def tape(data: Path, minutes: float) -> tuple[np.ndarray, str]:
    """At least ``minutes`` of 16 kHz int16 mono from the real recordings, in sorted order."""
    from sed.audio import resample

    files = material.real_material(data)
    pieces, total = [], 0
    if files:
        for path in files:
            samples, rate = sf.read(path, dtype="float32")
            pieces.append(resample(samples, rate, RATE))
            total += len(pieces[-1])
            if total >= minutes * 60 * RATE:
                break
        what = f"{len(pieces)} real recordings of {data}"
    else:
        stream = material._synthetic(1)
        while total < minutes * 60 * RATE:
            pieces.append(resample(next(stream), material.RATE, RATE))
            total += len(pieces[-1])
        what = "seeded synthetic audio (shared data absent)"
    audio = np.clip(np.concatenate(pieces), -1, 32767 / 32768)
    return (audio * 32768).astype("<i2"), what


def proc_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MiB."""
    values = {}
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith(("VmRSS:", "VmHWM:")):
                values[line.split(":")[0]] = int(line.split()[1]) / 1024
    return values["VmRSS"], values["VmHWM"]


def start_listening(options: list[str]) -> subprocess.Popen:
    """``sed listen`` on a pipe; returns once it has loaded the model and started reading."""
    command = [str(BIN / "sed"), "listen", "-", "--rate", str(RATE), *options]
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0
    )
    return process


def decision_blocks(samples: np.ndarray, options: list[str], block: int) -> dict:
    """For each event, the index of the block after which the library's Listener, fed the
    samples in the same blocks, gives it out."""
    import sed
    from sed.listen import Listener

    listener = Listener(
        sed.load_model(),
        sample_rate=RATE,
        classes=_option(options, "--classes"),
        label_map=_option(options, "--label-map"),
        postprocessing=_config(options),
    )
    decided = {}
    for index, start in enumerate(range(0, len(samples), block)):
        for event in listener.push(samples[start : start + block].astype(np.float32) / 32768):
            decided[(round(event.onset, 6), event.event_label)] = (index, event.offset)
    return decided


def _option(options: list[str], name: str):
    return options[options.index(name) + 1] if name in options else None


def _config(options: list[str]):
    """The post-processing of the options this benchmark passes on to ``sed listen``."""
    from sed.postprocessing import PostProcessing

    names = {
        "--threshold": "threshold_on",
        "--threshold-on": "threshold_on",
        "--threshold-off": "threshold_off",
        "--median-filter": "median_filter_seconds",
        "--min-gap": "min_gap_seconds",
        "--min-duration": "min_duration_seconds",
    }
    values: dict = {
        field: float(_option(options, flag)) for flag, field in names.items() if flag in options
    }
    if "--boundaries" in options:
        values["boundaries"] = _option(options, "--boundaries")
    return PostProcessing(**values)


def latency(args) -> None:
    samples, what = tape(args.data, args.minutes)
    samples = samples[: int(args.minutes * 60 * RATE)]
    block = int(WRITE_SECONDS * RATE)
    print(f"audio: {len(samples) / RATE / 60:.1f} min of 16 kHz PCM from {what}")
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; before: {load()}")
    decided = decision_blocks(samples, args.sed_options, block)
    delays = np.array([(i + 1) * WRITE_SECONDS - offset for i, offset in decided.values()])
    print(
        f"offline: the library decides {len(decided)} events before the end, this long after "
        f"their offset (stream time): p50 {np.percentile(delays, 50):.2f} s, "
        f"p95 {np.percentile(delays, 95):.2f} s, max {delays.max():.2f} s"
    )
    process = start_listening(args.sed_options)
    ready = threading.Event()
    stderr_lines = []

    def read_stderr():
        for line in process.stderr:
            stderr_lines.append(line.decode().rstrip())
            if "listening to" in stderr_lines[-1]:
                ready.set()

    printed = []

    def read_stdout():
        for line in process.stdout:
            printed.append((time.perf_counter(), json.loads(line)))

    threads = [threading.Thread(target=f, daemon=True) for f in (read_stderr, read_stdout)]
    for thread in threads:
        thread.start()
    # The header-less stream starts with the first write: wait for the model to load first.
    time.sleep(0.5)
    written = []
    cpu_start, start = proc_cpu_seconds(process.pid), time.perf_counter()
    for index, begin in enumerate(range(0, len(samples), block)):
        delay = start + index * WRITE_SECONDS - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        process.stdin.write(samples[begin : begin + block].tobytes())
        written.append(time.perf_counter())
    wall = time.perf_counter() - start
    cpu = proc_cpu_seconds(process.pid) - cpu_start
    rss, peak = proc_memory_mb(process.pid)
    process.stdin.close()
    process.wait()
    for thread in threads:
        thread.join()
    latencies, unmatched = [], 0
    for read_at, event in printed:
        found = decided.get((round(event["onset"], 6), event["event_label"]))
        if found is None:
            unmatched += 1  # decided only by the end of the stream
            continue
        latencies.append(read_at - written[found[0]])
    values = np.array(latencies)
    print(
        f"sed listen {' '.join(args.sed_options)}: {len(printed)} events printed, "
        f"{len(values)} decided before the end"
        + (f" ({unmatched} at the end)" if unmatched else "")
    )
    print(
        f"latency after the deciding audio was written: p50 {np.percentile(values, 50):.3f} s, "
        f"p95 {np.percentile(values, 95):.3f} s, max {values.max():.3f} s"
    )
    print(
        f"CPU while listening: {cpu:.1f} s over {wall:.1f} s of real time = "
        f"{100 * cpu / wall:.1f} % of one core; memory {rss:.0f} MiB (peak {peak:.0f} MiB)"
    )
    print(f"after: {load()}")


def memory(args) -> None:
    samples, what = tape(args.data, 30)
    print(f"audio: {args.hours:g} h of 16 kHz PCM, looping {len(samples) / RATE / 60:.1f} min "
          f"from {what}")  # fmt: skip
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; before: {load()}")
    process = start_listening(["--quiet", *args.sed_options])
    counted = [0]

    def read_stdout():
        for _ in process.stdout:
            counted[0] += 1

    reader = threading.Thread(target=read_stdout, daemon=True)
    reader.start()
    hour = RATE * 3600
    total, position, start = int(args.hours * hour), 0, time.perf_counter()
    chunk = RATE * 10
    for done in range(0, total, chunk):
        n = min(chunk, total - done)
        piece = np.take(samples, np.arange(position, position + n), mode="wrap")
        position = (position + n) % len(samples)
        process.stdin.write(piece.tobytes())
        if (done + n) % hour == 0 or done + n == total:
            rss, peak = proc_memory_mb(process.pid)
            elapsed = time.perf_counter() - start
            print(
                f"{(done + n) / hour:5.1f} h read: memory {rss:.0f} MiB, peak {peak:.0f} MiB, "
                f"{counted[0]} events, {elapsed:.0f} s ({(done + n) / RATE / elapsed:.0f}x real "
                f"time), {load()}",
                flush=True,
            )
    process.stdin.close()
    status = process.wait()
    reader.join()
    print(f"exit {status}, {counted[0]} events; after: {load()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["latency", "memory"])
    parser.add_argument("--minutes", type=float, default=10.0, help="latency: audio length")
    parser.add_argument("--hours", type=float, default=24.0, help="memory: audio length")
    parser.add_argument("--data", type=Path, default=material.SHARED_DATA)
    parser.add_argument("sed_options", nargs="*", help="options for sed listen, after --")
    args = parser.parse_args()
    latency(args) if args.mode == "latency" else memory(args)


if __name__ == "__main__":
    main()
