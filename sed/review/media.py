"""The sound and images of a review page: one decode per recording, then a spectrogram image and
a compressed audio clip per event.

A recording is read once, block by block (:func:`sed.audio.stream_audio` at its own sample rate,
channels averaged), so memory does not grow with its length: the blocks go through YAMNet's
log-mel front end (:class:`sed.segmenter.FrameStream` on the 16 kHz resampled signal, max-pooled
in time to at most :data:`OVERVIEW_COLUMNS` columns) for the overview, and the samples of each
event's clip (the event with :data:`CONTEXT_SECONDS` on either side) are kept at the native rate.

Clips are written through soundfile (libsndfile) as MP3 (LAME, variable bit rate, about 45 kbit/s
mono; plays in every browser) or Ogg Opus (48 kHz, about 30 kbit/s: a third smaller, but slower
to encode here, and Safari plays it only from version 17). Clip spectrograms are
linear in frequency up to the native Nyquist frequency (as Raven and Audacity show them), in dB
over :data:`DYNAMIC_RANGE_DB` below the clip's peak.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sed.audio import DEFAULT_RESAMPLER, StreamResampler, resample, stream_audio
from sed.errors import ParameterError
from sed.params import YamnetParams

#: Audio before and after each event in its clip and spectrogram, in seconds.
CONTEXT_SECONDS = 1.0
#: The longest part of an event put in its clip, in seconds (a longer event is cut there).
MAX_CLIP_EVENT_SECONDS = 10.0
#: Columns of a recording's overview spectrogram at most (frames are max-pooled down to it).
OVERVIEW_COLUMNS = 1000
#: Clip formats: suffix, soundfile format and subtype, compression level (0 best, 1 smallest).
AUDIO_FORMATS = {
    "mp3": (".mp3", "MP3", "MPEG_LAYER_III", 0.7),
    "opus": (".ogg", "OGG", "OPUS", 0.9),
}
DEFAULT_AUDIO_FORMAT = "mp3"
#: Sample rates the Opus encoder takes, in Hz; clips are resampled to the highest.
OPUS_RATE = 48000
#: Sample rates MP3 takes, in Hz; other rates are resampled to the next one up (or 48 kHz).
MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
#: Range of a clip spectrogram's colours below its peak, in dB.
DYNAMIC_RANGE_DB = 80.0
#: Size of a clip spectrogram image at most, in pixels (time columns, frequency rows).
SPECTROGRAM_MAX_COLUMNS = 480
SPECTROGRAM_ROWS = 160
#: Image format of spectrograms and figures: WebP, lossy (a tenth of PNG's size for spectrograms:
#: about 12 kB for a clip's), encoded with libwebp's fast method 2.
IMAGE_SUFFIX = ".webp"
IMAGE_QUALITY = 70
IMAGE_METHOD = 2
#: Colour map of every spectrogram (as ``sed plot``).
COLOUR_MAP = "magma"


def check_audio_format(audio_format: str) -> None:
    """Raise :class:`ParameterError` unless ``audio_format`` is one of :data:`AUDIO_FORMATS`."""
    if audio_format not in AUDIO_FORMATS:
        raise ParameterError(
            f"unknown clip format {audio_format!r}; choose one of {', '.join(AUDIO_FORMATS)}"
        )


def clip_span(onset: float, offset: float, duration_seconds: float) -> tuple[float, float]:
    """The stretch of a recording an event's clip holds: the event (at most
    :data:`MAX_CLIP_EVENT_SECONDS` of it) with :data:`CONTEXT_SECONDS` either side, inside the
    recording.

    Parameters
    ----------
    onset, offset : float
        The event, in seconds.
    duration_seconds : float > 0
        The recording's length.

    Returns
    -------
    start, end : float
        In seconds, ``0 <= start < end <= duration_seconds``.
    """
    start = max(0.0, onset - CONTEXT_SECONDS)
    event_end = min(offset, onset + MAX_CLIP_EVENT_SECONDS)
    end = min(duration_seconds, max(event_end, onset) + CONTEXT_SECONDS)
    if end <= start:  # an event at (or past) the very end
        start = max(0.0, end - CONTEXT_SECONDS)
    return start, end


@dataclass
class RecordingAudio:
    """What one pass over a recording keeps.

    Attributes
    ----------
    overview : np.ndarray [shape=(n_columns, 64), dtype=float32]
        YAMNet's log-mel spectrogram (natural log of mel magnitude), max-pooled in time.
    seconds_per_column : float
        Time each overview column covers.
    clips : list of np.ndarray [shape=(n_samples,), dtype=float32]
        The samples of each requested span, mono, at ``sample_rate``.
    sample_rate : int
        The recording's native rate, in Hz.
    """

    overview: np.ndarray
    seconds_per_column: float
    clips: list[np.ndarray]
    sample_rate: int


def read_recording(
    path: str | os.PathLike,
    spans: list[tuple[float, float]],
    *,
    on_clip: Callable[[int, np.ndarray], None] | None = None,
    params: YamnetParams = YamnetParams(),
    resampler: str = DEFAULT_RESAMPLER,
    overview_columns: int = OVERVIEW_COLUMNS,
) -> RecordingAudio:
    """Decode a recording once: its overview log-mel and the audio of ``spans``.

    Parameters
    ----------
    path : str or os.PathLike
        Any file :func:`sed.audio.stream_audio` reads.
    spans : list of (float, float)
        Start and end of each clip, in seconds.
    on_clip : callable, optional
        Called as ``on_clip(k, samples)`` as soon as clip ``k`` is decoded, so that a long
        recording's clips need not all wait in memory; then ``clips`` is returned empty.
    params : YamnetParams
        The log-mel front end of the overview.
    resampler : {"soxr", "resampy"}
        Resampler to 16 kHz for the overview.
    overview_columns : int >= 1
        Columns of the overview at most.

    Returns
    -------
    recording_audio : RecordingAudio

    Raises
    ------
    AudioError
        If the file cannot be decoded (see :func:`sed.audio.stream_audio`).
    """
    from sed.audio import audio_info
    from sed.segmenter import FrameStream

    rate = audio_info(path).sample_rate
    blocks, info = stream_audio(path, sample_rate=rate, resampler=resampler)
    to_model_rate = StreamResampler(rate, params.sample_rate, resampler=resampler)
    frames = FrameStream(params)
    expected_frames = max(1, int(info.duration_seconds / params.stft_hop_seconds))
    pool = max(1, math.ceil(expected_frames / overview_columns))
    pooled = _MaxPool(pool, params.mel_bands)
    kept: list[np.ndarray] = [np.zeros(0, np.float32)] * len(spans)

    def keep(k: int, samples: np.ndarray) -> None:
        kept[k] = samples

    clips = _ClipCollector(
        [(round(start * rate), round(end * rate)) for start, end in spans], on_clip or keep
    )
    for block in blocks:
        clips.push(block)
        pooled.push(frames.push(to_model_rate.push(block)))
    pooled.push(frames.push(to_model_rate.finish()))
    clips.finish()
    return RecordingAudio(
        pooled.finish(), pool * params.stft_hop_seconds, [] if on_clip else kept, rate
    )


class _ClipCollector:
    """Consecutive blocks of samples in; the samples of each span out, to ``deliver(k,
    samples)``, as soon as the span is complete (at the end for spans reaching past it)."""

    def __init__(self, bounds: list[tuple[int, int]], deliver: Callable[[int, np.ndarray], None]):
        self.bounds, self.deliver = bounds, deliver
        self._by_start = sorted(range(len(bounds)), key=lambda k: bounds[k][0])
        self._next = 0  # the next span, in start order, that no block has reached yet
        self._open: dict[int, list[np.ndarray]] = {}
        self._position = 0

    def push(self, block: np.ndarray) -> None:
        first, last = self._position, self._position + len(block)
        while (
            self._next < len(self._by_start) and self.bounds[self._by_start[self._next]][0] < last
        ):
            self._open[self._by_start[self._next]] = []
            self._next += 1
        for k in list(self._open):
            start, end = self.bounds[k]
            piece = block[max(start - first, 0) : max(0, min(end - first, len(block)))]
            if len(piece):
                self._open[k].append(piece)
            if end <= last:
                self._deliver(k)
        self._position = last

    def finish(self) -> None:
        while self._next < len(self._by_start):
            self._open[self._by_start[self._next]] = []
            self._next += 1
        for k in list(self._open):
            self._deliver(k)

    def _deliver(self, k: int) -> None:
        pieces = self._open.pop(k)
        self.deliver(k, np.concatenate(pieces) if pieces else np.zeros(0, np.float32))


class _MaxPool:
    """Frames in, the maximum of every ``size`` consecutive frames out (the last group may be
    shorter): a short loud sound stays visible in a long recording's overview."""

    def __init__(self, size: int, bands: int):
        self.size = size
        self._pending = np.zeros((0, bands), np.float32)
        self._columns: list[np.ndarray] = []

    def push(self, frames: np.ndarray) -> None:
        frames = np.concatenate([self._pending, frames]) if len(self._pending) else frames
        whole = len(frames) // self.size * self.size
        if whole:
            grouped = frames[:whole].reshape(-1, self.size, frames.shape[1])
            self._columns.append(grouped.max(axis=1))
        self._pending = frames[whole:]

    def finish(self) -> np.ndarray:
        if len(self._pending):
            self._columns.append(self._pending.max(axis=0, keepdims=True))
            self._pending = self._pending[:0]
        if not self._columns:
            return np.zeros((0, self._pending.shape[1]), np.float32)
        return np.concatenate(self._columns).astype(np.float32, copy=False)


