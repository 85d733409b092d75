"""The incremental form: the events of :func:`~sed.postprocessing.recording.detect_events`,
decided while the windows arrive (:class:`EventStream`)."""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field

import numpy as np

from sed.errors import ParameterError
from sed.postprocessing.boundaries import (
    BACKGROUND_STEP_FRAMES,
    activity_context_frames,
    frame_index,
    frame_span,
    level_activity,
    offset_time,
    onset_time,
    reach_frames,
    walk_back,
    walk_forward,
)
from sed.postprocessing.recording import Event, PostProcessing
from sed.postprocessing.stages import (
    hysteresis_step,
    long_enough,
    median_filter_windows,
    merge_spans,
    merge_threshold,
    running_medians,
)


class EventStream:
    """The post-processing of :func:`detect_events`, fed window scores as they arrive.

    Each event is given out as soon as no window or frame still to come can change it, and the
    events are those :func:`detect_events` finds in the whole recording: same onsets, offsets
    and labels, scores within 1e-6 (``tests/test_postprocessing_stream.py`` checks it on many random
    score sequences cut into random pieces, ``tests/test_listen.py`` on real recordings).

    Why the events are the same: every stage is computed by the functions
    :func:`detect_events` uses, and a result is used only once every value it reads is final.

    - Median filter (:func:`running_medians`): a window's filtered score depends on the
      ``length // 2`` windows on each side; it is final once they have arrived (at the end,
      the last window is repeated, as :func:`median_filter` pads).
    - Thresholds (:func:`hysteresis_step`): a run is carried from piece to piece until a window
      below the off threshold ends it.
    - Boundaries (:func:`onset_time`, :func:`offset_time`); ``refined``: the level activity of
      a frame (:func:`level_activity`) reads :func:`activity_context_frames` frames on each
      side, so it is final that many frames after it; the walks of :func:`grow_boundaries` read
      only frames within ``refine_reach_seconds`` of the event's ends, plus the first (last)
      active frame inside it, which is tracked as frames become final, so a long event does not
      keep its frames.
    - Gaps and durations (:func:`merge_spans`): a run not yet decided (still open, waiting for
      frames, or not begun) cannot start before its first window's onset, less the reach for
      ``refined`` boundaries; a merged event is final when that bound lies at least
      ``min_gap_seconds`` after its offset, and its offset within the audio received (so that
      clipping to the length cannot change it). Then no later event can merge with it or sort
      before it, and :func:`long_enough` decides whether it is kept.
    - Scores: each label keeps the maximum and sum of its scores over the stretches of windows
      above and below its off threshold since its earliest undecided run, not the windows.

    Memory therefore stays bounded however long the stream and its events: a few seconds of
    scores and frame levels, and a few numbers per open event.

    Parameters
    ----------
    labels : sequence of str
        Event labels, in score column order.
    config : PostProcessing
    frame_levels : bool
        Whether frame levels will be pushed; without them ``refined`` boundaries fall back to
        ``centres``, as in :func:`detect_events`.
    frames_tile : bool
        Whether the rows are frames that tile the recording (a frame-level head's,
        :attr:`sed.scores.ScoreGrid.frames_tile`): their events span their frames and are
        never refined, as in :func:`detect_events` (:func:`recording_activity`).

    Raises
    ------
    ParameterError
        If per-label thresholds name a label that is not among ``labels``.
    """

    def __init__(
        self,
        labels,
        config: PostProcessing = PostProcessing(),
        *,
        frame_levels: bool = True,
        frames_tile: bool = False,
    ):
        self.labels = tuple(labels)
        self.config = config
        self._on, self._off = config.thresholds(self.labels)
        self._refined = config.boundaries == "refined" and frame_levels and not frames_tile
        self._activity = (
            _ActivityStream(config.refine_background_seconds, config.refine_margin_db)
            if self._refined
            else None
        )
        self._reach = reach_frames(config.refine_reach_seconds)
        self._median: _MedianStream | None = None
        self._waiting: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._grid: list[tuple[float, float]] = []  # (start, end) of windows 0 and 1
        self._hop: float | None = None
        self._received = 0  # windows pushed
        self._next = 0  # first window not yet through the thresholds
        self._last_window: tuple[float, float] = (0.0, 0.0)  # (start, end) of window _next - 1
        self._states: dict[int, _LabelState] = {}
        self._audio_seconds = 0.0
        self._duration: float | None = None
        # Active frames (refined): frames _history_start .. final_end - 1, and the last active
        # frame before them.
        self._history = np.zeros(0, bool)
        self._history_start = 0
        self._last_active_before = -1
        self._decided: list[Event] = []

    def push(
        self,
        scores: np.ndarray,
        starts: np.ndarray,
        ends: np.ndarray,
        frame_level_db: np.ndarray | None = None,
        *,
        audio_seconds: float,
    ) -> list[Event]:
        """The next windows (and frames) in; the events they decide out.

        Parameters
        ----------
        scores : np.ndarray [shape=(n_windows, n_labels)]
            Scores of the next windows, in [0, 1] (any number of windows, 0 included).
        starts, ends : np.ndarray [shape=(n_windows,)]
            Their start and end times, in seconds (as :class:`sed.scores.ScoreGrid`
            holds them): the grid's hop and window length are taken from them.
        frame_level_db : np.ndarray [shape=(n_frames,)], optional
            Levels of the next 10 ms STFT frames (:attr:`ScoreGrid.frame_level_db`), which
            may run ahead of the windows.
        audio_seconds : float
            Length of the audio received so far, in seconds: at most the final length. Events
            reaching past it wait.

        Returns
        -------
        events : list of Event
            Decided by these windows, by onset, offset and label.

        Raises
        ------
        ParameterError
            If the shapes do not fit the labels, or after :meth:`finish`.
        """
        if self._duration is not None:
            raise ParameterError("the event stream is finished")
        scores = np.asarray(scores)
        starts, ends = np.asarray(starts, np.float64), np.asarray(ends, np.float64)
        if scores.ndim != 2 or scores.shape[1] != len(self.labels):
            raise ParameterError(
                f"expected scores of shape (n, {len(self.labels)}), got {scores.shape}"
            )
        if not len(starts) == len(ends) == len(scores):
            raise ParameterError("scores, starts and ends must hold the same number of windows")
        self._audio_seconds = max(self._audio_seconds, float(audio_seconds))
        if self._activity is not None and frame_level_db is not None:
            self._add_active_frames(self._activity.push(frame_level_db))
        self._add_windows(scores, starts, ends)
        self._decide(final=False)
        return self._take()

    def finish(self, duration_seconds: float) -> list[Event]:
        """End of the recording: close the open events and give out every remaining event.

        Parameters
        ----------
        duration_seconds : float
            True length of the recording, in seconds; events are clipped to it.

        Returns
        -------
        events : list of Event
        """
        if self._duration is not None:
            raise ParameterError("the event stream is finished")
        self._duration = self._audio_seconds = float(duration_seconds)
        if self._activity is not None:
            self._add_active_frames(self._activity.finish())
        if self._median is None and self._waiting is not None:  # one window
            self._median = _MedianStream(1)
            # It stands for its whole extent (ScoreGrid.hop_seconds is 0 then).
            self._hop = self._grid[0][1] - self._grid[0][0]
            self._threshold(self._median.push(self._waiting[0]))
        if self._median is not None:
            self._threshold(self._median.finish())
        for state in self._states.values():
            run = state.open
            if run is not None and run.reached_on:
                self._close(run, self._next - 1, None)
                state.closed.append(run)
            state.open = None
        self._decide(final=True)
        self._states.clear()
        return self._take()

    # ---- windows through the median filter and the thresholds ------------------------------

    def _add_windows(self, scores, starts, ends) -> None:
        if len(scores) == 0:
            return
        if self._waiting is None:
            self._waiting = (scores[:0], starts[:0], ends[:0])
        self._waiting = (
            np.concatenate([self._waiting[0], scores]),
            np.concatenate([self._waiting[1], starts]),
            np.concatenate([self._waiting[2], ends]),
        )
        for i in range(max(0, 2 - self._received)):
            if i < len(starts):
                self._grid.append((float(starts[i]), float(ends[i])))
        self._received += len(scores)
        if len(self._grid) >= 2 and self._hop is None:
            self._hop = self._grid[1][0] - self._grid[0][0]
        if self._median is None:
            if self._hop is None:
                return  # the filter's length depends on the hop
            length = median_filter_windows(self.config.median_filter_seconds, self._hop)
            self._median = _MedianStream(length)
            self._threshold(self._median.push(self._waiting[0]))
        else:
            self._threshold(self._median.push(scores))

    def _threshold(self, filtered: np.ndarray) -> None:
        """Filtered scores of the next windows (now final) through the thresholds."""
        m = len(filtered)
        if m == 0 or self._waiting is None:
            return
        raw, starts, ends = (part[:m] for part in self._waiting)
        self._waiting = tuple(part[m:] for part in self._waiting)  # type: ignore[assignment]
        first_index = self._next
        above_off = filtered >= self._off[None, :]
        above_on = filtered >= self._on[None, :]
        if self.config.mode == "top":
            eligible = filtered.argmax(axis=1)[:, None] == np.arange(len(self.labels))
            above_off &= eligible
            above_on &= eligible
        busy = np.array(above_off.any(axis=0), dtype=bool)
        busy[list(self._states)] = True
        for k in np.flatnonzero(busy):
            state = self._states.setdefault(int(k), _LabelState())
            state.add_pieces(above_off[:, k], raw[:, k], first_index)
            carried = (state.open.first, state.open.reached_on) if state.open else None
            closed, still_open = hysteresis_step(
                above_off[:, k], above_on[:, k], offset=first_index, carried=carried
            )
            for first, last in closed:
                run = state.open if state.open and state.open.first == first else None
                run = run or self._new_run(first, starts, ends, first_index)
                self._close(run, last, (starts, ends, first_index))
                state.closed.append(run)
            if still_open is None:
                state.open = None
            elif state.open is None or state.open.first != still_open[0]:
                state.open = self._new_run(still_open[0], starts, ends, first_index)
            if state.open is not None and still_open is not None:
                state.open.reached_on = still_open[1]
        self._next = first_index + m
        self._last_window = (float(starts[-1]), float(ends[-1]))

    def _new_run(self, first: int, starts, ends, first_index: int) -> _Run:
        i = first - first_index
        onset = onset_time(
            starts[i], ends[i], self._hop or 0.0, self.config.boundaries, first_window=first == 0
        )
        return _Run(first, False, onset)

    def _close(self, run: _Run, last: int, piece) -> None:
        if piece is not None and last >= piece[2]:
            start, end = piece[0][last - piece[2]], piece[1][last - piece[2]]
        else:  # the window before this piece
            start, end = self._last_window
        run.last = last
        run.offset = offset_time(start, end, self._hop or 0.0, self.config.boundaries)

    # ---- decisions -------------------------------------------------------------------------

    def _decide(self, *, final: bool) -> None:
        for k, state in list(self._states.items()):
            while state.closed:
                span = self._boundaries(state.closed[0], final=final)
                if span is None:
                    break
                run = state.closed.pop(0)
                keys = [pending[2] for pending in state.pending]
                # After equal onsets: runs arrive in order, as the stable sort keeps them.
                state.pending.insert(
                    bisect.bisect_right(keys, span[0]), [run.first, run.last, *span]
                )
            if self._refined and not final:
                for run in ([state.open] if state.open else []) + state.closed:
                    self._locate(run, final=False)
            self._merge(k, state, final=final)
            if not state.prune():
                del self._states[k]
        self._trim_history()

    def _merge(self, k: int, state: _LabelState, *, final: bool) -> None:
        if not state.pending:
            return
        gap = self.config.min_gap_seconds
        duration = self._duration if final and self._duration is not None else math.inf
        groups = merge_spans(state.pending, gap, duration)
        done = len(groups)
        if not final:
            runs = state.closed + ([state.open] if state.open is not None else [])
            bound = min([self._onset_bound(self._next), *map(self._run_onset_bound, runs)])
            done = 0
            while done < len(groups) and not (
                bound - groups[done][3] < merge_threshold(gap)
                or groups[done][3] > self._audio_seconds
            ):
                done += 1
        for first, last, onset, offset, _ in groups[:done]:
            if long_enough(onset, offset, self.config.min_duration_seconds):
                score, mean_score = state.scores(first, last)
                self._decided.append(Event(onset, offset, self.labels[k], score, mean_score))
        # A merged group of spans merges and sorts with later spans as the one span it has
        # become (clipping to the length commutes with its max): keep that span only, and one
        # score piece for its windows, so a never-ending chain of merges stays small.
        state.pending = [list(group[:4]) for group in groups[done:]]
        for first, last, _, _, count in groups[done:]:
            if count > 1:
                state.fold_pieces(first, last)

    def _run_onset_bound(self, run: _Run) -> float:
        """No event of this (undecided) run starts before this."""
        if not self._refined:
            return run.onset
        if run.back is not None:  # it starts at frame back or later, or keeps its onset
            return min(run.onset, frame_span(run.back, run.back)[0])
        return self._onset_bound(run.first)

    def _onset_bound(self, first: int) -> float:
        """No event of a run starting at window ``first`` or later starts before this."""
        if self._hop is None:
            return -math.inf
        start = self._grid[0][0] + first * self._hop - 1e-6
        width = self._grid[0][1] - self._grid[0][0]
        onset = onset_time(
            start, start + width, self._hop, self.config.boundaries, first_window=first == 0
        )
        if self._refined:  # grown onsets move back by the reach, plus frame rounding
            onset -= self.config.refine_reach_seconds + 0.03
        return onset

    def _take(self) -> list[Event]:
        decided = sorted(self._decided, key=lambda e: (e.onset, e.offset, e.event_label))
        self._decided = []
        return decided

    # ---- refined boundaries ----------------------------------------------------------------

    def _refined_activity(self):
        """The level activity that ``refined`` boundaries read (kept only for them)."""
        if self._activity is None:
            raise RuntimeError("refined boundaries without frame levels")
        return self._activity

    def _boundaries(self, run: _Run, *, final: bool) -> tuple[float, float] | None:
        """The run's (onset, offset), as :func:`grow_boundaries` gives them, or None until the
        frames they depend on are final."""
        if not self._refined:
            return run.onset, run.offset
        activity = self._refined_activity()
        n = activity.received if final else None
        if final and n == 0:
            return run.onset, run.offset
        self._locate(run, final=final)
        a = run.frame
        final_end = activity.final_end
        b = frame_index(run.offset, n)
        if a is None or (not final and b >= final_end):
            return None
        if b < a:
            return run.onset, run.offset
        if run.first_active is None or run.first_active > b:
            # No active frame in a..b (once searched past b): the boundaries are kept.
            return (run.onset, run.offset) if run.scanned_to > b else None
        if run.back is None:
            raise RuntimeError("a run with an active frame has a walk back")
        start = run.back if run.back < a else run.first_active
        limit = min(n - 1, b + self._reach) if n is not None else b + self._reach
        reachable = min(limit, final_end - 1)
        end = walk_forward(self._history, b, reachable, self._history_start)
        if end == reachable < limit:
            return None  # the sound may go on in frames not yet final
        if end == b:  # the last active frame inside
            low = max(a, self._history_start)
            hits = np.flatnonzero(
                self._history[low - self._history_start : b + 1 - self._history_start]
            )
            end = low + int(hits[-1]) if len(hits) else self._last_active_before
        return frame_span(start, end)

    def _locate(self, run: _Run, *, final: bool) -> None:
        """Find, as frames become final, the run's onset frame, its walk back and its first
        active frame."""
        activity = self._refined_activity()
        received, final_end = activity.received, activity.final_end
        if run.frame is None:
            a = frame_index(run.onset, received if final else None)
            if not final and a >= received:
                return
            run.frame = run.scanned_to = a
        if run.back is None and (final or final_end >= run.frame):
            run.back = walk_back(
                self._history, run.frame, max(0, run.frame - self._reach), self._history_start
            )
        if run.first_active is None and run.scanned_to < final_end:
            lo = run.scanned_to - self._history_start
            hits = np.flatnonzero(self._history[lo : final_end - self._history_start])
            if len(hits):
                run.first_active = run.scanned_to + int(hits[0])
            run.scanned_to = final_end

    def _add_active_frames(self, active: np.ndarray) -> None:
        self._history = np.concatenate([self._history, active])

    def _trim_history(self) -> None:
        """Forget the active frames no run can read any more."""
        if self._activity is None:
            return
        keep = [self._activity.final_end]
        if self._hop is not None:  # runs to come, and the offsets of the open ones
            start = self._grid[0][0] + (self._next - 1) * self._hop
            keep.append(frame_index(start - self.config.refine_reach_seconds) - 10)
        else:
            keep.append(0)
        for state in self._states.values():
            for run in ([state.open] if state.open else []) + state.closed:
                if run.frame is None:
                    keep.append(frame_index(run.onset) - self._reach - 1)
                elif run.back is None:
                    keep.append(run.frame - self._reach - 1)
                if run.frame is not None and run.first_active is None:
                    keep.append(run.scanned_to)
                if run.last >= 0:
                    keep.append(frame_index(run.offset) - 1)
        new_start = max(self._history_start, min(keep))
        dropped = self._history[: new_start - self._history_start]
        hits = np.flatnonzero(dropped)
        if len(hits):
            self._last_active_before = self._history_start + int(hits[-1])
        self._history = self._history[new_start - self._history_start :]
        self._history_start = new_start


