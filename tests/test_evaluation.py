"""Evaluation: our wrapper's figures against sed_eval called directly, file pairing, lengths."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sed.annotations import evaluate_files
from sed.errors import AnnotationError, ParameterError
from sed.evaluation import METRIC_KINDS, Evaluation, import_sed_eval
from sed.events import event_table, write_events

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
    assert warnings == [
        "2 recordings evaluated up to the last offset of their events, for want of audio or a "
        "stated length (give --audio or --durations for the true lengths)"
    ]


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


def test_a_recording_on_one_side_only_is_an_error_that_names_it(tmp_path):
    write_folder(tmp_path / "ref", {"a": REFERENCE["a"]}, "tsv", ".tsv")
    write_folder(tmp_path / "est", ESTIMATED, "tsv", ".tsv")
    with pytest.raises(AnnotationError, match="recording 'b' is in the estimated events but not"):
        evaluate_files(tmp_path / "ref", tmp_path / "est")
    write_folder(tmp_path / "ref2", REFERENCE, "tsv", ".tsv")
    write_folder(tmp_path / "est2", {"a": ESTIMATED["a"]}, "tsv", ".tsv")
    with pytest.raises(AnnotationError) as error:
        evaluate_files(tmp_path / "ref2", tmp_path / "est2")
    assert str(error.value).startswith(str(tmp_path / "ref2" / "b.tsv") + ": recording 'b' is in")


def test_audio_or_durations_give_a_one_sided_recording_an_empty_side(tmp_path):
    import soundfile as sf

    write_folder(tmp_path / "ref", REFERENCE, "tsv", ".tsv")
    write_folder(tmp_path / "est", {"a": ESTIMATED["a"]}, "tsv", ".tsv")
    (tmp_path / "audio").mkdir()
    for name, seconds in LENGTHS.items():
        sf.write(tmp_path / "audio" / f"{name}.wav", np.zeros(int(seconds * 8000)), 8000)
    by_audio = evaluate_files(tmp_path / "ref", tmp_path / "est", audio=tmp_path / "audio")
    (tmp_path / "durations.tsv").write_text("filename\tduration\na.wav\t10\nb.wav\t7.5\n")
    by_table = evaluate_files(
        tmp_path / "ref", tmp_path / "est", durations=tmp_path / "durations.tsv"
    )
    for evaluation in (by_audio, by_table):
        assert [f["estimated_events"] for f in evaluation.files] == [4, 0]
        assert [f["evaluated_length_seconds"] for f in evaluation.files] == [10.0, 7.5]
    assert by_audio.results()["event_based"] == by_table.results()["event_based"]
    assert by_audio.results()["segment_based"] == by_table.results()["segment_based"]
    (tmp_path / "short.tsv").write_text("a.wav\t10\n")
    with pytest.raises(AnnotationError, match="no duration for recording 'b'"):
        evaluate_files(tmp_path / "ref", tmp_path / "est", durations=tmp_path / "short.tsv")


def test_a_table_of_several_recordings_is_scored_per_recording(tmp_path):
    """Reference a.wav 0-1, b.wav 5-6; estimate a.wav 5-6, b.wav 0-1: pooled they would match
    perfectly; per recording nothing matches (sed_eval: F 0, ER 2)."""
    (tmp_path / "ref.tsv").write_text("a.wav\t0\t1\tdog\nb.wav\t5\t6\tdog\n")
    (tmp_path / "est.tsv").write_text("a.wav\t5\t6\tdog\nb.wav\t0\t1\tdog\n")
    evaluation = evaluate_files(tmp_path / "ref.tsv", tmp_path / "est.tsv")
    assert [f["filename"] for f in evaluation.files] == ["a.wav", "b.wav"]
    event = evaluation.results()["event_based"]["overall"]
    assert event["f_measure"]["f_measure"] == 0.0 and event["error_rate"]["error_rate"] == 2.0


def test_folders_and_tables_pair_by_stem(tmp_path):
    """A folder of per-recording files against one table naming the recordings (our
    all_events.tsv, DESED) gives the figures of two folders."""
    write_folder(tmp_path / "ref", REFERENCE, "tsv", ".tsv")
    rows = [
        f"{name}.wav\t{a}\t{b}\t{c}\n" for name, events in ESTIMATED.items() for a, b, c in events
    ]
    (tmp_path / "all.tsv").write_text("filename\tonset\toffset\tevent_label\n" + "".join(rows))
    (tmp_path / "durations.tsv").write_text("filename\tduration\na.wav\t10\nb.wav\t7.5\n")
    evaluation = evaluate_files(
        tmp_path / "ref", tmp_path / "all.tsv", durations=tmp_path / "durations.tsv"
    )
    assert evaluation.summary() == pytest.approx(ours().summary())


def test_two_sources_for_one_recording_are_refused(tmp_path):
    (tmp_path / "ref").mkdir()
    (tmp_path / "ref" / "t.tsv").write_text("x/a.wav\t0\t1\tdog\ny/a.wav\t2\t3\tdog\n")
    with pytest.raises(AnnotationError, match="two sets of events for recording 'a'"):
        evaluate_files(tmp_path / "ref", tmp_path / "ref")


def test_label_sets_leave_other_labels_out_and_count_them(tmp_path):
    write_folder(tmp_path / "ref", REFERENCE, "tsv", ".tsv")
    write_folder(tmp_path / "est", ESTIMATED, "tsv", ".tsv")
    union = evaluate_files(tmp_path / "ref", tmp_path / "est")
    assert union.labels == ["bird", "cat", "cow", "dog"]
    reference = evaluate_files(tmp_path / "ref", tmp_path / "est", labels="reference")
    assert reference.labels == ["bird", "cat", "dog"]
    assert reference.notes["labels_left_out"] == {"reference": {}, "estimated": {"cow": 1}}
    assert "Left out 1 estimated event of labels not evaluated (cow: 1)" in reference.report()
    chosen = evaluate_files(tmp_path / "ref", tmp_path / "est", labels=["dog"])
    assert chosen.notes["labels_left_out"] == {
        "reference": {"bird": 1, "cat": 2},
        "estimated": {"cat": 3, "cow": 1},
    }
    assert chosen.results()["labels"] == ["dog"]
    with pytest.raises(ParameterError, match="unknown label set 'both'"):
        evaluate_files(tmp_path / "ref", tmp_path / "est", labels="both")


def test_unlabeled_events_are_skipped_counted_and_reported(tmp_path):
    (tmp_path / "ref.txt").write_text(
        "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tSpecies\n"
        "1\tSpectrogram 1\t1\t1.0\t2.0\tdog\n"
        "2\tSpectrogram 1\t1\t3.0\t4.0\t\n"
    )
    (tmp_path / "est.tsv").write_text("1.0\t2.0\tdog\n")
    warnings = []
    evaluation = evaluate_files(tmp_path / "ref.txt", tmp_path / "est.tsv", warn=warnings.append)
    assert evaluation.notes["unlabeled"] == {
        "reference": {str(tmp_path / "ref.txt"): 1},
        "estimated": {},
    }
    assert f"skipped 1 reference event without a label ({tmp_path / 'ref.txt'}: 1)" in warnings
    assert evaluation.report().startswith("Skipped 1 reference event without a label")
    assert evaluation.summary()["event_f1"] == 1.0


def test_sed_eval_options_reach_sed_eval():
    evaluation = ours(event_matching="greedy", empty_system_output="zero_score")
    assert evaluation.event_based.event_matching_type == "greedy"
    assert evaluation.event_based.empty_system_output_handling == "zero_score"
    assert evaluation.segment_based.empty_system_output_handling == "zero_score"
    offset_only = ours(evaluate_onset=False)
    assert "Event based metrics (offset only)" in offset_only.report()
    with pytest.raises(ParameterError, match="not neither"):
        ours(evaluate_onset=False, evaluate_offset=False)
    with pytest.raises(ParameterError, match="unknown event matching 'best'"):
        ours(event_matching="best")
    with pytest.raises(ParameterError, match="t_collar must be > 0"):
        ours(t_collar_seconds=0.0)


def test_report_is_sed_evals_own_where_every_figure_is_defined():
    evaluation = Evaluation(["cat", "dog"])
    for name in REFERENCE:
        reference, estimated = table(name, REFERENCE[name]), table(name, ESTIMATED[name])
        evaluation.add(
            name,
            reference[reference["event_label"].isin(["cat", "dog"])],
            estimated[estimated["event_label"].isin(["cat", "dog"])],
            LENGTHS[name],
        )
    assert "null" not in json.dumps(evaluation.results())
    assert evaluation.report() == (
        str(evaluation.segment_based) + "\n" + str(evaluation.event_based)
    )


def test_undefined_figures_are_null_and_n_a():
    evaluation = Evaluation(["dog"])
    evaluation.add("r", table("r", []), table("r", [(1.0, 2.0, "dog")]), 5.0)
    results = evaluation.results()
    assert results["event_based"]["overall"]["error_rate"]["error_rate"] is None
    assert results["segment_based"]["class_wise"]["dog"]["f_measure"]["recall"] is None
    assert results["segment_based"]["class_wise"]["dog"]["accuracy"]["specificity"] == 0.8
    json.dumps(results, allow_nan=False)
    report = evaluation.report()
    assert "Error rate (ER)                 : n/a" in report
    assert "9007199254740992" not in report and "nan" not in report


def test_each_file_has_its_own_figures_which_add_up_to_the_overall_ones():
    evaluation = ours()
    for kind in METRIC_KINDS:
        totals = getattr(evaluation, kind).overall
        for count in ("Ntp", "Nfp", "Nfn", "Nref", "Nsys"):
            assert sum(f[kind][count] for f in evaluation.files) == totals[count]
    # One recording alone: its own figures are sed_eval's overall figures.
    for name in REFERENCE:
        alone = Evaluation(["bird", "cat", "cow", "dog"])
        alone.add(name, table(name, REFERENCE[name]), table(name, ESTIMATED[name]), LENGTHS[name])
        for kind in METRIC_KINDS:
            mine, theirs = alone.files[0][kind], alone.metric_results(kind)["overall"]
            assert mine["f_measure"] == pytest.approx(theirs["f_measure"]["f_measure"])
            assert mine["precision"] == pytest.approx(theirs["f_measure"]["precision"])
            assert mine["error_rate"] == pytest.approx(theirs["error_rate"]["error_rate"])
        assert alone.results()["files"][0]["event_based"]["Nref"] == len(REFERENCE[name])


def test_brief_is_one_line_of_the_overall_figures():
    evaluation = ours()
    summary = evaluation.summary()
    line = evaluation.brief()
    assert "\n" not in line and line.endswith("(2 recordings, 4 labels)")
    assert f"segment F1 {100 * summary['segment_f1']:.1f} %" in line
    assert f"ER {summary['event_error_rate']:.2f}" in line


def test_label_map_renames_estimates_and_merges_their_overlaps(tmp_path):
    (tmp_path / "map.csv").write_text(
        "event_label,yamnet_display_names\nbell,Bicycle bell;Bell\nring,Bell\n"
    )
    write_folder(tmp_path / "ref", {"a": [(1.0, 3.0, "bell"), (2.0, 3.0, "ring")]}, "tsv", ".tsv")
    estimated = {"a": [(1.0, 2.5, "Bicycle bell"), (2.0, 3.0, "Bell"), (5.0, 6.0, "Dog")]}
    write_folder(tmp_path / "est", estimated, "csv", ".csv")
    evaluation = evaluate_files(
        tmp_path / "ref",
        tmp_path / "est",
        durations=None,
        labels="reference",
        label_map=tmp_path / "map.csv",
    )
    # Bicycle bell and Bell overlap: one bell event 1.0-3.0; Bell also counts as ring; Dog is
    # not in the map, keeps its label and is left out with --labels reference.
    event = evaluation.files[0]["event_based"]
    assert (event["Nsys"], event["Ntp"]) == (2, 2)
    assert evaluation.notes["labels_left_out"]["estimated"] == {"Dog": 1}


def test_a_glob_picks_one_layout_of_a_mixed_reference_folder(tmp_path):
    write_folder(tmp_path / "ref", REFERENCE, "tsv", ".tsv")
    write_events(table("a", [(0.0, 1.0, "other")]), tmp_path / "ref" / "a.json", "json")
    write_folder(tmp_path / "est", ESTIMATED, "tsv", ".tsv")
    with pytest.raises(AnnotationError, match="two files for recording 'a'"):
        evaluate_files(tmp_path / "ref", tmp_path / "est")
    picked = evaluate_files(tmp_path / "ref", tmp_path / "est", reference_pattern="*.tsv")
    assert picked.summary() == pytest.approx(
        evaluate_files(tmp_path / "ref", tmp_path / "est", reference_pattern="?.tsv").summary()
    )
    with pytest.raises(AnnotationError, match="no event files matching '\\*.txt'"):
        evaluate_files(tmp_path / "ref", tmp_path / "est", reference_pattern="*.txt")
