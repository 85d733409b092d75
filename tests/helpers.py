"""Helpers shared by test modules: small synthetic clips and training windows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import soundfile as sf

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
