"""Tuning: the search improves the chosen metric, and its fast per-label F1 equals sed_eval's."""

from __future__ import annotations

import numpy as np
import pytest

from sed.errors import ParameterError
from sed.events import event_table
from sed.postprocessing import PostProcessing
from sed.segmenter import WindowScores
from sed.tuning import _labels, _Objective, evaluate_config, tune

SETTINGS = {
    "time_resolution_seconds": 1.0,
    "t_collar_seconds": 0.2,
    "percentage_of_length": 0.2,
    "evaluate_offset": True,
}


def recording(name, rng, events, n=60, labels=("dog", "cat")):
    """Window scores that rise to 0.35 (dog) or 0.8 (cat) inside reference events, noise else."""
    starts = np.arange(n) * 0.5
    scores = rng.uniform(0, 0.1, (n, len(labels))).astype(np.float32)
    rows = []
    for onset, offset, label in events:
        k = labels.index(label)
        inside = (starts + 0.48 >= onset) & (starts + 0.48 <= offset)
        scores[inside, k] = 0.35 if label == "dog" else 0.8
        rows.append(
            {"filename": name, "onset": onset, "offset": offset, "event_label": label, "score": 1.0}
        )
    ws = WindowScores(name, starts, starts + 0.96, scores, labels, n * 0.5 + 0.46)
    return ws, event_table(rows)


@pytest.fixture
def dev_set(rng):
    plans = {
        "a": [(2.0, 6.0, "dog"), (10.0, 12.0, "cat")],
        "b": [(5.0, 9.0, "dog"), (15.0, 16.5, "cat"), (20.0, 25.0, "dog")],
    }
    scores, references = [], {}
    for name, events in plans.items():
        ws, ref = recording(name, rng, events)
        scores.append(ws)
        references[name] = ref
    return scores, references


def test_tuning_improves_the_metric_and_reports_it(dev_set):
    scores, references = dev_set
    result = tune(scores, references, metric="segment_f1", rounds=1)
    assert result.before["segment_f1"] < 0.6  # dog (peak 0.35) is missed at 0.5
    assert result.after["segment_f1"] > 0.85
    assert result.config.thresholds(["dog"])[0][0] <= 0.35
    again = evaluate_config(scores, references, result.config).summary()
    assert again == pytest.approx(result.after)
    report = result.report()
    assert "segment_f1" in report and "chosen values:" in report and "threshold_on = " in report


@pytest.mark.parametrize(
    "metric,evaluate_offset", [("segment_f1", True), ("event_f1", True), ("event_f1", False)]
)
def test_per_label_f1_equals_sed_eval_overall(dev_set, metric, evaluate_offset, rng):
    scores, references = dev_set
    references["a"] = event_table(
        [
            *references["a"].to_dict("records"),
            {"filename": "a", "onset": 20.0, "offset": 21.0, "event_label": "cow", "score": 1.0},
        ]
    )  # never scored
    settings = dict(SETTINGS, evaluate_offset=evaluate_offset)
    objective = _Objective(scores, references, _labels(scores, references), metric, settings)
    for config in (
        PostProcessing(threshold_on=0.3, boundaries="extents"),
        PostProcessing(threshold_on=0.05, threshold_off=0.02, median_filter_seconds=1.5),
        PostProcessing(mode="top", threshold_on=0.2, min_gap_seconds=1.0),
    ):
        assert objective.value(config) == pytest.approx(objective.summary(config)[metric])


def test_onset_only_tuning_scores_with_the_onset_only_condition(dev_set):
    scores, references = dev_set
    both = tune(scores, references, metric="event_f1", rounds=1)
    onset = tune(scores, references, metric="event_f1", rounds=1, evaluate_offset=False)
    # A weaker matching condition: the onset-only optimum is at least the onset-and-offset one.
    assert onset.after["event_f1"] >= both.after["event_f1"]
    again = evaluate_config(scores, references, onset.config, evaluate_offset=False).summary()
    assert again == pytest.approx(onset.after)


def test_bad_tuning_requests(dev_set):
    scores, references = dev_set
    with pytest.raises(ParameterError, match="unknown metric"):
        tune(scores, references, metric="accuracy")
    with pytest.raises(ParameterError, match="no reference events"):
        tune(scores, {"a": references["a"]})
