"""Tuning: the post-processing parameters that maximise a sed_eval metric on development data.

The model's window scores are computed once (by the caller) and every candidate configuration is
scored by post-processing them again and evaluating with :class:`sed.evaluation.Evaluation`,
file by file with each file's true length. The search is a coordinate ascent over a grid:

1. a joint grid of the global ``threshold_on`` and ``median_filter_seconds``, the two
   parameters that interact most (a longer filter wants a lower threshold);
2. the global parameters one at a time, the others held: ``threshold_on``, ``boundaries``,
   ``median_filter_seconds`` (odd numbers of windows), ``min_gap_seconds``,
   ``min_duration_seconds`` and, for ``refined`` boundaries, the three ``refine_*`` parameters;
   repeated while the metric improves (at most ``rounds`` times);
3. one pass over the labels: each label's own threshold on a coarse grid, kept only if it
   improves the metric by at least ``class_threshold_gain``.

A value replaces the current one only if it improves the metric, so ties keep the simpler
setting. Hysteresis (``threshold_off``) is kept as given, not searched. These choices come from
tuning on one half of ``sed_dev`` and testing on the other (both ways, both metrics, both sets;
mean test figures animals segment/event F1, office segment/event F1):

- greedy search from the defaults, hysteresis searched, per-label stage interleaved with the
  global one: 0.663 / 0.285 / 0.356 / 0.121. The global threshold drifted up (0.7, off 0.175)
  while per-label thresholds pulled labels back down: good on the tuning half, worse on the other;
- the same without hysteresis: 0.657 / 0.309 / 0.351 / 0.106;
- no per-label thresholds: 0.684 / 0.320 / 0.314 / 0.109;
- this search: 0.720 / 0.307 / 0.351 / 0.126.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from sed.errors import ParameterError
from sed.evaluation import (
    DEFAULT_PERCENTAGE_OF_LENGTH,
    DEFAULT_T_COLLAR,
    DEFAULT_TIME_RESOLUTION,
    METRICS,
    Evaluation,
    import_sed_eval,
)
from sed.postprocessing import (
    BOUNDARIES,
    ClassThreshold,
    PostProcessing,
    detect_events,
    filtered_scores,
    label_events,
    recording_activity,
)

if TYPE_CHECKING:
    import pandas as pd

    from sed.scores import ScoreGrid

THRESHOLDS = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
JOINT_MEDIAN_FILTER_WINDOWS = (1, 3, 5)
CLASS_THRESHOLDS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7)
DEFAULT_CLASS_THRESHOLD_GAIN = 0.005
#: The metric :func:`tune` maximises unless told otherwise.
DEFAULT_METRIC = "segment_f1"
MEDIAN_FILTER_WINDOWS = (1, 3, 5, 7)
MIN_GAPS_SECONDS = (0.0, 0.5, 1.0, 2.0)
MIN_DURATIONS_SECONDS = (0.0, 0.25, 0.5, 1.0)
REFINE_MARGINS_DB = (3.0, 6.0, 10.0, 15.0)
REFINE_BACKGROUNDS_SECONDS = (5.0, 10.0, 30.0)
REFINE_REACHES_SECONDS = (1.0, 2.5, 4.0)
#: Folds of the cross-validation over recordings when there are enough recordings
#: (:func:`default_folds`).
DEFAULT_FOLDS = 5
#: Fewest folds run by default: with 2, each fold tunes on half the recordings only.
MIN_FOLDS = 3
#: Recordings per fold below which cross-validation is off by default.
MIN_RECORDINGS_PER_FOLD = 2
#: Reference events the global threshold is worth when a class's threshold is shrunk toward it,
#: without cross-validation to choose (:func:`shrink_threshold`).
DEFAULT_SHRINKAGE_EVENTS = 10.0
#: The shrinkages cross-validation chooses among, most shrunk first.
SHRINKAGE_CHOICES = (10.0, 3.0, 0.0)


@dataclass
class TuningResult:
    """What :func:`tune` found.

    Attributes
    ----------
    config : PostProcessing
        The chosen configuration, tuned on every recording.
    metric : str
        The metric maximised (error rates are minimised).
    before, after : dict of str to float
        The four headline figures (:meth:`Evaluation.summary`) of the starting and the chosen
        configuration on the recordings tuned on (``after`` is the in-sample figure).
    evaluations : int
        How many configurations were scored (every fold's search included).
    steps : list of str
        The search on every recording, one line per step.
    folds : int
        Cross-validation folds (0: none).
    procedure : str
        The name of the :class:`Procedure` that ``config`` comes from: the one with the best
        cross-validated metric, or ``global + classes (<shrinkage>)`` without cross-validation.
    procedures : dict of str to dict of str to float
        With folds, for each procedure compared (:func:`procedures`): ``in_sample``, its metric
        on the recordings it was tuned on (mean over folds), and ``cross_validated``, its metric
        on the recordings it was not tuned on (each fold's recordings scored with the
        configuration tuned without them, sed_eval's counts pooled over folds). Empty without.
    cross_validated : dict of str to float or None
        The four headline figures of the chosen procedure, cross-validated; None without folds.
        An estimate of what ``config`` scores on new recordings like these, slightly optimistic
        since it also chose the procedure.
    """

    config: PostProcessing
    metric: str
    before: dict[str, float]
    after: dict[str, float]
    evaluations: int = 0
    steps: list[str] = field(default_factory=list)
    folds: int = 0
    procedure: str = ""
    procedures: dict[str, dict[str, float]] = field(default_factory=dict)
    cross_validated: dict[str, float] | None = None

    def report(self) -> str:
        """A human summary: the metric before and after (in-sample and cross-validated), the
        procedures compared, and the chosen values."""
        validation = (
            f"{self.folds}-fold cross-validation over recordings"
            if self.folds
            else "no cross-validation"
        )
        lines = [f"tuned for {self.metric} over {self.evaluations} configurations, {validation}"]
        header = f"{'metric':<20} {'before':>8} {'after':>8}"
        lines.append(header + (f" {'cross-validated':>16}" if self.cross_validated else ""))
        for name in METRICS:
            line = f"{name:<20} {self.before[name]:8.3f} {self.after[name]:8.3f}"
            if self.cross_validated:
                line += f" {self.cross_validated[name]:16.3f}"
            lines.append(line)
        if self.procedures:
            start, chosen = self.procedures["start"], self.procedures[self.procedure]
            sign = -1 if self.metric.endswith("error_rate") else 1
            if sign * (start["cross_validated"] - chosen["cross_validated"]) > 0:
                # Say what is written, so the verdict and the file agree.
                lines.append(
                    f"warning: cross-validated, no tuned procedure beats the start "
                    f"({self.metric} {chosen['cross_validated']:.3f} with {self.procedure} "
                    f"against {start['cross_validated']:.3f} with the start): the configuration "
                    f"written is {self.procedure}'s, tuned on every recording, and may do worse "
                    "than the start on new recordings; keep the start's if it matters"
                )
            width = max(20, *map(len, self.procedures))
            lines.append(f"{'procedure':<{width}} {'in-sample':>9} {'cross-validated':>16}")
            for name, figures in self.procedures.items():
                mark = {self.procedure: "  <- chosen", "start": "  (reference)"}.get(name, "")
                lines.append(
                    f"{name:<{width}} {figures['in_sample']:9.3f} "
                    f"{figures['cross_validated']:16.3f}{mark}"
                )
        lines.append("chosen values:")
        for key, value in self.config.to_dict().items():
            if key != "class_thresholds":
                lines.append(f"  {key} = {value}")
        for label, spec in sorted(self.config.class_thresholds.items()):
            off = "" if spec.off is None else f", off {spec.off:g}"
            lines.append(f"  class {label}: on {spec.on:g}{off}")
        return "\n".join(lines)


class _Objective:
    """Scores configurations on fixed window scores and references, recording by recording.

    sed_eval accumulates its counts over recordings, so a metric over any set of recordings
    (all of them, a fold's tuning recordings, its held-out ones) is a function of per-recording
    counts summed over that set; they are computed once for every recording and cached.

    The F1 metrics are micro-averages: ``F1 = 2 sum(Ntp) / (sum(Nref) + sum(Nsys))`` over labels,
    and a label's counts depend only on its own events. So each label is evaluated alone with
    sed_eval and its counts cached under the parameters that shape its events; a change to one
    label's thresholds re-evaluates that label only. Error rates do not decompose per label
    (substitutions pair labels): their counts (S, D, I, Nref) are cached per configuration.
    """

    def __init__(self, window_scores: Sequence[ScoreGrid], references, labels, metric, settings):
        self.window_scores = window_scores
        self.references = references
        self.labels = labels
        self.metric = metric
        self.settings = settings
        self.everything = np.arange(len(window_scores))
        self.summaries: dict[PostProcessing, dict[str, float]] = {}
        self.counts: dict[tuple, np.ndarray] = {}
        self.error_counts: dict[PostProcessing, np.ndarray] = {}
        self.reference_tables: dict[tuple[int, str], pd.DataFrame] = {}
        self.reference_counts: dict[tuple[int, str], np.ndarray] = {}
        self.filtered: dict[tuple[int, float], np.ndarray] = {}
        self.activities: dict[tuple, np.ndarray | None] = {}

    def summary(self, config: PostProcessing) -> dict[str, float]:
        """sed_eval's four headline figures for ``config`` over every recording."""
        if config not in self.summaries:
            self.summaries[config] = evaluate_config(
                self.window_scores, self.references, config, labels=self.labels, **self.settings
            ).summary()
        return self.summaries[config]

    def value(self, config: PostProcessing, recordings: np.ndarray | None = None) -> float:
        """The metric to maximise (an error rate is negated) over ``recordings`` (indices into
        the window scores; default all)."""
        return self.metric_of(
            self.totals(config, self.everything if recordings is None else recordings)
        )

    def totals(self, config: PostProcessing, recordings: np.ndarray) -> np.ndarray:
        """The counts behind the metric, summed over ``recordings``: segment-based and
        event-based (Ntp, Nref, Nsys) for F1, (S, D, I, Nref) for error rates."""
        if self.metric.endswith("error_rate"):
            return self.config_error_counts(config)[recordings].sum(axis=0)
        return np.sum(
            [self.label_counts(config, label)[recordings].sum(axis=0) for label in self.labels],
            axis=0,
        )

    def metric_of(self, totals: np.ndarray) -> float:
        """The metric to maximise from :meth:`totals` (possibly added over several folds)."""
        kind = 0 if self.metric.startswith("segment") else 1
        if self.metric.endswith("error_rate"):
            substitutions, deletions, insertions, reference = totals[4 * kind : 4 * kind + 4]
            return -_error_rate(substitutions, deletions, insertions, reference)
        tp, ref, sys = totals[3 * kind : 3 * kind + 3]
        return 2 * tp / (ref + sys) if ref + sys > 0 else 0.0

    def label_counts(self, config: PostProcessing, label: str) -> np.ndarray:
        """Segment-based and event-based Ntp, Nref, Nsys of one label, ``(n_recordings, 6)``."""
        labels = self.window_scores[0].labels
        if label not in labels:  # annotated but never scored: a constant Nref
            on = off = None
            key: tuple = (label,)
        else:
            on, off = (float(x[labels.index(label)]) for x in config.thresholds(labels))
            key = _label_key(config, label, on, off)
        if key not in self.counts:
            self.counts[key] = self._evaluate_label(config, label, on, off)
        return self.counts[key]

    def config_error_counts(self, config: PostProcessing) -> np.ndarray:
        """Segment-based (S, D, I, Nref) and event-based (Nsubs, Nfn, Nfp, Nref) of each
        recording, ``(n_recordings, 8)``: what sed_eval's overall error rates add up."""
        if config not in self.error_counts:
            evaluation = Evaluation(self.labels, **self.settings)
            rows = []
            for item in self.window_scores:
                evaluation.add(
                    item.filename,
                    self.references[item.filename],
                    detect_events(item, config),
                    item.duration_seconds,
                )
                rows.append(_overall_error_counts(evaluation))
            self.error_counts[config] = np.diff(np.array(rows, dtype=float), axis=0, prepend=0.0)
        return self.error_counts[config]

    def _evaluate_label(self, config, label, on, off) -> np.ndarray:
        import pandas as pd

        evaluation = Evaluation([label], **self.settings)
        rows = []
        for i, item in enumerate(self.window_scores):
            events = []
            if on is not None:
                k = item.labels.index(label)
                for onset, offset, _, _ in label_events(
                    item,
                    self._filtered(i, config.median_filter_seconds),
                    k,
                    on,
                    off,
                    config,
                    self._activity(i, config),
                ):
                    events.append({"onset": onset, "offset": offset, "event_label": label})
            if not events:  # most recordings, most labels: counts of the reference alone
                rows.append(self._reference_counts(i, label))
                continue
            running = _class_counts(evaluation, label)
            evaluation.add(
                item.filename,
                self._reference(i, label),
                pd.DataFrame(events, columns=["onset", "offset", "event_label"]),
                item.duration_seconds,
            )
            # sed_eval keeps running totals: the difference is this recording's counts.
            rows.append(_class_counts(evaluation, label) - running)
        return np.array(rows, dtype=float)

    def _reference(self, i: int, label: str) -> pd.DataFrame:
        """The reference events of one label in recording ``i`` (cached)."""
        key = (i, label)
        if key not in self.reference_tables:
            table = self.references[self.window_scores[i].filename]
            self.reference_tables[key] = table[table["event_label"] == label]
        return self.reference_tables[key]

    def _reference_counts(self, i: int, label: str) -> np.ndarray:
        """sed_eval's counts of one label in recording ``i`` when nothing is estimated."""
        key = (i, label)
        if key not in self.reference_counts:
            import pandas as pd

            evaluation = Evaluation([label], **self.settings)
            item = self.window_scores[i]
            nothing = pd.DataFrame(columns=["onset", "offset", "event_label"])
            evaluation.add(item.filename, self._reference(i, label), nothing, item.duration_seconds)
            self.reference_counts[key] = _class_counts(evaluation, label)
        return self.reference_counts[key]

    def _activity(self, i: int, config: PostProcessing) -> np.ndarray | None:
        key = (i, config.boundaries, config.refine_background_seconds)
        if key not in self.activities:
            self.activities[key] = recording_activity(self.window_scores[i], config)
        return self.activities[key]

    def _filtered(self, i: int, seconds: float) -> np.ndarray:
        if (i, seconds) not in self.filtered:
            self.filtered[(i, seconds)] = filtered_scores(self.window_scores[i], seconds)
        return self.filtered[(i, seconds)]


#: The fields of PostProcessing that :func:`_label_key` leaves out: a label's events depend on
#: its own thresholds alone, which enter the key resolved (its on and off), so configurations
#: that differ only in other labels' thresholds share the label's cached counts.
_THRESHOLD_FIELDS = frozenset({"threshold_on", "threshold_off", "class_thresholds"})


def _label_key(config: PostProcessing, label: str, on: float, off: float) -> tuple:
    """The key of one label's cached counts: every field of ``config`` that shapes the label's
    events (all but :data:`_THRESHOLD_FIELDS`, so a new field is in it), with the label and its
    own thresholds ``on`` and ``off`` (from :meth:`PostProcessing.thresholds`)."""
    shaping = tuple(
        (f.name, getattr(config, f.name)) for f in fields(config) if f.name not in _THRESHOLD_FIELDS
    )
    return (label, on, off, *shaping)


def _class_counts(evaluation: Evaluation, label: str) -> np.ndarray:
    """sed_eval's running segment-based and event-based Ntp, Nref, Nsys of one label."""
    segment = evaluation.segment_based.class_wise[label]
    event = evaluation.event_based.class_wise[label]
    return np.array(
        [segment[n] for n in ("Ntp", "Nref", "Nsys")] + [event[n] for n in ("Ntp", "Nref", "Nsys")],
        dtype=float,
    )


def _recordings(n: int) -> str:
    return f"{n} recording" + ("" if n == 1 else "s")


def _overall_error_counts(evaluation: Evaluation) -> list[float]:
    """sed_eval's running totals behind its overall error rates (segment, then event based)."""
    segment, event = evaluation.segment_based.overall, evaluation.event_based.overall
    return [segment[n] for n in ("S", "D", "I", "Nref")] + [
        event[n] for n in ("Nsubs", "Nfn", "Nfp", "Nref")
    ]


def _error_rate(substitutions, deletions, insertions, reference) -> float:
    """sed_eval's error rate from its counts (``sed_eval.metric``: each rate over Nref + eps)."""
    sed_eval, _ = import_sed_eval()
    return sed_eval.metric.error_rate(
        sed_eval.metric.substitution_rate(reference, substitutions),
        sed_eval.metric.deletion_rate(reference, deletions),
        sed_eval.metric.insertion_rate(reference, insertions),
    )


def evaluate_config(
    window_scores: Sequence[ScoreGrid],
    references: Mapping[str, pd.DataFrame],
    config: PostProcessing | Sequence[PostProcessing],
    *,
    labels: Sequence[str] | None = None,
    time_resolution_seconds: float = DEFAULT_TIME_RESOLUTION,
    t_collar_seconds: float = DEFAULT_T_COLLAR,
    percentage_of_length: float = DEFAULT_PERCENTAGE_OF_LENGTH,
    evaluate_offset: bool = True,
) -> Evaluation:
    """Post-process window scores with ``config`` and evaluate them against references.

    Parameters
    ----------
    window_scores : sequence of sed.scores.ScoreGrid
        Scores of the selected labels; ``duration_seconds`` is each file's evaluated length.
    references : mapping of str to pd.DataFrame
        Reference event table of each recording, keyed by ``ScoreGrid.filename``.
    config : PostProcessing or sequence of PostProcessing
        One configuration for every recording, or one per recording (in the order of
        ``window_scores``: a cross-validation scores each recording with the configuration
        tuned without it).
    labels : sequence of str, optional
        Labels to score; by default those of the scores and the references.
    time_resolution_seconds, t_collar_seconds, percentage_of_length, evaluate_offset
        sed_eval settings (see :class:`sed.evaluation.Evaluation`).

    Returns
    -------
    evaluation : Evaluation

    Raises
    ------
    ParameterError
        If a recording has no reference, or the configurations are not one per recording.
    """
    if labels is None:
        labels = _labels(window_scores, references)
    configs = [config] * len(window_scores) if isinstance(config, PostProcessing) else config
    if len(configs) != len(window_scores):
        raise ParameterError(
            f"{len(configs)} configurations for {len(window_scores)} recordings: give one, "
            "or one per recording"
        )
    evaluation = Evaluation(
        labels,
        time_resolution_seconds=time_resolution_seconds,
        t_collar_seconds=t_collar_seconds,
        percentage_of_length=percentage_of_length,
        evaluate_offset=evaluate_offset,
    )
    for item, item_config in zip(window_scores, configs):
        if item.filename not in references:
            raise ParameterError("no reference events for this recording", item.filename)
        evaluation.add(
            item.filename,
            references[item.filename],
            detect_events(item, item_config),
            item.duration_seconds,
            length_source="audio",
        )
    return evaluation


def _global_grid(config: PostProcessing, hop: float):
    """(field, candidate values) of the global search, in the order they are tried."""
    return (
        ("threshold_on", THRESHOLDS),
        ("boundaries", BOUNDARIES),
        ("median_filter_seconds", [_filter_seconds(n, hop) for n in MEDIAN_FILTER_WINDOWS]),
        ("min_gap_seconds", MIN_GAPS_SECONDS),
        ("min_duration_seconds", MIN_DURATIONS_SECONDS),
        ("refine_margin_db", REFINE_MARGINS_DB),
        ("refine_background_seconds", REFINE_BACKGROUNDS_SECONDS),
        ("refine_reach_seconds", REFINE_REACHES_SECONDS),
    )


def _filter_seconds(windows: int, hop: float) -> float:
    """A median filter of ``windows`` windows, in seconds (0.0 for none)."""
    return round(windows * hop, 6) if windows > 1 else 0.0


def _with_global(config: PostProcessing, name: str, value) -> PostProcessing:
    """``config`` with one global parameter changed; a new ``threshold_on`` keeps the ratio
    ``threshold_off / threshold_on`` of a given hysteresis."""
    ratio = (
        config.threshold_off / config.threshold_on
        if config.threshold_off is not None and config.threshold_on > 0
        else 1.0
    )
    if name == "threshold_on":
        return replace(config, threshold_on=value, threshold_off=round(value * ratio, 4))
    return replace(config, **{name: value})


def _labels(window_scores: Sequence[ScoreGrid], references) -> list[str]:
    labels = {label for item in window_scores for label in item.labels}
    for table in references.values():
        labels |= set(table["event_label"])
    return sorted(labels)


def default_folds(n_recordings: int) -> int:
    """The cross-validation folds :func:`tune` runs unless told: 0 (none) below
    ``MIN_FOLDS * MIN_RECORDINGS_PER_FOLD`` recordings, else ``DEFAULT_FOLDS`` at most and at
    least ``MIN_RECORDINGS_PER_FOLD`` recordings per fold (see :data:`DEFAULT_FOLDS`).

    Parameters
    ----------
    n_recordings : int >= 0

    Returns
    -------
    folds : int
        0, or in ``[MIN_FOLDS, DEFAULT_FOLDS]``.
    """
    folds = min(DEFAULT_FOLDS, n_recordings // MIN_RECORDINGS_PER_FOLD)
    return folds if folds >= MIN_FOLDS else 0


def check_folds(folds: int | None, n_recordings: int) -> int:
    """The folds a tuning on ``n_recordings`` recordings runs: ``folds``, or
    :func:`default_folds` for None.

    Raises
    ------
    ParameterError
        Unless ``folds`` is None, 0, or from 2 to ``n_recordings`` (a fold needs a recording to
        hold out, and one fold alone holds nothing out).
    """
    if folds is None:
        return default_folds(n_recordings)
    if folds != 0 and not 2 <= folds <= n_recordings:
        raise ParameterError(
            "folds must be 0 (no cross-validation) or from 2 to the number of recordings "
            f"({n_recordings}), got {folds}"
        )
    return folds


def fold_assignment(n_recordings: int, folds: int) -> np.ndarray:
    """The fold of each recording: recording ``i`` (in the order given) is held out in fold
    ``i % folds``, so folds differ in size by one recording at most and the assignment is
    reproducible.

    Returns
    -------
    folds : np.ndarray [shape=(n_recordings,), dtype=int]
        Values in ``[0, folds)``.
    """
    return np.arange(n_recordings) % folds


def shrink_threshold(
    own: float, global_threshold: float, n_events: float, shrinkage_events: float
) -> float:
    """A class's threshold pulled toward the global one by the evidence behind it.

    ``(n_events * own + shrinkage_events * global_threshold) / (n_events + shrinkage_events)``:
    the global threshold counts as ``shrinkage_events`` reference events of prior evidence, the
    class's own optimum as its ``n_events``. (The weighted average of a group's own estimate and
    the pooled one, with a weight growing with the group's size, is the credibility / empirical
    Bayes estimate; here the unit of evidence is a reference event.)

    Parameters
    ----------
    own : float in [0, 1]
        The threshold that scores best for this class on the tuning recordings.
    global_threshold : float in [0, 1]
    n_events : float >= 0
        Reference events of the class in the tuning recordings.
    shrinkage_events : float >= 0
        0 keeps ``own`` (no shrinkage).

    Returns
    -------
    threshold : float in [0, 1]
        Rounded to 3 decimals.
    """
    if shrinkage_events == 0:
        return own
    weight = n_events / (n_events + shrinkage_events)
    return round(global_threshold + weight * (own - global_threshold), 3)


class _Ascent:
    """One coordinate ascent on a set of recordings: the best configuration found so far."""

    def __init__(self, objective: _Objective, recordings: np.ndarray, start, say):
        self.objective = objective
        self.recordings = recordings
        self.say = say
        self.best = start
        self.best_value = objective.value(start, recordings)
        self.evaluated = 1
        self.steps: list[str] = []

    def consider(self, candidates, what: str, gain: float = 1e-12) -> bool:
        """Take each candidate that beats the best so far by at least ``gain``."""
        changed = False
        for candidate in candidates:
            self.evaluated += 1
            value = self.objective.value(candidate, self.recordings)
            if value >= self.best_value + gain:
                self.best, self.best_value, changed = candidate, value, True
        self.note(what)
        return changed

    def take(self, config: PostProcessing, what: str) -> None:
        """Make ``config`` the current one, better or not (a shrunk threshold)."""
        self.evaluated += 1
        self.best, self.best_value = config, self.objective.value(config, self.recordings)
        self.note(what)

    def note(self, what: str) -> None:
        self.steps.append(f"{what}: {self.objective.metric} {abs(self.best_value):.4f}")
        self.say(self.steps[-1])


def _search_threshold(ascent: _Ascent, hop: float) -> None:
    """Stage 1 of the module docstring: the global threshold jointly with the median filter."""
    best = ascent.best
    ascent.consider(
        [
            _with_global(
                replace(best, median_filter_seconds=_filter_seconds(n, hop)), "threshold_on", on
            )
            for n in JOINT_MEDIAN_FILTER_WINDOWS
            for on in THRESHOLDS
        ],
        "threshold and median filter",
    )


def _search_global(ascent: _Ascent, hop: float, rounds: int) -> None:
    """Stage 2 of the module docstring: every global parameter in turn, ``rounds`` times at
    most."""
    for _ in range(rounds):
        changed = False
        for name, values in _global_grid(ascent.best, hop):
            if name.startswith("refine_") and ascent.best.boundaries != "refined":
                continue
            changed |= ascent.consider([_with_global(ascent.best, name, v) for v in values], name)
        if not changed:
            break


def _search_class_thresholds(
    ascent: _Ascent,
    labels: Sequence[str],
    n_events: Mapping[str, int],
    gain: float,
    shrinkage_events: float,
) -> None:
    """Stage 3 of the module docstring: each label's own threshold on a coarse grid, kept if it
    gains at least ``gain``, then shrunk toward the global one (:func:`shrink_threshold`); off
    thresholds keep the global hysteresis ratio."""
    ratio = (
        ascent.best.threshold_off / ascent.best.threshold_on
        if ascent.best.threshold_off is not None and ascent.best.threshold_on > 0
        else 1.0
    )

    def with_threshold(config: PostProcessing, label: str, on: float) -> PostProcessing:
        thresholds = dict(config.class_thresholds)
        thresholds[label] = ClassThreshold(on, round(on * ratio, 4))
        return replace(config, class_thresholds=thresholds)

    for label in labels:
        before = ascent.best
        what = f"thresholds of {label}"
        if not ascent.consider(
            [with_threshold(before, label, on) for on in CLASS_THRESHOLDS], what, gain
        ):
            continue
        own = ascent.best.class_thresholds[label].on
        on = shrink_threshold(own, before.threshold_on, n_events.get(label, 0), shrinkage_events)
        if on == own:
            continue
        events = n_events.get(label, 0)
        what = f"  shrunk from {own:g} ({events} reference events) to {on:g}"
        if on == before.threshold_on:
            ascent.take(before, what)
        else:
            ascent.take(with_threshold(before, label, on), what)


class Procedure(NamedTuple):
    """One way of tuning, as cross-validation compares them.

    Attributes
    ----------
    search : {"none", "threshold", "global"}
        ``none``: the starting configuration as given; ``threshold``: stage 1 of the module
        docstring (global threshold and median filter); ``global``: stages 1 and 2 (every
        global parameter).
    shrinkage_events : float >= 0 or None
        None: no per-class thresholds; else stage 3 on top, with this shrinkage
        (:func:`shrink_threshold`).
    """

    search: str
    shrinkage_events: float | None = None

    @property
    def name(self) -> str:
        """How reports name it: ``start``, ``threshold``, ``global``, ``global + classes (10)``."""
        if self.search == "none":
            return "start"
        if self.shrinkage_events is None:
            return self.search
        return f"{self.search} + classes ({self.shrinkage_events:g})"


def procedures(shrinkages: Sequence[float]) -> list[Procedure]:
    """The procedures cross-validation chooses among, simplest first (ties go to the simpler).

    The start (``Procedure("none")``) is not among them: it is cross-validated beside them as
    the reference, but not chosen. On 10 recordings, held-out figures vary enough that
    cross-validation once ranked the start first on one ``sed_dev`` half while every tuned
    procedure did better on the other half; a user who tunes gets the tuning that carries over
    best, and the report says when even that does worse than the start.

    Parameters
    ----------
    shrinkages : sequence of float >= 0
        The shrinkage of each per-class variant, most shrunk (simplest) first.

    Returns
    -------
    procedures : list of Procedure
        For the ``threshold`` and the ``global`` search: the search alone, then with per-class
        thresholds at each shrinkage.
    """
    candidates = []
    for search in ("threshold", "global"):
        candidates.append(Procedure(search))
        candidates += [Procedure(search, float(m)) for m in shrinkages]
    return candidates


def _searches(
    objective: _Objective,
    recordings: np.ndarray,
    start: PostProcessing,
    candidates: Sequence[Procedure],
    *,
    hop: float,
    rounds: int,
    gain: float,
    say: Callable[[str], None],
) -> tuple[dict[Procedure, PostProcessing], int, list[str]]:
    """Tune every procedure of ``candidates`` on ``recordings``, sharing what they share.

    Returns
    -------
    configs : dict of Procedure to PostProcessing
    evaluated : int
        Configurations scored.
    steps : list of str
        The steps of the search (one line each).
    """
    configs: dict[Procedure, PostProcessing] = {}
    evaluated, steps = 0, list[str]()
    searches = {candidate.search for candidate in candidates} - {"none"}
    if "none" in {candidate.search for candidate in candidates}:
        configs[Procedure("none")] = start
    if not searches:
        return configs, evaluated, steps
    ascent = _Ascent(objective, recordings, replace(start, class_thresholds={}), say)
    _search_threshold(ascent, hop)
    bases = {"threshold": ascent.best}
    if "global" in searches:
        _search_global(ascent, hop, rounds)
        bases["global"] = ascent.best
    evaluated, steps = ascent.evaluated, ascent.steps
    n_events: dict[str, int] = {}
    for i in recordings:
        for label in objective.references[objective.window_scores[i].filename]["event_label"]:
            n_events[label] = n_events.get(label, 0) + 1
    for candidate in candidates:
        if candidate.search == "none":
            continue
        if candidate.shrinkage_events is None:
            configs[candidate] = bases[candidate.search]
            continue
        classes = _Ascent(objective, recordings, bases[candidate.search], say)
        _search_class_thresholds(
            classes,
            objective.window_scores[0].labels,
            n_events,
            gain,
            candidate.shrinkage_events,
        )
        configs[candidate] = classes.best
        evaluated += classes.evaluated
        steps += classes.steps
    return configs, evaluated, steps


def tune(
    window_scores: Sequence[ScoreGrid],
    references: Mapping[str, pd.DataFrame],
    *,
    metric: str = DEFAULT_METRIC,
    start: PostProcessing = PostProcessing(),
    rounds: int = 3,
    folds: int | None = None,
    shrinkage_events: float | None = None,
    class_threshold_gain: float = DEFAULT_CLASS_THRESHOLD_GAIN,
    time_resolution_seconds: float = DEFAULT_TIME_RESOLUTION,
    t_collar_seconds: float = DEFAULT_T_COLLAR,
    percentage_of_length: float = DEFAULT_PERCENTAGE_OF_LENGTH,
    evaluate_offset: bool = True,
    progress: Callable[[str], None] | None = None,
) -> TuningResult:
    """Search post-processing parameters that maximise ``metric`` (see the module docstring).

    Parameters
    ----------
    window_scores : sequence of sed.scores.ScoreGrid
        Scores of the selected labels, computed once; all with the same hop.
    references : mapping of str to pd.DataFrame
        Reference events per recording, keyed by ``ScoreGrid.filename``.
    metric : {"segment_f1", "event_f1", "segment_error_rate", "event_error_rate"}
        Overall (micro-averaged) sed_eval metric; error rates are minimised.
    start : PostProcessing
        Where the search starts (its ``mode`` is kept); its figures are ``before``.
    rounds : int >= 1
        Maximum passes over the global parameters in stage 2.
    folds : int, optional
        Folds of the cross-validation over recordings that chooses the procedure
        (:func:`procedures`): 0 for none (then stages 1 to 3 run, as ``global + classes``),
        else from 2 to the number of recordings. Default: :func:`default_folds`.
    shrinkage_events : float >= 0, optional
        How many reference events the global threshold is worth when a class's own threshold
        is pulled toward it (:func:`shrink_threshold`); 0 keeps the class's own threshold.
        Default: chosen by the cross-validation among :data:`SHRINKAGE_CHOICES`, or
        :data:`DEFAULT_SHRINKAGE_EVENTS` without one.
    class_threshold_gain : float >= 0
        Least improvement of the metric for which a per-label threshold is taken (see the
        module docstring); a larger value keeps fewer per-label thresholds.
    time_resolution_seconds, t_collar_seconds, percentage_of_length, evaluate_offset
        sed_eval settings (see :class:`sed.evaluation.Evaluation`).
    progress : callable, optional
        Called with a one-line message after each fold and each step of the final search.

    Returns
    -------
    result : TuningResult

    Raises
    ------
    ParameterError
        For an unknown metric, no recordings, a recording without reference, or a number of
        folds or other value out of range.
    """
    if metric not in METRICS:
        raise ParameterError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    if not window_scores:
        raise ParameterError("no recordings to tune on")
    if rounds < 1:
        raise ParameterError(f"rounds must be at least 1, got {rounds}")
    if not class_threshold_gain >= 0:
        raise ParameterError(f"class_threshold_gain must be >= 0, got {class_threshold_gain}")
    if shrinkage_events is not None and not (
        math.isfinite(shrinkage_events) and shrinkage_events >= 0
    ):
        raise ParameterError(f"shrinkage_events must be >= 0, got {shrinkage_events}")
    folds = check_folds(folds, len(window_scores))
    for item in window_scores:
        if item.filename not in references:
            raise ParameterError("no reference events for this recording", item.filename)
    settings: dict[str, Any] = {
        "time_resolution_seconds": time_resolution_seconds,
        "t_collar_seconds": t_collar_seconds,
        "percentage_of_length": percentage_of_length,
        "evaluate_offset": evaluate_offset,
    }
    objective = _Objective(
        window_scores, references, _labels(window_scores, references), metric, settings
    )
    search: dict[str, Any] = {
        "hop": max(item.hop_seconds for item in window_scores) or 0.5,
        "rounds": rounds,
        "gain": class_threshold_gain,
    }
    say = progress or (lambda message: None)
    if folds:
        say(
            f"cross-validation, {folds} folds (a line per fold: each procedure tuned on the "
            "other folds' recordings, then run on this fold's):"
        )
    if not folds:
        m = DEFAULT_SHRINKAGE_EVENTS if shrinkage_events is None else shrinkage_events
        chosen, validation = Procedure("global", m), None
        evaluated = 0
    else:
        shrinkages = SHRINKAGE_CHOICES if shrinkage_events is None else (shrinkage_events,)
        candidates = [Procedure("none"), *procedures(shrinkages)]
        validation = _cross_validate(objective, start, candidates, folds, search, say)
        chosen, evaluated = validation.chosen, validation.evaluated
    say(
        f"{chosen.name} on all {_recordings(len(window_scores))} (a line per step: the "
        f"parameter searched, then the best {metric} so far):"
    )
    configs, more, steps = _searches(
        objective, objective.everything, start, [chosen], say=say, **search
    )
    config = configs[chosen]
    return TuningResult(
        config,
        metric,
        objective.summary(start),
        objective.summary(config),
        evaluated + more,
        steps,
        folds=folds,
        procedure=chosen.name,
        procedures=validation.table if validation else {},
        cross_validated=(
            evaluate_config(
                window_scores,
                references,
                validation.held_out[chosen],
                labels=objective.labels,
                **settings,
            ).summary()
            if validation
            else None
        ),
    )


@dataclass
class _CrossValidation:
    """What :func:`_cross_validate` measured."""

    chosen: Procedure
    #: Procedure name -> {"in_sample": mean over folds on their tuning recordings,
    #: "cross_validated": pooled over the held-out folds}, in the metric's own sign.
    table: dict[str, dict[str, float]]
    #: Procedure -> the configuration that scored each recording while it was held out.
    held_out: dict[Procedure, list[PostProcessing]]
    evaluated: int


def _cross_validate(
    objective: _Objective,
    start: PostProcessing,
    candidates: Sequence[Procedure],
    folds: int,
    search: Mapping[str, Any],
    say: Callable[[str], None],
) -> _CrossValidation:
    """Tune every candidate without each fold and score it on that fold; choose the tuned
    candidate (not the start) with the best pooled held-out metric (a more complex one must do
    strictly better)."""
    n = len(objective.window_scores)
    assignment = fold_assignment(n, folds)
    sign = -1.0 if objective.metric.endswith("error_rate") else 1.0
    totals: dict[Procedure, np.ndarray] = {}
    fitted: dict[Procedure, float] = {}
    held_out: dict[Procedure, list[PostProcessing]] = {c: [start] * n for c in candidates}
    evaluated = 0
    for fold in range(folds):
        tuning, testing = np.flatnonzero(assignment != fold), np.flatnonzero(assignment == fold)
        configs, count, _ = _searches(
            objective, tuning, start, candidates, say=lambda message: None, **search
        )
        evaluated += count
        for candidate, config in configs.items():
            totals[candidate] = totals.get(candidate, 0) + objective.totals(config, testing)
            fitted[candidate] = fitted.get(candidate, 0.0) + objective.value(config, tuning) / folds
            for i in testing:
                held_out[candidate][i] = config
        say(
            f"fold {fold + 1}/{folds}: tuned on {_recordings(len(tuning))}, "
            f"tested on {_recordings(len(testing))}"
        )
    values = {candidate: objective.metric_of(totals[candidate]) for candidate in candidates}
    tuned = [candidate for candidate in candidates if candidate.search != "none"]
    chosen = tuned[0]
    for candidate in tuned[1:]:
        if values[candidate] > values[chosen] + 1e-12:
            chosen = candidate
    say(
        f"cross-validated {objective.metric}: {sign * values[chosen]:.4f} with {chosen.name} "
        f"({sign * values[Procedure('none')]:.4f} with the start)"
    )
    table = {
        candidate.name: {
            "in_sample": sign * fitted[candidate],
            "cross_validated": sign * values[candidate],
        }
        for candidate in candidates
    }
    return _CrossValidation(chosen, table, held_out, evaluated)
