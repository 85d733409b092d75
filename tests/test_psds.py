"""Score tables and threshold-free evaluation: the layout sed_scores_eval reads, and PSDS figures
equal to sed_scores_eval's and psds_eval's own on the same files."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sed.audio import Recording
from sed.batch import BatchOutputs
from sed.cli import cli
from sed.errors import AnnotationError, OutputError
from sed.events import read_score_table, score_table, score_table_times, write_score_table
from sed.psds import PSDS1, PSDS2, merged_events
from sed.scores import ScoreGrid

LABELS = ("dog", "cat", "bird")
#: psds_eval's last release: it calls DataFrame.fillna(method=...) (gone in pandas 3) and int()
#: of a 2-d array (refused by numpy 2).
PSDS_EVAL_VERSION = "0.5.3"


def windows(name: str, scores: np.ndarray, duration: float, hop: float = 0.5, length=0.96):
    starts = np.arange(len(scores)) * hop
    return ScoreGrid(name, starts, starts + length, scores, LABELS[: scores.shape[1]], duration)


def test_frames_are_the_hop_long_stretches_around_window_centres():
    # YAMNet's layout: 60 s at a 0.5 s hop is 120 windows of 0.96 s, the last ones padded.
    ws = windows("a.wav", np.zeros((120, 1), np.float32), 60.0)
    onsets, offsets = score_table_times(ws)
    assert len(onsets) == 120 and onsets[0] == 0.0 and offsets[-1] == 60.0
    np.testing.assert_allclose(onsets[1:5], [0.73, 1.23, 1.73, 2.23])
    np.testing.assert_array_equal(onsets[1:], offsets[:-1])  # contiguous, non-overlapping
    # Frames of a frame-level model (length = hop) stand for themselves.
    frames = windows("b.wav", np.zeros((10, 1), np.float32), 0.4, hop=0.04, length=0.04)
    onsets, offsets = score_table_times(frames)
    np.testing.assert_allclose(onsets, np.arange(10) * 0.04, atol=1e-9)
    np.testing.assert_allclose(offsets, (np.arange(10) + 1) * 0.04, atol=1e-9)
    # A window that starts after the end of a short recording stands for nothing in it.
    short = windows("c.wav", np.zeros((3, 1), np.float32), 0.7)
    assert score_table_times(short)[1].tolist() == [0.7]


def test_sed_scores_eval_reads_our_score_tables(tmp_path):
    from sed_scores_eval.base_modules.io import read_sed_scores

    rng = np.random.default_rng(1)
    ws = windows("a.wav", rng.random((41, 3)).astype(np.float32), 20.7)
    write_score_table(ws, tmp_path / "a.scores.tsv")
    theirs = read_sed_scores(tmp_path / "a.scores.tsv")  # validates the layout
    ours = read_score_table(tmp_path / "a.scores.tsv")
    pd.testing.assert_frame_equal(theirs, ours)
    np.testing.assert_allclose(ours[list(LABELS)].to_numpy(), ws.scores, rtol=1e-6)
    assert list(ours.columns) == list(score_table(ws).columns)


def test_a_broken_score_table_is_refused_with_its_line(tmp_path):
    path = tmp_path / "a.scores.tsv"
    path.write_text("onset\toffset\tdog\n0\t1\t0.5\n1.5\t2\t0.1\n")
    with pytest.raises(AnnotationError, match="line 3: frames must be sorted"):
        read_score_table(path)
    path.write_text("start\tend\tdog\n0\t1\t0.5\n")
    with pytest.raises(AnnotationError, match="columns onset, offset"):
        read_score_table(path)


def test_overlapping_reference_events_of_a_class_merge():
    events = pd.DataFrame(
        {"onset": [1.0, 2.0, 5.0, 1.5], "offset": [3.0, 4.0, 6.0, 2.0], "event_label": list("aaab")}
    )
    assert merged_events(events) == ([(1.0, 4.0, "a"), (1.5, 2.0, "b"), (5.0, 6.0, "a")], 1)


def make_set(folder, rng, n=4):
    """Score tables in a batch's names, a DCASE reference table and a durations table.

    Scores are on a 0.05 grid, so a finite set of thresholds (psds_eval's way) is exact."""
    os.makedirs(folder / "scores")
    ref_rows, durations = [], []
    for i in range(n):
        duration = 30.0 + 5 * i
        frames = int(duration / 0.5)
        scores = np.round(rng.random((frames, 3)) * 0.4 * 20) / 20
        for slot in range(3):  # one event per 10 s: no overlap within a class
            label = int(rng.integers(3))
            onset = 10.0 * slot + float(rng.integers(0, 10)) * 0.5
            offset = onset + float(rng.integers(2, 8)) * 0.5
            ref_rows.append((f"r{i}.wav", onset, offset, LABELS[label]))
            # The detector mostly hears it: higher scores over the event.
            first, last = int(onset / 0.5), int(offset / 0.5)
            scores[first:last, label] = np.round(rng.uniform(0.3, 1.0) * 20) / 20
        write_score_table(
            windows(f"r{i}.wav", scores.astype(np.float32), duration),
            folder / "scores" / f"r{i}.sed.scores.tsv",
        )
        durations.append((f"r{i}.wav", duration))
    pd.DataFrame(ref_rows, columns=["filename", "onset", "offset", "event_label"]).to_csv(
        folder / "ref.tsv", sep="\t", index=False
    )
    pd.DataFrame(durations, columns=["filename", "duration"]).to_csv(
        folder / "durations.tsv", sep="\t", index=False
    )


def sed_scores_eval_direct(folder):
    """sed_scores_eval on the same files, through its own readers."""
    from sed_scores_eval import intersection_based
    from sed_scores_eval.base_modules.io import (
        read_audio_durations,
        read_ground_truth_events,
        read_sed_scores,
    )

    scores = {
        name.split(".")[0]: read_sed_scores(folder / "scores" / name)
        for name in sorted(os.listdir(folder / "scores"))
    }
    ground_truth = read_ground_truth_events(folder / "ref.tsv")
    durations = read_audio_durations(folder / "durations.tsv")
    figures = {}
    for settings in (PSDS1, PSDS2):
        value, per_class, _, _ = intersection_based.psds(
            scores=scores,
            ground_truth=ground_truth,
            audio_durations=durations,
            dtc_threshold=settings.dtc_threshold,
            gtc_threshold=settings.gtc_threshold,
            cttc_threshold=settings.cttc_threshold,
            alpha_ct=settings.alpha_ct,
            alpha_st=settings.alpha_st,
            max_efpr=settings.max_efpr,
        )
        figures[settings.name] = (value, per_class)
    f1, _, _, thresholds, _ = intersection_based.best_fscore(
        scores=scores, ground_truth=ground_truth, dtc_threshold=0.5, gtc_threshold=0.5
    )
    return scores, ground_truth, durations, figures, f1, thresholds


def test_sed_evaluate_scores_equals_sed_scores_eval_on_the_same_files(tmp_path):
    make_set(tmp_path, np.random.default_rng(7))
    result = CliRunner().invoke(
        cli,
        [
            "evaluate",
            "--scores",
            str(tmp_path / "scores"),
            "--reference",
            str(tmp_path / "ref.tsv"),
            "--durations",
            str(tmp_path / "durations.tsv"),
            "--json",
            str(tmp_path / "psds.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "PSDS1: DTC 0.7, GTC 0.7, CTTC -, alpha_CT 0, alpha_ST 1" in result.output
    assert "PSDS2: DTC 0.1, GTC 0.1, CTTC 0.3, alpha_CT 0.5, alpha_ST 1" in result.output
    ours = json.loads((tmp_path / "psds.json").read_text())
    *_, figures, f1, thresholds = sed_scores_eval_direct(tmp_path)
    for name, (value, per_class) in figures.items():
        assert 0 < value < 1
        assert ours["psds"][name] == pytest.approx(value, abs=1e-12)
        assert f"{name}                             : {value:.4f}" in result.output
        for label in LABELS:
            assert ours["class_auc"][name][label] == pytest.approx(per_class[label], abs=1e-12)
    for label in LABELS:
        assert ours["best_f1"][label]["f1"] == pytest.approx(f1[label], abs=1e-12)
        assert ours["best_f1"][label]["threshold"] == pytest.approx(thresholds[label])
    assert ours["macro_f1"] == pytest.approx(f1["macro_average"], abs=1e-12)


def test_psds_equals_psds_eval_over_every_threshold(tmp_path):
    """psds_eval (the DCASE reference before sed_scores_eval) from operating points at every
    score the tables hold: with scores on a 0.05 grid it sees every threshold, and agrees."""
    psds_eval = pytest.importorskip("psds_eval")
    if int(pd.__version__.split(".")[0]) >= 3 or int(np.__version__.split(".")[0]) >= 2:
        pytest.skip(
            f"psds_eval {PSDS_EVAL_VERSION} runs with pandas < 3 and numpy < 2 only; run "
            f"uv run --with 'pandas<3' --with 'numpy<2' pytest {__file__}"
        )
    from sed_scores_eval.base_modules.detection import scores_to_event_list

    from sed.annotations import evaluate_score_files

    make_set(tmp_path, np.random.default_rng(3))
    ours = evaluate_score_files(
        tmp_path / "scores", tmp_path / "ref.tsv", durations=tmp_path / "durations.tsv"
    )
    scores, ground_truth, durations, *_ = sed_scores_eval_direct(tmp_path)
    reference = pd.read_csv(tmp_path / "ref.tsv", sep="\t")
    metadata = pd.read_csv(tmp_path / "durations.tsv", sep="\t")
    thresholds = np.arange(0.025, 1.0, 0.05)  # between the grid's scores
    for settings in (PSDS1, PSDS2):
        evaluator = psds_eval.PSDSEval(
            dtc_threshold=settings.dtc_threshold,
            gtc_threshold=settings.gtc_threshold,
            cttc_threshold=settings.cttc_threshold or 0.3,
            ground_truth=reference,
            metadata=metadata,
        )
        for threshold in thresholds:
            events = scores_to_event_list(scores, thresholds=threshold)
            rows = [
                (f"{name}.wav", onset, offset, label)
                for name, found in events.items()
                for onset, offset, label in found
            ]
            evaluator.add_operating_point(
                pd.DataFrame(rows, columns=["filename", "onset", "offset", "event_label"])
            )
        theirs = evaluator.psds(
            alpha_ct=settings.alpha_ct, alpha_st=settings.alpha_st, max_efpr=settings.max_efpr
        ).value
        assert ours.psds[settings.name] == pytest.approx(theirs, abs=1e-6), settings.name


def test_evaluate_scores_refuses_what_it_cannot_evaluate(tmp_path):
    make_set(tmp_path, np.random.default_rng(5), n=2)
    run = CliRunner().invoke
    args = ["evaluate", "--scores", str(tmp_path / "scores")]
    result = run(cli, [*args, "--estimated", str(tmp_path / "ref.tsv")])
    assert result.exit_code == 2 and "--scores replaces --estimated" in result.output
    result = run(cli, args)
    assert result.exit_code == 2 and "--scores needs --reference" in result.output
    (tmp_path / "one.tsv").write_text("filename\tonset\toffset\tevent_label\nr0.wav\t1\t2\tdog\n")
    result = run(cli, [*args, "--reference", str(tmp_path / "one.tsv")])
    assert result.exit_code == 1
    assert "recording 'r1' has a score table but is not in the reference" in result.output
    (tmp_path / "three.tsv").write_text(
        "filename\tonset\toffset\tevent_label\nr0.wav\t1\t2\tdog\nr1.wav\t1\t2\tcow\nr2.wav\n"
    )
    result = run(cli, [*args, "--reference", str(tmp_path / "three.tsv")])
    assert result.exit_code == 1 and "1 reference recording without a score table: r2" in (
        result.output
    )


def test_a_reference_class_without_scores_is_left_out_and_said(tmp_path):
    from sed.annotations import evaluate_score_files

    make_set(tmp_path, np.random.default_rng(5), n=2)
    with open(tmp_path / "ref.tsv", "a") as handle:
        handle.write("r1.wav\t3.0\t4.0\tcow\n")
    warnings = []
    result = evaluate_score_files(tmp_path / "scores", tmp_path / "ref.tsv", warn=warnings.append)
    assert result.notes["labels_left_out"]["reference"] == {"cow": 1}
    assert "cow (1)" in warnings[0] and "cow (1)" in result.report()
    # Without --audio or --durations, a table's last offset is its recording's length.
    assert result.duration_seconds == 30.0 + 35.0


def test_batch_scores_are_the_batch_files_and_never_replace_a_foreign_one(tmp_path):
    recording = Recording(str(tmp_path / "in" / "a.wav"), "site/a.wav")
    ws = windows("a.wav", np.full((4, 2), 0.5, np.float32), 2.0)
    outputs = BatchOutputs(str(tmp_path / "out"), ["csv"], scores=True)
    path = tmp_path / "out" / "site" / "a.sed.scores.tsv"
    assert outputs.scores_path(recording) == str(path)
    path.parent.mkdir(parents=True)
    path.write_text("mine\n")
    with pytest.raises(OutputError, match="not written by a sed batch"):
        outputs.check_owned([recording])
    path.unlink()
    result = {"events": [], "duration_seconds": 2.0, "fingerprint": "x"}
    outputs.write(recording, result, ws)
    assert read_score_table(path).shape == (4, 4) and outputs.read_result(recording)["scores"]
    outputs.check_owned([recording])  # its own file now
    # A run without scores that redoes the recording removes the table it no longer vouches for.
    BatchOutputs(str(tmp_path / "out"), ["csv"]).write(recording, result, ws)
    assert not path.exists() and not outputs.read_result(recording)["scores"]
    assert outputs.lacks_scores(outputs.read_result(recording))


def test_a_batch_takes_no_scores_file(tmp_path):
    (tmp_path / "in").mkdir()
    result = CliRunner().invoke(
        cli, ["detect", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--scores", "s.tsv"]
    )
    assert result.exit_code == 2 and "--scores takes no file in a batch" in result.output
    assert not (tmp_path / "out").exists()
