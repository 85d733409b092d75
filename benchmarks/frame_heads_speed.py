"""Throughput and memory of `sed detect --head` with a frame-level head against a window head.

    uv run python benchmarks/frame_heads_speed.py [--hours 1] [--long-hours 3] [--repeat 2]
        [--window-head DIR] [--frame-head DIR]

On the hour of 44.1 kHz stereo FLAC of speed.py (made once in /tmp/sed-bench from the real
recordings of ../shared/data, material.py), in one run, each command in its own process:

1. ``sed detect FILE --head WINDOW_HEAD -o events.csv`` (YAMNet's 0.96 s windows every 0.5 s,
   embeddings, a Dense head);
2. ``sed detect FILE --head FRAME_HEAD -o events.csv`` (YAMNet's feature maps over the
   continuous spectrogram, the CRNN head, 80 ms frames);

alternately, ``--repeat`` times each, best of each kept; then the frame head on a
``--long-hours`` recording, whose peak memory must be that of the hour (flat in length).

Without ``--window-head``/``--frame-head``, heads of the default sizes are trained (``sed
train``, once, in /tmp/sed-bench/heads) for the office classes of ../shared/data (the frame head
with few soundscapes and epochs: its speed does not depend on how well it was trained).

Prints x real time (audio duration / wall time, start-up included), CPU time, peak resident
memory, the CPU model and the load average with every figure.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import material
import soundfile as sf
from _common import DATA, cpu_model
from speed import BIN, WORK, load, run

TARGET = 1.5  # frame head throughput / window head throughput, issue 12


def office_heads(directory: Path) -> tuple[Path, Path]:
    """A window head and a frame head of the default sizes for the office classes, trained by
    ``sed train`` in child processes: this process must stay small, because Linux carries a
    parent's peak resident memory over into the children it starts (``ru_maxrss``)."""
    window, frame = directory / "window_head", directory / "frame_head"
    clips = [
        str(DATA / "dcase2016_task2" / "train_split.csv"),
        "--label-column", "event_label", "--where", "split=train",
        "--audio-dir", str(DATA / "dcase2016_task2" / "train"),
        "--background", str(DATA / "backgrounds"),
    ]  # fmt: skip
    if not (window / "head.json").exists():
        window_options = ["--mixtures", "1", "--epochs", "3"]
        run([str(BIN / "sed"), "train", *clips, "-o", str(window), *window_options])
    if not (frame / "head.json").exists():
        frame_options = ["--frame-level", "--soundscapes", "40", "--epochs", "2"]
        run([str(BIN / "sed"), "train", *clips, "-o", str(frame), *frame_options])
    return window, frame


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--long-hours", type=float, default=3.0)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--window-head", type=Path)
    parser.add_argument("--frame-head", type=Path)
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"skipped: {DATA} not found", file=sys.stderr)
        return 0
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; {load()}")
    WORK.mkdir(exist_ok=True)
    heads = Path(tempfile.gettempdir()) / "sed-bench" / "heads"
    if args.window_head and args.frame_head:
        window, frame = args.window_head, args.frame_head
    else:
        window, frame = office_heads(heads)
        window, frame = args.window_head or window, args.frame_head or frame
    path = WORK / f"bench_{args.hours:g}h.flac"
    what = material.synthesise(path, args.hours)
    info = sf.info(path)
    duration = info.frames / info.samplerate
    print(
        f"audio: {path.name}, {duration / 3600:.3f} h, {info.samplerate} Hz, "
        f"{info.channels} ch ({what})"
    )

    def detect(head: Path, audio: Path):
        command = [str(BIN / "sed"), "detect", str(audio), "--head", str(head), "-o"]
        return run([*command, str(WORK / f"events_{head.name}.csv")])

    best = {}
    for attempt in range(args.repeat):
        for name, head in (("window head", window), ("frame head", frame)):
            before = load()
            result = detect(head, path)
            print(
                f"  {name} (run {attempt + 1}): wall {result.wall:.1f} s = "
                f"{duration / result.wall:.0f}x real time, CPU {result.cpu:.1f} s, peak RSS "
                f"{result.peak_mb:.0f} MB ({before})"
            )
            if name not in best or result.wall < best[name].wall:
                best[name] = result
    ratio = best["window head"].wall / best["frame head"].wall
    print(
        f"frame head / window head throughput: {ratio:.2f} (best of {args.repeat} each; "
        f"target >= {TARGET}: {'met' if ratio >= TARGET else 'NOT met'})"
    )
    if args.long_hours:
        long_path = WORK / f"long_{args.long_hours:g}h.flac"
        try:
            material.synthesise(long_path, args.long_hours)
            before = load()
            result = detect(frame, long_path)
            print(
                f"frame head on {args.long_hours:g} h: wall {result.wall:.1f} s = "
                f"{args.long_hours * 3600 / result.wall:.0f}x real time, peak RSS "
                f"{result.peak_mb:.0f} MB against {best['frame head'].peak_mb:.0f} MB for "
                f"{args.hours:g} h ({before})"
            )
        finally:
            long_path.unlink(missing_ok=True)
    print(f"after: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
