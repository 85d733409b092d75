"""The segmenter: turn a recording into class scores on a regular time grid, with any scorer.

One interface scores every kind of model (:class:`Scorer`): raw YAMNet with a class selection
(:class:`YamnetScorer`), a window head (:class:`sed.heads.head.Head`) and a frame-level head
(:class:`sed.heads.frame_head.FrameHead`). A scorer opens a push-based :class:`ScoreStream` per
recording, on its own grid:

- **windows** (YAMNet and window heads, :class:`WindowScoreStream`): YAMNet's classifier slides
  over the recording in 0.96 s windows every ``hop`` seconds;
- **frames** (frame-level heads, :class:`FrameScoreStream`): YAMNet's convolutional layers run
  once over the continuous spectrogram (:mod:`sed.model.feature_maps`) and a head scores every
  80 ms frame.

:func:`score_stream`, :func:`score_file` and :func:`score_waveform` run a stream over a whole
recording; :class:`sed.listen.Listener` runs one over live audio. Both give the same scores.

Window ``i`` starts at ``i * hop`` seconds and ends 0.96 s later. The recording is zero-padded at
the end as the reference ``features.pad_waveform`` does, so a recording shorter than one window
gives one window and the last window may reach past the end of the file (its end time is kept as
is; events are clipped to the file length by the post-processing).

Recordings are processed as a stream: 16 kHz samples arrive in blocks, are turned into log-mel
STFT frames (each computed once, keeping the 240 samples a frame overlaps the next one), the
STFT frames into windows (keeping the 46 frames a window overlaps the next), and the windows go
to the model in batches of ``batch_size``. Memory therefore does not depend on the recording's
length, except for the scores a grid keeps (``(n_windows, 521)`` float32: 150 MB for 10 hours;
:func:`score_chunks` keeps none), and the scores equal those of the whole signal at once
(:func:`run_yamnet`) within 1e-5 (``tests/test_segmenter.py``).
"""

from __future__ import annotations

import itertools
import os
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np
from threadpoolctl import threadpool_limits

from sed.audio import (
    DEFAULT_BLOCK_SAMPLES,
    DEFAULT_RESAMPLER,
    check_finite,
    display_path,
    stream_audio,
)
from sed.classes import ClassSelection
from sed.errors import AudioError, ParameterError
from sed.features import frame_patches, log_mel_spectrogram, pad_waveform
from sed.model.feature_maps import (
    DEFAULT_CORE_FRAMES,
    FeatureMapStream,
    FeatureSpec,
    frame_count,
    padded_sample_count,
)
from sed.params import DEFAULT_BATCH_SIZE, YamnetParams
from sed.scores import ScoreGrid

if TYPE_CHECKING:
    from sed.model import Yamnet
    from sed.postprocessing import PostProcessing

#: Length of the blocks an in-memory waveform is scored in, in seconds.
WAVEFORM_BLOCK_SECONDS = 60


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


# --- One scoring interface: scorers and their streams --------------------------------------------


@dataclass
class ScoreChunk:
    """The rows of the score grid that one step of a :class:`ScoreStream` made final.

    Attributes
    ----------
    scores : np.ndarray [shape=(n_rows, n_labels), dtype=float32]
        Scores in [0, 1] of the stream's labels.
    starts, ends : np.ndarray [shape=(n_rows,), dtype=float64]
        The rows' start and end times, in seconds from the start of the recording.
    frame_level_db : np.ndarray [shape=(n_stft_frames,), dtype=float32]
        Levels of the 10 ms STFT frames computed in this step (:func:`frame_levels`); they may
        run ahead of the rows.
    embeddings : np.ndarray [shape=(n_rows, 1024)] or None
        YAMNet's embeddings of the rows, when kept (window grids only).
    """

    scores: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    frame_level_db: np.ndarray
    embeddings: np.ndarray | None = None


class ScoreStream(Protocol):
    """One recording being scored as its audio arrives: the push-based half of a :class:`Scorer`.

    Two steps per block, so that a file's decoding and features can run in a second thread
    while the model runs (:func:`score_stream`), and a live stream can call both at once
    (:class:`sed.listen.Listener`): :meth:`prepare` (numpy only, any thread) and :meth:`score`
    (the model, in the caller's thread). The end of the audio is :meth:`prepare_end` (the
    padding the grid needs), its :meth:`score`, then :meth:`finish`.

    Attributes
    ----------
    labels : tuple of str
        The score columns.
    samples : int
        16 kHz samples prepared so far, padding left out.
    stated_hop : float or None
        The grid's hop in seconds, when the grid states it (see :attr:`ScoreGrid.hop`).
    tiles : bool
        Whether rows tile the recording (see :attr:`ScoreGrid.frames_tile`).
    """

    @property
    def labels(self) -> tuple[str, ...]: ...

    @property
    def samples(self) -> int: ...

    @property
    def stated_hop(self) -> float | None: ...

    @property
    def tiles(self) -> bool: ...

    def prepare(self, samples: np.ndarray) -> object | None:
        """Next 16 kHz samples in; what :meth:`score` needs of them out, or None while nothing
        is ready for the model (what was computed then goes with the next item: a file's
        reading thread then hands over only work for the model, and runs further ahead)."""
        ...

    def prepare_end(self) -> object | None:
        """The end of the audio (its padding); None when no sample was prepared at all."""
        ...

    def score(self, prepared: Any) -> ScoreChunk:
        """The rows that ``prepared`` (from this stream's :meth:`prepare`) makes final."""
        ...

    def finish(self) -> ScoreChunk:
        """The rows left once the end has been scored."""
        ...

    def window_levels(self) -> np.ndarray | None:
        """RMS level of every row in dBFS (:func:`window_levels`) for window grids of a whole
        recording, else None (frame grids, live streams); called after :meth:`finish`."""
        ...


