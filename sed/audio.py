"""Audio input: find audio files, read any file soundfile reads, downmix, resample to 16 kHz.

Follows the reference YAMNet ``inference.py``: samples as float32 in [-1, 1], channels averaged
to mono, resampled to 16 kHz. The reference resampler is resampy ``kaiser_best``; ``sed`` uses
soxr (``HQ``) by default because it is about 70 times faster with the same pass band.

Every file is decoded by one path: soundfile decodes a block at a time and the channels are
averaged. :func:`stream_audio` resamples the blocks with a streaming resampler
(:class:`StreamResampler`), so memory does not grow with the file's length; :func:`load_audio`
resamples the whole signal at once, as the reference does. Both give the same samples (bit for bit
with soxr, to float32 rounding with resampy), and a bad file the same message.

Every command finds its recordings with :func:`find_audio_files` (one set of rules: audio
suffixes, hidden entries skipped, symbolic links to folders followed once, the same file named
twice processed once).
"""

from __future__ import annotations

import contextlib
import fnmatch
import math
import os
import re
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import soundfile as sf

from sed.errors import AudioError, ParameterError
from sed.infra import special_kind

RESAMPLERS = ("soxr", "resampy")
DEFAULT_RESAMPLER = "soxr"
# File suffixes taken as audio when a folder is searched: the formats libsndfile reads.
AUDIO_EXTENSIONS = (
    ".wav",
    ".wave",
    ".flac",
    ".ogg",
    ".oga",
    ".opus",
    ".mp3",
    ".aif",
    ".aiff",
    ".aifc",
    ".au",
    ".snd",
    ".caf",
    ".w64",
    ".rf64",
)
#: Samples per channel (at the file's own rate) decoded per block when streaming: 2**18 is 6 s
#: at 44.1 kHz (4 MB in stereo). soundfile calls them frames; here a frame is an analysis frame.
DEFAULT_BLOCK_SAMPLES = 1 << 18

