"""Listening: sound events as they happen, from a sound card or a live stream.

A :class:`Listener` is ``sed detect`` turned inside out: it is fed blocks of audio as they
arrive, at their own sample rate and channel count, and gives out each event as soon as the
post-processing can decide it (:class:`sed.postprocessing.EventStream`). The audio goes through
the decode path of files (channels averaged, :class:`sed.audio.StreamResampler`) and the
scorer's own stream (:class:`sed.segmenter.ScoreStream`: YAMNet with a class selection, a
window head or a frame-level head), the same that ``sed detect`` runs over a file, so a stream
holding a file's samples gives the events ``sed detect`` finds in that file:

    >>> import sed
    >>> from sed.listen import Listener
    >>> listener = Listener(sed.load_model(), sample_rate=16000, classes="Dog,Bark")
    >>> for block in blocks:                # (n,) or (n, channels) float32 arrays
    ...     for event in listener.push(block):
    ...         print(event.onset, event.offset, event.event_label)
    >>> leftovers = listener.finish()       # the end of the stream closes the open events

Sources: a byte stream such as standard input (:class:`PcmSource`: WAV with its header, or raw
PCM) and a sound card through PortAudio (:class:`DeviceSource`). :func:`listen` runs a source
into a listener until the source ends or a :class:`StopRequest` (SIGINT, SIGTERM) arrives.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import queue
import select
import signal
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sed.audio import DEFAULT_RESAMPLER, StreamResampler, check_resampler, to_mono
from sed.errors import AudioError, ParameterError
from sed.events import round_seconds
from sed.params import DEFAULT_BATCH_SIZE
from sed.pipeline import DEFAULT_TOP_K, postprocessing_in_use, resolve_scorer, top_classes
from sed.postprocessing import Event, EventStream, PostProcessing
from sed.scores import ScoreGrid
from sed.segmenter import ScoreChunk, check_batch_size

if TYPE_CHECKING:
    from sed.classes import ClassSelection
    from sed.model import Yamnet
    from sed.pipeline import ClassList
    from sed.segmenter import Scorer

#: Encodings of raw PCM on standard input (``--sample-format``): little-endian 16-bit integers
#: (what ``arecord -f S16_LE`` and ``ffmpeg -f s16le`` write) and 32-bit floats.
SAMPLE_FORMATS = ("s16le", "f32le")
DEFAULT_SAMPLE_FORMAT = "s16le"
#: Channels of raw PCM on standard input, and recorded from a sound card, unless told.
DEFAULT_CHANNELS = 1
#: Every encoding a WAV header may announce: numpy dtype and the factor to [-1, 1), which are
#: libsndfile's, so a WAV piped in decodes to the samples ``sed detect`` reads from the file.
ENCODINGS = {
    "u8": ("u1", 2.0**-7),
    "s16le": ("<i2", 2.0**-15),
    "s24le": ("<i4", 2.0**-23),  # 3 bytes per sample, widened to 4
    "s32le": ("<i4", 2.0**-31),
    "f32le": ("<f4", 1.0),
    "f64le": ("<f8", 1.0),
}
#: Audio read from a source at most per block, in seconds: bounds the work between two
#: decisions while a stream is read faster than real time.
MAX_BLOCK_SECONDS = 8.0
#: Length of the blocks a sound card delivers, in seconds.
DEVICE_BLOCK_SECONDS = 0.05
#: Audio a sound card may deliver ahead of the listener before blocks are dropped, in seconds.
DEVICE_QUEUE_SECONDS = 60.0
#: Seconds (wall clock) between two notes about lost samples.
WARN_EVERY_SECONDS = 10.0
#: The system package that provides PortAudio, named in the error when it is missing.
PORTAUDIO_PACKAGE = "libportaudio2"


# --------------------------------------------------------------------------------------------
# What a listener gives out.


@dataclass(frozen=True)
class TopClasses:
    """The classes with the highest mean score over one stretch of a stream (``--every``).

    Attributes
    ----------
    onset, offset : float
        The stretch, in seconds from the start of the stream: the windows starting in it.
    labels : tuple of str
        Highest mean score first.
    scores : tuple of float
        Their mean window scores, in [0, 1].
    """

    onset: float
    offset: float
    labels: tuple[str, ...]
    scores: tuple[float, ...]


def wall_time(start_time: dt.datetime, seconds: float) -> str:
    """``start_time`` plus ``seconds`` in ISO 8601, rounded to the millisecond, with its UTC
    offset (``2025-06-01T07:30:07.778+02:00``). ``seconds`` is rounded first, by the rule of
    every file (:func:`sed.events.round_seconds`), so that the clock time shows the digits of the
    ``onset`` or ``offset`` beside it."""
    moment = start_time + dt.timedelta(seconds=float(round_seconds(seconds)))
    rounded = moment.replace(microsecond=0) + dt.timedelta(
        milliseconds=round(moment.microsecond / 1000)
    )
    return rounded.isoformat(timespec="milliseconds")


def record(item: Event | TopClasses, start_time: dt.datetime) -> dict:
    """An event or a stretch's top classes as plain data (what ``sed listen`` prints and
    appends to its files), at full precision (see :func:`rounded`).

    ``start_time`` and ``end_time`` are the wall-clock times of the onset and offset
    (:func:`wall_time`).
    """
    times = {"onset": item.onset, "offset": item.offset}
    clock = {
        "start_time": wall_time(start_time, item.onset),
        "end_time": wall_time(start_time, item.offset),
    }
    if isinstance(item, TopClasses):
        top = [{"label": label, "score": score} for label, score in zip(item.labels, item.scores)]
        return {**times, **clock, "top": top}
    return {
        **times,
        "event_label": item.event_label,
        "score": item.score,
        "mean_score": item.mean_score,
        **clock,
    }


def rounded(data):
    """A :func:`record` with every number rounded to the millisecond by the rule of every file
    ``sed`` writes (:func:`sed.events.round_seconds`): a JSON line."""
    if isinstance(data, float):
        return float(round_seconds(data))
    if isinstance(data, dict):
        return {key: rounded(value) for key, value in data.items()}
    if isinstance(data, list):
        return [rounded(value) for value in data]
    return data


def parse_start_time(text: str) -> dt.datetime:
    """An ISO 8601 date and time (``2025-06-01T05:30:00+02:00``); without an offset, local time.

    Raises
    ------
    ParameterError
        If ``text`` is not one.
    """
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ParameterError(
            f"start time {text!r} is not an ISO 8601 date and time (e.g. 2025-06-01T05:30:00)"
        ) from None
    return moment.astimezone() if moment.tzinfo is None else moment


# --------------------------------------------------------------------------------------------
# The listener.


class Listener:
    """Audio blocks in; events (or, with ``every_seconds``, top classes) out as decided.

    Parameters
    ----------
    model : sed.model.Yamnet
    sample_rate : int > 0
        Rate of the blocks, in Hz; resampled to 16 kHz with ``resampler``.
    classes, label_map, selection
        Which of YAMNet's classes to report (see :func:`sed.pipeline.class_selection`); all by
        default.
    head : sed.segmenter.Scorer, optional
        Report the labels of a head of any kind (or of any scorer, such as a
        :class:`sed.pipeline.Detector`'s) instead; then none of the three above.
    postprocessing : PostProcessing, optional
        As for ``sed detect``: by default the head's own, else ``PostProcessing()``.
    every_seconds : float, optional
        Instead of events, give out the ``top_k`` classes of every stretch of this many seconds
        (the windows starting in it), at least one hop long.
    top_k : int >= 1
    resampler : {"soxr", "resampy"}
    batch_size : int > 0
        Windows per model call at most.

    Attributes
    ----------
    labels : tuple of str
        The event labels reported.
    start_time : datetime.datetime or None
        Wall-clock time of the first sample, when known (see :func:`listen`).

    Raises
    ------
    ParameterError
        For an unknown class or resampler, a bad rate, classes given with a head, per-class
        thresholds of labels not reported, or ``every_seconds`` shorter than the hop.
    ModelError
        If ``head`` does not fit ``model``.
    """

    def __init__(
        self,
        model: Yamnet,
        *,
        sample_rate: int,
        classes: ClassList | None = None,
        label_map: str | os.PathLike | None = None,
        selection: ClassSelection | None = None,
        head: Scorer | None = None,
        postprocessing: PostProcessing | None = None,
        every_seconds: float | None = None,
        top_k: int = DEFAULT_TOP_K,
        resampler: str = DEFAULT_RESAMPLER,
        batch_size: int = DEFAULT_BATCH_SIZE,
        start_time: dt.datetime | None = None,
    ):
        from threadpoolctl import ThreadpoolController

        if not (isinstance(sample_rate, (int, np.integer)) and sample_rate > 0):
            raise ParameterError(
                f"sample rate must be a positive integer in Hz, got {sample_rate!r}"
            )
        check_resampler(resampler)
        check_batch_size(batch_size)
        self.scorer = resolve_scorer(
            model, head=head, classes=classes, label_map=label_map, selection=selection
        )
        self.model, self.labels = model, tuple(self.scorer.labels)
        self.sample_rate, self.batch_size = int(sample_rate), batch_size
        self.start_time = start_time
        self._stream = self.scorer.open(model, batch_size=batch_size, low_latency=True)
        self._decider: EventStream | _TopEvery
        if every_seconds is None:
            config = postprocessing_in_use(postprocessing, self.scorer.default_postprocessing)
            self._decider = EventStream(self.labels, config, frames_tile=self._stream.tiles)
        else:
            self._decider = _TopEvery(
                every_seconds, top_k, self.labels, model.params, self.scorer.clip_aggregation
            )
        self._resampler = StreamResampler(
            sample_rate, model.params.sample_rate, resampler=resampler
        )
        self._threads = ThreadpoolController()
        self.samples_in = 0  # at sample_rate, per channel
        self._finished = False

    @property
    def seconds(self) -> float:
        """Length of the audio pushed so far, in seconds."""
        return self.samples_in / self.sample_rate

    def push(self, block: np.ndarray) -> list[Event] | list[TopClasses]:
        """The next block of audio in; what it decides out.

        Parameters
        ----------
        block : np.ndarray [shape=(n,) or (n, n_channels)]
            Samples in [-1, 1] at ``sample_rate`` (channels are averaged).

        Returns
        -------
        decided : list of Event, or of TopClasses with ``every_seconds``

        Raises
        ------
        AudioError
            If a sample is NaN or infinite (nothing of the block is used).
        """
        if self._finished:
            raise ParameterError("the listener is finished")
        mono = to_mono(np.asarray(block, dtype=np.float32))
        bad = np.flatnonzero(~np.isfinite(mono))
        if len(bad):
            seconds = (self.samples_in + int(bad[0])) / self.sample_rate
            raise AudioError(f"NaN or infinite samples, the first at {seconds:.3f} s")
        self.samples_in += len(mono)
        return self._step(self._resampler.push(mono))

    def finish(self) -> list[Event] | list[TopClasses]:
        """End of the stream: the last windows (padded as ``sed detect`` pads a file's end)
        are scored and the open events closed.

        Raises
        ------
        AudioError
            If no sample was pushed at all.
        """
        if self._finished:
            raise ParameterError("the listener is finished")
        decided = self._step(self._resampler.finish())
        self._finished = True
        with self._threads.limit(limits=1, user_api="blas"):  # as sed.segmenter.score_stream
            end = self._stream.prepare_end()
            if end is None:
                raise AudioError("no audio samples")
            decided += self._give(self._stream.score(end))
            decided += self._give(self._stream.finish())
        return decided + self._decider.finish(self.seconds)

    def _step(self, samples: np.ndarray) -> list:
        with self._threads.limit(limits=1, user_api="blas"):  # as sed.segmenter.score_stream
            prepared = self._stream.prepare(samples)
            return self._give(self._stream.score(prepared)) if prepared is not None else []

    def _give(self, chunk: ScoreChunk) -> list:
        """A chunk of scores to the decider; what it decides out."""
        return self._decider.push(
            chunk.scores,
            chunk.starts,
            chunk.ends,
            chunk.frame_level_db,
            audio_seconds=self.seconds,
        )


class _TopEvery:
    """Window (or frame) scores in; the top classes of every ``every_seconds`` stretch out, once
    its last row has arrived (a row belongs to the stretch its start falls in); ``aggregation``
    is the scorer's clip aggregation (:func:`sed.pipeline.top_classes`)."""

    def __init__(self, every_seconds: float, k: int, labels, params, aggregation: str = "mean"):
        if not (isinstance(k, (int, np.integer)) and k >= 1):
            raise ParameterError(f"top must be at least 1, got {k!r}")
        if not every_seconds >= params.patch_hop_seconds:
            raise ParameterError(
                f"every must be at least the window hop ({params.patch_hop_seconds:g} s), "
                f"got {every_seconds!r}"
            )
        self.every, self.k, self.labels = float(every_seconds), int(k), tuple(labels)
        self.aggregation = aggregation
        self._index = 0  # the stretch being filled
        self._rows: list[np.ndarray] = []
        self._starts: list[float] = []

    def push(self, scores, starts, ends, frame_level_db=None, *, audio_seconds) -> list:
        out = []
        for row, start in zip(scores, starts):
            index = int(np.floor(start / self.every + 1e-9))
            if index != self._index and self._rows:
                out.append(self._stretch(self._index, (self._index + 1) * self.every))
            self._index = index
            self._rows.append(row)
            self._starts.append(float(start))
        return out

    def finish(self, duration_seconds: float) -> list:
        if not self._rows:
            return []
        offset = min((self._index + 1) * self.every, duration_seconds)
        return [self._stretch(self._index, max(offset, self._index * self.every))]

    def _stretch(self, index: int, offset: float) -> TopClasses:
        starts = np.array(self._starts)
        chunk = ScoreGrid("", starts, starts, np.array(self._rows), self.labels, 0.0)
        top = top_classes(chunk, min(self.k, len(self.labels)), aggregation=self.aggregation)
        self._rows, self._starts = [], []
        return TopClasses(
            index * self.every,
            offset,
            tuple(top["label"]),
            tuple(float(score) for score in top["score"]),
        )


# --------------------------------------------------------------------------------------------
# Stopping on a signal.


class StopRequest:
    """A request to stop listening (SIGINT, SIGTERM, or :meth:`request` from any thread).

    The source stops at its next block; a source blocked on a read wakes up at once (the
    request also writes to a pipe the read waits on). Nothing is interrupted half-way, so the
    open events can be closed.
    """

    def __init__(self):
        self.signum: int | None = None
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        os.set_blocking(self._write_fd, False)

    @property
    def requested(self) -> bool:
        """Whether a stop was requested."""
        return self.signum is not None

    def request(self, signum: int = signal.SIGTERM) -> None:
        """Ask the listening to stop (as if ``signum`` had been received)."""
        self.signum = signum
        with suppress(OSError):  # a full pipe: already woken up
            os.write(self._write_fd, b"\0")

    def fileno(self) -> int:
        """A file descriptor that becomes readable when a stop is requested."""
        return self._read_fd

    @contextmanager
    def on_signals(self, *signums: int):
        """Turn the given signals into stop requests while the block runs (main thread only)."""
        previous = {
            s: signal.signal(s, lambda number, frame: self.request(number)) for s in signums
        }
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def close(self) -> None:
        """Release the pipe."""
        for fd in (self._read_fd, self._write_fd):
            with suppress(OSError):
                os.close(fd)


# --------------------------------------------------------------------------------------------
# Sources.


@dataclass(frozen=True)
class PcmFormat:
    """How a stream of PCM bytes is laid out.

    Attributes
    ----------
    sample_rate : int > 0
        In Hz.
    channels : int >= 1
        Interleaved.
    encoding : str
        One of :data:`ENCODINGS` (``s16le``: little-endian signed 16-bit...).
    """

    sample_rate: int
    channels: int
    encoding: str

    def __post_init__(self):
        if self.encoding not in ENCODINGS:
            raise ParameterError(
                f"unknown sample format {self.encoding!r}; choose one of {', '.join(ENCODINGS)}"
            )
        if not (isinstance(self.sample_rate, (int, np.integer)) and self.sample_rate > 0):
            raise ParameterError(
                f"sample rate must be a positive integer in Hz, got {self.sample_rate!r}"
            )
        if not (isinstance(self.channels, (int, np.integer)) and self.channels >= 1):
            raise ParameterError(f"channels must be a positive integer, got {self.channels!r}")

    @property
    def sample_bytes(self) -> int:
        """Bytes per sample of one channel."""
        return 3 if self.encoding == "s24le" else np.dtype(ENCODINGS[self.encoding][0]).itemsize

    @property
    def frame_bytes(self) -> int:
        """Bytes per frame (one sample of every channel)."""
        return self.sample_bytes * self.channels

    def decode(self, data: bytes) -> np.ndarray:
        """Whole frames of PCM bytes to samples.

        Parameters
        ----------
        data : bytes
            A multiple of :attr:`frame_bytes` long.

        Returns
        -------
        samples : np.ndarray [shape=(n_frames, channels), dtype=float32]
            Integers scaled to [-1, 1) as libsndfile scales them (so, bit for bit, what
            ``soundfile`` reads from the same WAV file); floats as they are.
        """
        dtype, scale = ENCODINGS[self.encoding]
        if self.encoding == "s24le":
            raw = np.frombuffer(data, np.uint8).reshape(-1, 3)
            wide = np.zeros((len(raw), 4), np.uint8)
            wide[:, 1:] = raw  # little-endian: the 24 bits on top of a 32-bit integer
            values = wide.view("<i4").ravel() >> 8
        else:
            values = np.frombuffer(data, dtype)
        if self.encoding == "u8":
            values = values.astype(np.int16) - 128
        samples = values.astype(np.float32)
        if scale != 1.0:
            samples *= np.float32(scale)
        return samples.reshape(-1, self.channels)

    def describe(self) -> str:
        """``16000 Hz, 1 channel, s16le``."""
        plural = "s" * (self.channels != 1)
        return f"{self.sample_rate} Hz, {self.channels} channel{plural}, {self.encoding}"


class _Bytes:
    """Bytes from a stream as soon as they arrive, waking up for a stop request.

    A stream with a file descriptor (standard input) is read with ``os.read`` after ``select``,
    so no buffered data waits unseen; others (in-memory streams) with ``read1``.
    """

    def __init__(self, stream, stop: StopRequest | None):
        self.stream, self.stop = stream, stop
        self.remaining: int | None = None  # bytes left before the end, when it is known
        try:
            self.fd: int | None = stream.fileno()
        except (AttributeError, OSError, ValueError):
            self.fd = None

    def read(self, max_bytes: int, *, wait: bool = True) -> bytes | None:
        """Up to ``max_bytes``: ``b""`` at the end of the stream; None when a stop was
        requested or, with ``wait=False``, when nothing is available right now."""
        if self.stop is not None and self.stop.requested:
            return None
        if self.remaining is not None:
            if self.remaining <= 0:
                return b""
            max_bytes = min(max_bytes, self.remaining)
        if self.fd is None:
            data = getattr(self.stream, "read1", self.stream.read)(max_bytes)
        else:
            waiting = [self.fd] + ([self.stop.fileno()] if self.stop is not None else [])
            ready, _, _ = select.select(waiting, [], [], None if wait else 0)
            if (self.stop is not None and self.stop.requested) or self.fd not in ready:
                return None
            data = os.read(self.fd, max_bytes)
        if self.remaining is not None:
            self.remaining -= len(data)
        return data

    def read_exact(self, n: int) -> bytes | None:
        """Exactly ``n`` bytes, fewer at the end of the stream, None on a stop request."""
        data = b""
        while len(data) < n:
            more = self.read(n - len(data))
            if more is None:
                return None
            if not more:
                break
            data += more
        return data


def read_wav_header(
    read_exact: Callable[[int], bytes | None], name: str
) -> tuple[PcmFormat, int | None]:
    """Read a WAV (RIFF or RF64) header from a stream, up to the start of its samples.

    Parameters
    ----------
    read_exact : callable
        ``read_exact(n)`` gives the next ``n`` bytes (fewer at the end of the stream).
    name : str
        Named in errors.

    Returns
    -------
    format : PcmFormat
        Integer PCM of 8 (unsigned), 16, 24 or 32 bits, or 32- or 64-bit floats, also inside
        ``WAVE_FORMAT_EXTENSIBLE``.
    data_bytes : int or None
        Length of the samples; None when the header does not know it (a stream written before
        its length was known, such as ``ffmpeg ... -f wav -``, declares 0 or 0xFFFFFFFF).

    Raises
    ------
    AudioError
        If the header is not a WAV header, ends early, or announces an encoding other than
        those above.
    """

    def take(n: int) -> bytes:
        data = read_exact(n)
        if data is None:
            raise Stopped
        if len(data) < n:
            raise AudioError("the WAV header ends before its samples", name)
        return data

    riff = take(12)
    if riff[:4] not in (b"RIFF", b"RF64") or riff[8:12] != b"WAVE":
        raise AudioError("not a WAV stream (no RIFF/WAVE header)", name)
    fmt, ds64_data = None, None
    while True:
        chunk, size = struct.unpack("<4sI", take(8))
        if chunk == b"data":
            if fmt is None:
                raise AudioError("the WAV header has no 'fmt ' chunk before its samples", name)
            if riff[:4] == b"RF64":
                return fmt, ds64_data
            return fmt, None if size in (0, 0xFFFFFFFF) else size
        body = take(size + size % 2)  # chunks are padded to an even length
        if chunk == b"fmt ":
            fmt = _wav_format(body[:size], name)
        elif chunk == b"ds64" and size >= 16:
            ds64_data = struct.unpack("<Q", body[8:16])[0]


def _wav_format(body: bytes, name: str) -> PcmFormat:
    if len(body) < 16:
        raise AudioError("the WAV 'fmt ' chunk is too short", name)
    tag, channels, rate, _, block_align, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == 0xFFFE and len(body) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the sub-format's tag
        tag = struct.unpack("<H", body[24:26])[0]
    encodings = {(1, 8): "u8", (1, 16): "s16le", (1, 24): "s24le", (1, 32): "s32le"}
    encodings.update({(3, 32): "f32le", (3, 64): "f64le"})
    if (tag, bits) not in encodings:
        raise AudioError(
            f"unsupported WAV encoding (format tag {tag}, {bits} bits): integer PCM of 8 to 32 "
            "bits or 32/64-bit floats are read",
            name,
        )
    if channels < 1 or rate < 1 or block_align != channels * bits // 8:
        raise AudioError(
            f"inconsistent WAV header ({channels} channels, {rate} Hz, block {block_align})", name
        )
    return PcmFormat(rate, channels, encodings[(tag, bits)])


class Stopped(Exception):
    """A stop was requested before a source's first bytes (or its header) arrived."""


class PcmSource:
    """Audio from a byte stream, such as standard input: WAV with its header, or raw PCM.

    The stream is a WAV stream when it starts with ``RIFF`` or ``RF64`` (its header gives the
    rate, channels and encoding; a length the header declares ends the samples); otherwise it
    is raw PCM laid out as ``raw_format`` says.

    Parameters
    ----------
    stream : binary file object
        ``sys.stdin.buffer``, a pipe, a socket file...
    raw_format : PcmFormat, optional
        The layout of raw PCM; without it, a stream that is not WAV is an error.
    name : str
        How the source is named in messages and the ``filename`` column (``stdin``).

    stop : StopRequest, optional
        Stops the wait for the stream's first bytes.

    Raises
    ------
    AudioError
        For a bad WAV header.
    ParameterError
        If the stream is not WAV and no ``raw_format`` is given.
    Stopped
        If a stop was requested before the first bytes or the header arrived.
    """

    def __init__(
        self,
        stream,
        *,
        raw_format: PcmFormat | None = None,
        name: str = "stdin",
        stop: StopRequest | None = None,
    ):
        self.name, self._stream = name, stream
        self._bytes = _Bytes(stream, stop)
        self.overflows = self.underflows = 0
        head = self._bytes.read_exact(4)
        if head is None:
            raise Stopped
        if not head:
            raise AudioError("no audio: the stream is empty", name)
        self.is_wav = head in (b"RIFF", b"RF64")
        if self.is_wav:
            unread = [head]

            def read_exact(n: int) -> bytes | None:
                data = unread.pop() if unread else b""
                return data + (self._bytes.read_exact(n - len(data)) or b"")

            self.format, self._bytes.remaining = read_wav_header(read_exact, name)
            self._pending = b""
        else:
            if raw_format is None:
                raise ParameterError(
                    f"{name} does not start with a WAV header: for raw PCM give its rate "
                    "(--rate), and its --sample-format and --channels if not s16le mono"
                )
            self.format, self._pending = raw_format, head

    @property
    def sample_rate(self) -> int:
        """In Hz."""
        return self.format.sample_rate

    def describe(self) -> str:
        """``stdin (WAV, 44100 Hz, 2 channels, s16le)``."""
        return f"{self.name} ({'WAV' if self.is_wav else 'raw'}, {self.format.describe()})"

    def blocks(self, stop: StopRequest | None = None) -> Iterator[np.ndarray]:
        """Samples as they arrive, ``(n, channels)`` float32, until the end of the stream or a
        stop request. Whatever is available is read at once (up to :data:`MAX_BLOCK_SECONDS`),
        so a stream read faster than real time is processed in large blocks."""
        self._bytes.stop = stop
        frame_bytes = self.format.frame_bytes
        block_bytes = max(frame_bytes, int(MAX_BLOCK_SECONDS * self.sample_rate) * frame_bytes)
        pending = self._pending
        ended = False
        while not ended:
            data = self._bytes.read(block_bytes)
            if data is None:
                return
            ended = not data
            parts = [pending, data]
            while not ended and sum(map(len, parts)) < block_bytes:  # what is there already
                more = self._bytes.read(block_bytes, wait=False)
                if more is None:
                    break
                ended = not more
                parts.append(more)
            pending = b"".join(parts)
            whole = len(pending) - len(pending) % frame_bytes
            if whole:
                yield self.format.decode(pending[:whole])
                pending = pending[whole:]


def import_sounddevice():
    """The ``sounddevice`` module, or :class:`AudioError` naming what is missing.

    Raises
    ------
    AudioError
        If the package or the PortAudio library it loads is not installed.
    """
    try:
        import sounddevice
    except ImportError:
        raise AudioError(
            "the sounddevice package is not installed (it ships with sed: reinstall sed)"
        ) from None
    except OSError:  # sounddevice loads libportaudio when imported
        raise AudioError(
            "the PortAudio library is not installed: install it (Debian/Ubuntu: "
            f"apt install {PORTAUDIO_PACKAGE}; Fedora: dnf install portaudio; macOS and "
            "Windows: it comes with sounddevice), or pipe audio in with 'sed listen -'"
        ) from None
    return sounddevice


class DeviceSource:
    """Audio from a sound card's input, through PortAudio (the ``sounddevice`` package).

    PortAudio calls back from its own thread with each block; the blocks wait in a queue of
    :data:`DEVICE_QUEUE_SECONDS` for the listener. Input overflows (samples the sound card lost
    because they were not read in time), underflows, and blocks dropped because the queue was
    full are counted, never fatal.

    Parameters
    ----------
    device : int or str, optional
        Index or (part of a) name, as ``python -m sounddevice`` lists them; by default the
        system's default input.
    sample_rate : int, optional
        Rate to record at, in Hz; by default the device's default rate.
    channels : int >= 1
        Channels to record (averaged to mono).
    sounddevice : module, optional
        The ``sounddevice`` module or a stand-in with the same ``query_devices``,
        ``InputStream`` and ``PortAudioError`` (tests replace the sound card with a generator).

    Raises
    ------
    AudioError
        If PortAudio is missing (:func:`import_sounddevice`), there is no such input device, or
        it cannot be opened with these settings.
    """

    def __init__(
        self,
        device: int | str | None = None,
        *,
        sample_rate: int | None = None,
        channels: int = DEFAULT_CHANNELS,
        sounddevice=None,
    ):
        sd = sounddevice if sounddevice is not None else import_sounddevice()
        what = "default input device" if device is None else f"input device {device!r}"
        try:
            info = sd.query_devices(device, kind="input")
        except (ValueError, sd.PortAudioError) as error:
            raise AudioError(
                f"no {what} ({error}); `python -m sounddevice` lists the devices"
            ) from None
        self.name = str(info["name"])
        self.sample_rate = int(sample_rate or info["default_samplerate"])
        if channels > int(info["max_input_channels"]):
            raise ParameterError(
                f"{self.name!r} records at most {info['max_input_channels']} channels, "
                f"not {channels}"
            )
        self.channels = channels
        self.overflows = self.underflows = 0
        block = max(1, int(DEVICE_BLOCK_SECONDS * self.sample_rate))
        self._queue: queue.Queue = queue.Queue(
            maxsize=max(1, int(DEVICE_QUEUE_SECONDS / DEVICE_BLOCK_SECONDS))
        )
        self._ended = threading.Event()
        try:
            self._stream = sd.InputStream(
                device=device,
                samplerate=self.sample_rate,
                channels=channels,
                dtype="float32",
                blocksize=block,
                callback=self._callback,
                finished_callback=self._ended.set,
            )
        except (ValueError, sd.PortAudioError) as error:
            raise AudioError(f"cannot open the {what} {self.name!r}: {error}") from None

    def describe(self) -> str:
        """``'USB Audio' (48000 Hz, 1 channel)``."""
        plural = "s" * (self.channels != 1)
        return f"{self.name!r} ({self.sample_rate} Hz, {self.channels} channel{plural})"

    def _callback(self, indata, frames, time, status) -> None:
        if status.input_overflow:
            self.overflows += 1
        if status.input_underflow:
            self.underflows += 1
        try:
            self._queue.put_nowait(np.array(indata, dtype=np.float32, copy=True))
        except queue.Full:  # the listener is behind: these samples are lost
            self.overflows += 1

    def blocks(self, stop: StopRequest | None = None) -> Iterator[np.ndarray]:
        """Blocks ``(n, channels)`` float32 from the moment the device starts until a stop
        request or until the device stops delivering."""
        with self._stream:
            while not (stop is not None and stop.requested):
                try:
                    yield self._queue.get(timeout=0.1)
                except queue.Empty:
                    if self._ended.is_set():
                        return


# --------------------------------------------------------------------------------------------
# The loop.


@dataclass
class ListenSummary:
    """How a listening session went.

    Attributes
    ----------
    seconds : float
        Audio received, in seconds.
    decided : int
        Events (or stretches) given out.
    signum : int or None
        The signal that stopped it; None when the source ended.
    overflows, underflows : int
        Reported by the source (a sound card); 0 for streams.
    start_time : datetime.datetime or None
        Wall-clock time of the first sample.
    """

    seconds: float
    decided: int
    signum: int | None
    overflows: int = 0
    underflows: int = 0
    start_time: dt.datetime | None = None


def listen(
    source,
    listener: Listener,
    emit: Callable[[dict], None],
    *,
    stop: StopRequest | None = None,
    warn: Callable[[str], None] | None = None,
) -> ListenSummary:
    """Feed a source's blocks to a listener until the source ends or a stop is requested, and
    hand every decided event (or stretch) to ``emit`` as soon as it is decided.

    Whatever ends the listening (the end of the source, a stop request, a bad sample), the open
    events are closed and given out before this returns or raises.

    Parameters
    ----------
    source : PcmSource or DeviceSource
        Anything with ``blocks(stop)`` giving ``(n, channels)`` float32 blocks at the listener's
        rate, and ``overflows``/``underflows`` counters.
    listener : Listener
        Its ``start_time`` is set to the clock time of the first sample if it has none.
    emit : callable
        Receives each decided item as :func:`record` gives it.
    stop : StopRequest, optional
    warn : callable, optional
        Receives a line when the source reports new overflows or underflows: at the first, then
        at most every :data:`WARN_EVERY_SECONDS`.

    Returns
    -------
    summary : ListenSummary

    Raises
    ------
    AudioError
        If the source had no audio at all, or for a NaN sample (after the events before it).
    """
    warn = warn or (lambda line: None)
    decided, reported, reported_at = 0, (0, 0), -math.inf

    def give(items) -> None:
        nonlocal decided
        for item in items:
            emit(record(item, listener.start_time))  # type: ignore[arg-type]
            decided += 1

    try:
        for block in source.blocks(stop):
            if listener.start_time is None:  # the block's first sample was taken this long ago
                now = dt.datetime.now().astimezone()
                listener.start_time = now - dt.timedelta(seconds=len(block) / listener.sample_rate)
            give(listener.push(block))
            counts = (source.overflows, source.underflows)
            if counts != reported and time.monotonic() - reported_at >= WARN_EVERY_SECONDS:
                warn(
                    f"input overflows: {counts[0]}, underflows: {counts[1]} so far (at "
                    f"{listener.seconds:.1f} s of audio): samples were lost"
                )
                reported, reported_at = counts, time.monotonic()
    finally:
        if listener.start_time is None:
            listener.start_time = dt.datetime.now().astimezone()
        if listener.samples_in:
            give(listener.finish())
    if not listener.samples_in and not (stop is not None and stop.requested):
        raise AudioError("no audio samples", getattr(source, "name", None))
    return ListenSummary(
        listener.seconds,
        decided,
        stop.signum if stop is not None else None,
        source.overflows,
        source.underflows,
        listener.start_time,
    )
