"""Synthetic soundscapes with strong labels: isolated event clips mixed over background recordings.

How the DCASE 2016 task 2 development set, scaper's soundscapes and the shared ``sed_dev`` sets
are made, and what frame-level heads train on when a user has clips rather than annotated
recordings. Each soundscape is a random excerpt of a background recording, ``seconds`` long, with
several events placed at random onsets (they may overlap), each at a random event-to-background
ratio (EBR). An event is the *active part* of its clip: from the first to the last 10 ms frame
within ``active_within_db`` (35 dB) of the clip's loudest frame, the rule the ``sed_dev`` sets
were trimmed by, so that a clip's silent lead-in does not count as the event. Its label spans
exactly where that part lies in the soundscape: frame-accurate strong labels by construction.

The EBR is ``20 log10(rms(event) / rms(background over the event's span))`` (as
:func:`sed.heads.mixing.mix`); a soundscape that would clip is scaled down as a whole, which keeps
every EBR. Classes are drawn uniformly, then a clip of the class, so that every class has about
as many events whatever its number of clips (class balance by construction).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sed.errors import ParameterError
from sed.heads.mixing import rms

#: Frames within this many dB of a clip's loudest 10 ms frame are its active part (``sed_dev``).
ACTIVE_WITHIN_DB = 35.0


@dataclass(frozen=True)
class Clip:
    """One isolated event: its active part at the model's sample rate, its label and group.

    Attributes
    ----------
    waveform : np.ndarray [shape=(n_samples,), dtype=float32]
        The active part of the clip (:func:`active_span`), mono.
    label : str
    group : str
        Clips of one group come from one recording: they stay on one side of every split.
    """

    waveform: np.ndarray
    label: str
    group: str


@dataclass(frozen=True)
class SoundscapeConfig:
    """How soundscapes are drawn.

    Attributes
    ----------
    seconds : float > 0
        Length of each soundscape.
    events : (int, int)
        Fewest and most events per soundscape (drawn uniformly).
    ebr_db : (float, float)
        Range of event-to-background ratios, in dB (drawn uniformly).
    gain_db : (float, float)
        Range of a gain applied to the whole soundscape, in dB (level augmentation); (0, 0)
        for none.
    filter_db : float >= 0
        Filtering augmentation: each event and each background excerpt goes through a random
        low shelf (corner 150-600 Hz) and high shelf (corner 1.5-5 kHz), each with a gain drawn
        from ``[-filter_db, filter_db]`` dB (another microphone, another room); 0 for none.
    reverb : float in [0, 1]
        Reverberation augmentation: the probability that an event is convolved with a
        synthetic room response (exponentially decaying noise, RT60 0.2-0.8 s, direct-to-
        reverberant ratio 0-10 dB); its label keeps the dry event's span. 0 for none.
    """

    seconds: float = 10.0
    events: tuple[int, int] = (1, 4)
    ebr_db: tuple[float, float] = (-9.0, 9.0)
    gain_db: tuple[float, float] = (-12.0, 0.0)
    filter_db: float = 0.0
    reverb: float = 0.0

    def __post_init__(self):
        if not self.seconds > 0:
            raise ParameterError(f"soundscape length must be > 0 s, got {self.seconds!r}")
        low, high = self.events
        if not 1 <= low <= high:
            raise ParameterError(
                f"events per soundscape must be 1 <= min <= max, got {low}, {high}"
            )
        for name in ("ebr_db", "gain_db"):
            low, high = getattr(self, name)
            if not low <= high:
                raise ParameterError(f"{name} range must be (low, high), got {low}, {high}")


@dataclass
class Soundscape:
    """A synthetic soundscape and its strong labels.

    Attributes
    ----------
    waveform : np.ndarray [shape=(n_samples,), dtype=float32]
        Mono, in [-1, 1].
    events : list of (float, float, str)
        ``(onset, offset, event_label)`` in seconds, in the order placed.
    """

    waveform: np.ndarray
    events: list[tuple[float, float, str]]


def active_span(
    waveform: np.ndarray, sample_rate: int, within_db: float = ACTIVE_WITHIN_DB
) -> tuple[int, int]:
    """The active part of a clip, from its 10 ms frame levels.

    Parameters
    ----------
    waveform : np.ndarray [shape=(n_samples,)]
    sample_rate : int
    within_db : float >= 0
        Frames whose RMS level is within this many dB of the loudest frame are active.

    Returns
    -------
    start, stop : int
        Sample range ``[start, stop)`` from the first to the last active frame (the whole clip
        when it is silent or shorter than one frame).
    """
    hop = max(1, sample_rate // 100)
    n_frames = len(waveform) // hop
    if n_frames == 0:
        return 0, len(waveform)
    frames = np.asarray(waveform[: n_frames * hop], np.float64).reshape(n_frames, hop)
    energy = (frames**2).mean(axis=1)
    if energy.max() <= 0:
        return 0, len(waveform)
    active = np.flatnonzero(energy >= energy.max() * 10 ** (-within_db / 10))
    return int(active[0] * hop), int(min(len(waveform), (active[-1] + 1) * hop))


def make_clip(waveform: np.ndarray, sample_rate: int, label: str, group: str) -> Clip:
    """A :class:`Clip` from a whole clip: its active part (:func:`active_span`)."""
    start, stop = active_span(waveform, sample_rate)
    return Clip(np.asarray(waveform[start:stop], np.float32), label, group)


def synthesise(
    clips: Sequence[Clip],
    backgrounds: Sequence[np.ndarray],
    count: int,
    rng: np.random.Generator,
    *,
    sample_rate: int,
    config: SoundscapeConfig = SoundscapeConfig(),
) -> list[Soundscape]:
    """Draw ``count`` soundscapes (see the module notes).

    Parameters
    ----------
    clips : sequence of Clip
        Event clips at ``sample_rate`` (their active parts).
    backgrounds : sequence of np.ndarray
        Background recordings at ``sample_rate``, mono; an excerpt is drawn from a recording
        chosen with probability proportional to its length (tiled if shorter than a soundscape).
    count : int >= 0
    rng : np.random.Generator
        The only source of randomness: the same generator state gives the same soundscapes.
    sample_rate : int
    config : SoundscapeConfig

    Returns
    -------
    soundscapes : list of Soundscape

    Raises
    ------
    ParameterError
        Without clips or without background audio.
    """
    if not clips:
        raise ParameterError("no event clips to place in soundscapes")
    lengths = np.array([len(b) for b in backgrounds], float)
    if not len(backgrounds) or lengths.sum() == 0:
        raise ParameterError(
            "synthesising soundscapes needs background recordings (a _background folder or "
            "--background)"
        )
    labels = sorted({clip.label for clip in clips})
    by_label = {label: [c for c in clips if c.label == label] for label in labels}
    length = int(round(config.seconds * sample_rate))
    return [
        _soundscape(by_label, labels, backgrounds, lengths / lengths.sum(), length, rng, config)
        for _ in range(count)
    ]


def _soundscape(by_label, labels, backgrounds, weights, length, rng, config) -> Soundscape:
    background = backgrounds[int(rng.choice(len(backgrounds), p=weights))]
    sample_rate = length / config.seconds
    excerpt = _excerpt(background, length, rng)
    if config.filter_db > 0:
        excerpt = random_shelves(excerpt, sample_rate, config.filter_db, rng).astype(np.float32)
    mixture = excerpt.astype(np.float64)
    events = []
    for _ in range(int(rng.integers(config.events[0], config.events[1] + 1))):
        pool = by_label[labels[int(rng.integers(len(labels)))]]
        clip = pool[int(rng.integers(len(pool)))]
        event = clip.waveform[:length]
        onset = int(rng.integers(0, length - len(event) + 1))
        ebr = float(rng.uniform(*config.ebr_db))
        # The label keeps the dry event's span; a reverberant tail runs on past it, cut at the
        # soundscape's end. Without augmentation ``wet`` is ``event`` itself (same draws, same
        # samples as before the augmentations existed, so cached features stay valid).
        wet = _augment_event(event, sample_rate, config, rng)
        level = rms(excerpt[onset : onset + len(event)])
        loudness = rms(wet[: len(event)])
        gain = level * 10 ** (ebr / 20) / loudness if level > 0 and loudness > 0 else 1.0
        wet = wet[: length - onset]
        mixture[onset : onset + len(wet)] += gain * np.asarray(wet, np.float64)
        events.append((onset / sample_rate, (onset + len(event)) / sample_rate, clip.label))
    mixture *= 10 ** (float(rng.uniform(*config.gain_db)) / 20)
    peak = np.abs(mixture).max()
    if peak > 0.99:
        mixture *= 0.99 / peak
    return Soundscape(mixture.astype(np.float32), events)


def _augment_event(
    event: np.ndarray, sample_rate: float, config: SoundscapeConfig, rng: np.random.Generator
) -> np.ndarray:
    """``event`` through the filtering and reverberation augmentations ``config`` asks for (see
    :class:`SoundscapeConfig`); ``event`` itself, with no draw from ``rng``, when it asks for
    none. Longer than ``event`` by a room's tail when reverberated."""
    if config.filter_db > 0:
        event = random_shelves(event, sample_rate, config.filter_db, rng)
    if config.reverb > 0 and rng.uniform() < config.reverb:
        event = reverberate(event, sample_rate, rng)
    return event


