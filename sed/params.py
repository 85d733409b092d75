"""YAMNet's framing constants, in one frozen dataclass.

The values are those YAMNet was trained with (tensorflow/models ``research/audioset/yamnet/
params.py``), except ``patch_hop_seconds``: the reference uses 0.48 s, ``sed`` defaults to 0.5 s
so that window starts fall on round times. The hop may be any multiple of the 10 ms STFT hop up to
the window length (0.96 s), because windows are cut from one log-mel spectrogram of the whole
signal. Every other module takes its framing from here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sed.errors import ParameterError

DEFAULT_HOP_SECONDS = 0.5
REFERENCE_HOP_SECONDS = 0.48
# Windows per model call: LiteRT's throughput is flat from about 16 up (benchmarks/speed.py).
DEFAULT_BATCH_SIZE = 64


@dataclass(frozen=True)
class YamnetParams:
    """Framing and feature constants of YAMNet.

    Attributes
    ----------
    sample_rate : int
        Model input rate, in Hz (16000).
    stft_window_seconds, stft_hop_seconds : float
        STFT window (25 ms, periodic Hann) and hop (10 ms), in seconds.
    mel_bands : int
        Number of mel bands (64), spanning ``mel_min_hz`` to ``mel_max_hz`` (125 to 7500 Hz).
    log_offset : float
        Added to mel energies before the natural log (0.001), as in the reference.
    patch_window_seconds : float
        Length of one classifier window (0.96 s = 96 STFT frames).
    patch_hop_seconds : float in (0, 0.96]
        Distance between the starts of consecutive windows, in seconds; a multiple of 10 ms, at
        most one window (a longer hop would leave audio between windows unheard).
    num_classes, embedding_size : int
        521 AudioSet classes, 1024-D embeddings.

    Raises
    ------
    ParameterError
        If ``patch_hop_seconds`` is not a positive multiple of ``stft_hop_seconds`` or exceeds
        ``patch_window_seconds``.
    """

    sample_rate: int = 16000
    stft_window_seconds: float = 0.025
    stft_hop_seconds: float = 0.010
    mel_bands: int = 64
    mel_min_hz: float = 125.0
    mel_max_hz: float = 7500.0
    log_offset: float = 0.001
    patch_window_seconds: float = 0.96
    patch_hop_seconds: float = DEFAULT_HOP_SECONDS
    num_classes: int = 521
    embedding_size: int = 1024
    batchnorm_epsilon: float = 1e-4

    def __post_init__(self):
        _check_hop(self.patch_hop_seconds, self.stft_hop_seconds, self.patch_window_seconds)

    @property
    def stft_frame_centre_seconds(self) -> float:
        """Centre of STFT frame 0, in seconds (12.5 ms): frame ``k`` is centred on
        ``k * stft_hop_seconds + stft_frame_centre_seconds``."""
        return self.stft_window_seconds / 2

    @property
    def stft_window_samples(self) -> int:
        """STFT window length in samples (400)."""
        return int(round(self.sample_rate * self.stft_window_seconds))

    @property
    def stft_hop_samples(self) -> int:
        """STFT hop in samples (160)."""
        return int(round(self.sample_rate * self.stft_hop_seconds))

    @property
    def fft_length(self) -> int:
        """FFT size: the next power of two above the STFT window (512)."""
        return 2 ** math.ceil(math.log2(self.stft_window_samples))

    @property
    def patch_frames(self) -> int:
        """STFT frames per window (96)."""
        return int(round(self.patch_window_seconds / self.stft_hop_seconds))

    @property
    def patch_hop_frames(self) -> int:
        """STFT frames between window starts (50 at the default 0.5 s hop)."""
        return int(round(self.patch_hop_seconds / self.stft_hop_seconds))

    @property
    def patch_hop_samples(self) -> int:
        """Samples between window starts (8000 at the default hop)."""
        return self.patch_hop_frames * self.stft_hop_samples

    @property
    def min_samples(self) -> int:
        """Samples needed for one window: 0.96 s plus the STFT overhang (15600)."""
        return (self.patch_frames - 1) * self.stft_hop_samples + self.stft_window_samples

    def num_windows(self, n_samples: int) -> int:
        """Number of windows for a signal of ``n_samples`` at ``sample_rate``.

        The reference ``features.pad_waveform`` rule: at least one window, then one more for
        every (partial) hop of samples beyond the first window.
        """
        extra = max(0, n_samples - self.min_samples)
        return 1 + -(-extra // self.patch_hop_samples)

    def padded_length(self, n_samples: int) -> int:
        """Length in samples after the reference zero padding (``features.pad_waveform``)."""
        return self.min_samples + (self.num_windows(n_samples) - 1) * self.patch_hop_samples


def check_hop_seconds(hop_seconds: float) -> float:
    """Return ``hop_seconds`` if YAMNet's windows can use it, else raise.

    Parameters
    ----------
    hop_seconds : float
        Candidate window hop, in seconds.

    Returns
    -------
    hop_seconds : float
        The same value, as a float.

    Raises
    ------
    ParameterError
        Unless it is a positive multiple of the 10 ms STFT hop of at most 0.96 s (one window).
    """
    defaults = YamnetParams()
    _check_hop(hop_seconds, defaults.stft_hop_seconds, defaults.patch_window_seconds)
    return float(hop_seconds)


def _check_hop(hop, stft_hop_seconds: float, window_seconds: float) -> None:
    if isinstance(hop, bool) or not (
        isinstance(hop, (int, float)) and math.isfinite(hop) and hop > 0
    ):
        raise ParameterError(f"window hop must be a positive number of seconds, got {hop!r}")
    frames = hop / stft_hop_seconds
    if abs(frames - round(frames)) > 1e-6:
        raise ParameterError(
            f"window hop must be a multiple of {stft_hop_seconds} s (the STFT hop), got {hop} s"
        )
    if hop > window_seconds + 1e-9:
        raise ParameterError(
            f"window hop must be at most the window length ({window_seconds} s), "
            f"or windows would skip audio; got {hop} s"
        )


def check_band(
    band_hz: tuple[float, float] | None, params: YamnetParams = YamnetParams()
) -> tuple[float, float]:
    """The frequency band a log-mel panel shows: ``band_hz``, or the whole log-mel band.

    Parameters
    ----------
    band_hz : (float, float) or None
        Lower and upper frequency, in Hz; None for ``(params.mel_min_hz, params.mel_max_hz)``
        (125 and 7500 Hz: nothing outside reaches YAMNet's filter bank).

    Returns
    -------
    band_hz : (float, float)

    Raises
    ------
    ParameterError
        Unless ``mel_min_hz <= low < high <= mel_max_hz``.
    """
    if band_hz is None:
        return params.mel_min_hz, params.mel_max_hz
    low, high = (float(f) for f in band_hz)
    if not params.mel_min_hz <= low < high <= params.mel_max_hz:
        raise ParameterError(
            f"the frequency band must lie within YAMNet's log-mel band, {params.mel_min_hz:g} "
            f"to {params.mel_max_hz:g} Hz, its lower end below its upper end; "
            f"got {low:g} to {high:g} Hz"
        )
    return low, high
