"""The post-processing configuration: :class:`PostProcessing`, its parameters and their checks.

A new parameter is a field of :class:`PostProcessing` (so configuration files, ``--save-config``
and the batch fingerprint see it), checked in ``__post_init__``; its stage reads it in
:mod:`sed.postprocessing.recording` and :mod:`sed.postprocessing.streaming`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING

import numpy as np

from sed.errors import ParameterError

if TYPE_CHECKING:
    import pandas as pd

    from sed.segmenter import WindowScores

DEFAULT_THRESHOLD = 0.5
MODES = ("multi", "top")
#: Boundary conventions. ``extents``: onset at the start of the first active window, offset at
#: the end of the last. ``centres``: every window stands for the hop-long stretch centred on its
#: centre, so an event spans from half a hop before its first window's centre to half a hop
#: after its last window's centre. ``refined``: ``centres``, then each boundary moved, within
#: ``refine_reach_seconds``, to where the signal level (:attr:`WindowScores.frame_level_db`)
#: crosses the local background level plus ``refine_margin_db`` (:func:`grow_boundaries`).
BOUNDARIES = ("extents", "centres", "refined")
DEFAULT_BOUNDARIES = "refined"


def check_threshold(threshold: float, name: str = "threshold") -> float:
    """Return ``threshold`` as a float, or raise :class:`ParameterError` if outside [0, 1]."""
    return _check_number(threshold, name, 0.0, 1.0)


def check_seconds(value: float, name: str) -> float:
    """Return ``value`` as a float, or raise :class:`ParameterError` unless finite and >= 0."""
    return _check_number(value, name, 0.0, math.inf)


def _check_number(value, name: str, low: float, high: float) -> float:
    if isinstance(value, bool):
        raise ParameterError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number, got {value!r}") from None
    if not (math.isfinite(number) and low <= number <= high):
        upper = "]" if math.isfinite(high) else ")"
        raise ParameterError(f"{name} must be in [{low:g}, {high:g}{upper}, got {value!r}")
    return number


def _check_choice(value, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ParameterError(f"unknown {name} {value!r}; choose one of {', '.join(choices)}")
    return value


@dataclass(frozen=True)
class ClassThreshold:
    """The thresholds of one event label.

    Attributes
    ----------
    on : float in [0, 1]
        An event starts in a window scoring at least this.
    off : float in [0, on] or None
        The event lasts while windows score at least this; None: the smaller of ``on`` and the
        configuration's global ``threshold_off``.
    """

    on: float
    off: float | None = None

    def __post_init__(self):
        object.__setattr__(self, "on", check_threshold(self.on, "threshold_on"))
        if self.off is not None:
            object.__setattr__(self, "off", check_threshold(self.off, "threshold_off"))
            if self.off > self.on:
                raise ParameterError(
                    f"threshold_off ({self.off:g}) must not exceed threshold_on ({self.on:g})"
                )


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
        _check_choice(self.mode, "post-processing mode", MODES)
        _check_choice(self.boundaries, "boundary convention", BOUNDARIES)
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

    def events(self, window_scores: WindowScores) -> pd.DataFrame:
        """Turn window scores into the canonical event table (see
        :func:`sed.postprocessing.recording.detect_events`)."""
        # Imported here: the stages read this configuration, so they sit above it.
        from sed.postprocessing.recording import detect_events

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


def top_class_events(
    window_scores: WindowScores, *, threshold: float = DEFAULT_THRESHOLD
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
    return PostProcessing(mode="top", threshold_on=threshold, boundaries="extents").events(
        window_scores
    )


def with_overrides(config: PostProcessing, **overrides) -> PostProcessing:
    """A copy of ``config`` with the given fields replaced (None values are ignored)."""
    return replace(config, **{k: v for k, v in overrides.items() if v is not None})
