"""The parameters of post-processing: their allowed values, defaults and checks.

:class:`~sed.postprocessing.recording.PostProcessing` holds one value of each; the checks here
refuse a bad value with a :class:`~sed.errors.ParameterError` naming it (never clamped).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sed.errors import ParameterError

DEFAULT_THRESHOLD = 0.5
MODES = ("multi", "top")
#: Boundary conventions. ``extents``: onset at the start of the first active window, offset at
#: the end of the last. ``centres``: every window stands for the hop-long stretch centred on its
#: centre, so an event spans from half a hop before its first window's centre to half a hop
#: after its last window's centre. ``refined``: ``centres``, then each boundary moved, within
#: ``refine_reach_seconds``, to where the signal level (:attr:`ScoreGrid.frame_level_db`)
#: crosses the local background level plus ``refine_margin_db`` (:func:`grow_boundaries`).
BOUNDARIES = ("extents", "centres", "refined")
DEFAULT_BOUNDARIES = "refined"


def check_threshold(threshold: float, name: str = "threshold") -> float:
    """Return ``threshold`` as a float, or raise :class:`ParameterError` if outside [0, 1]."""
    return check_number(threshold, name, 0.0, 1.0)


def check_seconds(value: float, name: str) -> float:
    """Return ``value`` as a float, or raise :class:`ParameterError` unless finite and >= 0."""
    return check_number(value, name, 0.0, math.inf)


def check_number(value, name: str, low: float, high: float) -> float:
    """Return ``value`` as a float, or raise :class:`ParameterError` unless a finite number
    in ``[low, high]`` (booleans and text refused; the message names ``name``)."""
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
