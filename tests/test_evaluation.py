"""Evaluation: our wrapper's figures against sed_eval called directly, file pairing, lengths."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sed.errors import AnnotationError, ParameterError
from sed.evaluation import Evaluation, import_sed_eval
from sed.events import event_table, write_events
from sed.pipeline import evaluate_files

REFERENCE = {
    "a": [(0.5, 2.0, "dog"), (3.0, 3.4, "cat"), (5.0, 9.0, "dog")],
    "b": [(1.0, 1.3, "cat"), (2.0, 6.0, "bird")],
}
ESTIMATED = {
    "a": [(0.6, 2.3, "dog"), (3.5, 3.8, "cat"), (5.3, 7.0, "dog"), (8.0, 8.5, "cow")],
    "b": [(1.05, 1.35, "cat"), (2.5, 5.0, "cat")],
}
LENGTHS = {"a": 10.0, "b": 7.5}


def table(name, rows):
    return event_table(
        [
            {"filename": name, "onset": a, "offset": b, "event_label": c, "score": 1.0}
            for a, b, c in rows
        ]
    )


def sed_eval_directly(labels, **settings):
    """The same evaluation with sed_eval's own classes and dcase_util containers."""
    sed_eval, dcase_util = import_sed_eval()
    segment = sed_eval.sound_event.SegmentBasedMetrics(labels, time_resolution=1.0)
    event = sed_eval.sound_event.EventBasedMetrics(labels, **settings)
    for name in REFERENCE:
        ref, est = (
            dcase_util.containers.MetaDataContainer(
                [{"filename": name, "onset": a, "offset": b, "event_label": c} for a, b, c in rows]
            )
            for rows in (REFERENCE[name], ESTIMATED[name])
        )
        segment.evaluate(ref, est, evaluated_length_seconds=LENGTHS[name])
        event.evaluate(ref, est)
    return segment.results(), event.results()


def ours(**kwargs):
    labels = ["bird", "cat", "cow", "dog"]
    evaluation = Evaluation(labels, **kwargs)
    for name in REFERENCE:
        evaluation.add(
            name, table(name, REFERENCE[name]), table(name, ESTIMATED[name]), LENGTHS[name]
        )
    return evaluation


def test_figures_equal_sed_eval_on_a_hand_made_case():
    evaluation = ours(t_collar_seconds=0.2, percentage_of_length=0.2)
    segment, event = sed_eval_directly(
        ["bird", "cat", "cow", "dog"], t_collar=0.2, percentage_of_length=0.2
    )
    results = evaluation.results()
    for key in ("f_measure", "error_rate"):
        for name, value in segment["overall"][key].items():
            assert results["segment_based"]["overall"][key][name] == pytest.approx(value)
        for name, value in event["overall"][key].items():
            assert results["event_based"]["overall"][key][name] == pytest.approx(value)
    assert results["event_based"]["class_wise"]["dog"]["f_measure"]["f_measure"] == pytest.approx(
        event["class_wise"]["dog"]["f_measure"]["f_measure"]
    )
    # The hand count: event-based, dog (0.6-2.3) matches (0.5-2.0): onset 0.1 s off, offset
    # 0.3 s off (allowed: 20 % of 1.5 s = 0.3 s); dog 5.3-7.0 misses (onset 0.3 s late);
    # cat 1.05-1.35 matches; the rest do not: Ntp = 2, Nref = 5, Nsys = 6, F1 = 4 / 11.
    assert evaluation.summary()["event_f1"] == pytest.approx(4 / 11)


def test_collar_settings_change_the_event_figures():
    strict = ours(t_collar_seconds=0.05).summary()["event_f1"]
    loose = ours(t_collar_seconds=0.5, percentage_of_length=0.5).summary()["event_f1"]
    assert strict < loose
    _, event = sed_eval_directly(
        ["bird", "cat", "cow", "dog"], t_collar=0.5, percentage_of_length=0.5
    )
    assert loose == pytest.approx(event["overall"]["f_measure"]["f_measure"])