class Scorer(Protocol):
    """What scores a recording: raw YAMNet with a class selection (:class:`YamnetScorer`), a
    window head (:class:`sed.heads.head.Head`) or a frame-level head
    (:class:`sed.heads.frame_head.FrameHead`). Detection, batches, listening, tagging, tuning
    and plots call this interface and never ask which kind they hold; only the head loader
    (:func:`sed.pipeline.load_head`) knows the kinds. A new kind is one new class.

    Attributes
    ----------
    labels : tuple of str
        Event labels, in score column order.
    default_postprocessing : sed.postprocessing.PostProcessing or None
        The scorer's own post-processing (a head's, tuned when it was trained), used when none
        is given; None for the defaults.
    clip_aggregation : {"mean", "max"}
        How a label's clip score is taken from its rows (:func:`sed.pipeline.top_classes`).
    """

    @property
    def labels(self) -> tuple[str, ...]: ...

    @property
    def default_postprocessing(self) -> PostProcessing | None: ...

    @property
    def clip_aggregation(self) -> str: ...

    def check_compatible(self, model: Yamnet) -> None:
        """Raise :class:`sed.errors.ModelError` unless the scorer fits the model's settings."""
        ...

    def open(
        self,
        model: Yamnet,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        keep_embeddings: bool = False,
        low_latency: bool = False,
        keep_levels: bool = True,
    ) -> ScoreStream:
        """A stream scoring one recording (see :class:`ScoreStream`); ``low_latency`` scores
        rows as soon as they are complete instead of in whole batches (live audio);
        ``keep_levels=False`` keeps nothing for :meth:`ScoreStream.window_levels` (which then
        gives None), so that memory does not grow with the recording."""
        ...


