"""Where the time goes in `sed`'s engine, and which settings are fastest on this machine.

    uv run python benchmarks/engine.py [--minutes 10] [--audio FILE]

On the benchmark recording of speed.py (44.1 kHz stereo FLAC, made once in /tmp/sed-bench),
in this process, times with both wall clock and CPU clock (all threads):

- each stage alone: FLAC decoding, downmix + soxr, numpy log-mel, LiteRT on 1 and 2 threads;
- ``score_file`` end to end with the reader in a background thread or not, LiteRT on 1 or 2
  threads, and several batch sizes.

Figures are per hour of audio. The load average is printed with each line: on a shared machine
wall times mean little unless it is low.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from pathlib import Path

import material
import numpy as np
import soundfile as sf
from speed import WORK
from threadpoolctl import threadpool_limits

from sed.audio import StreamResampler, to_mono
from sed.features import log_mel_spectrogram
from sed.model import Yamnet
from sed.params import YamnetParams


def report(name: str, seconds_of_audio: float, wall: float, cpu: float) -> None:
    per_hour = 3600 / seconds_of_audio
    print(
        f"{name:44s} wall {wall * per_hour:6.2f} s/h ({seconds_of_audio / wall:5.0f}x)  "
        f"cpu {cpu * per_hour:6.2f} s/h   load {os.getloadavg()[0]:.2f}",
        flush=True,
    )


def timed(function):
    wall, cpu = time.perf_counter(), time.process_time()
    function()
    return time.perf_counter() - wall, time.process_time() - cpu


def stages(path: Path, seconds: float, models: dict) -> None:
    frames = int(seconds * sf.info(path).samplerate)
    blocks = [
        b
        for b, _ in zip(
            sf.blocks(path, 1 << 18, dtype="float32", always_2d=True),
            range(frames // (1 << 18) + 1),
        )
    ]
    audio = seconds_of(blocks, sf.info(path).samplerate)
    report(
        "decode FLAC (soundfile, float32)",
        audio,
        *timed(
            lambda: [
                b
                for b, _ in zip(
                    sf.blocks(path, 1 << 18, dtype="float32", always_2d=True), range(len(blocks))
                )
            ]
        ),
    )
    resampled = []

    def downmix_resample():
        stream = StreamResampler(44100, 16000)
        resampled[:] = [stream.push(to_mono(b)) for b in blocks]

    report("downmix + soxr HQ stream", audio, *timed(downmix_resample))
    params = YamnetParams()
    report(
        "numpy log-mel (per 16 kHz block)",
        audio,
        *timed(lambda: [log_mel_spectrogram(b, params) for b in resampled if len(b) >= 400]),
    )
    patches = np.random.default_rng(0).normal(-4, 2, (64, 96, 64)).astype(np.float32)
    windows = int(audio * 2)
    for threads, model in models.items():
        report(
            f"LiteRT, {threads} thread(s), batch 64",
            audio,
            *timed(lambda model=model: [model.predict(patches) for _ in range(windows // 64)]),
        )


def seconds_of(blocks, rate):
    return sum(len(b) for b in blocks) / rate


def end_to_end(path: Path, seconds: float, models: dict, batch_sizes) -> None:
    from sed.segmenter import score_stream

    rate = sf.info(path).samplerate
    n_blocks = int(seconds * rate) // (1 << 18) + 1
    for (threads, model), overlap, batch_size in itertools.product(
        models.items(), (True, False), batch_sizes
    ):

        def run(model=model, batch_size=batch_size, overlap=overlap):
            stream = StreamResampler(rate, 16000)
            blocks = (
                stream.push(to_mono(b))
                for b, _ in zip(
                    sf.blocks(path, 1 << 18, dtype="float32", always_2d=True), range(n_blocks)
                )
            )
            score_stream(blocks, model, batch_size=batch_size, overlap=overlap)

        report(
            f"score_file: {threads} thread(s), overlap {overlap!s:5}, batch {batch_size}",
            n_blocks * (1 << 18) / rate,
            *timed(run),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--audio", type=Path)
    parser.add_argument("--batch-sizes", default="64", help="comma-separated, for end to end")
    args = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    path = args.audio or WORK / "bench_1h.flac"
    if not args.audio:
        material.synthesise(path, 1.0)
    models = {threads: Yamnet.load(backend="litert", threads=threads) for threads in (1, 2)}
    with threadpool_limits(limits=1, user_api="blas"):
        stages(path, args.minutes * 60, models)
    end_to_end(path, args.minutes * 60, models, [int(b) for b in args.batch_sizes.split(",")])


if __name__ == "__main__":
    main()
