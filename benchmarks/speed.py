"""Speed of `sed detect` against the reference pipeline, on one hour of 44.1 kHz stereo FLAC.

    uv run python benchmarks/speed.py [--hours 1] [--audio FILE] [--repeat 1] [--no-reference]

Makes the recording once in /tmp/sed-bench (looping the real recordings of ../shared/data, see
material.py; synthetic stand-in audio where they are absent), then runs, each in its own process:

1. ``sed detect FILE -o events.csv`` exactly as a user would (default backend, all 521 classes):
   decode, resample, features, model, post-processing, writing. Wall time and peak resident
   memory of the whole command, start-up included.
2. ``sed detect`` on a 10 s clip of the same audio, five times after a warm-up run: the start-up
   cost (interpreter, imports, model load), which the hour's figure also contains.
3. The reference pipeline (reference_pipeline.py: resampy kaiser_best + the TF-Hub graph) on the
   same file, with its own phase timings.

x real time = audio duration / wall time. "processing" leaves out start-up: for sed, the hour's
wall time minus the clip's median; for the reference, its read + resample + model phases.
Timings depend on what else runs: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import material
import soundfile as sf

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
WORK = Path(tempfile.gettempdir()) / "sed-bench"


class Run(NamedTuple):
    wall: float  # seconds
    cpu: float  # seconds, all threads, user + system: less sensitive than wall time to other jobs
    peak_mb: float  # peak resident memory
    stdout: str


def run(command: list[str]) -> Run:
    """Run ``command`` in a child process and measure it."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    out, err = process.stdout.read().decode(), process.stderr.read().decode()
    if process.returncode:
        sys.exit(f"failed ({process.returncode}): {' '.join(command)}\n{err}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out)


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def clip_of(path: Path, seconds: float = 10.0) -> Path:
    clip = WORK / f"clip_{int(seconds)}s.flac"
    if not clip.exists():
        samples, rate = sf.read(path, frames=int(seconds * 44100), start=600 * 44100)
        sf.write(clip, samples, rate, subtype="PCM_16")
    return clip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--audio", type=Path, help="use this file instead of the synthesised one")
    parser.add_argument("--repeat", type=int, default=1, help="runs of sed detect on the file")
    parser.add_argument("--no-reference", action="store_true")
    parser.add_argument("sed_options", nargs="*", help="extra options for sed detect, after --")
    args = parser.parse_args()

    WORK.mkdir(exist_ok=True)
    if args.audio:
        path, what = args.audio, "given"
    else:
        path = WORK / f"bench_{args.hours:g}h.flac"
        what = material.synthesise(path, args.hours)
    info = sf.info(path)
    duration = info.frames / info.samplerate
    print(
        f"audio: {path}: {duration / 3600:.3f} h, {info.samplerate} Hz, {info.channels} ch, "
        f"{info.subtype} ({what})"
    )
    sed = [str(BIN / "sed"), "detect"]

    clip = clip_of(path)
    run(sed + [str(clip), "-o", str(WORK / "clip.csv"), *args.sed_options])  # warm-up, cache
    print(f"before the clip runs: {load()}")
    clip_walls = [
        run(sed + [str(clip), "-o", str(WORK / "clip.csv"), *args.sed_options]).wall
        for _ in range(5)
    ]
    startup = statistics.median(clip_walls)

    rows = []
    for _ in range(args.repeat):
        print(f"before sed detect: {load()}")
        rows.append(run(sed + [str(path), "-o", str(WORK / "events.csv"), *args.sed_options]))
    wall, cpu, peak, _ = min(rows)
    print(
        f"sed detect {path.name}: wall {wall:.2f} s = {duration / wall:.0f}x real time, "
        f"CPU {cpu:.1f} s, peak RSS {peak:.0f} MB"
        + (
            f" (best of {args.repeat}: {', '.join(f'{r.wall:.2f}' for r in rows)})"
            if args.repeat > 1
            else ""
        )
    )
    processing = wall - startup
    print(
        f"  start-up (10 s clip, median of 5: {', '.join(f'{w:.2f}' for w in clip_walls)}): "
        f"{startup:.2f} s; processing {processing:.2f} s = {duration / processing:.0f}x real time"
    )
    print(f"sed detect 10 s clip: {startup:.2f} s wall (median of 5, warm caches)")

    if args.no_reference:
        return
    print(f"before the reference: {load()}")
    ref_wall, ref_cpu, ref_peak, out = run(
        [sys.executable, str(HERE / "reference_pipeline.py"), str(path)]
    )
    phases = json.loads(out.strip().splitlines()[-1])
    ref_processing = phases["read"] + phases["resample"] + phases["model"]
    print(
        f"reference (resampy kaiser_best + TF-Hub graph): wall {ref_wall:.2f} s = "
        f"{duration / ref_wall:.0f}x real time, CPU {ref_cpu:.1f} s, peak RSS {ref_peak:.0f} MB"
    )
    print(
        f"  imports and load {phases['imports_and_load']:.2f} s, read {phases['read']:.2f} s, "
        f"resample {phases['resample']:.2f} s ({duration / phases['resample']:.0f}x), "
        f"model {phases['model']:.2f} s ({duration / phases['model']:.0f}x); "
        f"processing {ref_processing:.2f} s = {duration / ref_processing:.0f}x real time"
    )
    print(
        f"sed detect vs reference: {ref_wall / wall:.1f}x faster (whole commands), "
        f"{ref_processing / processing:.1f}x (processing); {ref_cpu / cpu:.1f}x less CPU time"
    )
    print(f"after: {load()}")


if __name__ == "__main__":
    main()