class _FrontEnd:
    """16 kHz samples in; log-mel frames and their levels out: the start every stream shares.

    Counts the samples (padding left out) and, with ``energies``, keeps the energy of every
    10 ms hop (:func:`hop_energies`) for the window levels.
    """

    def __init__(self, params: YamnetParams, implementation: str, *, energies: bool = False):
        self.params, self.samples = params, 0
        self._held: list[np.ndarray] = []
        self._frames = FrameStream(params, implementation)
        self._hops = (
            _Framer(params.stft_hop_samples, params.stft_hop_samples, np.zeros(0, np.float32))
            if energies
            else None
        )
        self.energies: list[np.ndarray] = []

    def push(self, samples: np.ndarray, *, padding: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Samples in; ``(log_mel (k, 64), levels (k,))`` of the frames now complete out."""
        samples = np.asarray(samples, dtype=np.float32)
        if not padding:
            self.samples += len(samples)
        if self._hops is not None:
            self.energies.append(hop_energies(self._hops.push(samples)[0], self.params))
        log_mel = self._frames.push(samples)
        return log_mel, frame_levels(log_mel)  # every frame once, the padding's last

    def pad_to(self, padded_length: int) -> tuple[np.ndarray, np.ndarray]:
        """The zero padding up to ``padded_length`` samples, through :meth:`push`."""
        return self.push(np.zeros(padded_length - self.samples, np.float32), padding=True)

    def hold(self, levels: np.ndarray) -> None:
        """Keep STFT frame levels whose step gave the model nothing, for :meth:`with_held`."""
        self._held.append(levels)

    def with_held(self, levels: np.ndarray) -> np.ndarray:
        """``levels`` after every level held so far, in order (and nothing held any more)."""
        if not self._held:
            return levels
        levels, self._held = np.concatenate([*self._held, levels]), []
        return levels


@dataclass
class _Windows:
    """Prepared windows ``(k, 96, 64)`` and the levels of the STFT frames computed with them."""

    patches: np.ndarray
    frame_level_db: np.ndarray


class WindowScoreStream:
    """A :class:`ScoreStream` of YAMNet's 0.96 s windows every ``hop``: windows are cut from
    the streamed log-mel frames (:class:`WindowStream`), YAMNet scores them, and ``to_labels``
    turns its outputs into the scorer's columns.

    The reference's zero padding (:meth:`YamnetParams.padded_length`) ends the audio, so the
    windows equal :func:`run_yamnet`'s on the whole waveform within 1e-5.

    Parameters
    ----------
    model : sed.model.Yamnet
    labels : tuple of str
    to_labels : callable
        ``(scores (n, 521), embeddings (n, 1024)) -> scores (n, len(labels))``.
    batch_size : int > 0
        Windows per model call; without ``low_latency`` windows wait for whole batches.
    keep_embeddings : bool
    low_latency : bool
        Live audio: windows are scored as soon as they are complete, and no energies are kept
        for :meth:`window_levels` (which then gives None), so memory stays bounded however long
        the stream.
    keep_levels : bool
        Keep the energy of every 10 ms hop for :meth:`window_levels` (4 bytes each, 14 MB for
        10 hours); False (and ``low_latency``) keeps none, and :meth:`window_levels` gives None.
    """

    tiles = False
    stated_hop = None

    def __init__(
        self,
        model: Yamnet,
        labels: tuple[str, ...],
        to_labels: Callable[[np.ndarray, np.ndarray], np.ndarray],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        keep_embeddings: bool = False,
        low_latency: bool = False,
        keep_levels: bool = True,
    ):
        check_batch_size(batch_size)
        self.model, self.labels, self._to_labels = model, tuple(labels), to_labels
        self.params = model.params
        self._batch, self._keep_embeddings = batch_size, keep_embeddings
        self._low_latency = low_latency
        self._levels = keep_levels and not low_latency
        self._front = _FrontEnd(self.params, model.feature_implementation, energies=self._levels)
        self._windows = WindowStream(self.params)
        self._waiting = np.zeros((0, self.params.patch_frames, self.params.mel_bands), np.float32)
        self._scored = 0  # windows scored

    @property
    def samples(self) -> int:
        return self._front.samples

    @property
    def keep_embeddings(self) -> bool:
        """Whether the chunks carry the windows' ``(k, 1024)`` embeddings (set when opened)."""
        return self._keep_embeddings

    def prepare(self, samples: np.ndarray) -> _Windows | None:
        return self._cut(*self._front.push(samples), last=False)

    def prepare_end(self) -> _Windows | None:
        if self.samples == 0:
            return None
        return self._cut(*self._front.pad_to(self.params.padded_length(self.samples)), last=True)

    def _cut(self, log_mel: np.ndarray, levels: np.ndarray, *, last: bool) -> _Windows | None:
        patches = self._windows.push(log_mel)
        if self._low_latency:
            return _Windows(patches, self._front.with_held(levels))
        waiting = np.concatenate([self._waiting, patches]) if len(self._waiting) else patches
        ready = len(waiting) if last else len(waiting) - len(waiting) % self._batch
        self._waiting = waiting[ready:]
        if not ready and not last:
            self._front.hold(levels)
            return None
        return _Windows(waiting[:ready], self._front.with_held(levels))

    def score(self, prepared: _Windows) -> ScoreChunk:
        patches = prepared.patches
        if not len(patches):
            return self.score_predicted(prepared, None)
        return self.score_predicted(prepared, self.model.predict(patches, batch_size=self._batch))

    def score_predicted(
        self, prepared: _Windows, outputs: tuple[np.ndarray, np.ndarray] | None
    ) -> ScoreChunk:
        """:meth:`score` with YAMNet's ``(scores, embeddings)`` for ``prepared.patches`` already
        computed (by :func:`score_waveforms`, in batches shared with other recordings); None
        or anything when there are no patches."""
        patches = prepared.patches
        starts, ends = window_times(len(patches), self.params, first=self._scored)
        self._scored += len(patches)
        if outputs is None or not len(patches):
            empty = np.zeros((0, len(self.labels)), np.float32)
            return ScoreChunk(empty, starts, ends, prepared.frame_level_db)
        scores, embeddings = outputs
        return ScoreChunk(
            np.asarray(self._to_labels(scores, embeddings), np.float32),
            starts,
            ends,
            prepared.frame_level_db,
            embeddings if self._keep_embeddings else None,
        )

    def finish(self) -> ScoreChunk:
        if self.samples and self._scored != self.params.num_windows(self.samples):
            # An invariant of the framing, not a check of input (YamnetParams validates the hop).
            raise RuntimeError(
                f"internal error: {self._scored} windows where the reference framing gives "
                f"{self.params.num_windows(self.samples)}"
            )
        return _empty_chunk(len(self.labels))

    def window_levels(self) -> np.ndarray | None:
        if not self._levels:  # a live stream, or one whose grid is not kept, keeps no energies
            return None
        energies = self._front.energies
        return window_levels(
            np.concatenate(energies) if energies else np.zeros(0, np.float32),
            self._scored,
            self.params,
        )


@dataclass
class _FeatureInput:
    """Prepared log-mel frames for the feature maps, and whether they end the audio."""

    log_mel: np.ndarray
    frame_level_db: np.ndarray
    last: bool = False


class FrameScoreStream:
    """A :class:`ScoreStream` of a frame-level classifier's frames (80 ms for layer 6).

    YAMNet's convolutional layers run once over the continuous log-mel spectrogram, block by
    block (:class:`sed.model.feature_maps.FeatureMapStream`); the classifier scores the feature
    frames sequence by sequence (:class:`SequenceStream`). Frame ``j`` spans ``[j * hop,
    (j + 1) * hop)``; there is one frame per started hop of audio (the padding's frames are
    dropped), and the scores do not depend on the block sizes.

    Parameters
    ----------
    model : sed.model.Yamnet
    classifier : FrameClassifier
    core_frames : int
        Log-mel frames per feature block.
    low_latency : bool
        Score each sequence as soon as it is complete instead of ``16`` at a time.
    """

    tiles = True

    def __init__(
        self,
        model: Yamnet,
        classifier: FrameClassifier,
        *,
        core_frames: int = DEFAULT_CORE_FRAMES,
        low_latency: bool = False,
    ):
        self.params, self.labels = model.params, tuple(classifier.labels)
        self.spec = classifier.feature_spec
        self.stated_hop = self.spec.hop_seconds(self.params)
        self._front = _FrontEnd(self.params, model.feature_implementation)
        self._maps = FeatureMapStream(
            model.feature_network(self.spec.layers), self.spec, core_frames
        )
        self._sequences = SequenceStream(classifier, batch_size=1 if low_latency else 16)
        self._given = 0  # frames given out
        self._n_frames: int | None = None  # known at the end

    @property
    def samples(self) -> int:
        return self._front.samples

    def prepare(self, samples: np.ndarray) -> _FeatureInput | None:
        log_mel, levels = self._front.push(samples)
        if not len(log_mel):
            self._front.hold(levels)
            return None
        return _FeatureInput(log_mel, self._front.with_held(levels))

    def prepare_end(self) -> _FeatureInput | None:
        if self.samples == 0:
            return None
        log_mel, levels = self._front.pad_to(
            padded_sample_count(self.samples, self.spec, self.params)
        )
        return _FeatureInput(log_mel, self._front.with_held(levels), last=True)

    def score(self, prepared: _FeatureInput) -> ScoreChunk:
        features = self._maps.push(prepared.log_mel) if len(prepared.log_mel) else None
        scores = [self._sequences.push(features)] if features is not None and len(features) else []
        if prepared.last:
            scores.append(self._sequences.push(self._maps.finish()))
            self._n_frames = frame_count(self.samples, self.spec, self.params)
        return self._chunk(scores, prepared.frame_level_db)

    def finish(self) -> ScoreChunk:
        return self._chunk([self._sequences.finish()], np.zeros(0, np.float32))

    def _chunk(self, scores: list[np.ndarray], levels: np.ndarray) -> ScoreChunk:
        rows = np.concatenate(scores) if scores else np.zeros((0, len(self.labels)), np.float32)
        if self._n_frames is not None:  # the padding's frames are dropped
            rows = rows[: max(0, self._n_frames - self._given)]
        starts, ends = frame_times(len(rows), self.stated_hop, first=self._given)
        self._given += len(rows)
        return ScoreChunk(rows, starts, ends, levels)

    def window_levels(self) -> None:
        return None


def _empty_chunk(n_labels: int) -> ScoreChunk:
    empty = np.zeros(0, np.float64)
    return ScoreChunk(np.zeros((0, n_labels), np.float32), empty, empty, np.zeros(0, np.float32))


@dataclass(frozen=True)
class YamnetScorer:
    """Raw YAMNet as a :class:`Scorer`: the scores of a class selection (every class, a class
    list, or a label map's labels, each the maximum over its classes).

    Attributes
    ----------
    selection : ClassSelection or None
        Columns of YAMNet's 521 outputs to report; None for all of them, as YAMNet names them.
    """

    selection: ClassSelection | None = None

    default_postprocessing = None
    clip_aggregation = "mean"  # the reference inference.py's rule for 0.96 s windows

    @property
    def labels(self) -> tuple[str, ...]:
        if self.selection is None:
            from sed.classes import load_class_map

            return tuple(load_class_map().display_names)
        return self.selection.event_labels

    def check_compatible(self, model: Yamnet) -> None:
        """Any loaded YAMNet fits (the class map is YAMNet's own)."""

    def open(
        self,
        model: Yamnet,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        keep_embeddings: bool = False,
        low_latency: bool = False,
        keep_levels: bool = True,
    ) -> WindowScoreStream:
        selection = self.selection
        labels = tuple(model.labels) if selection is None else selection.event_labels
        every_class = selection is None or (
            selection.is_identity and len(selection) == len(model.labels)
        )

        def to_labels(scores: np.ndarray, embeddings: np.ndarray) -> np.ndarray:
            return scores if every_class else selection.apply(scores)  # type: ignore[union-attr]

        return WindowScoreStream(
            model,
            labels,
            to_labels,
            batch_size=batch_size,
            keep_embeddings=keep_embeddings,
            low_latency=low_latency,
            keep_levels=keep_levels,
        )


def score_stream(
    blocks: Iterable[np.ndarray],
    model: Yamnet,
    scorer: Scorer | None = None,
    *,
    filename: str = "",
    duration_seconds: float | None = None,
    keep_embeddings: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    overlap: bool = True,
) -> ScoreGrid:
    """Score a 16 kHz waveform that arrives in blocks, with any :class:`Scorer`.

    Memory does not grow with the recording's length beyond the scores kept (``(n_windows,
    521)`` float32: 150 MB for 10 hours of all classes) and the 10 ms frame levels; the scores
    do not depend on the block sizes. For YAMNet they equal :func:`run_yamnet` on the whole
    waveform within 1e-5 (``tests/test_segmenter.py``).

    Parameters
    ----------
    blocks : iterable of np.ndarray [shape=(n,), dtype=float32]
        Consecutive pieces of mono audio in [-1, 1] at ``model.params.sample_rate``, of any
        lengths (empty ones included); errors raised by the iterable propagate.
    model : sed.model.Yamnet
    scorer : Scorer, optional
        What scores the audio; by default YAMNet's 521 classes (:class:`YamnetScorer`).
    filename : str
        Stored in the result for tables.
    duration_seconds : float, optional
        True length of the recording; by default the number of samples over the sample rate.
    keep_embeddings : bool
        Keep the ``(n_windows, 1024)`` embeddings (4 KB per window) in the result (window grids).
    batch_size : int > 0
        Windows per model call.
    overlap : bool
        Read the blocks and compute features in a background thread while the model runs on
        the previous ones (both cores busy on a 2-core machine). Results are the same.

    Returns
    -------
    scores : ScoreGrid [scores shape=(n_rows, len(scorer.labels))]
        On the scorer's grid: windows (with window levels) or frames (``frames_tile``).

    Raises
    ------
    AudioError
        If there are no samples at all.
    ModelError
        If the scorer does not fit the model.
    ParameterError
        If ``batch_size`` is not a positive integer.
    """
    stream = open_stream(model, scorer, batch_size=batch_size, keep_embeddings=keep_embeddings)
    chunks = list(
        score_chunks(
            blocks, stream, sample_rate=model.params.sample_rate, filename=filename, overlap=overlap
        )
    )
    if duration_seconds is None:
        duration_seconds = stream.samples / model.params.sample_rate
    return _grid(stream, chunks, filename, duration_seconds, keep_embeddings)


def _grid(
    stream: ScoreStream,
    chunks: list[ScoreChunk],
    filename: str,
    duration_seconds: float,
    keep_embeddings: bool,
) -> ScoreGrid:
    """The grid of a whole recording from every chunk its stream gave, the end's included."""
    embeddings = [chunk.embeddings for chunk in chunks if chunk.embeddings is not None]
    return ScoreGrid(
        filename,
        np.concatenate([chunk.starts for chunk in chunks]),
        np.concatenate([chunk.ends for chunk in chunks]),
        np.concatenate([chunk.scores for chunk in chunks]),
        tuple(stream.labels),
        float(duration_seconds),
        np.concatenate(embeddings) if keep_embeddings and embeddings else None,
        np.concatenate([chunk.frame_level_db for chunk in chunks]),
        stream.window_levels(),
        hop=stream.stated_hop,
        frames_tile=stream.tiles,
    )


def open_stream(
    model: Yamnet,
    scorer: Scorer | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    keep_embeddings: bool = False,
    keep_levels: bool = True,
) -> ScoreStream:
    """Open a :class:`ScoreStream` for one whole recording, once the arguments are checked
    (see :meth:`Scorer.open` for the options; ``scorer`` defaults to YAMNet's 521 classes).

    Raises
    ------
    ModelError
        If the scorer does not fit the model.
    ParameterError
        If ``batch_size`` is not a positive integer.
    """
    check_batch_size(batch_size)
    scorer = scorer if scorer is not None else cast("Scorer", YamnetScorer())
    scorer.check_compatible(model)
    return scorer.open(
        model, batch_size=batch_size, keep_embeddings=keep_embeddings, keep_levels=keep_levels
    )


def score_chunks(
    blocks: Iterable[np.ndarray],
    stream: ScoreStream,
    *,
    sample_rate: int,
    filename: str = "",
    overlap: bool = True,
) -> Iterator[ScoreChunk]:
    """Run an open :class:`ScoreStream` over a whole recording, one chunk of rows at a time.

    What :func:`score_stream` collects into a grid; a caller that needs only the events can
    hand each chunk to :class:`sed.postprocessing.EventStream` and keep nothing of it.

    Parameters
    ----------
    blocks : iterable of np.ndarray [shape=(n,), dtype=float32]
        Consecutive pieces of mono audio in [-1, 1] at ``sample_rate``, of any lengths; errors
        raised by the iterable propagate.
    stream : ScoreStream
        Freshly opened (:meth:`Scorer.open`).
    sample_rate : int
        In Hz, the model's; named in the error for an empty recording.
    filename : str
        Named in errors.
    overlap : bool
        Read the blocks and compute features in a background thread while the model runs (see
        :func:`score_stream`).

    Yields
    ------
    chunk : ScoreChunk
        The rows each step made final, in order, the end's (:meth:`ScoreStream.finish`) last.
        While the chunks are consumed, BLAS runs on one thread.

    Raises
    ------
    AudioError
        If there are no samples at all (after every block was read).
    """

    def prepared() -> Iterator[object]:
        for block in blocks:
            item = stream.prepare(block)
            if item is not None:  # only work for the model crosses to its thread
                yield item
        end = stream.prepare_end()
        if end is not None:
            yield end

    # One BLAS thread: the mel projections are small, and OpenBLAS threads would spin against
    # the model's threads (12 times the CPU time measured on 2 cores).
    with threadpool_limits(limits=1, user_api="blas"):
        for item in _ahead_in_thread(prepared()) if overlap else prepared():
            yield stream.score(item)
        if stream.samples == 0:
            raise AudioError(f"no audio samples at {sample_rate} Hz", filename or None)
        yield stream.finish()


def score_waveform(
    waveform: np.ndarray,
    model: Yamnet,
    scorer: Scorer | None = None,
    *,
    filename: str = "",
    duration_seconds: float | None = None,
    keep_embeddings: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> ScoreGrid:
    """Score a 16 kHz waveform (see :func:`score_stream`).

    Parameters
    ----------
    waveform : np.ndarray [shape=(n_samples,), dtype=float32]
        Mono audio in [-1, 1] at ``model.params.sample_rate``; may be shorter than one window.
    model : sed.model.Yamnet
    scorer : Scorer, optional
        By default YAMNet's 521 classes.
    filename : str
        Stored in the result for tables.
    duration_seconds : float, optional
        True length of the recording; by default ``n_samples / sample_rate``.
    keep_embeddings : bool
        Keep the ``(n_windows, 1024)`` embeddings in the result.
    batch_size : int > 0

    Returns
    -------
    scores : ScoreGrid [scores shape=(n_rows, len(scorer.labels))]

    Raises
    ------
    AudioError
        If the waveform is empty or holds NaN or infinite samples.
    """
    waveform = _checked_waveform(waveform, filename)
    return score_stream(
        _waveform_blocks(waveform, model.params),
        model,
        scorer,
        filename=filename,
        duration_seconds=duration_seconds,
        keep_embeddings=keep_embeddings,
        batch_size=batch_size,
    )


def score_waveforms(
    waveforms: Iterable[np.ndarray],
    model: Yamnet,
    *,
    filenames: Iterable[str] | None = None,
    keep_embeddings: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Iterator[ScoreGrid]:
    """Score many 16 kHz waveforms with YAMNet's 521 classes, their windows batched together.

    Each waveform is framed by its own stream exactly as :func:`score_waveform` frames it, but
    the windows of consecutive waveforms share model calls of ``batch_size`` windows, so that
    short recordings (synthetic mixtures, clips) cost a share of a full batch each instead of a
    small model call each. The results are :func:`score_waveform`'s on each waveform, within
    what the batch size changes on the backend (1e-6, ``tests/test_segmenter.py``).

    Parameters
    ----------
    waveforms : iterable of np.ndarray [shape=(n_samples,), dtype=float32]
        Mono audio in [-1, 1] at ``model.params.sample_rate``, each non-empty. Read as needed:
        only the windows of the waveforms not yet given out are held (about ``batch_size``
        windows, 24 KB each, plus the last waveform's).
    model : sed.model.Yamnet
    filenames : iterable of str, optional
        One per waveform, stored in its grid and named in errors; by default "".
    keep_embeddings : bool
        Keep the ``(n_windows, 1024)`` embeddings in the grids.
    batch_size : int > 0
        Windows per model call.

    Yields
    ------
    scores : ScoreGrid [scores shape=(n_windows, 521)]
        One per waveform, in order, once its last window is scored.

    Raises
    ------
    AudioError
        If a waveform is empty or holds NaN or infinite samples (when it is reached).
    ParameterError
        If ``batch_size`` is not a positive integer.
    ValueError
        If ``filenames`` and ``waveforms`` differ in length.
    """
    check_batch_size(batch_size)
    names = itertools.repeat("") if filenames is None else filenames
    params = model.params

    def prepared() -> Iterator[_PreparedWaveform]:
        for waveform, filename in zip(waveforms, names, strict=filenames is not None):
            waveform = _checked_waveform(waveform, filename)
            stream = cast(
                "WindowScoreStream",
                open_stream(model, batch_size=batch_size, keep_embeddings=keep_embeddings),
            )
            items = [stream.prepare(block) for block in _waveform_blocks(waveform, params)]
            items.append(stream.prepare_end())
            kept = [item for item in items if item is not None]
            yield _PreparedWaveform(stream, kept, filename)

    pending: deque[_PreparedWaveform] = deque()  # windows given to the model, grids not given out
    waiting = np.zeros((0, params.patch_frames, params.mel_bands), np.float32)  # not yet scored
    outputs = _Outputs(params)
    # One BLAS thread, as in score_chunks: the features run beside the model's threads.
    with threadpool_limits(limits=1, user_api="blas"):
        for waveform in _ahead_in_thread(prepared()):
            pending.append(waveform)
            waiting = np.concatenate([waiting, *(item.patches for item in waveform.items)])
            full = len(waiting) - len(waiting) % batch_size
            if full:
                outputs.add(*model.predict(waiting[:full], batch_size=batch_size))
                waiting = waiting[full:]
            while pending and pending[0].n_windows <= outputs.count:
                done = pending.popleft()
                yield done.grid(*outputs.take(done.n_windows))
        if len(waiting):
            outputs.add(*model.predict(waiting, batch_size=batch_size))
        for done in pending:
            yield done.grid(*outputs.take(done.n_windows))


@dataclass
class _PreparedWaveform:
    """A waveform of :func:`score_waveforms`: its stream and its prepared windows, in order."""

    stream: WindowScoreStream
    items: list[_Windows]
    filename: str

    @property
    def n_windows(self) -> int:
        return sum(len(item.patches) for item in self.items)

    def grid(self, scores: np.ndarray, embeddings: np.ndarray) -> ScoreGrid:
        """The waveform's grid from YAMNet's outputs for its :attr:`n_windows` windows."""
        chunks, first = [], 0
        for item in self.items:
            last = first + len(item.patches)
            outputs = scores[first:last], embeddings[first:last]
            chunks.append(self.stream.score_predicted(item, outputs))
            first = last
        chunks.append(self.stream.finish())
        duration_seconds = self.stream.samples / self.stream.params.sample_rate
        keep_embeddings = self.stream.keep_embeddings
        return _grid(self.stream, chunks, self.filename, duration_seconds, keep_embeddings)


class _Outputs:
    """YAMNet's outputs for windows in order, taken from the front as their waveforms finish."""

    def __init__(self, params: YamnetParams):
        self._scores = np.zeros((0, params.num_classes), np.float32)
        self._embeddings = np.zeros((0, params.embedding_size), np.float32)

    @property
    def count(self) -> int:
        return len(self._scores)

    def add(self, scores: np.ndarray, embeddings: np.ndarray) -> None:
        self._scores = np.concatenate([self._scores, scores])
        self._embeddings = np.concatenate([self._embeddings, embeddings])

    def take(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        taken = self._scores[:count], self._embeddings[:count]
        self._scores, self._embeddings = self._scores[count:], self._embeddings[count:]
        return taken


def _checked_waveform(waveform: np.ndarray, filename: str) -> np.ndarray:
    """``waveform`` as float32, or :class:`AudioError` unless it is non-empty, mono and finite."""
    waveform = np.asarray(waveform, dtype=np.float32)
    if waveform.ndim != 1 or waveform.size == 0:
        raise AudioError(
            f"expected a non-empty mono waveform, got shape {waveform.shape}", filename or None
        )
    check_finite(waveform, filename or None)
    return waveform


def _waveform_blocks(waveform: np.ndarray, params: YamnetParams) -> Iterator[np.ndarray]:
    """An in-memory waveform as blocks of :data:`WAVEFORM_BLOCK_SECONDS`."""
    step = WAVEFORM_BLOCK_SECONDS * params.sample_rate
    return (waveform[i : i + step] for i in range(0, len(waveform), step))


def score_file(
    path: str | os.PathLike,
    model: Yamnet,
    scorer: Scorer | None = None,
    *,
    resampler: str = DEFAULT_RESAMPLER,
    keep_embeddings: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    block_samples: int = DEFAULT_BLOCK_SAMPLES,
    overlap: bool = True,
) -> ScoreGrid:
    """Read a recording block by block and score it (see :func:`score_stream`).

    Memory grows with the recording's length only by the grid (see :func:`score_stream`), and
    the scores equal those of the whole file read at once within 1e-5.

    Parameters
    ----------
    path : str or os.PathLike
        Any audio file soundfile reads.
    model : sed.model.Yamnet
    scorer : Scorer, optional
        By default YAMNet's 521 classes.
    resampler : {"soxr", "resampy"}
    keep_embeddings : bool
    batch_size : int > 0
        Windows per model call.
    block_samples : int > 0
        Samples per channel decoded per block, at the file's rate (see
        :func:`sed.audio.stream_audio`).
    overlap : bool
        Decode and compute features in a background thread while the model runs (see
        :func:`score_stream`); False when files are processed in parallel processes.

    Returns
    -------
    scores : ScoreGrid
        ``filename`` is ``path`` as given (:func:`sed.audio.display_path`);
        ``duration_seconds`` is the file's true length.

    Raises
    ------
    AudioError
        If the file cannot be used.
    """
    blocks, info = stream_audio(
        path, sample_rate=model.params.sample_rate, resampler=resampler, block_samples=block_samples
    )
    return score_stream(
        blocks,
        model,
        scorer,
        filename=display_path(path),
        duration_seconds=info.duration_seconds,
        keep_embeddings=keep_embeddings,
        batch_size=batch_size,
        overlap=overlap,
    )


# --- Frames: frozen feature maps and a frame-level classifier ------------------------------------


class FrameClassifier(Protocol):
    """What :func:`score_frames_stream` needs of a frame-level classifier (a frame head,
    :class:`sed.heads.frame_head.FrameHead`, or anything shaped like it).

    Attributes
    ----------
    labels : tuple of str
        Output columns, in order.
    feature_spec : sed.model.feature_maps.FeatureSpec
        The frozen YAMNet features it reads.
    sequence_frames : int >= 1
        Feature frames per call: it scores sequences this long (shorter for a shorter recording).
    context_frames : int >= 0
        Frames at each end of a sequence whose scores are not kept when a neighbouring sequence
        covers them with more context; ``sequence_frames > 2 * context_frames``.
    """

    @property
    def labels(self) -> tuple[str, ...]: ...

    @property
    def feature_spec(self) -> FeatureSpec: ...

    @property
    def sequence_frames(self) -> int: ...

    @property
    def context_frames(self) -> int: ...

    def predict_sequences(self, features: np.ndarray) -> np.ndarray:
        """Scores ``(n, T, len(labels))`` in [0, 1] of feature sequences ``(n, T, width)``."""
        ...


class SequenceStream:
    """Feature frames in, a classifier's frame scores out, sequence by sequence.

    Sequences of ``classifier.sequence_frames`` frames start every ``sequence_frames -
    2 * context_frames`` frames; each keeps the scores of its centre (the first also its start),
    and the last one is aligned with the end of the recording and keeps what is left. The
    positions depend only on the recording's length, so the scores do not depend on how the
    frames arrive. Sequences are scored ``batch_size`` at a time.
    """

    def __init__(self, classifier: FrameClassifier, batch_size: int = 16):
        self.classifier, self.batch_size = classifier, batch_size
        self.length, self.context = classifier.sequence_frames, classifier.context_frames
        self.core = self.length - 2 * self.context
        if self.core < 1:
            raise ParameterError(
                f"a sequence of {self.length} frames has no centre with {self.context} frames "
                "of context at each end"
            )
        self._features = np.zeros((0, classifier.feature_spec.width), np.float32)
        self._first = 0  # index of self._features[0] in the recording
        self._starts: list[int] = []  # sequences waiting for a batch
        self._done = 0  # frames whose scores have been returned

    def push(self, features: np.ndarray) -> np.ndarray:
        """Next feature frames in; the scores now final out ``(k, n_labels)``."""
        self._features = np.concatenate([self._features, features])
        end = self._first + len(self._features)
        next_start = self._next_start()
        while next_start + self.length <= end:
            self._starts.append(next_start)
            next_start += self.core
        if len(self._starts) >= self.batch_size:
            return self._run_waiting()
        return self._empty()

    def finish(self) -> np.ndarray:
        """Scores of the frames left, once every feature frame has been pushed."""
        parts = [self._run_waiting()]
        end = self._first + len(self._features)
        if self._done < end:
            start = max(0, end - self.length)
            scores = self._predict([start], end - start)[0]
            parts.append(scores[self._done - start :])
            self._done = end
        return np.concatenate(parts)

    def _next_start(self) -> int:
        if self._starts:
            return self._starts[-1] + self.core
        return 0 if self._done == 0 else self._done - self.context

    def _run_waiting(self) -> np.ndarray:
        if not self._starts:
            return self._empty()
        scored = self._predict(self._starts, self.length)
        parts = []
        for start, scores in zip(self._starts, scored):
            keep_to = start + self.context + self.core
            parts.append(scores[self._done - start : keep_to - start])
            self._done = keep_to
        self._starts = []
        # The last sequence ends with the recording, so it may start up to a whole sequence
        # before the frames not yet returned: keep that much.
        drop = max(0, self._done - self.length - self._first)
        self._features, self._first = self._features[drop:], self._first + drop
        return np.concatenate(parts)

    def _predict(self, starts: list[int], length: int) -> np.ndarray:
        batch = np.stack(
            [self._features[s - self._first : s - self._first + length] for s in starts]
        )
        return np.asarray(self.classifier.predict_sequences(batch), np.float32)

    def _empty(self) -> np.ndarray:
        return np.zeros((0, len(self.classifier.labels)), np.float32)


def feature_stream(
    blocks: Iterable[np.ndarray],
    model: Yamnet,
    spec: FeatureSpec,
    *,
    core_frames: int = DEFAULT_CORE_FRAMES,
    overlap: bool = True,
    counted: Callable[[int], None] | None = None,
) -> Iterator[np.ndarray]:
    """Blocks of 16 kHz samples in, frozen YAMNet feature frames out (see
    :mod:`sed.model.feature_maps`): ``(k, spec.width)`` arrays, in order, padding frames
    included. ``counted`` (if given) receives the number of samples, padding left out, once
    the blocks are exhausted.

    Raises
    ------
    AudioError
        If there are no samples at all.
    """
    params = model.params
    front = _FrontEnd(params, model.feature_implementation)
    maps = FeatureMapStream(model.feature_network(spec.layers), spec, core_frames)

    def log_mels() -> Iterator[np.ndarray]:
        for block in blocks:
            yield front.push(block)[0]
        if front.samples:
            yield front.pad_to(padded_sample_count(front.samples, spec, params))[0]

    with threadpool_limits(limits=1, user_api="blas"):
        for log_mel in _ahead_in_thread(log_mels()) if overlap else log_mels():
            features = maps.push(log_mel) if len(log_mel) else log_mel[:0]
            if len(features):
                yield features
        if front.samples == 0:
            raise AudioError(f"no audio samples at {params.sample_rate} Hz")
        if counted is not None:
            counted(front.samples)
        yield maps.finish()


def frame_times(
    n_frames: int, hop_seconds: float, *, first: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Start and end times of ``n_frames`` frames of ``hop_seconds`` that tile the recording,
    from frame ``first`` on.

    Returns
    -------
    starts, ends : np.ndarray [shape=(n_frames,), dtype=float64]
        ``starts[j] = (first + j) * hop``, ``ends[j] = (first + j + 1) * hop``, in seconds.
    """
    starts = np.arange(first, first + n_frames) * hop_seconds
    return starts, np.arange(first + 1, first + n_frames + 1) * hop_seconds


@dataclass
class FrameFeatures:
    """Frozen YAMNet feature frames of one recording (what frame heads are trained on).

    Attributes
    ----------
    filename : str
    features : np.ndarray [shape=(n_frames, spec.width), dtype=float32]
        Frame ``j`` spans ``[j * hop, (j + 1) * hop)`` seconds; one frame per started hop.
    hop_seconds : float
    duration_seconds : float
    """

    filename: str
    features: np.ndarray
    hop_seconds: float
    duration_seconds: float

    def __len__(self) -> int:
        return len(self.features)


def frame_features(
    blocks: Iterable[np.ndarray],
    model: Yamnet,
    spec: FeatureSpec,
    *,
    filename: str = "",
    duration_seconds: float | None = None,
    overlap: bool = True,
) -> FrameFeatures:
    """The feature frames of a waveform arriving in blocks (:func:`feature_stream`), kept.

    Raises
    ------
    AudioError
        If there are no samples at all.
    """
    counts: list[int] = []
    features = np.concatenate(
        list(feature_stream(blocks, model, spec, overlap=overlap, counted=counts.append))
    )
    n_frames = frame_count(counts[0], spec, model.params)
    if duration_seconds is None:
        duration_seconds = counts[0] / model.params.sample_rate
    return FrameFeatures(
        filename, features[:n_frames], spec.hop_seconds(model.params), float(duration_seconds)
    )
