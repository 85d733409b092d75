"""Long 44.1 kHz stereo FLAC test recordings, made by looping the real recordings of ../shared/data.

Used by the benchmark scripts beside this file (not by the test suite). The left channel loops the
44.1 kHz files of the shared data in sorted order, the right channel in reverse order, so the two
channels carry different real material. Where the shared data is absent, seeded synthetic audio
(noise bursts, chirps and tones over pink-ish noise) stands in, and the scripts say so.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
RATE = 44100
BLOCK_SECONDS = 60


def real_material(root: Path = SHARED_DATA, rate: int = RATE) -> list[Path]:
    """The mono recordings at ``rate`` Hz under ``root`` (sorted), or [] where it is absent."""
    if not root.is_dir():
        return []
    return [
        path
        for path in sorted(root.rglob("*.flac"))
        if sf.info(path).samplerate == rate and sf.info(path).channels == 1
    ]


def _looped(files: list[Path]):
    """Endless stream of float32 mono blocks from ``files``, in order, looping."""
    while True:
        for path in files:
            yield sf.read(path, dtype="float32")[0]


def _synthetic(seed: int):
    """Endless seeded stand-in when no real material exists: 10 s scenes of events over noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(10 * RATE) / RATE
    while True:
        scene = np.cumsum(rng.standard_normal(t.size)).astype(np.float32)
        scene = 0.02 * (scene - np.convolve(scene, np.ones(441) / 441, "same"))
        for _ in range(rng.integers(1, 4)):
            start, length = rng.uniform(0, 8), rng.uniform(0.2, 2.0)
            inside = (t >= start) & (t < start + length)
            tone = np.sin(2 * np.pi * rng.uniform(200, 4000) * (t + rng.uniform(0, 500) * t**2))
            scene[inside] += (0.3 * tone[inside]).astype(np.float32)
        yield scene


def synthesise(path: str | os.PathLike, hours: float, *, root: Path = SHARED_DATA) -> str:
    """Write ``hours`` of 44.1 kHz 16-bit stereo FLAC to ``path`` (atomically), once.

    Returns a one-line description of the material used. An existing file of the right length is
    kept as it is.
    """
    path = Path(path)
    n_total = int(round(hours * 3600 * RATE))
    files = real_material(root)
    what = (
        f"{len(files)} real 44.1 kHz recordings of {root}, looped"
        if files
        else "seeded synthetic audio (shared data absent)"
    )
    if path.exists() and sf.info(path).frames == n_total and sf.info(path).channels == 2:
        return what
    left = _looped(files) if files else _synthetic(1)
    right = _looped(files[::-1]) if files else _synthetic(2)
    left_buffer, right_buffer = _Rechunk(left), _Rechunk(right)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    with sf.SoundFile(partial, "w", RATE, 2, "PCM_16", format="FLAC") as out:
        for begin in range(0, n_total, BLOCK_SECONDS * RATE):
            n = min(BLOCK_SECONDS * RATE, n_total - begin)
            out.write(np.stack([left_buffer.take(n), right_buffer.take(n)], axis=1))
    os.replace(partial, path)
    return what


class _Rechunk:
    """Cut an endless stream of blocks of any length into blocks of the lengths asked for."""

    def __init__(self, stream):
        self.stream, self.rest = stream, np.zeros(0, np.float32)

    def take(self, n: int) -> np.ndarray:
        pieces, have = [self.rest], len(self.rest)
        while have < n:
            pieces.append(next(self.stream))
            have += len(pieces[-1])
        joined = np.concatenate(pieces)
        block, self.rest = joined[:n], joined[n:]
        return block
