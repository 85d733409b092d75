"""Post-processing: window scores in, events out.

One :class:`PostProcessing` configuration holds every parameter; its stages run in this order on
the scores of the selected event labels, ``(n_windows, n_labels)``:

1. **median filter** over windows, per label (``median_filter_seconds``; 0 turns it off);
2. **decision**: ``multi`` mode decides every label on its own, so overlapping events of
   different labels are found; ``top`` mode (the first version's) lets only each window's highest
   scoring label be active;
3. **thresholds with hysteresis**: a run of windows becomes an event when one window reaches
   ``threshold_on`` and lasts while the scores stay at or above ``threshold_off`` (the double
   threshold of DCASE post-processing; ``threshold_off = threshold_on`` is a plain threshold);
   per-label thresholds override the global ones;
4. **boundaries**: where, inside its first and last active windows, an event starts and ends
   (:data:`BOUNDARIES`, measured on ``shared/data/sed_dev``: see the README);
5. **gaps and durations**: events of one label less than ``min_gap_seconds`` apart merge, then
   events shorter than ``min_duration_seconds`` are dropped; events are clipped to the recording;
6. **event scores**: ``score`` is the highest and ``mean_score`` the mean of the event's window
   scores (before filtering), over the windows from its first to its last.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING

import numpy as np

from sed.classes import read_csv_rows
from sed.errors import ParameterError
from sed.params import YamnetParams

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
#: How far (in 10 ms frames) the level is smoothed before it is compared with the background.
LEVEL_SMOOTHING_FRAMES = 5
#: The local background level is this percentile of the level around each frame.
BACKGROUND_PERCENTILE = 10
#: Frames per block of the background level (0.1 s): the percentile filter runs on block means.
BACKGROUND_STEP_FRAMES = 10
#: The frame levels that ``refined`` boundaries read lie on YAMNet's STFT grid, which the window
#: hop does not change.
STFT_FRAMING = YamnetParams()


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


def save_config(config: PostProcessing, path: str | os.PathLike) -> None:
    """Write a configuration as TOML (``.toml``) or JSON (any other suffix), atomically.

    Parameters
    ----------
    config : PostProcessing
    path : str or os.PathLike
    """
    from sed.infra import atomic_open

    data = config.to_dict()
    if os.fspath(path).lower().endswith(".toml"):
        import tomli_w

        text = tomli_w.dumps(data)
    else:
        text = json.dumps(data, indent=2) + "\n"
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def load_config(path: str | os.PathLike) -> PostProcessing:
    """Read a configuration from a TOML (``.toml``) or JSON file.

    Raises
    ------
    ParameterError
        If the file is missing or unreadable, is not valid TOML/JSON, has an unknown key, or a
        value out of range; the message names the file.
    """
    import tomllib

    path = os.fspath(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as error:
        raise ParameterError(f"cannot read configuration: {error.strerror}", path) from None
    try:
        if path.lower().endswith(".toml"):
            data = tomllib.loads(raw.decode("utf-8"))
        else:
            data = json.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as error:
        kind = "TOML" if path.lower().endswith(".toml") else "JSON"
        raise ParameterError(f"not valid {kind}: {error}", path) from None
    return PostProcessing.from_dict(data, source=path)


def read_class_thresholds(path: str | os.PathLike) -> dict[str, ClassThreshold]:
    """Read per-class thresholds: CSV ``event_label,threshold_on[,threshold_off]``.

    Parameters
    ----------
    path : str or os.PathLike
        A header line, then one label per line; ``threshold_off`` may be absent or empty.

    Returns
    -------
    thresholds : dict of str to ClassThreshold

    Raises
    ------
    ParameterError
        If the file is unreadable, lacks the header, repeats a label, or holds a value out of
        range; the message gives the file and line.
    """
    path = os.fspath(path)
    rows = read_csv_rows(path, "thresholds")
    header = [c.strip() for c in rows[0]] if rows else []
    if header[:2] != ["event_label", "threshold_on"] or header[2:] not in ([], ["threshold_off"]):
        raise ParameterError(
            "line 1: expected the header event_label,threshold_on[,threshold_off]", path
        )
    thresholds: dict[str, ClassThreshold] = {}
    for line, row in enumerate(rows[1:], start=2):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if len(cells) > len(header) or len(cells) < 2 or not cells[0]:
            raise ParameterError(f"line {line}: expected {','.join(header)}", path)
        if cells[0] in thresholds:
            raise ParameterError(f"line {line}: event label {cells[0]!r} appears twice", path)
        try:
            off = cells[2] if len(cells) > 2 and cells[2] else None
            # Text is checked and converted by ClassThreshold, with its own messages.
            thresholds[cells[0]] = ClassThreshold(cells[1], off)  # type: ignore[arg-type]
        except ParameterError as error:
            raise ParameterError(f"line {line}: {error.message}", path) from None
    return thresholds


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Runs of consecutive True values.

    Parameters
    ----------
    mask : np.ndarray [shape=(n,), dtype=bool]

    Returns
    -------
    runs : list of (first, last)
        Inclusive index pairs of every maximal run of True.
    """
    padded = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2])]