@dataclass
class _Run:
    """A hysteresis run of one label: its windows, boundaries, and (refined) what the walks of
    :func:`grow_boundaries` found so far, in STFT frames."""

    first: int
    reached_on: bool
    onset: float
    last: int = -1
    offset: float = math.nan
    frame: int | None = None  # the onset's frame
    back: int | None = None  # walk_back from it
    first_active: int | None = None  # the first active frame from it on
    scanned_to: int = 0  # frames before this were searched for first_active


@dataclass
class _LabelState:
    """What an :class:`EventStream` keeps of one label while it has undecided events.

    ``pieces`` partition the windows from the earliest undecided run on into stretches at or
    above the off threshold and below it: ``[first, last, highest score, sum of scores]``. An
    event starts and ends on stretch boundaries, so its scores combine whole stretches.
    """

    open: _Run | None = None
    closed: list[_Run] = field(default_factory=list)  # waiting for their boundaries
    pending: list[list] = field(default_factory=list)  # [first, last, onset, offset], by onset
    pieces: list[list] = field(default_factory=list)
    piece_above: bool = False

    def add_pieces(self, above: np.ndarray, scores: np.ndarray, first_index: int) -> None:
        if not self.pieces and not above.any():
            return  # nothing to keep before a run begins
        cuts = np.flatnonzero(above[1:] != above[:-1]) + 1
        bounds = [0, *cuts.tolist(), len(above)]
        for begin, end in zip(bounds[:-1], bounds[1:]):
            flag = bool(above[begin])
            if not self.pieces and not flag:
                continue
            part = scores[begin:end]
            top, total = float(part.max()), float(part.sum(dtype=np.float64))
            if begin == 0 and self.pieces and self.piece_above == flag:
                piece = self.pieces[-1]
                piece[1], piece[2], piece[3] = (
                    first_index + end - 1,
                    max(piece[2], top),
                    piece[3] + total,
                )
            else:
                self.pieces.append([first_index + begin, first_index + end - 1, top, total])
                self.piece_above = flag

    def scores(self, first: int, last: int) -> tuple[float, float]:
        """Highest and mean score over windows ``first`` to ``last``."""
        i = bisect.bisect_left([piece[0] for piece in self.pieces], first)
        top, total = -math.inf, 0.0
        for piece in self.pieces[i:]:
            top, total = max(top, piece[2]), total + piece[3]
            if piece[1] >= last:
                if piece[1] != last or self.pieces[i][0] != first:
                    raise RuntimeError("not a stretch boundary")
                break
        return top, total / (last - first + 1)

    def fold_pieces(self, first: int, last: int) -> None:
        """Replace the stretches of windows ``first`` to ``last`` by one (an event's scores
        never need less than all of them)."""
        i = bisect.bisect_left([piece[0] for piece in self.pieces], first)
        j = i
        while self.pieces[j][1] < last:
            j += 1
        folded = self.pieces[i : j + 1]
        top, total = max(piece[2] for piece in folded), sum(piece[3] for piece in folded)
        self.pieces[i : j + 1] = [[first, last, top, total]]

    def prune(self) -> bool:
        """Drop the stretches before the earliest undecided run; False when nothing is left."""
        firsts = [run.first for run in self.closed] + [span[0] for span in self.pending]
        if self.open is not None:
            firsts.append(self.open.first)
        if not firsts:
            return False
        needed = min(firsts)
        while self.pieces and self.pieces[0][1] < needed:
            self.pieces.pop(0)
        return True


