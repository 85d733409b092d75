"""Tuning: the search improves the chosen metric, and its fast per-label F1 equals sed_eval's."""

from __future__ import annotations

import shutil
from dataclasses import fields, replace

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sed.cli import cli
from sed.errors import ParameterError
from sed.events import event_table
from sed.postprocessing import BOUNDARIES, MODES, PostProcessing, load_config
from sed.scores import ScoreGrid
from sed.tuning import (
    _THRESHOLD_FIELDS,
    _label_key,
    _labels,
    _Objective,
    default_folds,
    evaluate_config,
    fold_assignment,
    shrink_threshold,
    tune,
)
from tests.test_cli import run_sed

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
    ws = ScoreGrid(name, starts, starts + 0.96, scores, labels, n * 0.5 + 0.46)
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
    "metric,evaluate_offset",
    [
        ("segment_f1", True),
        ("event_f1", True),
        ("event_f1", False),
        ("segment_error_rate", True),
        ("event_error_rate", True),
    ],
)
def test_cached_objective_equals_sed_eval_overall_on_any_recordings(
    dev_set, metric, evaluate_offset, rng
):
    """The objective adds per-recording counts: over all recordings and over any subset (a
    fold), it must give sed_eval's overall figure evaluated on exactly those recordings."""
    scores, references = dev_set
    extra, more = recording("c", rng, [(3.0, 4.0, "cat"), (8.0, 14.0, "dog")])
    scores, references = [*scores, extra], {**references, "c": more}
    references["a"] = event_table(
        [
            *references["a"].to_dict("records"),
            {"filename": "a", "onset": 20.0, "offset": 21.0, "event_label": "cow", "score": 1.0},
        ]
    )  # never scored
    settings = dict(SETTINGS, evaluate_offset=evaluate_offset)
    labels = _labels(scores, references)
    objective = _Objective(scores, references, labels, metric, settings)
    sign = -1 if metric.endswith("error_rate") else 1
    for config in (
        PostProcessing(threshold_on=0.3, boundaries="extents"),
        PostProcessing(threshold_on=0.05, threshold_off=0.02, median_filter_seconds=1.5),
        PostProcessing(mode="top", threshold_on=0.2, min_gap_seconds=1.0),
        PostProcessing(threshold_on=0.9, class_thresholds={"dog": 0.3}),
    ):
        assert sign * objective.value(config) == pytest.approx(objective.summary(config)[metric])
        for subset in ([0], [1, 2], [0, 2]):
            chosen = [scores[i] for i in subset]
            expected = evaluate_config(chosen, references, config, labels=labels, **settings)
            assert sign * objective.value(config, np.array(subset)) == pytest.approx(
                expected.summary()[metric]
            ), (config, subset)


def _other_value(name, value):
    """A valid value of the PostProcessing field ``name`` other than ``value``."""
    choices = {"mode": MODES, "boundaries": BOUNDARIES}
    if name in choices:
        return next(choice for choice in choices[name] if choice != value)
    if isinstance(value, float):
        return value + 0.5
    raise AssertionError(f"say in _other_value how to change the new field {name!r}")


def test_every_field_but_the_thresholds_is_in_a_labels_cache_key():
    # A field missing from the key would let a configuration reuse another's cached counts.
    base = PostProcessing(threshold_on=0.4, threshold_off=0.3)
    key = _label_key(base, "dog", 0.4, 0.3)
    for f in fields(PostProcessing):
        if f.name in _THRESHOLD_FIELDS:
            continue
        changed = replace(base, **{f.name: _other_value(f.name, getattr(base, f.name))})
        assert _label_key(changed, "dog", 0.4, 0.3) != key, f.name


