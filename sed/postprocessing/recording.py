"""Post-processing a whole recording: :class:`PostProcessing`, one configuration of every stage,
and :func:`detect_events`, which runs the stages in order on all its windows.

They share a module because each needs the other: ``PostProcessing.events`` is
:func:`detect_events`, which reads the configuration. A new parameter is a field of
:class:`PostProcessing` (so configuration files, ``--save-config`` and the batch fingerprint see
it), checked in ``__post_init__`` with the checks of :mod:`sed.postprocessing.parameters`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING

import numpy as np

from sed.errors import ParameterError, check_choice
from sed.postprocessing.boundaries import (
    grow_boundaries,
    level_activity,
    offset_time,
    onset_time,
)
from sed.postprocessing.parameters import (
    BOUNDARIES,
    DEFAULT_BOUNDARIES,
    DEFAULT_THRESHOLD,
    MODES,
    ClassThreshold,
    check_seconds,
    check_threshold,
)
from sed.postprocessing.stages import (
    hysteresis_runs,
    median_filter,
    median_filter_windows,
    merge_and_filter,
)

if TYPE_CHECKING:
    import pandas as pd

    from sed.scores import ScoreGrid


@dataclass(frozen=True)
class PostProcessing:
    """One post-processing configuration (every parameter of the stage).

    Attributes
    ----------
    mode : {"multi", "top"}
        ``multi``: every label is decided on its own (polyphonic). ``top``: in each window only
        the highest scoring label may be active (the first version's behaviour).
    threshold_on : float in [0, 1]
        Global threshold to start an event (``--threshold-on``, alias ``--threshold``).
    threshold_off : float in [0, threshold_on] or None
        Global threshold to continue an event; None: equal to ``threshold_on`` (no hysteresis).
    class_thresholds : mapping of str to ClassThreshold
        Per-label thresholds, overriding the global ones for those labels.
    median_filter_seconds : float >= 0
        Length of the median filter over window scores, in seconds; rounded to a whole odd
        number of windows (an even count goes up by one); 0 (or less than 1.5 hops) turns it off.
    min_duration_seconds : float >= 0
        Events shorter than this (after merging) are dropped.
    min_gap_seconds : float >= 0
        Events of one label separated by less than this merge.
    boundaries : {"extents", "centres", "refined"}
        Boundary convention (see :data:`BOUNDARIES`).
    refine_margin_db : float >= 0
        ``refined``: a frame belongs to an event while its level is at least this many dB above
        the local background.
    refine_background_seconds : float > 0
        ``refined``: the local background is the 10th percentile of the level over this many
        seconds around each frame.
    refine_reach_seconds : float >= 0
        ``refined``: how far, in seconds, a boundary may move outwards from its ``centres``
        position (it may move inwards anywhere inside the event).

    Raises
    ------
    ParameterError
        For an unknown mode or convention, or any value out of range (never clamped).
    """

    mode: str = "multi"
    threshold_on: float = DEFAULT_THRESHOLD
    threshold_off: float | None = None
    class_thresholds: Mapping[str, ClassThreshold] = field(default_factory=dict)
    median_filter_seconds: float = 0.0
    min_duration_seconds: float = 0.0
    min_gap_seconds: float = 0.0
    boundaries: str = DEFAULT_BOUNDARIES
    refine_margin_db: float = 6.0
    refine_background_seconds: float = 10.0
    refine_reach_seconds: float = 2.5

    def __post_init__(self):
        check_choice(self.mode, "post-processing mode", MODES)
        check_choice(self.boundaries, "boundary convention", BOUNDARIES)
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        set_("threshold_on", check_threshold(self.threshold_on, "threshold_on"))
        if self.threshold_off is not None:
            set_("threshold_off", check_threshold(self.threshold_off, "threshold_off"))
            if self.threshold_off > self.threshold_on:
                raise ParameterError(
                    f"threshold_off ({self.threshold_off:g}) must not exceed "
                    f"threshold_on ({self.threshold_on:g})"
                )
        for name in (
            "median_filter_seconds",
            "min_duration_seconds",
            "min_gap_seconds",
            "refine_margin_db",
            "refine_reach_seconds",
            "refine_background_seconds",
        ):
            set_(name, check_seconds(getattr(self, name), name))
        if self.refine_background_seconds <= 0:
            raise ParameterError(
                f"refine_background_seconds must be > 0, got {self.refine_background_seconds!r}"
            )
        thresholds = {}
        for label, value in dict(self.class_thresholds).items():
            if not isinstance(value, ClassThreshold):
                value = (
                    ClassThreshold(**value) if isinstance(value, Mapping) else ClassThreshold(value)
                )
            thresholds[str(label)] = value
        set_("class_thresholds", thresholds)

    def __hash__(self):
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def __eq__(self, other):
        return isinstance(other, PostProcessing) and self.to_dict() == other.to_dict()

    def thresholds(self, labels) -> tuple[np.ndarray, np.ndarray]:
        """On and off thresholds of each label.

        Parameters
        ----------
        labels : sequence of str
            The event labels, in score column order.

        Returns
        -------
        on, off : np.ndarray [shape=(len(labels),), dtype=float64]

        Raises
        ------
        ParameterError
            If a per-label threshold names a label that is not among ``labels``.
        """
        unknown = sorted(set(self.class_thresholds) - set(labels))
        if unknown:
            raise ParameterError(
                "per-class thresholds name labels that are not detected: "
                + ", ".join(map(repr, unknown))
            )
        global_off = self.threshold_on if self.threshold_off is None else self.threshold_off
        on, off = [], []
        for label in labels:
            spec = self.class_thresholds.get(label)
            if spec is None:
                on.append(self.threshold_on)
                off.append(global_off)
            else:
                on.append(spec.on)
                off.append(min(spec.on, global_off) if spec.off is None else spec.off)
        return np.array(on), np.array(off)

    def events(self, window_scores: ScoreGrid) -> pd.DataFrame:
        """Turn window scores into the canonical event table (see :func:`detect_events`)."""
        return detect_events(window_scores, self)

    def to_dict(self) -> dict:
        """The configuration as plain data, in the layout of its TOML/JSON file.

        ``threshold_off`` is left out when None and ``class_thresholds`` when empty (TOML has no
        null); ``class_thresholds`` maps each label to ``{"on": x}`` or ``{"on": x, "off": y}``.
        """
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["class_thresholds"] = {
            label: {"on": spec.on} if spec.off is None else {"on": spec.on, "off": spec.off}
            for label, spec in self.class_thresholds.items()
        }
        return {k: v for k, v in data.items() if v is not None and v != {}}

    @classmethod
    def from_dict(cls, data: Mapping, source: str | None = None) -> PostProcessing:
        """Build a configuration from plain data (see :meth:`to_dict`).

        Raises
        ------
        ParameterError
            For an unknown key (anywhere) or a value out of range; ``source`` names the file.
        """
        try:
            if not isinstance(data, Mapping):
                raise ParameterError("a post-processing configuration must be a table of keys")
            known = {f.name for f in fields(cls)}
            unknown = sorted(set(data) - known)
            if unknown:
                raise ParameterError(
                    f"unknown key {unknown[0]!r}; known keys: " + ", ".join(sorted(known))
                )
            thresholds = data.get("class_thresholds", {})
            if not isinstance(thresholds, Mapping):
                raise ParameterError("class_thresholds must be a table: label = {on = x, off = y}")
            for label, spec in thresholds.items():
                if isinstance(spec, Mapping) and set(spec) - {"on", "off"}:
                    bad = sorted(set(spec) - {"on", "off"})[0]
                    raise ParameterError(
                        f"unknown key {bad!r} in class_thresholds.{label}; known keys: on, off"
                    )
                if isinstance(spec, Mapping) and "on" not in spec:
                    raise ParameterError(f"class_thresholds.{label} needs an 'on' value")
            return cls(**data)
        except ParameterError as error:
            raise ParameterError(error.message, source) from None
        except TypeError as error:  # e.g. a table where a number belongs
            raise ParameterError(str(error), source) from None


@dataclass(frozen=True)
class Event:
    """One event of one label: a row of the event table without its ``filename``.

    Attributes
    ----------
    onset, offset : float
        In seconds from the start of the recording or stream.
    event_label : str
    score, mean_score : float in [0, 1]
        Highest and mean (unfiltered) window score of the label over the event's windows.
    """

    onset: float
    offset: float
    event_label: str
    score: float
    mean_score: float


def with_overrides(config: PostProcessing, **overrides) -> PostProcessing:
    """A copy of ``config`` with the given fields replaced (None values are ignored)."""
    return replace(config, **{k: v for k, v in overrides.items() if v is not None})


def detect_events(
    window_scores: ScoreGrid, config: PostProcessing = PostProcessing()
) -> pd.DataFrame:
    """Window scores to events, with every stage of ``config`` (see :mod:`sed.postprocessing`).

    Parameters
    ----------
    window_scores : sed.scores.ScoreGrid
        Scores of the selected event labels, ``(n_windows, n_labels)`` in [0, 1].
    config : PostProcessing

    Returns
    -------
    events : pd.DataFrame
        The canonical event table (:data:`sed.events.EVENT_COLUMNS`) plus ``mean_score``.
        Onsets and offsets are clipped to ``[0, duration_seconds]``.

    Raises
    ------
    ParameterError
        If per-label thresholds name a label that is not in ``window_scores.labels``.
    """
    on, off = config.thresholds(window_scores.labels)
    if np.asarray(window_scores.scores).size == 0:
        return events_table(window_scores.filename, [])
    filtered = filtered_scores(window_scores, config.median_filter_seconds)
    activity = recording_activity(window_scores, config)
    events = [
        Event(onset, offset, label, score, mean_score)
        for k, label in enumerate(window_scores.labels)
        for onset, offset, score, mean_score in label_events(
            window_scores, filtered, k, on[k], off[k], config, activity
        )
    ]
    return events_table(window_scores.filename, events)


def events_table(filename: str, events: Iterable[Event]) -> pd.DataFrame:
    """The event table of one recording's events, as :func:`detect_events` returns it.

    Parameters
    ----------
    filename : str
        Written in the ``filename`` column.
    events : iterable of Event
        In any order (from :func:`label_events` or :class:`EventStream`).

    Returns
    -------
    events : pd.DataFrame
        The canonical event table (:data:`sed.events.EVENT_COLUMNS`) plus ``mean_score``,
        sorted by onset, offset and label (a stable sort: the order given breaks ties).
    """
    import pandas as pd

    from sed.events import event_table  # pandas, imported only when events are made

    rows = [
        {
            "filename": filename,
            "onset": event.onset,
            "offset": event.offset,
            "event_label": event.event_label,
            "score": event.score,
            "mean_score": event.mean_score,
        }
        for event in events
    ]
    if not rows:
        return event_table().assign(mean_score=pd.Series(dtype=float))
    return event_table(rows)


def filtered_scores(window_scores: ScoreGrid, median_filter_seconds: float) -> np.ndarray:
    """Window scores after the median filter (see :func:`median_filter_windows`).

    Returns
    -------
    scores : np.ndarray [shape=(n_windows, n_labels)]
    """
    length = median_filter_windows(median_filter_seconds, window_scores.hop_seconds)
    return median_filter(np.asarray(window_scores.scores), length)


def recording_activity(window_scores: ScoreGrid, config: PostProcessing) -> np.ndarray | None:
    """The :func:`level_activity` that ``refined`` boundaries need, or None when not needed or
    when the window scores carry no frame level (then ``refined`` falls back to ``centres``).

    Scores on frames that tile the recording (a frame-level head's,
    :attr:`sed.scores.ScoreGrid.frames_tile`) are never refined: their events span their
    frames, which the head placed (on ``sed_dev/office`` refining them lowered event F1 from
    0.58 to 0.40; ``docs/frame-heads.md``)."""
    if (
        config.boundaries != "refined"
        or window_scores.frame_level_db is None
        or window_scores.frames_tile
    ):
        return None
    return level_activity(window_scores.frame_level_db, config.refine_background_seconds)


def label_events(
    window_scores: ScoreGrid,
    filtered: np.ndarray,
    k: int,
    on: float,
    off: float,
    config: PostProcessing,
    activity: np.ndarray | None = None,
) -> list[tuple[float, float, float, float]]:
    """The events of one label: thresholds, boundaries, gaps and durations, scores.

    Parameters
    ----------
    window_scores : sed.scores.ScoreGrid
    filtered : np.ndarray [shape=(n_windows, n_labels)]
        Median-filtered scores (:func:`filtered_scores`).
    k : int
        Column of the label.
    on, off : float
        The label's thresholds.
    config : PostProcessing
        Its mode, boundaries, ``min_gap_seconds`` and ``min_duration_seconds`` are used.
    activity : np.ndarray [shape=(n_frames,)], optional
        :func:`recording_activity` of the recording, for ``refined`` boundaries.

    Returns
    -------
    events : list of (onset, offset, score, mean_score)
        Seconds, in time order; scores are the max and mean of the unfiltered window scores.
    """
    eligible = filtered.argmax(axis=1) == k if config.mode == "top" else None
    spans = []
    for first, last in hysteresis_runs(filtered[:, k], on, off, eligible):
        onset, offset = window_boundaries(window_scores, first, last, config.boundaries)
        if activity is not None:
            onset, offset = grow_boundaries(
                activity,
                onset,
                offset,
                margin_db=config.refine_margin_db,
                reach_seconds=config.refine_reach_seconds,
            )
        spans.append((first, last, onset, offset))
    spans.sort(key=lambda span: span[2])  # grown boundaries may reorder neighbours
    raw = window_scores.scores
    return [
        (
            onset,
            offset,
            float(raw[first : last + 1, k].max()),
            float(raw[first : last + 1, k].mean()),
        )
        for first, last, onset, offset in merge_and_filter(
            spans,
            config.min_gap_seconds,
            config.min_duration_seconds,
            window_scores.duration_seconds,
        )
    ]


def window_boundaries(
    window_scores: ScoreGrid, first: int, last: int, convention: str
) -> tuple[float, float]:
    """Onset and offset, in seconds, of an event over windows ``first`` to ``last``.

    Parameters
    ----------
    window_scores : sed.scores.ScoreGrid
    first, last : int
        Inclusive window indices.
    convention : {"extents", "centres", "refined"}
        See :data:`BOUNDARIES`; ``refined`` returns the ``centres`` boundaries here, which
        :func:`grow_boundaries` then moves.

    Returns
    -------
    onset, offset : float
        Not yet clipped to the recording.
    """
    starts, ends = window_scores.starts, window_scores.ends
    hop = window_scores.hop_seconds  # 0 for a lone window: centre_stretches takes its length
    return (
        onset_time(starts[first], ends[first], hop, convention, first_window=first == 0),
        offset_time(starts[last], ends[last], hop, convention),
    )


def top_class_events(
    window_scores: ScoreGrid, *, threshold: float = DEFAULT_THRESHOLD
) -> pd.DataFrame:
    """Events of the single winning class per window, boundaries at window extents.

    The first version's post-processing, kept as ``PostProcessing(mode="top",
    boundaries="extents")``: consecutive windows won by one label with a score of at least
    ``threshold`` form an event from the start of the first window to the end of the last.

    Raises
    ------
    ParameterError
        If ``threshold`` is outside [0, 1].
    """
    return detect_events(
        window_scores, PostProcessing(mode="top", threshold_on=threshold, boundaries="extents")
    )
