"""Synthetic mixtures for training: event clips mixed over background recordings.

A head trained on clean isolated events and on pure background has never seen what detection
sees: an event over a background, sometimes quieter than it. The DCASE 2016 task 2 recipe (and
scaper's) is to mix the isolated events over background recordings at chosen event-to-background
ratios (EBR); the mixture's windows then get strong labels from where the event was put.

Each mixture is a background excerpt of the event's length plus ``context_seconds``, with the
event at a random onset inside it, scaled so that ``20 log10(rms(event) / rms(background))`` over
the event's span is the EBR. A window is labelled with the event when the event covers at least
half of ``min(event length, window length)`` of it, as background when they do not overlap at
all, and is left out (ambiguous) otherwise.

Mixtures are made with a seeded generator, so the same seed gives the same mixtures, and their
embeddings are cached by the mixture's samples
(:meth:`sed.heads.embeddings.EmbeddingCache.embed_waveforms`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sed.audio import DEFAULT_RESAMPLER, load_audio

DEFAULT_EBRS_DB = (-6.0, 0.0, 6.0)


@dataclass
class Mixture:
    """One event clip mixed over a background excerpt.

    Attributes
    ----------
    waveform : np.ndarray [shape=(n_samples,), dtype=float32]
        At the model's sample rate, in [-1, 1].
    onset_seconds, offset_seconds : float
        Where the event lies in the mixture.
    ebr_db : float
        Event-to-background ratio over the event's span, in dB.
    """

    waveform: np.ndarray
    onset_seconds: float
    offset_seconds: float
    ebr_db: float


def rms(samples: np.ndarray) -> float:
    """Root mean square of the non-zero samples (digital-silence padding left out)."""
    samples = np.asarray(samples, np.float64)
    active = samples[samples != 0]
    return float(np.sqrt(np.mean(active**2))) if active.size else 0.0


def mix(event: np.ndarray, background: np.ndarray, *, onset: int, ebr_db: float) -> np.ndarray:
    """Add ``event`` into ``background`` at sample ``onset`` at the given EBR.

    Parameters
    ----------
    event, background : np.ndarray [shape=(n_samples,)]
        Mono, same sample rate; the event must fit: ``onset + len(event) <= len(background)``.
    onset : int >= 0
        Sample where the event starts.
    ebr_db : float
        Wanted ``20 log10(rms(event) / rms(background over the event's span))``.

    Returns
    -------
    mixture : np.ndarray [shape=(len(background),), dtype=float32]
        Scaled down as a whole if it would clip, which keeps the EBR.
    """
    span = background[onset : onset + len(event)]
    level = rms(span)
    gain = level * 10 ** (ebr_db / 20) / rms(event) if level > 0 and rms(event) > 0 else 1.0
    mixture = np.array(background, np.float64)
    mixture[onset : onset + len(event)] += gain * np.asarray(event, np.float64)
    peak = np.abs(mixture).max()
    return (mixture / peak * 0.99 if peak > 0.99 else mixture).astype(np.float32)


def make_mixture(
    event: np.ndarray,
    background: np.ndarray,
    rng: np.random.Generator,
    *,
    sample_rate: int,
    context_seconds: float = 2.0,
    ebrs_db=DEFAULT_EBRS_DB,
) -> Mixture:
    """A random mixture: random excerpt of ``background``, random onset, random EBR of ``ebrs_db``.

    The excerpt is ``len(event) + context_seconds`` long (the background is tiled if shorter).
    """
    length = len(event) + int(round(context_seconds * sample_rate))
    if len(background) < length:
        background = np.tile(background, -(-length // max(len(background), 1)))
    start = int(rng.integers(0, len(background) - length + 1))
    onset = int(rng.integers(0, length - len(event) + 1))
    ebr = float(rng.choice(np.asarray(ebrs_db, float)))
    waveform = mix(event, background[start : start + length], onset=onset, ebr_db=ebr)
    return Mixture(waveform, onset / sample_rate, (onset + len(event)) / sample_rate, ebr)


def window_labels(starts: np.ndarray, ends: np.ndarray, onset: float, offset: float) -> np.ndarray:
    """Strong labels of a mixture's windows.

    Returns
    -------
    labels : np.ndarray [shape=(n_windows,), dtype=int]
        1 where the event covers at least half of ``min(event length, window length)`` of the
        window, 0 where they do not overlap, -1 (ambiguous, not used) otherwise.
    """
    overlap = np.clip(np.minimum(ends, offset) - np.maximum(starts, onset), 0, None)
    needed = 0.5 * np.minimum(offset - onset, ends - starts)
    return np.where(overlap >= needed, 1, np.where(overlap <= 0, 0, -1))


def load_waveforms(paths, sample_rate: int, resampler: str = DEFAULT_RESAMPLER) -> list[np.ndarray]:
    """Mono waveforms of ``paths`` at ``sample_rate``."""
    return [load_audio(path, sample_rate=sample_rate, resampler=resampler)[0] for path in paths]
