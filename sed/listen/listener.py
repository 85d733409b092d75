"""The listener: audio blocks in, events (or top classes) out as soon as they are decided.

It runs a scorer's own stream (:class:`sed.segmenter.ScoreStream`), the one ``sed detect`` runs
over a file, and the streaming post-processing (:class:`sed.postprocessing.EventStream`).
"""

from __future__ import annotations

import datetime as dt
import os
from typing import TYPE_CHECKING

import numpy as np

from sed.audio import DEFAULT_RESAMPLER, StreamResampler, check_resampler, to_mono
from sed.errors import AudioError, ParameterError
from sed.listen.records import TopClasses
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
