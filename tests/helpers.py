"""Helpers shared by test modules: small synthetic clips and training windows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import soundfile as sf
from scipy.signal import butter, sosfilt

from sed.heads.datasets import TrainingData
from sed.heads.windows import Windows


def write_clip(path, kind, rng, seconds=1.2, rate=16000):
    """A tone (660 Hz) or noise clip with a seeded random level and length."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = int(rate * seconds * rng.uniform(0.8, 1.2))
    t = np.arange(n) / rate
    signal = np.sin(2 * np.pi * 660 * t) if kind == "tone" else rng.standard_normal(n) / 3
    sf.write(path, (rng.uniform(0.1, 0.5) * signal).astype(np.float32), rate)


def synthetic_windows(rng, n_clips=24, n_labels=3, per_clip=4, separation=2.0):
    """Windows of clips whose embeddings are noisy copies of a per-label centre."""
    centres = rng.random((n_labels, 1024)) * separation
    labels = np.arange(n_clips) % n_labels
    clip = np.repeat(np.arange(n_clips), per_clip)
    target = labels[clip]
    embeddings = (centres[target] + rng.random((len(clip), 1024))).astype(np.float32)
    data = TrainingData(
        pd.DataFrame(
            {
                "path": [f"c{i}.wav" for i in range(n_clips)],
                "label": [f"L{k}" for k in labels],
                "group": [f"g{i // 2}" for i in range(n_clips)],
            }
        ),
        tuple(f"L{k}" for k in range(n_labels)),
    )
    return data, Windows(embeddings, clip, target, np.ones(len(clip), bool))


RATE = 16000


def tone(n, rng):
    """``n`` samples of a 1 kHz tone at amplitude 0.3, random phase."""
    return 0.3 * np.sin(2 * np.pi * 1000 * np.arange(n) / RATE + rng.uniform(0, 6))


def hiss(n, rng):
    """``n`` samples of 3-6 kHz band-passed noise."""
    band = butter(4, [3000, 6000], btype="band", fs=RATE, output="sos")
    return 0.3 * sosfilt(band, rng.standard_normal(n))


def write(path, samples):
    """Write 16 kHz samples to ``path`` (folders created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.asarray(samples, np.float32), RATE)
    return path


def write_bursts(folder):
    """A training folder for frame heads: tone/ and hiss/ with 8 bursts of 0.3-1 s each, and a
    _background/ of 30 s of quiet noise."""
    rng = np.random.default_rng(7)
    for name, make in (("tone", tone), ("hiss", hiss)):
        for i in range(8):
            write(folder / name / f"{name}{i}.wav", make(int(RATE * rng.uniform(0.3, 1.0)), rng))
    write(folder / "_background" / "room.wav", 0.01 * rng.standard_normal(RATE * 30))
    return folder


def recording_with_events(rng, seconds=12.0):
    """Quiet noise with tone and hiss bursts at known, off-grid times, 6 dB above the noise
    (inside the training soundscapes' range of event-to-background ratios)."""
    noise = 0.02 * rng.standard_normal(int(RATE * seconds))
    waveform = noise.copy()
    events = [
        (1.03, 1.71, "tone"),
        (3.37, 3.89, "hiss"),
        (6.11, 7.02, "tone"),
        (9.45, 9.83, "hiss"),
    ]
    for onset, offset, label in events:
        start, stop = int(onset * RATE), int(offset * RATE)
        burst = (tone if label == "tone" else hiss)(stop - start, rng)
        waveform[start:stop] += burst * 2 * 0.02 / np.sqrt(np.mean(burst**2))
    return waveform.astype(np.float32), events