class _MedianStream:
    """Rows in, the rows of :func:`median_filter` out as soon as they are final."""

    def __init__(self, length: int):
        self.length = length
        self._context: np.ndarray | None = None  # the last length - 1 (padded) rows

    def push(self, rows: np.ndarray) -> np.ndarray:
        if self.length <= 1 or len(rows) == 0:
            return rows
        if self._context is None:  # the first row, repeated, as mode="edge" pads
            self._context = np.repeat(rows[:1], self.length // 2, axis=0)
        buffer = np.concatenate([self._context, rows])
        self._context = buffer[max(0, len(buffer) - (self.length - 1)) :]
        return running_medians(buffer, self.length)

    def finish(self) -> np.ndarray:
        if self.length <= 1 or self._context is None:
            return np.zeros((0, 0), np.float32)
        tail = np.repeat(self._context[-1:], self.length // 2, axis=0)
        return running_medians(np.concatenate([self._context, tail]), self.length)


class _ActivityStream:
    """Frame levels in; whether each frame is active (:func:`level_activity` above the margin)
    out, once final, computed on the recent frames with their context."""

    def __init__(self, background_seconds: float, margin_db: float):
        self.background_seconds, self.margin_db = background_seconds, margin_db
        self.context = activity_context_frames(background_seconds)
        self._levels = np.zeros(0, np.float64)
        self._first = 0  # frame index of _levels[0], a multiple of the block length
        self.received = 0  # frames pushed
        self.final_end = 0  # frames before this are final (and were given out)

    def push(self, levels: np.ndarray, *, final: bool = False) -> np.ndarray:
        levels = np.asarray(levels, np.float64)
        self._levels = np.concatenate([self._levels, levels])
        self.received += len(levels)
        end = self.received if final else self.received - self.context
        if end <= self.final_end:
            return np.zeros(0, bool)
        activity = level_activity(self._levels, self.background_seconds, first_frame=self._first)
        active = activity[self.final_end - self._first : end - self._first] > self.margin_db
        self.final_end = end
        keep_from = max(0, self.final_end - self.context)
        keep_from -= keep_from % BACKGROUND_STEP_FRAMES
        if keep_from > self._first:
            self._levels = self._levels[keep_from - self._first :]
            self._first = keep_from
        return active

    def finish(self) -> np.ndarray:
        return self.push(np.zeros(0), final=True)