def test_a_labels_cache_key_sees_only_its_own_thresholds():
    base = PostProcessing(threshold_on=0.4, threshold_off=0.3)
    labels = ["dog", "cat"]

    def key(config, label="dog"):
        on, off = (float(x[labels.index(label)]) for x in config.thresholds(labels))
        return _label_key(config, label, on, off)

    # Other labels' thresholds are not the label's: its counts are shared.
    assert key(replace(base, class_thresholds={"cat": 0.9})) == key(base)
    # Its own thresholds, however they are given, are.
    assert key(replace(base, class_thresholds={"dog": 0.9})) != key(base)
    assert key(replace(base, threshold_on=0.5)) != key(base)
    assert key(replace(base, threshold_off=0.2)) != key(base)
    assert key(base, "cat") != key(base)


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


# ---- cross-validation over recordings and shrinkage ----------------------------------------


def test_cross_validation_is_on_from_three_folds_of_two_recordings():
    assert [default_folds(n) for n in (0, 1, 5, 6, 7, 8, 9, 10, 11, 200)] == [
        0,
        0,
        0,
        3,
        3,
        4,
        4,
        5,
        5,
        5,
    ]
    assignment = fold_assignment(7, 3)
    assert assignment.tolist() == [0, 1, 2, 0, 1, 2, 0]


def test_shrinkage_weighs_the_global_threshold_as_reference_events():
    # 10 events against 10 events' worth of the global threshold: half way.
    assert shrink_threshold(0.1, 0.5, 10, 10) == pytest.approx(0.3)
    assert shrink_threshold(0.1, 0.5, 30, 10) == pytest.approx(0.2)
    assert shrink_threshold(0.1, 0.5, 0, 10) == pytest.approx(0.5)  # no evidence: global
    assert shrink_threshold(0.1, 0.5, 3, 0) == pytest.approx(0.1)  # no shrinkage


def test_tuned_class_thresholds_are_shrunk_by_their_reference_events(dev_set):
    scores, references = dev_set
    own = tune(scores, references, rounds=1, folds=0, shrinkage_events=0).config
    shrunk = tune(scores, references, rounds=1, folds=0, shrinkage_events=2).config
    assert own.threshold_on == shrunk.threshold_on  # the global stages are the same
    n_dogs = sum((table["event_label"] == "dog").sum() for table in references.values())
    for label, spec in own.class_thresholds.items():
        n = sum((table["event_label"] == label).sum() for table in references.values())
        expected = shrink_threshold(spec.on, own.threshold_on, n, 2)
        assert shrunk.thresholds([label])[0][0] == pytest.approx(expected)
    assert n_dogs == 3


def six_recordings(rng, trap_score=None):
    """Six recordings with a dog event each (window scores 0.8; 0.06 to 0.1 elsewhere, so a
    global threshold must stay above 0.1). With ``trap_score``, a quiet cat (scores
    ``trap_score`` for 15 s) in recording 0 and a cat-like sound without a cat (the same score
    for 5 s: longer than any median filter) in recording 1: a threshold that finds the quiet
    cat gains more on recording 0 than it loses on recording 1, so it pays on recordings tuned
    on, but not on recordings without the quiet cat."""
    scores, references = [], {}
    for i in range(6):
        name = f"r{i}"
        item, table = recording(name, rng, [(4.0 + i, 9.0 + i, "dog")])
        dog, cat = item.scores[:, 0], item.scores[:, 1]
        item.scores[:, 0] = np.where(dog > 0.3, 0.8, 0.06 + dog * 0.4)
        item.scores[:, 1] = cat * 0.4
        if i == 0 and trap_score is not None:
            item.scores[20:50, 1] = trap_score
            cat = {"filename": name, "onset": 10.0, "offset": 25.5, "event_label": "cat"}
            table = event_table([*table.to_dict("records"), cat])
        if i == 1 and trap_score is not None:
            item.scores[30:40, 1] = trap_score
        scores.append(item)
        references[name] = table
    return scores, references