def median_filter_windows(median_filter_seconds: float, hop_seconds: float) -> int:
    """Length of the median filter in windows: odd, at least 1 (1 means no filtering)."""
    if median_filter_seconds <= 0 or hop_seconds <= 0:
        return 1
    n = max(1, int(round(median_filter_seconds / hop_seconds)))
    return n + 1 - n % 2


def median_filter(scores: np.ndarray, length: int) -> np.ndarray:
    """Running median over windows, per column, with the edges repeated (``mode="nearest"``).

    Parameters
    ----------
    scores : np.ndarray [shape=(n_windows, n_labels)]
    length : int >= 1, odd

    Returns
    -------
    filtered : np.ndarray [shape=(n_windows, n_labels)]
    """
    if length <= 1 or len(scores) == 0:
        return scores
    half = length // 2
    return running_medians(np.pad(scores, ((half, half), (0, 0)), mode="edge"), length)


def running_medians(padded: np.ndarray, length: int) -> np.ndarray:
    """Median of every complete run of ``length`` rows of ``padded``, per column.

    Each output row is the median of its own ``length`` rows, whatever came before or after
    them: :func:`median_filter` and the incremental :class:`EventStream` get the same values.

    Parameters
    ----------
    padded : np.ndarray [shape=(n_rows, n_labels)]
    length : int >= 1, odd

    Returns
    -------
    medians : np.ndarray [shape=(max(0, n_rows - length + 1), n_labels)]
        Row ``i`` is the median of ``padded[i : i + length]``; same dtype as ``padded``.
    """
    if len(padded) < length:
        return padded[:0]
    views = np.lib.stride_tricks.sliding_window_view(padded, length, axis=0)
    return np.median(views, axis=-1).astype(padded.dtype, copy=False)


def hysteresis_runs(
    scores: np.ndarray, on: float, off: float, eligible: np.ndarray | None = None
) -> list[tuple[int, int]]:
    """Runs of windows at or above ``off`` that hold at least one window at or above ``on``.

    Parameters
    ----------
    scores : np.ndarray [shape=(n_windows,)]
    on, off : float, off <= on
    eligible : np.ndarray [shape=(n_windows,), dtype=bool], optional
        Windows that may be active at all (``top`` mode: those the label wins).

    Returns
    -------
    runs : list of (first, last)
        Inclusive window indices.
    """
    above_off = scores >= off
    above_on = scores >= on
    if eligible is not None:
        above_off &= eligible
        above_on &= eligible
    closed, still_open = hysteresis_step(above_off, above_on)
    if still_open is not None and still_open[1]:
        closed.append((still_open[0], len(above_off) - 1))
    return closed


def hysteresis_step(
    above_off: np.ndarray,
    above_on: np.ndarray,
    *,
    offset: int = 0,
    carried: tuple[int, bool] | None = None,
) -> tuple[list[tuple[int, int]], tuple[int, bool] | None]:
    """The hysteresis runs of one piece of a sequence that arrives in pieces.

    :func:`hysteresis_runs` is this function on the whole sequence at once; the incremental
    :class:`EventStream` calls it on each new piece, so both find runs by the same code.

    Parameters
    ----------
    above_off, above_on : np.ndarray [shape=(n,), dtype=bool]
        Which windows of the piece are at or above the off and on thresholds (and eligible).
    offset : int
        Index of the piece's first window in the whole sequence.
    carried : (first, reached_on) or None
        The run still open at the end of the previous piece: its first window and whether a
        window of it reached the on threshold.

    Returns
    -------
    closed : list of (first, last)
        Runs that ended inside the piece (or just before it) and reached the on threshold;
        inclusive window indices of the whole sequence.
    still_open : (first, reached_on) or None
        The run that reaches the end of the piece, to carry into the next one.
    """
    if len(above_off) == 0:
        return [], carried
    closed = []
    if carried is not None and not above_off[0]:
        if carried[1]:
            closed.append((carried[0], offset - 1))
        carried = None
    still_open = None
    for a, b in runs(above_off):
        first, reached = a + offset, bool(above_on[a : b + 1].any())
        if a == 0 and carried is not None:
            first, reached = carried[0], reached or carried[1]
        if b == len(above_off) - 1:
            still_open = (first, reached)
        elif reached:
            closed.append((first, b + offset))
    return closed, still_open


