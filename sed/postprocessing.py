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
   (:data:`BOUNDARIES`, measured on ``shared/data/sed_dev``: see docs/postprocessing.md); on
   frames that tile the recording (a frame-level head's 80 ms frames) an event spans its frames,
   whatever the convention;
5. **gaps and durations**: events of one label less than ``min_gap_seconds`` apart merge, then
   events shorter than ``min_duration_seconds`` are dropped; events are clipped to the recording;
6. **event scores**: ``score`` is the highest and ``mean_score`` the mean of the event's window
   scores (before filtering), over the windows from its first to its last.
"""

from __future__ import annotations

import bisect
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING

import numpy as np

from sed.classes import read_csv_rows
from sed.errors import ParameterError
from sed.errors import check_choice as _check_choice
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

    from sed.errors import long_integer_message
    from sed.infra import read_user_text

    path = os.fspath(path)
    kind = "TOML" if path.lower().endswith(".toml") else "JSON"
    text = read_user_text(path, ParameterError, "configuration")
    try:
        data = tomllib.loads(text) if kind == "TOML" else json.loads(text)
    except json.JSONDecodeError as error:  # its message ends with line and column
        raise ParameterError(f"line {error.lineno}: not valid JSON ({error.msg})", path) from None
    except tomllib.TOMLDecodeError as error:
        raise ParameterError(_toml_error(error, text), path) from None
    except RecursionError:  # nested beyond Python's stack
        raise ParameterError(f"not valid {kind}: nested too deeply", path) from None
    except ValueError:  # an integer beyond Python's 4,300 digits
        raise ParameterError(long_integer_message(text), path) from None
    try:
        return PostProcessing.from_dict(data)
    except ParameterError as error:
        key = _first_bad_key(data)
        line = _key_line(text, key) if key is not None else None
        where = f"line {line}: " if line else f"key {key!r}: " if key is not None else ""
        raise ParameterError(where + error.message, path) from None


def _first_bad_key(data) -> str | None:
    """The first key of a configuration that makes it invalid (keys taken in file order)."""
    if not isinstance(data, Mapping):
        return None
    keys = list(data)
    for end in range(1, len(keys) + 1):
        try:
            PostProcessing.from_dict({key: data[key] for key in keys[:end]})
        except ParameterError:
            return str(keys[end - 1])
    return None


def _key_line(text: str, key: str) -> int | None:
    """The line where ``key`` is set in a TOML or JSON text (``key =``, ``"key":``, ``[key``)."""
    name = re.escape(key)
    pattern = re.compile(
        rf"^\s*(?:{name}|\"{name}\"|'{name}')\s*=|\"{name}\"\s*:|^\s*\[\s*(?:{name}|\"{name}\")\b"
    )
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.search(line):
            return number
    return None


def _toml_error(error: Exception, text: str) -> str:
    """``line N: not valid TOML (<reason>)`` from tomllib's "<reason> (at line N, column M)" or
    "<reason> (at end of document)"."""
    message = str(error)
    where = re.search(r"\s*\(at line (\d+), column \d+\)$|\s*\(at end of document\)$", message)
    if where is None:
        return f"not valid TOML ({message})"
    line = int(where.group(1)) if where.group(1) else max(1, len(text.splitlines()))
    return f"line {line}: not valid TOML ({message[: where.start()]})"


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
    when the window scores carry no frame level (then ``refined`` falls back to ``centres``).

    Scores on frames that tile the recording (a frame-level head's,
    :attr:`sed.segmenter.WindowScores.frames_tile`) are never refined: their events span their
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
    return [tuple(group) for group in merged]


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


# --------------------------------------------------------------------------------------------
# The incremental form: the events of detect_events, decided while the windows arrive.


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


class EventStream:
    """The post-processing of :func:`detect_events`, fed window scores as they arrive.

    Each event is given out as soon as no window or frame still to come can change it, and the
    events are those :func:`detect_events` finds in the whole recording: same onsets, offsets
    and labels, scores within 1e-6 (``tests/test_postprocessing.py`` checks it on many random
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
        :attr:`sed.segmenter.WindowScores.frames_tile`): their events span their frames and are
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
            Their start and end times, in seconds (as :class:`sed.segmenter.WindowScores`
            holds them): the grid's hop and window length are taken from them.
        frame_level_db : np.ndarray [shape=(n_frames,)], optional
            Levels of the next 10 ms STFT frames (:attr:`WindowScores.frame_level_db`), which
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
            # It stands for its whole extent (WindowScores.hop_seconds is 0 then).
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