def test_cross_validation_and_shrinkage_keep_a_threshold_fitted_to_one_event_out(rng):
    # Only a per-class threshold (0.05) reaches the quiet cat: the global one must stay above
    # the dog's 0.1.
    scores, references = six_recordings(rng, trap_score=0.07)
    old = tune(scores, references, rounds=1, folds=0, shrinkage_events=0)
    assert old.config.thresholds(["cat"])[0][0] <= 0.07  # the former search takes it
    result = tune(scores, references, rounds=1)
    assert result.folds == 3
    rows = result.procedures
    unshrunk = rows["global + classes (0)"]
    assert unshrunk["in_sample"] > rows[result.procedure]["in_sample"]
    assert unshrunk["cross_validated"] < rows[result.procedure]["cross_validated"]
    assert result.config.thresholds(["cat"])[0][0] > 0.07
    assert result.cross_validated["segment_f1"] == pytest.approx(
        rows[result.procedure]["cross_validated"]
    )
    report = result.report()
    assert "3-fold cross-validation" in report and "<- chosen" in report
    assert "warning" not in report


def test_the_report_warns_when_no_tuning_carries_over(rng):
    # At 0.15 the global threshold reaches the quiet cat too: every procedure takes it.
    scores, references = six_recordings(rng, trap_score=0.15)
    result = tune(scores, references, rounds=1)
    start, chosen = result.procedures["start"], result.procedures[result.procedure]
    assert chosen["in_sample"] > start["in_sample"]
    assert chosen["cross_validated"] < start["cross_validated"]
    assert result.after["segment_f1"] > result.before["segment_f1"]
    assert result.cross_validated["segment_f1"] < result.before["segment_f1"]
    assert "warning: cross-validated, no tuned procedure beats the start" in result.report()


def test_cross_validated_figures_are_those_of_configurations_tuned_without_each_fold(rng):
    """The bookkeeping, checked through the public API: each fold tuned alone (no folds), its
    configuration run on the held-out recordings, sed_eval's counts pooled over the folds."""
    scores, references = six_recordings(rng, trap_score=0.07)
    result = tune(scores, references, rounds=1, folds=3, shrinkage_events=3)
    assignment = fold_assignment(len(scores), 3)
    held_out, in_sample = [None] * len(scores), []
    for fold in range(3):
        tuning = [s for s, f in zip(scores, assignment) if f != fold]
        alone = tune(tuning, references, rounds=1, folds=0, shrinkage_events=3)
        in_sample.append(alone.after["segment_f1"])
        for i in np.flatnonzero(assignment == fold):
            held_out[i] = alone.config
    pooled = evaluate_config(scores, references, held_out).summary()
    row = result.procedures["global + classes (3)"]
    assert row["cross_validated"] == pytest.approx(pooled["segment_f1"])
    assert row["in_sample"] == pytest.approx(np.mean(in_sample))
    chosen = result.procedures[result.procedure]["cross_validated"]
    assert result.cross_validated["segment_f1"] == pytest.approx(chosen)


def test_cross_validation_takes_tuning_that_carries_over(rng):
    scores, references = six_recordings(rng)
    for item in scores:  # dog now peaks at 0.35: the default 0.5 misses every dog
        item.scores[:, 0] = np.where(item.scores[:, 0] > 0.5, 0.35, item.scores[:, 0])
    result = tune(scores, references, rounds=1)
    assert result.before["segment_f1"] == 0.0
    assert result.procedure != "start" and result.config.thresholds(["dog"])[0][0] <= 0.35
    assert result.cross_validated["segment_f1"] > 0.9 and result.after["segment_f1"] > 0.9


def test_bad_cross_validation_requests(dev_set):
    scores, references = dev_set
    with pytest.raises(ParameterError, match="folds must be 0"):
        tune(scores, references, folds=1)
    with pytest.raises(ParameterError, match=r"number of recordings \(2\), got 3"):
        tune(scores, references, folds=3)
    with pytest.raises(ParameterError, match="shrinkage_events must be >= 0"):
        tune(scores, references, shrinkage_events=-1.0)