def window_boundaries(
    window_scores: WindowScores, first: int, last: int, convention: str
) -> tuple[float, float]:
    """Onset and offset, in seconds, of an event over windows ``first`` to ``last``.

    Parameters
    ----------
    window_scores : sed.segmenter.WindowScores
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
    hop = window_scores.hop_seconds or float(ends[0] - starts[0])
    return (
        onset_time(starts[first], ends[first], hop, convention, first_window=first == 0),
        offset_time(starts[last], ends[last], hop, convention),
    )


def onset_time(
    start: float, end: float, hop: float, convention: str, *, first_window: bool = False
) -> float:
    """Onset, in seconds, of an event whose first active window spans ``start`` to ``end``.

    ``extents``: the window's start; ``centres`` and ``refined``: half a ``hop`` before the
    window's centre, or 0 for the recording's first window (it also stands for the start).
    """
    if convention == "extents":
        return float(start)
    if first_window:
        return 0.0
    return float(0.5 * (start + end) - 0.5 * hop)


def offset_time(start: float, end: float, hop: float, convention: str) -> float:
    """Offset, in seconds, of an event whose last active window spans ``start`` to ``end``.

    ``extents``: the window's end; ``centres`` and ``refined``: half a ``hop`` after its centre.
    """
    if convention == "extents":
        return float(end)
    return float(0.5 * (start + end) + 0.5 * hop)


def level_activity(
    level_db: np.ndarray, background_seconds: float, *, first_frame: int = 0
) -> np.ndarray:
    """How far the smoothed level of each frame rises above its local background, in dB.

    Every value is computed from a fixed neighbourhood of frames only (a 5-frame mean, 0.1 s
    block means, a percentile over ``background_seconds`` of blocks, an interpolation between
    two block centres), with the same arithmetic wherever the neighbourhood lies; so a stretch
    of a longer recording, given with its context, has the same values as the recording
    computed whole (what the incremental :class:`EventStream` relies on; see
    :func:`activity_context_frames`).

    Parameters
    ----------
    level_db : np.ndarray [shape=(n_frames,)]
        Level of each 10 ms frame, in dB (:func:`sed.segmenter.frame_levels`).
    background_seconds : float > 0
        The background of a frame is the :data:`BACKGROUND_PERCENTILE` th percentile of the
        level over this many seconds centred on it (computed on 0.1 s steps, then
        interpolated), so a slowly changing background (wind, traffic, a forest at dawn) is
        followed.
    first_frame : int >= 0, a multiple of 10
        Index, in the whole recording, of the frame ``level_db[0]``: blocks and block centres
        are placed as in the whole recording. Values within :func:`activity_context_frames` of
        either end of a stretch that is not the recording's own end differ from the whole's.

    Returns
    -------
    activity : np.ndarray [shape=(n_frames,), dtype=float64]
        Smoothed level minus background, in dB.
    """
    from scipy.ndimage import percentile_filter

    level = _moving_average(np.asarray(level_db, dtype=np.float64), LEVEL_SMOOTHING_FRAMES)
    step = BACKGROUND_STEP_FRAMES  # the percentile filter runs on 0.1 s blocks
    if len(level) >= step:
        whole = level[: len(level) // step * step].reshape(-1, step)
        blocks = whole[:, 0].copy()
        for k in range(1, step):  # summed in a fixed order, block by block
            blocks += whole[:, k]
        blocks /= step
    else:
        blocks = level[:1]
    background = percentile_filter(
        blocks, BACKGROUND_PERCENTILE, size=background_blocks(background_seconds), mode="nearest"
    )
    centres = (first_frame // step + np.arange(len(background)) + 0.5) * step
    return level - np.interp(first_frame + np.arange(len(level)), centres, background)


def background_blocks(background_seconds: float) -> int:
    """Length of the background percentile filter, in blocks of :data:`BACKGROUND_STEP_FRAMES`."""
    return max(
        1,
        int(round(background_seconds / (BACKGROUND_STEP_FRAMES * STFT_FRAMING.stft_hop_seconds))),
    )


def activity_context_frames(background_seconds: float) -> int:
    """How many frames on each side the :func:`level_activity` of a frame depends on (at most).

    The frame's value reads the two block backgrounds around it; each background reads
    ``size // 2`` (or fewer) blocks on either side, each block its 10 frames and, through the
    5-frame mean, 2 more on each side. Counting generously: ``10 (size // 2 + 1) + 20``.
    """
    return BACKGROUND_STEP_FRAMES * (background_blocks(background_seconds) // 2 + 1) + 20


def _moving_average(values: np.ndarray, width: int) -> np.ndarray:
    """Centred mean of ``width`` (odd) values, edges repeated; each mean summed left to right."""
    half = width // 2
    padded = np.pad(values, half, mode="edge")
    total = padded[: len(values)].copy()
    for k in range(1, width):
        total += padded[k : k + len(values)]
    return total / width


def grow_boundaries(
    activity: np.ndarray, onset: float, offset: float, *, margin_db: float, reach_seconds: float
) -> tuple[float, float]:
    """Move an event's boundaries to where the signal rises above / falls to its background.

    Starting from the window-centre boundaries, the onset moves back (at most
    ``reach_seconds``) while the frames before it are more than ``margin_db`` above the local
    background, then forward past frames that are not; the offset likewise in the other
    direction. This places the boundaries where the sound emerges from and sinks back into the
    background, as annotators (and the "frames within x dB of the loudest" rule of generated
    soundscapes) do. If no frame of the event rises above the margin, the event is not visible
    in the level (a quiet sound the model still hears) and its boundaries are kept.

    The moves are those of :func:`walk_back` and :func:`walk_forward`, then, where the onset
    did not move back, the first active frame from the onset frame on (and likewise the last
    active frame up to the offset frame): :class:`EventStream` computes the same four numbers
    as the frames arrive.

    Parameters
    ----------
    activity : np.ndarray [shape=(n_frames,)]
        :func:`level_activity` of the recording, in dB.
    onset, offset : float
        ``centres`` boundaries, in seconds.
    margin_db : float >= 0
    reach_seconds : float >= 0

    Returns
    -------
    onset, offset : float
        In seconds; ``onset < offset``.
    """
    n = len(activity)
    if n == 0:
        return onset, offset
    first, last = frame_index(onset, n), frame_index(offset, n)
    active = activity > margin_db
    if last < first or not active[first : last + 1].any():
        return onset, offset
    reach = reach_frames(reach_seconds)
    start = walk_back(active, first, max(0, first - reach))
    if start == first:  # not moved back: the first active frame inside
        start = first + int(np.argmax(active[first:]))
    end = walk_forward(active, last, min(n - 1, last + reach))
    if end == last:  # not moved on: the last active frame inside
        end = last - int(np.argmax(active[last::-1]))
    return frame_span(start, end)


def frame_index(seconds: float, n_frames: int | None = None) -> int:
    """The 10 ms STFT frame whose centre is nearest to a time, at least 0 and, when
    ``n_frames`` is given, at most ``n_frames - 1``."""
    k = round((seconds - STFT_FRAMING.stft_frame_centre_seconds) / STFT_FRAMING.stft_hop_seconds)
    return int(np.clip(k, 0, n_frames - 1)) if n_frames is not None else max(0, int(k))


def reach_frames(reach_seconds: float) -> int:
    """``refine_reach_seconds`` in STFT frames."""
    return int(round(reach_seconds / STFT_FRAMING.stft_hop_seconds))


def walk_back(active, frame: int, limit: int, base: int = 0) -> int:
    """The earliest ``s >= limit`` such that frames ``s .. frame - 1`` are all active.

    ``active[i - base]`` tells whether frame ``i`` is active (``base``: the index of the first
    frame held, for a stream that keeps only recent frames).
    """
    start = frame
    while start > limit and active[start - 1 - base]:
        start -= 1
    return start


def walk_forward(active, frame: int, limit: int, base: int = 0) -> int:
    """The latest ``e <= limit`` such that frames ``frame + 1 .. e`` are all active."""
    end = frame
    while end < limit and active[end + 1 - base]:
        end += 1
    return end


def frame_span(start: int, end: int) -> tuple[float, float]:
    """Onset and offset, in seconds, of an event from frame ``start`` to frame ``end``: half a
    frame hop around their centres (the onset at least 0)."""
    half = STFT_FRAMING.stft_hop_seconds / 2
    return (
        max(
            0.0,
            STFT_FRAMING.stft_frame_centre_seconds + start * STFT_FRAMING.stft_hop_seconds - half,
        ),
        STFT_FRAMING.stft_frame_centre_seconds + end * STFT_FRAMING.stft_hop_seconds + half,
    )


def detect_events(
    window_scores: WindowScores, config: PostProcessing = PostProcessing()
) -> pd.DataFrame:
    """Window scores to events, with every stage of ``config`` (see the module docstring).

    Parameters
    ----------
    window_scores : sed.segmenter.WindowScores
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
        return _no_events()
    filtered = filtered_scores(window_scores, config.median_filter_seconds)
    activity = recording_activity(window_scores, config)
    rows = []
    for k, label in enumerate(window_scores.labels):
        for onset, offset, score, mean_score in label_events(
            window_scores, filtered, k, on[k], off[k], config, activity
        ):
            rows.append(
                {
                    "filename": window_scores.filename,
                    "onset": onset,
                    "offset": offset,
                    "event_label": label,
                    "score": score,
                    "mean_score": mean_score,
                }
            )
    if not rows:
        return _no_events()
    from sed.events import event_table  # pandas, imported only when events are made

    return event_table(rows)


def _no_events() -> pd.DataFrame:
    import pandas as pd

    from sed.events import event_table

    return event_table().assign(mean_score=pd.Series(dtype=float))


def filtered_scores(window_scores: WindowScores, median_filter_seconds: float) -> np.ndarray:
    """Window scores after the median filter (see :func:`median_filter_windows`).

    Returns
    -------
    scores : np.ndarray [shape=(n_windows, n_labels)]
    """
    length = median_filter_windows(median_filter_seconds, window_scores.hop_seconds)
    return median_filter(np.asarray(window_scores.scores), length)


def recording_activity(window_scores: WindowScores, config: PostProcessing) -> np.ndarray | None:
    """The :func:`level_activity` that ``refined`` boundaries need, or None when not needed or
    when the window scores carry no frame level (then ``refined`` falls back to ``centres``)."""
    if config.boundaries != "refined" or window_scores.frame_level_db is None:
        return None
    return level_activity(window_scores.frame_level_db, config.refine_background_seconds)


def label_events(
    window_scores: WindowScores,
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
    window_scores : sed.segmenter.WindowScores
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


def merge_and_filter(
    spans, min_gap_seconds: float, min_duration_seconds: float, duration_seconds: float
) -> list[tuple[int, int, float, float]]:
    """Clip events of one label to the recording, merge close ones, drop short ones.

    Parameters
    ----------
    spans : list of (first, last, onset, offset)
        Window indices and times in seconds, in time order.
    min_gap_seconds, min_duration_seconds : float >= 0
    duration_seconds : float
        Length of the recording.

    Returns
    -------
    spans : list of (first, last, onset, offset)
        Events separated by less than ``min_gap_seconds`` (or overlapping) are merged first
        (:func:`merge_spans`); then events shorter than ``min_duration_seconds`` are dropped
        (:func:`long_enough`).
    """
    return [
        (first, last, onset, offset)
        for first, last, onset, offset, _ in merge_spans(spans, min_gap_seconds, duration_seconds)
        if long_enough(onset, offset, min_duration_seconds)
    ]


def merge_spans(
    spans, min_gap_seconds: float, duration_seconds: float
) -> list[tuple[int, int, float, float, int]]:
    """Clip events of one label to ``[0, duration_seconds]`` and merge those less than
    ``min_gap_seconds`` apart (or overlapping), in the order given.

    Returns
    -------
    groups : list of (first, last, onset, offset, n_spans)
        ``n_spans``: how many consecutive spans of the input each group holds.
    """
    merged: list[list] = []
    for first, last, onset, offset in spans:
        onset, offset = max(0.0, onset), min(offset, duration_seconds)
        if merged and onset - merged[-1][3] < merge_threshold(min_gap_seconds):
            merged[-1][0] = min(merged[-1][0], first)
            merged[-1][1] = max(merged[-1][1], last)
            merged[-1][3] = max(merged[-1][3], offset)
            merged[-1][4] += 1
        else:
            merged.append([first, last, onset, offset, 1])
    return [tuple(group) for group in merged]  # type: ignore[misc]


def merge_threshold(min_gap_seconds: float) -> float:
    """An event merges into the previous one when its onset comes less than this (in seconds)
    after the previous offset: ``min_gap_seconds``, or 1 ns so that touching events merge."""
    return max(min_gap_seconds, 1e-9)


def long_enough(onset: float, offset: float, min_duration_seconds: float) -> bool:
    """Whether a merged event is kept: at least ``min_duration_seconds`` long, and not empty."""
    return offset - onset >= min_duration_seconds and offset > onset


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
    return detect_events(
        window_scores, PostProcessing(mode="top", threshold_on=threshold, boundaries="extents")
    )


def with_overrides(config: PostProcessing, **overrides) -> PostProcessing:
    """A copy of ``config`` with the given fields replaced (None values are ignored)."""
    return replace(config, **{k: v for k, v in overrides.items() if v is not None})
