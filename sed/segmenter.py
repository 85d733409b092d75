"""The segmenter: slide the classifier over a recording in 0.96 s windows.

Window ``i`` starts at ``i * hop`` seconds and ends 0.96 s later. The recording is zero-padded at
the end as the reference ``features.pad_waveform`` does, so a recording shorter than one window
gives one window and the last window may reach past the end of the file (its end time is kept as
is; events are clipped to the file length by the post-processing).

Recordings are processed as a stream (:func:`score_stream`): 16 kHz samples arrive in blocks, are
turned into log-mel frames (each computed once, keeping the 240 samples a frame overlaps the next
one), the frames into windows (keeping the 46 frames a window overlaps the next), and the windows
go to the model in batches of ``batch_size``. Memory therefore does not depend on the recording's
length, except for the scores kept (``(n_windows, 521)`` float32: 150 MB for 10 hours), and the
scores equal those of the whole signal at once (:func:`run_yamnet`) within 1e-5
(``tests/test_segmenter.py``).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from threadpoolctl import threadpool_limits

from sed.audio import (
    DEFAULT_BLOCK_FRAMES,
    DEFAULT_RESAMPLER,
    check_finite,
    display_path,
    stream_audio,
)
from sed.classes import ClassSelection
from sed.errors import AudioError, ParameterError
from sed.features import frame_patches, log_mel_spectrogram, pad_waveform
from sed.params import DEFAULT_BATCH_SIZE, YamnetParams

if TYPE_CHECKING:
    import pandas as pd

    from sed.model import Yamnet

#: Length of the blocks an in-memory waveform is scored in, in seconds.
WAVEFORM_BLOCK_SECONDS = 60


@dataclass
class WindowScores:
    """Per-window class scores of one recording, with the windows' times.

    Attributes
    ----------
    filename : str
        The recording (as given), used as the ``filename`` column of tables.
    starts, ends : np.ndarray [shape=(n_windows,), dtype=float64]
        Window start and end times, in seconds from the start of the recording.
    scores : np.ndarray [shape=(n_windows, n_labels), dtype=float32]
        Scores in [0, 1], one column per label.
    labels : tuple of str
        Column names: AudioSet display names, or event labels after :meth:`select`.
    duration_seconds : float
        True length of the recording, in seconds.
    embeddings : np.ndarray [shape=(n_windows, 1024)] or None
        YAMNet embeddings of the same windows, when kept.
    frame_level_db : np.ndarray [shape=(n_frames,), dtype=float32] or None
        Signal level of every 10 ms STFT frame of the log-mel spectrogram the windows were cut
        from (see :func:`frame_levels`): frame ``k`` is centred on ``0.01 k + 0.0125`` s. It
        covers the zero padding at the end too. Used to refine event boundaries below the
        window hop; None when not computed.
    window_level_dbfs : np.ndarray [shape=(n_windows,), dtype=float32] or None
        RMS level of each window's 0.96 s of 16 kHz samples (zero padding included), in dBFS
        (a full-scale sine is -3 dBFS), floored at -200 dBFS (:func:`window_levels`). Tells
        digital silence from quiet sound; None when not computed.
    """

    filename: str
    starts: np.ndarray
    ends: np.ndarray
    scores: np.ndarray
    labels: tuple[str, ...]
    duration_seconds: float
    embeddings: np.ndarray | None = None
    frame_level_db: np.ndarray | None = None
    window_level_dbfs: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def hop_seconds(self) -> float:
        """Distance between window starts, in seconds (0.0 for a single window)."""
        return float(self.starts[1] - self.starts[0]) if len(self.starts) > 1 else 0.0

    def select(self, selection: ClassSelection) -> WindowScores:
        """Scores of the selected event labels (maximum over each label's classes).

        Parameters
        ----------
        selection : ClassSelection
            Indices refer to the columns of ``scores``.

        Returns
        -------
        window_scores : WindowScores [scores shape=(n_windows, len(selection))]
        """
        if selection.is_identity and len(selection) == len(self.labels):
            return replace(self, labels=selection.event_labels)
        return replace(self, scores=selection.apply(self.scores), labels=selection.event_labels)

    def to_frame(self) -> pd.DataFrame:
        """The canonical per-window table.

        Returns
        -------
        table : pd.DataFrame [shape=(n_windows, n_labels)]
            Indexed by (``filename``, ``start``, ``end``), one column per label.
        """
        import pandas as pd

        index = pd.MultiIndex.from_arrays(
            [[self.filename] * len(self), self.starts, self.ends],
            names=["filename", "start", "end"],
        )
        return pd.DataFrame(self.scores, index=index, columns=list(self.labels))


def window_times(
    n_windows: int, params: YamnetParams, *, first: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Start and end times of ``n_windows`` windows from window ``first`` on.

    Returns
    -------
    starts, ends : np.ndarray [shape=(n_windows,), dtype=float64]
        ``starts[i] = (first + i) * hop`` and ``ends[i] = starts[i] + 0.96``, in seconds,
        computed from integer sample counts so that no rounding accumulates (a stream's windows
        get, piece by piece, the times of the whole recording's).
    """
    starts = np.arange(first, first + n_windows) * params.patch_hop_samples / params.sample_rate
    return starts, starts + params.patch_frames * params.stft_hop_samples / params.sample_rate


def frame_levels(log_mel: np.ndarray) -> np.ndarray:
    """Per-frame signal level from YAMNet's log-mel spectrogram.

    Parameters
    ----------
    log_mel : np.ndarray [shape=(n_frames, 64)]
        ``log(mel + 0.001)`` as returned by :func:`sed.features.log_mel_spectrogram`.

    Returns
    -------
    level_db : np.ndarray [shape=(n_frames,), dtype=float32]
        ``20 log10`` of the mean mel magnitude over the 64 bands (125 to 7500 Hz), in dB
        relative to a mel magnitude of 1; the 0.001 log offset floors it at -60 dB.
    """
    mean_magnitude = np.exp(np.asarray(log_mel, dtype=np.float64)).mean(axis=1)
    return (20.0 * np.log10(mean_magnitude)).astype(np.float32)


#: Floor of window levels: a window of exact zeros is at this level rather than -inf.
SILENCE_DBFS = -200.0


def hop_energies(samples: np.ndarray, params: YamnetParams) -> np.ndarray:
    """Energy (sum of squares) of each whole 10 ms STFT hop of 16 kHz samples.

    Windows start on multiples of the STFT hop, so a window's energy is the sum of the energies
    of its ``params.patch_frames`` hops (see :func:`window_levels`).

    Returns
    -------
    energies : np.ndarray [shape=(len(samples) // 160,), dtype=float32]
        Summed in float64, kept in float32: a long recording holds one per 10 ms until its
        window levels are computed.
    """
    hop = params.stft_hop_samples
    whole = np.asarray(samples[: len(samples) - len(samples) % hop], dtype=np.float64)
    return (whole.reshape(-1, hop) ** 2).sum(axis=1).astype(np.float32)


def window_levels(energies: np.ndarray, n_windows: int, params: YamnetParams) -> np.ndarray:
    """RMS level of each window, in dBFS, from the energies of the 10 ms hops.

    Parameters
    ----------
    energies : np.ndarray [shape=(n_hops,)]
        :func:`hop_energies` of the waveform as YAMNet sees it; hops beyond its end count as
        zero padding.
    n_windows : int
    params : YamnetParams

    Returns
    -------
    levels : np.ndarray [shape=(n_windows,), dtype=float32]
        ``10 log10(mean(x^2))`` over the 0.96 s of each window (a full-scale sine is -3 dBFS),
        floored at -200 dBFS (:data:`SILENCE_DBFS`).
    """
    span, step = params.patch_frames, params.patch_hop_frames
    needed = (n_windows - 1) * step + span if n_windows else 0
    # Cumulative energy in float64; hops beyond the end (zero padding) add nothing.
    cumulative = np.zeros(max(needed, len(energies)) + 1, np.float64)
    np.cumsum(energies, dtype=np.float64, out=cumulative[1 : len(energies) + 1])
    cumulative[len(energies) + 1 :] = cumulative[len(energies)]
    starts = np.arange(n_windows) * step
    mean = (cumulative[starts + span] - cumulative[starts]) / (span * params.stft_hop_samples)
    with np.errstate(divide="ignore"):
        levels = 10 * np.log10(np.maximum(mean, 0.0))
    return np.maximum(levels, SILENCE_DBFS).astype(np.float32)


def run_yamnet(
    waveform: np.ndarray, model: Yamnet, *, batch_size: int = DEFAULT_BATCH_SIZE
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Waveform in, YAMNet outputs out, all at once: the reference ``yamnet_frames_model``.

    Parameters
    ----------
    waveform : np.ndarray [shape=(n_samples,), dtype=float32]
        Mono audio in [-1, 1] at 16 kHz.
    model : sed.model.Yamnet
        Its ``params`` set the window hop, its backend the feature implementation.
    batch_size : int > 0

    Returns
    -------
    scores : np.ndarray [shape=(n_windows, 521)]
    embeddings : np.ndarray [shape=(n_windows, 1024)]
    log_mel : np.ndarray [shape=(n_frames, 64)]
        Of the padded waveform, as the TF-Hub graph returns it.
    """
    log_mel = log_mel_spectrogram(
        pad_waveform(waveform, model.params),
        model.params,
        implementation=model.feature_implementation,
    )
    scores, embeddings = model.predict(frame_patches(log_mel, model.params), batch_size=batch_size)
    return scores, embeddings, log_mel


class _Framer:
    """Pieces of a sequence in; the span holding every frame now complete out, rest kept.

    Frames are ``length`` items long and start every ``hop`` items (along axis 0), counted from
    the start of the sequence; the items of frames not yet complete wait for the next piece.
    """

    def __init__(self, length: int, hop: int, empty: np.ndarray):
        self.length, self.hop, self._pending = length, hop, empty

    def push(self, items: np.ndarray) -> tuple[np.ndarray, int]:
        """Next items in; returns ``(span, n_frames)``: frame ``i`` is
        ``span[i*hop:i*hop+length]``."""
        items = np.concatenate([self._pending, items]) if len(self._pending) else items
        n_frames = max(0, 1 + (len(items) - self.length) // self.hop)
        self._pending = items[n_frames * self.hop :]
        return items[: max(0, (n_frames - 1) * self.hop + self.length)], n_frames


class FrameStream:
    """16 kHz samples in, log-mel frames out, each frame computed once.

    Frame ``k`` covers samples ``[160 k, 160 k + 400)``, as in
    :func:`sed.features.log_mel_spectrogram`; samples of incomplete frames wait for the next block.
    """

    def __init__(self, params: YamnetParams, implementation: str = "numpy"):
        self.params, self.implementation = params, implementation
        self._framer = _Framer(
            params.stft_window_samples, params.stft_hop_samples, np.zeros(0, np.float32)
        )

    def push(self, samples: np.ndarray) -> np.ndarray:
        """Next samples in; returns the frames now complete ``(k, 64)``, in order."""
        span, n_frames = self._framer.push(samples)
        if n_frames == 0:
            return np.zeros((0, self.params.mel_bands), np.float32)
        return log_mel_spectrogram(span, self.params, implementation=self.implementation)


class WindowStream:
    """Log-mel frames in, classifier windows ``(k, 96, 64)`` out, as :func:`frame_patches` cuts
    them."""

    def __init__(self, params: YamnetParams):
        self.params = params
        self._framer = _Framer(
            params.patch_frames,
            params.patch_hop_frames,
            np.zeros((0, params.mel_bands), np.float32),
        )

    def push(self, frames: np.ndarray) -> np.ndarray:
        """Next frames in; returns the windows now complete, as a contiguous array."""
        span, n_windows = self._framer.push(frames)
        if n_windows == 0:
            return np.zeros((0, self.params.patch_frames, self.params.mel_bands), np.float32)
        return np.ascontiguousarray(frame_patches(span, self.params))


def score_stream(
    blocks: Iterable[np.ndarray],
    model: Yamnet,
    *,
    filename: str = "",
    duration_seconds: float | None = None,
    keep_embeddings: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    overlap: bool = True,
) -> WindowScores:
    """Score every window of a 16 kHz waveform that arrives in blocks.

    The waveform is padded at its end as the reference pads it (:func:`pad_waveform`), once its
    length is known. The result equals :func:`run_yamnet` on the whole waveform within 1e-5.

    Parameters
    ----------
    blocks : iterable of np.ndarray [shape=(n,), dtype=float32]
        Consecutive pieces of mono audio in [-1, 1] at ``model.params.sample_rate``, of any
        lengths (empty ones included); errors raised by the iterable propagate.
    model : sed.model.Yamnet
    filename : str
        Stored in the result for tables.
    duration_seconds : float, optional
        True length of the recording; by default the number of samples over the sample rate.
    keep_embeddings : bool
        Keep the ``(n_windows, 1024)`` embeddings (4 KB per window) in the result.
    batch_size : int > 0
        Windows per model call.
    overlap : bool
        Read the blocks and compute features in a background thread while the model runs on
        the previous windows (both cores busy on a 2-core machine). Results are the same.

    Returns
    -------
    window_scores : WindowScores [scores shape=(n_windows, 521)]

    Raises
    ------
    AudioError
        If there are no samples at all.
    ParameterError
        If ``batch_size`` is not a positive integer.
    """
    check_batch_size(batch_size)
    params = model.params
    totals = _Totals()
    batches = _window_batches(blocks, params, model.feature_implementation, batch_size, totals)
    scores, embeddings = [], []
    # One BLAS thread: the mel projections are small, and OpenBLAS threads would spin against
    # the model's threads (12 times the CPU time measured on 2 cores).
    with threadpool_limits(limits=1, user_api="blas"):
        for patches in _ahead_in_thread(batches) if overlap else batches:
            s, e = model.predict(patches, batch_size=batch_size)
            scores.append(s)
            if keep_embeddings:
                embeddings.append(e)
    if totals.samples == 0:
        raise AudioError(f"no audio samples at {params.sample_rate} Hz", filename or None)
    all_scores = np.concatenate(scores)
    if len(all_scores) != params.num_windows(totals.samples):
        # An invariant of the framing, not a check of input (YamnetParams validates the hop).
        raise RuntimeError(
            f"internal error: {len(all_scores)} windows where the reference framing gives "
            f"{params.num_windows(totals.samples)}"
        )
    starts, ends = window_times(len(all_scores), params)
    if duration_seconds is None:
        duration_seconds = totals.samples / params.sample_rate
    return WindowScores(
        filename,
        starts,
        ends,
        all_scores,
        tuple(model.labels),
        float(duration_seconds),
        np.concatenate(embeddings) if keep_embeddings else None,
        np.concatenate(totals.levels),
        window_levels(np.concatenate(totals.energies), len(all_scores), params),
    )


class _Totals:
    """What the block loop learns about the whole recording, read by the caller once it ends.

    ``samples``: the number of samples before padding; ``levels``: the per-frame levels
    (:func:`frame_levels`) of each block, in order; ``energies``: the :func:`hop_energies` of the
    padded waveform, in order. Written by the reading thread, read after it has finished.
    """

    def __init__(self):
        self.samples = 0
        self.levels: list[np.ndarray] = []
        self.energies: list[np.ndarray] = []


def _window_batches(
    blocks: Iterable[np.ndarray],
    params: YamnetParams,
    implementation: str,
    batch_size: int,
    totals: _Totals,
) -> Iterator[np.ndarray]:
    """Blocks of samples in; windows out, in multiples of ``batch_size`` until the last ones.

    The reference's zero padding is appended once the blocks are exhausted; ``totals.samples``
    is then the number of samples without it.
    """
    frames, windows = FrameStream(params, implementation), WindowStream(params)
    hops = _Framer(params.stft_hop_samples, params.stft_hop_samples, np.zeros(0, np.float32))
    waiting = np.zeros((0, params.patch_frames, params.mel_bands), np.float32)
    for block in _with_padding(blocks, params, totals):
        totals.energies.append(hop_energies(hops.push(block)[0], params))
        log_mel = frames.push(block)
        totals.levels.append(frame_levels(log_mel))  # every frame once, the padding's last
        patches = windows.push(log_mel)
        waiting = np.concatenate([waiting, patches]) if len(waiting) else patches
        ready = len(waiting) - len(waiting) % batch_size
        if ready:
            yield waiting[:ready]
            waiting = waiting[ready:]
    if len(waiting):
        yield waiting


def _with_padding(
    blocks: Iterable[np.ndarray], params: YamnetParams, totals: _Totals
) -> Iterator[np.ndarray]:
    """The blocks, then the reference's zero padding once their total length is known."""
    for block in blocks:
        block = np.asarray(block, dtype=np.float32)
        totals.samples += len(block)
        yield block
    if totals.samples:
        yield np.zeros(params.padded_length(totals.samples) - totals.samples, np.float32)


def _ahead_in_thread(items: Iterator, depth: int = 2) -> Iterator:
    """The items of ``items``, produced by a background thread up to ``depth`` ahead.

    An exception raised while producing is raised here, in the consumer. When the consumer
    stops early (an error, a break), the producer stops at its next item and is joined.
    """
    channel: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def send(message) -> bool:
        while not stop.is_set():
            try:
                channel.put(message, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            for item in items:
                if not send((True, item)):
                    return
            send((False, None))
        except BaseException as error:  # handed to the consumer, which raises it
            send((False, error))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="sed-features", daemon=True)
    thread.start()
    try:
        while True:
            more, value = channel.get()
            if not more:
                if value is not None:
                    raise value
                return
            yield value
    finally:
        stop.set()
        thread.join()


def check_batch_size(batch_size: int) -> None:
    """Raise :class:`ParameterError` unless ``batch_size`` is a positive integer."""
    if not (isinstance(batch_size, (int, np.integer)) and batch_size > 0):
        raise ParameterError(f"batch size must be a positive integer, got {batch_size!r}")


def score_waveform(
    waveform: np.ndarray,
    model: Yamnet,
    *,
    filename: str = "",
    duration_seconds: float | None = None,
    keep_embeddings: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> WindowScores:
    """Score every window of a 16 kHz waveform.

    Parameters
    ----------
    waveform : np.ndarray [shape=(n_samples,), dtype=float32]
        Mono audio in [-1, 1] at ``model.params.sample_rate``; may be shorter than one window.
    model : sed.model.Yamnet
    filename : str
        Stored in the result for tables.
    duration_seconds : float, optional
        True length of the recording; by default ``n_samples / sample_rate``.
    keep_embeddings : bool
        Keep the ``(n_windows, 1024)`` embeddings in the result.
    batch_size : int > 0

    Returns
    -------
    window_scores : WindowScores [scores shape=(n_windows, 521)]

    Raises
    ------
    AudioError
        If the waveform is empty or holds NaN or infinite samples.
    """
    waveform = np.asarray(waveform, dtype=np.float32)
    if waveform.ndim != 1 or waveform.size == 0:
        raise AudioError(
            f"expected a non-empty mono waveform, got shape {waveform.shape}", filename or None
        )
    check_finite(waveform, filename or None)
    step = WAVEFORM_BLOCK_SECONDS * model.params.sample_rate
    blocks = (waveform[i : i + step] for i in range(0, len(waveform), step))
    return score_stream(
        blocks,
        model,
        filename=filename,
        duration_seconds=duration_seconds,
        keep_embeddings=keep_embeddings,
        batch_size=batch_size,
    )


def score_file(
    path: str | os.PathLike,
    model: Yamnet,
    *,
    resampler: str = DEFAULT_RESAMPLER,
    keep_embeddings: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    block_frames: int = DEFAULT_BLOCK_FRAMES,
    overlap: bool = True,
) -> WindowScores:
    """Read a recording block by block and score every window (see :func:`score_stream`).

    Memory does not grow with the recording's length (a 10-hour file needs less than 1 GB),
    and the scores equal those of the whole file read at once within 1e-5.

    Parameters
    ----------
    path : str or os.PathLike
        Any audio file soundfile reads.
    model : sed.model.Yamnet
    resampler : {"soxr", "resampy"}
    keep_embeddings : bool
    batch_size : int > 0
        Windows per model call.
    block_frames : int > 0
        Frames decoded per block, at the file's rate (see :func:`sed.audio.stream_audio`).
    overlap : bool
        Decode and compute features in a background thread while the model runs (see
        :func:`score_stream`); False when files are processed in parallel processes.

    Returns
    -------
    window_scores : WindowScores
        ``filename`` is ``path`` as given (:func:`sed.audio.display_path`);
        ``duration_seconds`` is the file's true length.

    Raises
    ------
    AudioError
        If the file cannot be used.
    """
    blocks, info = stream_audio(
        path, sample_rate=model.params.sample_rate, resampler=resampler, block_frames=block_frames
    )
    return score_stream(
        blocks,
        model,
        filename=display_path(path),
        duration_seconds=info.duration_seconds,
        keep_embeddings=keep_embeddings,
        batch_size=batch_size,
        overlap=overlap,
    )
