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
import re
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
    padded = np.pad(scores, ((half, half), (0, 0)), mode="edge")
    views = np.lib.stride_tricks.sliding_window_view(padded, length, axis=0)
    return np.median(views, axis=-1).astype(scores.dtype, copy=False)


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
    return [(a, b) for a, b in runs(above_off) if above_on[a : b + 1].any()]


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
    if convention == "extents":
        return float(starts[first]), float(ends[last])
    hop = window_scores.hop_seconds or float(ends[0] - starts[0])
    onset = 0.5 * (starts[first] + ends[first]) - 0.5 * hop
    offset = 0.5 * (starts[last] + ends[last]) + 0.5 * hop
    if first == 0:  # the first window also stands for the start of the recording
        onset = 0.0
    return float(onset), float(offset)


def level_activity(level_db: np.ndarray, background_seconds: float) -> np.ndarray:
    """How far the smoothed level of each frame rises above its local background, in dB.

    Parameters
    ----------
    level_db : np.ndarray [shape=(n_frames,)]
        Level of each 10 ms frame, in dB (:func:`sed.segmenter.frame_levels`).
    background_seconds : float > 0
        The background of a frame is the :data:`BACKGROUND_PERCENTILE` th percentile of the
        level over this many seconds centred on it (computed on 0.1 s steps, then
        interpolated), so a slowly changing background (wind, traffic, a forest at dawn) is
        followed.

    Returns
    -------
    activity : np.ndarray [shape=(n_frames,), dtype=float64]
        Smoothed level minus background, in dB.
    """
    from scipy.ndimage import percentile_filter, uniform_filter1d

    level = uniform_filter1d(
        np.asarray(level_db, dtype=np.float64), LEVEL_SMOOTHING_FRAMES, mode="nearest"
    )
    step = 10  # frames per background step (0.1 s): the percentile filter runs on blocks
    blocks = (
        level[: len(level) // step * step].reshape(-1, step).mean(axis=1)
        if len(level) >= step
        else level[:1]
    )
    size = max(1, int(round(background_seconds / (step * STFT_FRAMING.stft_hop_seconds))))
    background = percentile_filter(blocks, BACKGROUND_PERCENTILE, size=size, mode="nearest")
    centres = (np.arange(len(background)) + 0.5) * step
    return level - np.interp(np.arange(len(level)), centres, background)


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

    def frame(t):
        return int(
            np.clip(
                round((t - STFT_FRAMING.stft_frame_centre_seconds) / STFT_FRAMING.stft_hop_seconds),
                0,
                n - 1,
            )
        )

    first, last = frame(onset), frame(offset)
    active = activity > margin_db
    if last < first or not active[first : last + 1].any():
        return onset, offset
    reach = int(round(reach_seconds / STFT_FRAMING.stft_hop_seconds))
    start = first
    while start > max(0, first - reach) and active[start - 1]:
        start -= 1
    while not active[start]:
        start += 1
    end = last
    while end < min(n - 1, last + reach) and active[end + 1]:
        end += 1
    while not active[end]:
        end -= 1
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
        Events separated by less than ``min_gap_seconds`` (or overlapping) are merged first;
        then events shorter than ``min_duration_seconds`` are dropped.
    """
    merged: list[list] = []
    for first, last, onset, offset in spans:
        onset, offset = max(0.0, onset), min(offset, duration_seconds)
        if merged and onset - merged[-1][3] < max(min_gap_seconds, 1e-9):
            merged[-1][0] = min(merged[-1][0], first)
            merged[-1][1] = max(merged[-1][1], last)
            merged[-1][3] = max(merged[-1][3], offset)
        else:
            merged.append([first, last, onset, offset])
    return [
        tuple(span)
        for span in merged
        if span[3] - span[2] >= min_duration_seconds and span[3] > span[2]
    ]


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