def clip_spectrogram(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Power spectrogram of a clip in dB, pooled to at most the image size.

    A periodic Hann window of about 32 ms (the power of two nearest ``0.032 * sample_rate``
    samples, 256 to 8192) and a half-window hop (Raven's default overlap of 50 %).

    Parameters
    ----------
    samples : np.ndarray [shape=(n_samples,)]
        Mono audio at ``sample_rate``.
    sample_rate : int > 0
        In Hz.

    Returns
    -------
    spectrogram : np.ndarray [shape=(n_rows, n_columns), dtype=float32]
        ``10 log10(power)`` from 0 Hz (row 0) to ``sample_rate / 2``;
        ``n_rows <= SPECTROGRAM_ROWS``, ``n_columns <= SPECTROGRAM_MAX_COLUMNS``.
    """
    n_fft = clip_fft_length(sample_rate)
    hop = n_fft // 2
    samples = np.asarray(samples, dtype=np.float64)
    if len(samples) < n_fft:
        samples = np.pad(samples, (0, n_fft - len(samples)))
    frames = np.lib.stride_tricks.sliding_window_view(samples, n_fft)[::hop]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2  # (n_frames, n_fft/2 + 1)
    power = _mean_pool(power, SPECTROGRAM_MAX_COLUMNS, axis=0)
    power = _mean_pool(power, SPECTROGRAM_ROWS, axis=1)
    return (10 * np.log10(power.T + 1e-12)).astype(np.float32)


def clip_fft_length(sample_rate: int) -> int:
    """The FFT (and window) length of :func:`clip_spectrogram`: the power of two nearest
    ``0.032 * sample_rate`` samples, 256 to 8192."""
    return int(np.clip(2 ** round(math.log2(0.032 * sample_rate)), 256, 8192))


def clip_spectrogram_hz(sample_rate: int) -> tuple[float, float]:
    """The frequencies at the bottom and top edges of a :func:`clip_spectrogram` image.

    Its rows are the FFT bins from 0 Hz to the Nyquist frequency, each ``sample_rate / n_fft``
    wide and centred on its frequency, so the image reaches half a bin beyond either end (the
    page places its frequency axis with them).

    Returns
    -------
    low_hz, high_hz : float
        ``-sample_rate / (2 n_fft)`` and ``sample_rate / 2 + sample_rate / (2 n_fft)``.
    """
    half_bin = sample_rate / clip_fft_length(sample_rate) / 2
    return -half_bin, sample_rate / 2 + half_bin


def _mean_pool(values: np.ndarray, at_most: int, *, axis: int) -> np.ndarray:
    """Average groups of neighbours along ``axis`` so that at most ``at_most`` remain."""
    n = values.shape[axis]
    if n <= at_most:
        return values
    edges = np.linspace(0, n, at_most + 1).astype(int)
    return np.add.reduceat(values, edges[:-1], axis=axis) / np.diff(edges).reshape(
        (-1, 1) if axis == 0 else (1, -1)
    )


def write_spectrogram_image(spectrogram_db: np.ndarray, path: str | os.PathLike) -> None:
    """Write a spectrogram (rows from low to high frequency) as a WebP image, low frequencies at
    the bottom, the colours spanning :data:`DYNAMIC_RANGE_DB` below its peak."""
    from matplotlib.image import imsave

    peak = float(np.max(spectrogram_db)) if spectrogram_db.size else 0.0
    imsave(
        os.fspath(path),
        spectrogram_db,
        vmin=peak - DYNAMIC_RANGE_DB,
        vmax=peak,
        cmap=COLOUR_MAP,
        origin="lower",
        format=IMAGE_SUFFIX.lstrip("."),
        pil_kwargs={"quality": IMAGE_QUALITY, "method": IMAGE_METHOD},
    )


def write_clip_audio(
    samples: np.ndarray,
    sample_rate: int,
    path: str | os.PathLike,
    audio_format: str = DEFAULT_AUDIO_FORMAT,
    *,
    resampler: str = DEFAULT_RESAMPLER,
) -> float:
    """Write a clip compressed, at the rate its format takes.

    Parameters
    ----------
    samples : np.ndarray [shape=(n_samples,)]
        Mono audio in [-1, 1] at ``sample_rate``.
    sample_rate : int > 0
        In Hz.
    path : str or os.PathLike
        Its suffix should be the format's (:data:`AUDIO_FORMATS`).
    audio_format : {"opus", "mp3"}
    resampler : {"soxr", "resampy"}

    Returns
    -------
    duration_seconds : float
        Length of the written clip.

    Raises
    ------
    ParameterError
        For an unknown format.
    """
    import soundfile as sf

    check_audio_format(audio_format)
    _, container, subtype, level = AUDIO_FORMATS[audio_format]
    if not len(samples):  # nothing decoded there (a header that overstates the length)
        samples = np.zeros(int(0.1 * sample_rate), np.float32)
    if audio_format == "opus":
        target = OPUS_RATE
    else:
        target = next((r for r in MP3_RATES if r >= sample_rate), MP3_RATES[-1])
    audio = resample(np.asarray(samples, np.float32), sample_rate, target, resampler=resampler)
    audio = np.clip(audio, -1.0, 1.0)
    sf.write(
        os.fspath(path), audio, target, format=container, subtype=subtype, compression_level=level
    )
    return len(audio) / target