def test_onset_only_ignores_offsets_as_sed_eval_does():
    # dog 1.0-3.0 estimated as 1.1-5.0: the onset is inside the 0.2 s collar, the offset 2 s
    # late (allowed: max(0.2 s, 20 % of 2 s)); only the onset-only condition counts it.
    reference, estimated = table("r", [(1.0, 3.0, "dog")]), table("r", [(1.1, 5.0, "dog")])
    figures = {}
    for evaluate_offset in (True, False):
        evaluation = Evaluation(["dog"], evaluate_offset=evaluate_offset)
        evaluation.add("r", reference, estimated, 10.0)
        figures[evaluate_offset] = evaluation.summary()["event_f1"]
        assert evaluation.results()["settings"]["evaluate_offset"] is evaluate_offset
    assert figures == {True: 0.0, False: 1.0}
    # On the hand-made case, ours equals sed_eval's onset-only figures.
    _, event = sed_eval_directly(["bird", "cat", "cow", "dog"], t_collar=0.5, evaluate_offset=False)
    assert ours(t_collar_seconds=0.5, evaluate_offset=False).summary()["event_f1"] == pytest.approx(
        event["overall"]["f_measure"]["f_measure"]
    )


def test_one_sided_labels_are_reported():
    evaluation = ours()
    assert evaluation.labels_only_in_reference == ["bird"]
    assert evaluation.labels_only_in_estimated == ["cow"]
    report = evaluation.report()
    assert report.startswith(
        "Labels only in the reference events: bird\nLabels only in the estimated events: cow\n"
    )
    assert "Segment based metrics" in report and "Event based metrics" in report
    json.dumps(evaluation.results(), allow_nan=False)  # NaN became null


def test_bad_values_are_rejected():
    with pytest.raises(ParameterError):
        Evaluation(["dog"], time_resolution_seconds=0)
    evaluation = Evaluation(["dog"])
    with pytest.raises(ParameterError, match="'cat' is not evaluated"):
        evaluation.add("a", table("a", [(0, 1, "cat")]), table("a", []), 5.0)


def write_folder(folder, tables, format, suffix):
    folder.mkdir()
    for name, rows in tables.items():
        write_events(
            table(name, rows), folder / f"{name}{suffix}", format, durations={name: LENGTHS[name]}
        )


def test_folders_pair_by_stem_in_any_format(tmp_path):
    write_folder(tmp_path / "ref", REFERENCE, "tsv", ".tsv")
    write_folder(tmp_path / "est", ESTIMATED, "json", ".json")  # JSON states the lengths
    evaluation = evaluate_files(tmp_path / "ref", tmp_path / "est")
    assert [f["length_source"] for f in evaluation.files] == ["file", "file"]
    assert evaluation.summary() == pytest.approx(ours().summary())


def test_without_lengths_the_last_offset_is_used_and_said(tmp_path):
    write_folder(tmp_path / "ref", REFERENCE, "tsv", ".tsv")
    write_folder(tmp_path / "est", ESTIMATED, "audacity", ".audacity.txt")
    warnings = []
    evaluation = evaluate_files(tmp_path / "ref", tmp_path / "est", warn=warnings.append)
    assert [f["evaluated_length_seconds"] for f in evaluation.files] == [9.0, 6.0]
    assert len(warnings) == 2 and "last offset" in warnings[0]


def test_audio_folder_gives_the_lengths(tmp_path):
    import soundfile as sf

    write_folder(tmp_path / "ref", REFERENCE, "tsv", ".tsv")
    write_folder(tmp_path / "est", ESTIMATED, "csv", ".csv")
    (tmp_path / "audio").mkdir()
    for name, seconds in LENGTHS.items():
        sf.write(tmp_path / "audio" / f"{name}.wav", np.zeros(int(seconds * 8000)), 8000)
    evaluation = evaluate_files(tmp_path / "ref", tmp_path / "est", audio=tmp_path / "audio")
    assert [f["evaluated_length_seconds"] for f in evaluation.files] == [10.0, 7.5]
    assert evaluation.summary() == pytest.approx(ours().summary())


def test_unpaired_estimated_file_is_an_error(tmp_path):
    write_folder(tmp_path / "ref", {"a": REFERENCE["a"]}, "tsv", ".tsv")
    write_folder(tmp_path / "est", ESTIMATED, "tsv", ".tsv")
    with pytest.raises(AnnotationError, match="no reference file for recording 'b'"):
        evaluate_files(tmp_path / "ref", tmp_path / "est")