# ---- the command line ----------------------------------------------------------------------


def two_bell_recordings(folder, bells_wav):
    """Two copies of the bells recording (links would be one recording under two names), each
    with its annotation."""
    (folder / "audio").mkdir()
    (folder / "ref").mkdir()
    annotation = pd.read_csv(bells_wav.with_suffix(".csv"))
    bells = annotation[annotation["is_bell"]].assign(label="Bicycle bell")
    for name in ("one", "two"):
        shutil.copy(bells_wav, folder / "audio" / f"{name}.wav")
        bells[["onset", "offset", "label"]].to_csv(
            folder / "ref" / f"{name}.tsv", sep="\t", header=False, index=False
        )


@pytest.mark.slow
def test_cli_tune_cross_validates_and_reports_both_estimates(tmp_path, bells_wav):
    two_bell_recordings(tmp_path, bells_wav)
    arguments = ["tune", "--audio", tmp_path / "audio", "--reference", tmp_path / "ref"]
    arguments += ["--classes", "Bicycle bell", "-o", tmp_path / "tuned.toml"]
    result = CliRunner().invoke(cli, [*map(str, arguments), "--folds", "2", "--shrinkage", "3"])
    assert result.exit_code == 0, result.output
    assert "2-fold cross-validation over recordings" in result.output
    assert "cross-validated" in result.output and "<- chosen" in result.output
    assert "global + classes (3)" in result.output and "(10)" not in result.output
    assert "fold 2/2: tuned on 1 recording, tested on 1 recording" in result.output
    load_config(tmp_path / "tuned.toml")


def test_cli_tune_refuses_impossible_folds_before_scoring(tmp_path, bells_wav):
    two_bell_recordings(tmp_path, bells_wav)
    arguments = ["tune", "--audio", tmp_path / "audio", "--reference", tmp_path / "ref"]
    arguments += ["-o", tmp_path / "tuned.toml", "--folds"]
    result = run_sed(*arguments, "1")
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "number of recordings (2), got 1" in result.stderr
    result = CliRunner().invoke(cli, [*map(str, arguments), "3"])
    assert result.exit_code == 2 and "number of recordings (2), got 3" in result.output
    assert "scoring" not in result.output
    assert not (tmp_path / "tuned.toml").exists()


def test_cli_tune_starts_from_a_given_configuration_and_labels_its_trace(tmp_path, bells_wav):
    from sed.postprocessing import save_config

    two_bell_recordings(tmp_path, bells_wav)
    # threshold_off is not searched: only a starting configuration can set it.
    start = PostProcessing(threshold_on=0.4, threshold_off=0.1, mode="top")
    save_config(start, tmp_path / "start.toml")
    arguments = ["tune", "--audio", tmp_path / "audio", "--reference", tmp_path / "ref"]
    arguments += ["--classes", "Bicycle bell", "-o", tmp_path / "tuned.toml", "--folds", "0"]
    result = CliRunner().invoke(
        cli, [*map(str, arguments), "--config", str(tmp_path / "start.toml")]
    )
    assert result.exit_code == 0, result.output
    tuned = load_config(tmp_path / "tuned.toml")
    assert tuned.mode == "top"  # the file's mode, --mode not given
    on, off = tuned.thresholds(["Bicycle bell"])
    assert off[0] / on[0] == pytest.approx(0.1 / 0.4, rel=0.05)  # the start's hysteresis ratio
    # The trace says what its lines are.
    assert (
        "global + classes (10) on all 2 recordings (a line per step: the parameter searched, "
        "then the best segment_f1 so far):" in result.stderr
    )
    again = CliRunner().invoke(
        cli,
        [*map(str, arguments), "--config", str(tmp_path / "start.toml"), "--mode", "multi"],
    )
    assert again.exit_code == 0, again.output
    assert load_config(tmp_path / "tuned.toml").mode == "multi"
