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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from sed.errors import ParameterError
from sed.evaluation import (
    DEFAULT_PERCENTAGE_OF_LENGTH,
    DEFAULT_T_COLLAR,
    DEFAULT_TIME_RESOLUTION,
    METRICS,
    Evaluation,
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

    from sed.segmenter import WindowScores

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


@dataclass
class TuningResult:
    """What :func:`tune` found.

    Attributes
    ----------
    config : PostProcessing
        The best configuration.
    metric : str
        The metric maximised (error rates are minimised).
    before, after : dict of str to float
        The four headline figures (:meth:`Evaluation.summary`) of the starting and the best
        configuration.
    evaluations : int
        How many configurations were scored.
    """

    config: PostProcessing
    metric: str
    before: dict[str, float]
    after: dict[str, float]
    evaluations: int = 0
    steps: list[str] = field(default_factory=list)

    def report(self) -> str:
        """A human summary: the metric before and after, and the chosen values."""
        lines = [
            f"tuned for {self.metric} over {self.evaluations} configurations",
            f"{'metric':<20} {'before':>8} {'after':>8}",
        ]
        for name in METRICS:
            lines.append(f"{name:<20} {self.before[name]:8.3f} {self.after[name]:8.3f}")
        lines.append("chosen values:")
        for key, value in self.config.to_dict().items():
            if key != "class_thresholds":
                lines.append(f"  {key} = {value}")
        for label, spec in sorted(self.config.class_thresholds.items()):
            off = "" if spec.off is None else f", off {spec.off:g}"
            lines.append(f"  class {label}: on {spec.on:g}{off}")
        return "\n".join(lines)


class _Objective:
    """Scores configurations on fixed window scores and references, with caches.

    The F1 metrics are micro-averages: ``F1 = 2 sum(Ntp) / (sum(Nref) + sum(Nsys))`` over labels,
    and a label's counts depend only on its own events. So each label is evaluated alone with
    sed_eval and its counts cached under the parameters that shape its events; a change to one
    label's thresholds re-evaluates that label only. Error rates do not decompose per label
    (substitutions pair labels): they are evaluated whole.
    """

    def __init__(self, window_scores: Sequence[WindowScores], references, labels, metric, settings):
        self.window_scores = window_scores
        self.references = references
        self.labels = labels
        self.metric = metric
        self.settings = settings
        self.summaries: dict[PostProcessing, dict[str, float]] = {}
        self.counts: dict[tuple, np.ndarray] = {}
        self.filtered: dict[tuple[int, float], np.ndarray] = {}
        self.activities: dict[tuple, np.ndarray | None] = {}

    def summary(self, config: PostProcessing) -> dict[str, float]:
        """sed_eval's four headline figures for ``config`` (whole evaluation)."""
        if config not in self.summaries:
            self.summaries[config] = evaluate_config(
                self.window_scores, self.references, config, labels=self.labels, **self.settings
            ).summary()
        return self.summaries[config]

    def value(self, config: PostProcessing) -> float:
        """The metric to maximise (an error rate is negated)."""
        if self.metric.endswith("error_rate"):
            return -self.summary(config)[self.metric]
        total = np.sum([self.label_counts(config, label) for label in self.labels], axis=0)
        tp, ref, sys = total[:3] if self.metric == "segment_f1" else total[3:]
        return 2 * tp / (ref + sys) if ref + sys > 0 else 0.0

    def label_counts(self, config: PostProcessing, label: str) -> np.ndarray:
        """Segment-based and event-based Ntp, Nref, Nsys of one label over all recordings."""
        labels = self.window_scores[0].labels
        if label not in labels:  # annotated but never scored: a constant Nref
            on = off = None
            key: tuple = (label,)
        else:
            on, off = (float(x[labels.index(label)]) for x in config.thresholds(labels))
            key = (
                label,
                config.mode,
                on,
                off,
                config.median_filter_seconds,
                config.boundaries,
                config.min_gap_seconds,
                config.min_duration_seconds,
                config.refine_margin_db,
                config.refine_background_seconds,
                config.refine_reach_seconds,
            )
        if key not in self.counts:
            self.counts[key] = self._evaluate_label(config, label, on, off)
        return self.counts[key]

    def _evaluate_label(self, config, label, on, off) -> np.ndarray:
        import pandas as pd

        evaluation = Evaluation([label], **self.settings)
        for i, item in enumerate(self.window_scores):
            reference = self.references[item.filename]
            rows = []
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
                    rows.append({"onset": onset, "offset": offset, "event_label": label})
            evaluation.add(
                item.filename,
                reference[reference["event_label"] == label],
                pd.DataFrame(rows, columns=["onset", "offset", "event_label"]),
                item.duration_seconds,
            )
        counts = [evaluation.segment_based.class_wise[label][n] for n in ("Ntp", "Nref", "Nsys")]
        counts += [evaluation.event_based.class_wise[label][n] for n in ("Ntp", "Nref", "Nsys")]
        return np.array(counts, dtype=float)

    def _activity(self, i: int, config: PostProcessing) -> np.ndarray | None:
        key = (i, config.boundaries, config.refine_background_seconds)
        if key not in self.activities:
            self.activities[key] = recording_activity(self.window_scores[i], config)
        return self.activities[key]

    def _filtered(self, i: int, seconds: float) -> np.ndarray:
        if (i, seconds) not in self.filtered:
            self.filtered[(i, seconds)] = filtered_scores(self.window_scores[i], seconds)
        return self.filtered[(i, seconds)]


def evaluate_config(
    window_scores: Sequence[WindowScores],
    references: Mapping[str, pd.DataFrame],
    config: PostProcessing,
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
    window_scores : sequence of sed.segmenter.WindowScores
        Scores of the selected labels; ``duration_seconds`` is each file's evaluated length.
    references : mapping of str to pd.DataFrame
        Reference event table of each recording, keyed by ``WindowScores.filename``.
    config : PostProcessing
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
        If a recording has no reference.
    """
    if labels is None:
        labels = _labels(window_scores, references)
    evaluation = Evaluation(
        labels,
        time_resolution_seconds=time_resolution_seconds,
        t_collar_seconds=t_collar_seconds,
        percentage_of_length=percentage_of_length,
        evaluate_offset=evaluate_offset,
    )
    for item in window_scores:
        if item.filename not in references:
            raise ParameterError("no reference events for this recording", item.filename)
        evaluation.add(
            item.filename,
            references[item.filename],
            detect_events(item, config),
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


def _labels(window_scores: Sequence[WindowScores], references) -> list[str]:
    labels = {label for item in window_scores for label in item.labels}
    for table in references.values():
        labels |= set(table["event_label"])
    return sorted(labels)


def tune(
    window_scores: Sequence[WindowScores],
    references: Mapping[str, pd.DataFrame],
    *,
    metric: str = DEFAULT_METRIC,
    start: PostProcessing = PostProcessing(),
    rounds: int = 3,
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
    window_scores : sequence of sed.segmenter.WindowScores
        Scores of the selected labels, computed once; all with the same hop.
    references : mapping of str to pd.DataFrame
        Reference events per recording, keyed by ``WindowScores.filename``.
    metric : {"segment_f1", "event_f1", "segment_error_rate", "event_error_rate"}
        Overall (micro-averaged) sed_eval metric; error rates are minimised.
    start : PostProcessing
        Where the search starts (its ``mode`` is kept); its figures are ``before``.
    rounds : int >= 1
        Maximum passes over the shape parameters and per-label thresholds.
    class_threshold_gain : float >= 0
        Least improvement of the metric for which a per-label threshold is taken (see the
        module docstring); a larger value keeps fewer per-label thresholds.
    time_resolution_seconds, t_collar_seconds, percentage_of_length, evaluate_offset
        sed_eval settings (see :class:`sed.evaluation.Evaluation`).
    progress : callable, optional
        Called with a one-line message after each step.

    Returns
    -------
    result : TuningResult

    Raises
    ------
    ParameterError
        For an unknown metric, no recordings, or a recording without reference.
    """
    if metric not in METRICS:
        raise ParameterError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    if not window_scores:
        raise ParameterError("no recordings to tune on")
    if rounds < 1:
        raise ParameterError(f"rounds must be at least 1, got {rounds}")
    if not class_threshold_gain >= 0:
        raise ParameterError(f"class_threshold_gain must be >= 0, got {class_threshold_gain}")
    for item in window_scores:
        if item.filename not in references:
            raise ParameterError("no reference events for this recording", item.filename)
    settings = {
        "time_resolution_seconds": time_resolution_seconds,
        "t_collar_seconds": t_collar_seconds,
        "percentage_of_length": percentage_of_length,
        "evaluate_offset": evaluate_offset,
    }
    objective = _Objective(
        window_scores, references, _labels(window_scores, references), metric, settings
    )
    hop = max(item.hop_seconds for item in window_scores) or 0.5
    say = progress or (lambda message: None)

    best = start
    best_value = objective.value(best)
    steps, evaluated = [], 1

    def consider(candidates, what, gain=1e-12):
        nonlocal best, best_value
        nonlocal evaluated
        changed = False
        for candidate in candidates:
            evaluated += 1
            value = objective.value(candidate)
            if value >= best_value + gain:
                best, best_value, changed = candidate, value, True
        steps.append(f"{what}: {metric} {abs(best_value):.4f}")
        say(steps[-1])
        return changed

    # Stage 1: threshold and median filter jointly.
    best = replace(best, class_thresholds={})
    best_value = objective.value(best)
    consider(
        [
            _with_global(
                replace(best, median_filter_seconds=_filter_seconds(n, hop)), "threshold_on", on
            )
            for n in JOINT_MEDIAN_FILTER_WINDOWS
            for on in THRESHOLDS
        ],
        "threshold and median filter",
    )
    # Stage 2: the global parameters, one at a time, until none improves (at most `rounds`).
    for _ in range(rounds):
        changed = False
        for name, values in _global_grid(best, hop):
            if name.startswith("refine_") and best.boundaries != "refined":
                continue
            changed |= consider([_with_global(best, name, v) for v in values], name)
        if not changed:
            break
    # Stage 3: one pass of per-label thresholds on a coarse grid, each kept only if it gains at
    # least `class_threshold_gain`; off thresholds keep the global hysteresis ratio.
    ratio = (
        best.threshold_off / best.threshold_on
        if best.threshold_off is not None and best.threshold_on > 0
        else 1.0
    )
    for label in window_scores[0].labels:
        candidates = []
        for on in CLASS_THRESHOLDS:
            thresholds = dict(best.class_thresholds)
            thresholds[label] = ClassThreshold(on, round(on * ratio, 4))
            candidates.append(replace(best, class_thresholds=thresholds))
        consider(candidates, f"thresholds of {label}", class_threshold_gain)
    return TuningResult(
        best, metric, objective.summary(start), objective.summary(best), evaluated, steps
    )