def _excerpt(background: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
    if len(background) < length:
        background = np.tile(background, -(-length // max(len(background), 1)))
    start = int(rng.integers(0, len(background) - length + 1))
    return np.asarray(background[start : start + length], np.float32)


def random_shelves(
    samples: np.ndarray, sample_rate: float, max_db: float, rng: np.random.Generator
) -> np.ndarray:
    """``samples`` through a random low shelf and a random high shelf (see
    :attr:`SoundscapeConfig.filter_db`), as biquads of the RBJ Audio EQ Cookbook (slope 1)."""
    from scipy.signal import lfilter

    out = np.asarray(samples, np.float64)
    for kind, low, high in (("low", 150.0, 600.0), ("high", 1500.0, 5000.0)):
        corner = float(np.exp(rng.uniform(np.log(low), np.log(high))))
        b, a = _shelf(
            kind, min(corner, 0.45 * sample_rate), float(rng.uniform(-max_db, max_db)), sample_rate
        )
        out = lfilter(b, a, out)
    return out


def _shelf(kind: str, corner: float, gain_db: float, sample_rate: float):
    """Biquad coefficients of a shelving filter (RBJ Audio EQ Cookbook, shelf slope 1)."""
    amplitude = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * corner / sample_rate
    cos, alpha = np.cos(w0), np.sin(w0) / 2 * np.sqrt(2)
    root = 2 * np.sqrt(amplitude) * alpha
    sign = 1 if kind == "low" else -1
    b = amplitude * np.array(
        [
            (amplitude + 1) - sign * (amplitude - 1) * cos + root,
            sign * 2 * ((amplitude - 1) - sign * (amplitude + 1) * cos),
            (amplitude + 1) - sign * (amplitude - 1) * cos - root,
        ]
    )
    a = np.array(
        [
            (amplitude + 1) + sign * (amplitude - 1) * cos + root,
            -sign * 2 * ((amplitude - 1) + sign * (amplitude + 1) * cos),
            (amplitude + 1) + sign * (amplitude - 1) * cos - root,
        ]
    )
    return b / a[0], a / a[0]


def reverberate(samples: np.ndarray, sample_rate: float, rng: np.random.Generator) -> np.ndarray:
    """``samples`` in a synthetic room (see :attr:`SoundscapeConfig.reverb`): the dry sound plus
    its convolution with exponentially decaying noise, at the dry sound's RMS level.

    Returns
    -------
    wet : np.ndarray [shape=(len(samples) + len(response) - 1,)]
        Longer than ``samples`` by the room's tail.
    """
    from scipy.signal import fftconvolve

    rt60 = float(rng.uniform(0.2, 0.8))
    t = np.arange(int(rt60 * sample_rate)) / sample_rate
    response = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60)
    dry = np.asarray(samples, np.float64)
    tail = fftconvolve(dry, response)
    direct_to_reverberant = 10 ** (float(rng.uniform(0, 10)) / 20)
    tail *= rms(dry) / (rms(tail) * direct_to_reverberant) if rms(tail) > 0 else 0.0
    tail[: len(dry)] += dry
    return tail * (rms(dry) / rms(tail) if rms(tail) > 0 else 1.0)
