"""Where live audio comes from: a byte stream (standard input: WAV with its header, or raw PCM)
or a sound card through PortAudio."""

from __future__ import annotations

import os
import queue
import select
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sed.errors import AudioError, ParameterError

if TYPE_CHECKING:
    from sed.listen.signals import StopRequest


#: (what ``arecord -f S16_LE`` and ``ffmpeg -f s16le`` write) and 32-bit floats.
SAMPLE_FORMATS = ("s16le", "f32le")
DEFAULT_SAMPLE_FORMAT = "s16le"
#: Channels of raw PCM on standard input, and recorded from a sound card, unless told.
DEFAULT_CHANNELS = 1
#: libsndfile's, so a WAV piped in decodes to the samples ``sed detect`` reads from the file.
ENCODINGS = {
    "u8": ("u1", 2.0**-7),
    "s16le": ("<i2", 2.0**-15),
    "s24le": ("<i4", 2.0**-23),  # 3 bytes per sample, widened to 4
    "s32le": ("<i4", 2.0**-31),
    "f32le": ("<f4", 1.0),
    "f64le": ("<f8", 1.0),
}
#: decisions while a stream is read faster than real time.
MAX_BLOCK_SECONDS = 8.0
#: Length of the blocks a sound card delivers, in seconds.
DEVICE_BLOCK_SECONDS = 0.05
#: Audio a sound card may deliver ahead of the listener before blocks are dropped, in seconds.
DEVICE_QUEUE_SECONDS = 60.0
#: The system package that provides PortAudio, named in the error when it is missing.
PORTAUDIO_PACKAGE = "libportaudio2"


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
        #: Bytes of an incomplete sample frame the stream ended inside: never decoded.
        self.incomplete_bytes = 0
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
        # The end cut a sample frame short: its bytes are no sample (and never scored).
        self.incomplete_bytes = len(pending)


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