# libsndfile logs "data : <declared> (should be <present>)" when a WAV's data chunk is cut short.
#: The data chunk size a streaming recorder writes while it does not know the length.
_UNKNOWN_DATA_SIZE = 0xFFFFFFFF
_TRUNCATED_CHUNK = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds, read from its header.

    Attributes
    ----------
    path : str
        The file.
    sample_rate : int
        Native sample rate, in Hz.
    channels : int >= 1
        Channel count.
    frames : int >= 1
        Samples per channel.
    format, subtype : str
        Container and encoding, as soundfile names them (``WAV``, ``PCM_16``...).
    """

    path: str
    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str

    @property
    def duration_seconds(self) -> float:
        """Length of the recording, in seconds."""
        return self.frames / self.sample_rate


#: Lowest sample rate read, in Hz: telephone speech is 8000 Hz; a rate of 1 Hz is a broken
#: header, which libsndfile reads and a resampler would stretch into hours of nothing.
MIN_SAMPLE_RATE = 1000

#: How much less audio than its header declares a file may decode to: an MP3's encoder delay
#: and padding (a frame, 1152 samples, either end) stay far below 1 % of any recording.
SHORTFALL_TOLERANCE = 0.01


def audio_info(path: str | os.PathLike) -> AudioInfo:
    """Read and check the header of an audio file.

    Parameters
    ----------
    path : str or os.PathLike
        Any file libsndfile reads: WAV, FLAC, OGG/Vorbis, MP3, AIFF...

    Returns
    -------
    info : AudioInfo

    Raises
    ------
    AudioError
        If the file is missing (or a link to a missing file), a directory, a FIFO or a device
        (:func:`sed.infra.special_kind`), empty, not audio, has no samples or channels, or is
        a WAV whose data chunk is shorter than its header says (a truncated file; a size of
        0xFFFFFFFF, a streaming recorder's unknown length, is read whole).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        if os.path.islink(path):
            raise AudioError(f"a symbolic link to a missing file ({os.readlink(path)})", path)
        raise AudioError("no such file", path)
    if os.path.isdir(path):
        raise AudioError("is a directory, not an audio file", path)
    kind = special_kind(path)
    if kind is not None:  # a device or a FIFO may never end: refused before it is read
        raise AudioError(
            f"is {kind}, not a regular file: sed reads a recording from a file it can seek in; "
            "save the audio to a file first",
            path,
        )
    if os.path.getsize(path) == 0:
        raise AudioError("file is empty (0 bytes)", path)
    try:
        with quiet_native_stderr():
            info = sf.info(_native_name(path))
    except (sf.LibsndfileError, RuntimeError) as error:
        raise AudioError(f"not a readable audio file ({_libsndfile_reason(error)})", path) from None
    if info.channels < 1:
        raise AudioError("file has no audio channels", path)
    if info.frames < 1:
        raise AudioError("file contains no audio samples", path)
    if info.samplerate < MIN_SAMPLE_RATE:
        raise AudioError(
            f"sample rate {info.samplerate} Hz in its header, below the {MIN_SAMPLE_RATE} Hz of "
            "any sound recording (a broken header?)",
            path,
        )
    truncated = _TRUNCATED_CHUNK.search(info.extra_info or "")
    # A declared size of 0xFFFFFFFF is what streaming recorders write when the length is not
    # known yet: libsndfile reads what is there, and so does sed.
    if (
        truncated
        and int(truncated.group(2)) < int(truncated.group(1))
        and int(truncated.group(1)) != _UNKNOWN_DATA_SIZE
    ):
        raise AudioError(
            f"truncated: header declares {truncated.group(1)} bytes of audio data, "
            f"the file holds {truncated.group(2)}",
            path,
        )
    return AudioInfo(
        path, int(info.samplerate), int(info.channels), int(info.frames), info.format, info.subtype
    )


def check_finite(samples: np.ndarray, path: str | None = None) -> None:
    """Raise :class:`AudioError` if any sample is NaN or infinite (the model cannot use them).

    Parameters
    ----------
    samples : np.ndarray
        Audio samples of any shape.
    path : str, optional
        Named in the error message.
    """
    finite = np.isfinite(samples)
    if not finite.all():
        bad = int(samples.size - np.count_nonzero(finite))
        what = "all samples are" if bad == samples.size else f"{bad} of {samples.size} samples are"
        raise AudioError(f"{what} NaN or infinite", path)


#: A 2-D array whose first dimension is at most this and smaller than its second is taken for
#: channels first (``librosa.load(mono=False)`` gives ``(2, n)``), and refused.
MAX_CHANNELS_FIRST = 8


def check_waveform(waveform, name: str | None = None) -> np.ndarray:
    """Check audio handed over as an array, the layout soundfile reads: samples first.

    Parameters
    ----------
    waveform : array-like [shape=(n_samples,) or (n_samples, n_channels)]
        Floating-point samples in [-1, 1].
    name : str, optional
        Named in error messages.

    Returns
    -------
    waveform : np.ndarray [shape as given, dtype=float32]

    Raises
    ------
    ParameterError
        If the samples are not floating point (integer PCM must be scaled first, as librosa
        also insists), not one or two dimensions, or look channels first (``(2, n)``: a first
        dimension of at most :data:`MAX_CHANNELS_FIRST` below the second); each message says
        what to do.
    AudioError
        If there are no samples or channels, or a sample is NaN or infinite.
    """
    array = np.asarray(waveform)
    kind = array.dtype.kind
    if kind in "iub":
        raise ParameterError(
            f"audio samples must be floating point in [-1, 1], got {array.dtype}; scale integer "
            "samples first (int16: waveform / 32768, as soundfile.read(path, dtype='float32') "
            "returns them)"
        )
    if kind != "f":
        raise ParameterError(f"audio samples must be floating point numbers, got {array.dtype}")
    if array.ndim not in (1, 2):
        raise ParameterError(
            "audio must be an array of shape (n_samples,) or (n_samples, n_channels), got "
            f"shape {array.shape}"
        )
    if array.ndim == 2 and array.shape[0] <= MAX_CHANNELS_FIRST and array.shape[0] < array.shape[1]:
        raise ParameterError(
            f"audio of shape {array.shape} looks channels first; pass waveform.T, of shape "
            "(n_samples, n_channels), or a mono waveform of shape (n_samples,)"
        )
    if array.size == 0:
        raise AudioError(f"audio has no samples (shape {array.shape})", name)
    check_finite(array, name)
    return array.astype(np.float32, copy=False)


def to_mono(samples: np.ndarray) -> np.ndarray:
    """Downmix by averaging channels, as the reference ``inference.py`` does.

    Parameters
    ----------
    samples : np.ndarray [shape=(frames,) or (frames, channels)]

    Returns
    -------
    waveform : np.ndarray [shape=(frames,), dtype=float32]
        The channels summed in order in float32, then divided by their count (for stereo this
        equals ``samples.mean(axis=1)`` bit for bit, at a fortieth of its cost).
    """
    if samples.ndim == 1:
        return samples.astype(np.float32, copy=False)
    if samples.shape[1] == 1:
        return samples[:, 0].astype(np.float32, copy=False)
    mono = samples[:, 0].astype(np.float32)
    for channel in range(1, samples.shape[1]):
        mono += samples[:, channel]
    mono /= np.float32(samples.shape[1])
    return mono


def resample(
    waveform: np.ndarray,
    orig_sample_rate: int,
    target_sample_rate: int,
    *,
    resampler: str = DEFAULT_RESAMPLER,
) -> np.ndarray:
    """Resample a mono signal.

    Parameters
    ----------
    waveform : np.ndarray [shape=(n_samples,), dtype=float32]
        Mono audio at ``orig_sample_rate`` Hz.
    orig_sample_rate, target_sample_rate : int > 0
        Rates in Hz.
    resampler : {"soxr", "resampy"}
        ``soxr`` (libsoxr, ``HQ`` quality) or ``resampy`` with the ``kaiser_best`` filter that the
        reference ``inference.py`` uses.

    Returns
    -------
    waveform : np.ndarray [shape=(round(n_samples * target / orig),), dtype=float32]

    Raises
    ------
    ParameterError
        If ``resampler`` is not one of :data:`RESAMPLERS`.
    """
    check_resampler(resampler)
    if orig_sample_rate == target_sample_rate:
        return waveform.astype(np.float32, copy=False)
    if resampler == "soxr":
        import soxr

        out = soxr.resample(waveform, orig_sample_rate, target_sample_rate, quality="HQ")
    elif len(waveform) * target_sample_rate // orig_sample_rate == 0:
        out = np.zeros(0, np.float32)  # too short for one output sample: resampy would refuse it
    else:
        import resampy

        out = resampy.resample(waveform, orig_sample_rate, target_sample_rate, filter="kaiser_best")
    return np.asarray(out, dtype=np.float32)


def check_resampler(resampler: str) -> None:
    """Raise :class:`ParameterError` unless ``resampler`` is one of :data:`RESAMPLERS`."""
    if resampler not in RESAMPLERS:
        raise ParameterError(
            f"unknown resampler {resampler!r}; choose one of {', '.join(RESAMPLERS)}"
        )


def load_audio(
    path: str | os.PathLike, *, sample_rate: int = 16000, resampler: str = DEFAULT_RESAMPLER
) -> tuple[np.ndarray, AudioInfo]:
    """Read a whole file as a mono float32 waveform at ``sample_rate``.

    The decoding, checks and messages of :func:`stream_audio`, then :func:`resample` of the
    whole signal (with resampy exactly the reference's ``resampy.resample`` call). Memory holds
    the mono signal at the file's rate as well as the result.

    Parameters
    ----------
    path : str or os.PathLike
        Any file libsndfile reads, at any sample rate, bit depth and channel count.
    sample_rate : int > 0
        Target rate in Hz (YAMNet: 16000).
    resampler : {"soxr", "resampy"}
        See :func:`resample`.

    Returns
    -------
    waveform : np.ndarray [shape=(n_samples,), dtype=float32]
        Mono audio in [-1, 1] at ``sample_rate``.
    info : AudioInfo
        The file's native properties (``info.duration_seconds`` is the true length).

    Raises
    ------
    AudioError
        If the file cannot be used (see :func:`stream_audio`).
    ParameterError
        If ``resampler`` is unknown.
    """
    check_resampler(resampler)
    info = audio_info(path)
    samples = np.concatenate(list(_mono_blocks(info, DEFAULT_BLOCK_SAMPLES)))
    return resample(samples, info.sample_rate, sample_rate, resampler=resampler), info


def stream_audio(
    path: str | os.PathLike,
    *,
    sample_rate: int = 16000,
    resampler: str = DEFAULT_RESAMPLER,
    block_samples: int = DEFAULT_BLOCK_SAMPLES,
) -> tuple[Iterator[np.ndarray], AudioInfo]:
    """Read a file block by block as a mono float32 waveform at ``sample_rate``.

    Memory does not grow with the file's length, and the blocks joined together equal the
    waveform of :func:`load_audio`: bit for bit with soxr, to float32 rounding with resampy
    (see :class:`StreamResampler`; ``tests/test_audio.py``).

    Parameters
    ----------
    path : str or os.PathLike
        Any file libsndfile reads, at any sample rate, bit depth and channel count.
    sample_rate : int > 0
        Target rate in Hz (YAMNet: 16000).
    resampler : {"soxr", "resampy"}
        See :func:`resample`.
    block_samples : int > 0
        Samples per channel (at the file's rate) decoded per block.

    Returns
    -------
    blocks : iterator of np.ndarray [shape=(n,), dtype=float32]
        Consecutive pieces of the mono waveform at ``sample_rate``, in [-1, 1]; some may be empty.
        Decoding errors are raised by the iterator, when they are met.
    info : AudioInfo
        The file's header, checked before this function returns.

    Raises
    ------
    AudioError
        If the header is unusable (see :func:`audio_info`); from the iterator: if decoding fails
        part-way, the file holds no samples, or a sample is NaN or infinite (the message gives
        the time of the first one).
    ParameterError
        If ``resampler`` is unknown or ``block_samples`` is not a positive integer.
    """
    check_resampler(resampler)
    if not (isinstance(block_samples, (int, np.integer)) and block_samples > 0):
        raise ParameterError(f"block_samples must be a positive integer, got {block_samples!r}")
    info = audio_info(path)
    return _stream(info, sample_rate, resampler, int(block_samples)), info


def _stream(
    info: AudioInfo, sample_rate: int, resampler: str, block_samples: int
) -> Iterator[np.ndarray]:
    stream = StreamResampler(info.sample_rate, sample_rate, resampler=resampler)
    for block in _mono_blocks(info, block_samples):
        yield stream.push(block)
    yield stream.finish()


def _mono_blocks(info: AudioInfo, block_samples: int) -> Iterator[np.ndarray]:
    """The file's samples at its own rate, channels averaged, block by block; raises
    :class:`AudioError` for a NaN or infinite sample (when met) or a file without samples."""
    frames_read = 0
    for block in _decoded_blocks(info, block_samples):
        if not np.isfinite(block).all():
            first = int(np.flatnonzero(~np.isfinite(block).all(axis=1))[0])
            seconds = (frames_read + first) / info.sample_rate
            raise AudioError(f"NaN or infinite samples, the first at {seconds:.3f} s", info.path)
        frames_read += len(block)
        yield to_mono(block)
    if frames_read == 0:
        raise AudioError("file contains no audio samples", info.path)
    if frames_read < info.frames * (1 - SHORTFALL_TOLERANCE):
        # An MP3 cut short keeps the length its Xing header declares; libsndfile decodes what
        # is there. Its length (and durations.tsv) would be the header's.
        raise AudioError(
            f"truncated: the header declares {info.duration_seconds:.3f} s of audio, the file "
            f"holds {frames_read / info.sample_rate:.3f} s",
            info.path,
        )


def _decoded_blocks(info: AudioInfo, block_samples: int) -> Iterator[np.ndarray]:
    try:
        with quiet_native_stderr():
            handle = sf.SoundFile(_native_name(info.path))
        with handle:
            while True:
                block = handle.read(block_samples, dtype="float32", always_2d=True)
                if not len(block):
                    return
                yield block
    except (sf.LibsndfileError, RuntimeError) as error:
        raise AudioError(f"cannot decode audio ({_libsndfile_reason(error)})", info.path) from None


class StreamResampler:
    """Resample a mono signal that arrives in pieces, as if it came whole.

    ``soxr`` keeps its state in ``soxr.ResampleStream``, whose output equals ``soxr.resample`` of
    the whole signal bit for bit. resampy has no streaming interface; :class:`_ResampyStream`
    calls ``resampy.resample`` on overlapping pieces of the signal and keeps the middle of each,
    which equals the whole signal's output to float32 rounding (``tests/test_audio.py``).

    Parameters
    ----------
    orig_sample_rate, target_sample_rate : int > 0
        In Hz.
    resampler : {"soxr", "resampy"}

    Raises
    ------
    ParameterError
        If ``resampler`` is not one of :data:`RESAMPLERS`.
    """

    def __init__(
        self, orig_sample_rate: int, target_sample_rate: int, *, resampler: str = DEFAULT_RESAMPLER
    ):
        check_resampler(resampler)
        self.orig, self.target, self.resampler = orig_sample_rate, target_sample_rate, resampler
        self._soxr = None
        self._resampy = None
        if orig_sample_rate == target_sample_rate:
            return
        if resampler == "soxr":
            import soxr

            self._soxr = soxr.ResampleStream(
                orig_sample_rate, target_sample_rate, 1, dtype="float32", quality="HQ"
            )
        else:
            self._resampy = _ResampyStream(orig_sample_rate, target_sample_rate)

    def push(self, samples: np.ndarray) -> np.ndarray:
        """Feed the next input samples ``(n,)``; returns the output samples now complete."""
        samples = np.asarray(samples, dtype=np.float32)
        if self._soxr is not None:
            return self._soxr.resample_chunk(samples)
        if self._resampy is not None:
            return self._resampy.push(samples)
        return samples

    def finish(self) -> np.ndarray:
        """Flush the filter at the end of the signal; returns the last output samples."""
        if self._soxr is not None:
            return self._soxr.resample_chunk(np.zeros(0, np.float32), last=True)
        if self._resampy is not None:
            return self._resampy.finish()
        return np.zeros(0, np.float32)


# resampy's kaiser_best filter (resampy/filters.py and data/kaiser_best.npz, resampy 0.4): a
# half-window of 50 zero crossings tabulated 2**13 times per crossing.
_KAISER_BEST_ZEROS = 50
_KAISER_BEST_TABLE = 2**13


class _ResampyStream:
    """resampy ``kaiser_best`` by overlapping pieces, through ``resampy.resample`` alone.

    The output grid meets the input grid every *period*: ``orig / gcd`` input samples and
    ``target / gcd`` output samples (441 and 160 from 44.1 to 16 kHz). A piece that starts on a
    period boundary therefore puts its outputs at the same times as the whole signal does, so
    the signal is cut into pieces of whole periods, each resampled with ``context`` input samples
    (whole periods, at least the filter's half-length) on each side, and the outputs of its core
    kept. The first piece, and a signal that arrives in one piece, give the whole signal's output
    bit for bit; later pieces differ only where resampy's float64 time values (``t * orig /
    target``, whose rounding grows with ``t``) land on the other side of a float32 rounding.
    Output is delayed by ``context`` plus up to one period of input.
    """

    def __init__(self, orig_sample_rate: int, target_sample_rate: int):
        self.orig, self.target = orig_sample_rate, target_sample_rate
        divisor = math.gcd(orig_sample_rate, target_sample_rate)
        self.period_in = orig_sample_rate // divisor
        self.period_out = target_sample_rate // divisor
        self.context = self.period_in * -(-self._half_length() // self.period_in)
        self._buffer = np.zeros(0, np.float32)
        self._buffer_start = 0  # input index of _buffer[0], a multiple of period_in
        self._core_start = 0  # input index of the next output's period, a multiple of period_in

    def _half_length(self) -> int:
        """Input samples the filter reaches on either side of an output time, with one to
        spare (resampy's ``interpn``: at most ``len(half_window) // int(scale * table)`` taps per
        wing, ``scale`` being ``min(1, target / orig)``)."""
        scale = min(1.0, float(self.target) / self.orig)
        step = max(1, int(scale * _KAISER_BEST_TABLE))
        return (_KAISER_BEST_ZEROS * _KAISER_BEST_TABLE + 1) // step + 1

    def push(self, samples: np.ndarray) -> np.ndarray:
        """Feed the next input samples ``(n,)`` (float32); returns the output samples of the
        periods whose right context has now arrived."""
        self._buffer = np.concatenate([self._buffer, samples])
        end = self._buffer_start + len(self._buffer)
        core_end = (end - self.context) // self.period_in * self.period_in
        if core_end <= self._core_start:
            return np.zeros(0, np.float32)
        n_out = (core_end - self._core_start) // self.period_in * self.period_out
        out = self._resample_piece(core_end + self.context, n_out)
        self._core_start = core_end
        keep_from = max(0, core_end - self.context)
        self._buffer = self._buffer[keep_from - self._buffer_start :]
        self._buffer_start = keep_from
        return out

    def finish(self) -> np.ndarray:
        """The outputs left at the end of the signal (resampy's count: ``int(n * target /
        orig)`` in all)."""
        end = self._buffer_start + len(self._buffer)
        n_out = (
            end * self.target // self.orig - self._core_start // self.period_in * self.period_out
        )
        if n_out <= 0:  # resampy refuses a piece with no output
            return np.zeros(0, np.float32)
        return self._resample_piece(end, n_out)

    def _resample_piece(self, piece_end: int, n_out: int) -> np.ndarray:
        """:func:`resample` (resampy) of the buffer up to input index ``piece_end``; the
        ``n_out`` outputs from the period at ``_core_start`` on."""
        piece = self._buffer[: piece_end - self._buffer_start]
        out = resample(piece, self.orig, self.target, resampler="resampy")
        skip = (self._core_start - self._buffer_start) // self.period_in * self.period_out
        return out[skip : skip + n_out]


def _libsndfile_reason(error: Exception) -> str:
    """The useful part of a libsndfile error message, without soundfile's "Error opening 'x':".

    libsndfile's generic "File does not exist or is not a regular file (possibly a pipe?)" is
    what it says when its MPEG decoder finds no audio frame in an existing file (random bytes
    named ``.mp3``): said so instead.
    """
    text = str(error)
    text = re.sub(r"^Error (opening )?('.*?'|.*?)?\s*:\s*", "", text).strip()
    if "possibly a pipe" in text or not text:
        text = getattr(error, "error_string", "") or ""
    if "possibly a pipe" in text:
        return "no audio data found in it"
    return text or type(error).__name__


def display_path(path: str | os.PathLike) -> str:
    """How a path is written in tables and messages: one line of UTF-8 text whatever the file
    system allows in a name.

    A name is written as given, except that bytes that are not UTF-8 (``caf\\xe9.wav`` of an old
    archive, which Python holds as ``caf\\udce9``) are written ``\\xe9``, and control characters
    and line separators (a tab, a line break, ``\\x0c``, ``\\u2028``) as their Python escapes
    (``\\t``, ``\\n``...). So a table row never splits, in sed's readers or any other (pandas,
    dcase_util, sed_scores_eval), and recordings pair by this written form
    (:func:`recording_stem` uses it too).

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    text : str
        Printable UTF-8 text without tabs or line breaks.
    """
    path = os.fspath(path)
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        path = os.fsencode(path).decode("utf-8", "backslashreplace")
    if _BREAKING.search(path) is None:
        return path
    return _BREAKING.sub(lambda match: repr(match.group())[1:-1], path)


#: What splits a row of a table: C0 and C1 control characters (tab, line feed, carriage return,
#: form feed...) and Unicode's line and paragraph separators, which ``str.splitlines`` breaks at.
_BREAKING = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _native_name(path: str) -> str | bytes:
    """The name to hand libsndfile: the file system's bytes on POSIX, so that a name that is not
    UTF-8 (``caf\\xe9.wav`` from an old archive, read as ``caf\\udce9.wav``) opens its file,
    where soundfile would fail to encode it."""
    return path if sys.platform == "win32" else os.fsencode(path)


_NATIVE_STDERR = threading.Lock()


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silence what C libraries print on the process's standard error (file descriptor 2).

    libmpg123, inside libsndfile, prints notes (``Note: Illegal Audio-MPEG-Header...``) when a
    file is not MPEG audio; the one-line error that follows says it better. Only the opening of
    a file is wrapped (milliseconds), under a lock, so threads do not interleave.
    """
    with _NATIVE_STDERR:
        try:
            saved = os.dup(2)
        except OSError:  # no file descriptor 2: nothing to silence
            yield
            return
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 2)
            os.close(null)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


# --------------------------------------------------------------------------------------------
# Finding audio files: one set of rules for every command.


@dataclass(frozen=True)
class Recording:
    """An audio file found among a command's inputs.

    Attributes
    ----------
    path : str
        The file as found (used to read it and in the ``filename`` column of tables).
    relative : str
        Its path relative to the input it was found under, with ``/`` separators: where a batch
        writes its outputs (see :func:`find_audio_files`).
    """

    path: str
    relative: str


@dataclass
class Recordings:
    """What :func:`find_audio_files` found.

    Attributes
    ----------
    files : list of Recording
        In a stable order: inputs in the order given, folders sorted.
    duplicates : int
        Inputs dropped because they resolve to a file already listed (the same file named twice,
        a folder and its sub-folder, a symbolic link to a listed file).
    """

    files: list[Recording] = field(default_factory=list)
    duplicates: int = 0

    def __len__(self) -> int:
        return len(self.files)

    @property
    def paths(self) -> list[str]:
        """The files' paths, in order."""
        return [found.path for found in self.files]


def is_audio_name(name: str, pattern: str | None = None) -> bool:
    """True for a file name a folder search takes: a suffix of :data:`AUDIO_EXTENSIONS`
    (case-insensitive) or, with ``pattern``, a glob match; hidden names (``.x``) never."""
    if name.startswith("."):
        return False
    if pattern is not None:
        return fnmatch.fnmatch(name, pattern)
    return name.lower().endswith(AUDIO_EXTENSIONS)


def find_audio_files(
    inputs: Iterable[str | os.PathLike],
    *,
    pattern: str | None = None,
    stdin: Iterable[str] | None = None,
) -> Recordings:
    """Expand files, folders and ``-`` (paths on standard input) into audio files.

    The one discovery used by every command (``detect``, ``embed``, ``train``, ``tune``,
    ``evaluate --audio``), so that they all see the same files in one folder.

    Parameters
    ----------
    inputs : iterable of str or os.PathLike
        Files (kept as given, even with another suffix or missing: reading them reports the
        problem), folders (searched recursively), or ``-`` to read one path per line from
        ``stdin``.
    pattern : str, optional
        Glob pattern that file names (or their paths relative to the folder) inside folders must
        match, such as ``*.flac``; by default every name with one of :data:`AUDIO_EXTENSIONS`.
    stdin : iterable of str, optional
        Lines to read for ``-`` (default ``sys.stdin``).

    Returns
    -------
    found : Recordings
        Folders are walked in sorted order, a folder's files before its sub-folders (as
        ``os.walk`` goes); hidden files and folders (``.name``) are skipped;
        symbolic links to folders are followed, each real folder visited once (a link loop
        ends there). A file that resolves to one already found (by its real path) is dropped and
        counted in ``duplicates``. ``relative`` is relative to the folder when the only input is
        one folder, otherwise to the common parent folder of all files. Inside folders, every
        entry that is not a folder is taken by its name, FIFOs, devices and dangling links too:
        reading them fails (:func:`audio_info`), so a batch reports them instead of skipping
        them without a word.
    """
    found: list[tuple[str, str | None]] = []  # (path, relative path under a single folder)
    names = [os.fspath(item) for item in inputs]
    for item in names:
        if item == "-":
            lines = stdin if stdin is not None else _stdin_lines()
            # A list saved by Notepad starts with a byte order mark, which no file name holds.
            names_listed = (line.strip().lstrip("\ufeff") for line in lines)
            found += [(name, None) for name in names_listed if name]
        elif os.path.isdir(item):
            found += [(path, relative) for path, relative in _walk_audio(item, pattern)]
        else:
            found.append((item, None))
    single_folder = len(names) == 1 and os.path.isdir(names[0])
    if single_folder:
        files = [Recording(path, relative or os.path.basename(path)) for path, relative in found]
    else:
        absolute = [os.path.abspath(path) for path, _ in found]
        common = os.path.commonpath([os.path.dirname(p) for p in absolute]) if absolute else ""
        files = [
            Recording(path, os.path.relpath(a, common).replace(os.sep, "/"))
            for (path, _), a in zip(found, absolute)
        ]
    unique: dict[str, Recording] = {}
    for recording in files:
        unique.setdefault(_real_path(recording.path), recording)
    return Recordings(list(unique.values()), len(files) - len(unique))


def _stdin_lines() -> Iterable[str]:
    """Lines of standard input as file names: bytes decoded as the file system does, so a name
    that is not UTF-8 still names its file (and never stops the run with a decoding error)."""
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:
        return sys.stdin
    return (os.fsdecode(line) for line in buffer)


def _real_path(path: str) -> str:
    """``path`` resolved, or as given if it cannot name a file (a NUL character)."""
    try:
        return os.path.realpath(path)
    except ValueError:
        return path


def _walk_audio(root: str, pattern: str | None) -> Iterator[tuple[str, str]]:
    """(path, path relative to ``root``) of the audio files under ``root``, sorted, following
    symbolic links to folders once each."""
    seen: set[tuple[int, int]] = set()

    def walk(folder: str, relative: str) -> Iterator[tuple[str, str]]:
        try:
            status = os.stat(folder)
            names = sorted(os.listdir(folder))
        except OSError:
            return  # an unreadable folder or a dangling link holds nothing we can read
        if (status.st_dev, status.st_ino) in seen:
            return
        seen.add((status.st_dev, status.st_ino))
        entries = [
            (name, os.path.join(folder, name), f"{relative}/{name}" if relative else name)
            for name in names
            if not name.startswith(".")
        ]
        # A folder's own files first, then its sub-folders (the order of os.walk, sorted).
        # Anything but a folder whose name matches: a FIFO, a device or a dangling link is
        # listed too, and reading it fails the recording with a row in the batch's failures.
        for name, path, inner in entries:
            if not os.path.isdir(path) and (
                is_audio_name(name, pattern)
                or (pattern is not None and fnmatch.fnmatch(inner, pattern))
            ):
                yield path, inner
        for _, path, inner in entries:
            if os.path.isdir(path):
                yield from walk(path, inner)

    yield from walk(root, "")


def audio_by_stem(folder: str | os.PathLike) -> dict[str, str]:
    """Audio files under ``folder`` (:func:`find_audio_files`) by recording stem (the name up to
    its first dot), the first one found for each stem.

    Raises
    ------
    AudioError
        If ``folder`` is not a folder.
    """
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise AudioError("no such folder", folder)
    by_stem: dict[str, str] = {}
    for found in find_audio_files([folder]).files:
        by_stem.setdefault(recording_stem(found.path), found.path)
    return by_stem


def recording_stem(path: str | os.PathLike) -> str:
    """The part of a file's name before its first dot: how annotation files match recordings
    (``a.wav``, ``a.tsv``, ``a.audacity.txt``, ``a.Table.1.selections.txt`` all give ``a``),
    in the written form of :func:`display_path`, so that a name read from a table pairs with
    the file it names."""
    return os.path.basename(display_path(path)).split(".", 1)[0]
