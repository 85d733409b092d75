"""Peak memory of `sed detect` on one long recording (target: 10 h in <= 1 GB).

    uv run python benchmarks/long_file_memory.py [--hours 10] [--keep] [-- SED_DETECT_OPTIONS]

Makes a 44.1 kHz 16-bit stereo FLAC of that length in /tmp/sed-bench by looping the real
recordings of ../shared/data (material.py; about 0.27 GB per hour), runs
``sed detect FILE -o events.csv`` on it in a child process, prints the child's peak resident
memory (``ru_maxrss``), wall time, x real time, the CPU and the load, and deletes the recording
unless --keep is given. Options after ``--`` go to ``sed detect`` (``--scores`` keeps the whole
score grid for its table; ``--head DIR`` scores with a head).
"""

from __future__ import annotations

import argparse
import os
import sys

import material
import soundfile as sf
from _common import cpu_model
from speed import BIN, WORK, load, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=10.0)
    parser.add_argument("--keep", action="store_true", help="keep the recording afterwards")
    parser.add_argument("sed_options", nargs="*", help="extra options for sed detect, after --")
    args = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    path = WORK / f"long_{args.hours:g}h.flac"
    try:
        what = material.synthesise(path, args.hours)
        info = sf.info(path)
        print(
            f"audio: {path}: {info.frames / info.samplerate / 3600:.3f} h, {info.samplerate} Hz, "
            f"{info.channels} ch, {os.path.getsize(path) / 1e9:.2f} GB ({what})"
        )
        print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; before: {load()}")
        command = [
            str(BIN / "sed"),
            "detect",
            str(path),
            "-o",
            str(WORK / "long_events.csv"),
            *args.sed_options,
        ]
        result = run(command)
        print(
            f"{' '.join(command[1:])}: peak RSS {result.peak_mb:.0f} MB, wall {result.wall:.1f} s "
            f"({info.frames / info.samplerate / result.wall:.0f}x real time), "
            f"CPU {result.cpu:.1f} s"
        )
        print(result.stdout.strip().splitlines()[0])
        print(f"after: {load()}")
    finally:
        if not args.keep and path.exists():
            path.unlink()
            print(f"deleted {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
