"""Batch annotation: discovery, mirrored outputs, failures, resume, and a run killed mid-way."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from sed.audio import find_audio_files
from sed.batch import check_unique_stems, run_batch
from sed.errors import ParameterError
from sed.pipeline import DetectorSpec
from sed.postprocessing import PostProcessing

CSV = ["csv"]
SPEC = DetectorSpec(classes="Bicycle bell,Speech")


def make_archive(root: Path, bells_wav: Path) -> None:
    """Two sites with real audio cut from the bicycle recording, plus two bad files."""
    audio, rate = sf.read(bells_wav, dtype="float32")
    (root / "siteA" / "deep").mkdir(parents=True)
    (root / "siteB").mkdir()
    sf.write(root / "siteA" / "a1.wav", audio[: 12 * rate], rate)
    sf.write(root / "siteA" / "deep" / "a2.flac", audio[20 * rate : 35 * rate], rate)
    sf.write(root / "siteB" / "b1.ogg", np.stack([audio[: 8 * rate]] * 2, axis=1), rate)
    (root / "siteB" / "broken.wav").write_text("not audio")
    (root / "siteB" / "empty.flac").write_bytes(b"")
    (root / "siteB" / "notes.txt").write_text("field notes, not audio")


def test_same_stem_twice_is_refused(tmp_path):
    for name in ("x.wav", "x.flac"):
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(ParameterError, match="would write the same output files"):
        check_unique_stems(find_audio_files([str(tmp_path)]).files)


def test_batch_outputs_failures_and_resume(tmp_path, bells_wav, capsys):
    make_archive(tmp_path / "in", bells_wav)
    recordings = find_audio_files([str(tmp_path / "in")]).files
    out = tmp_path / "out"
    first = run_batch(recordings, str(out), spec=SPEC, formats=CSV, quiet=True)
    assert (first.count("done"), first.count("failed"), first.count("skipped")) == (3, 2, 0)
    for relative in ("siteA/a1.csv", "siteA/deep/a2.csv", "siteB/b1.csv"):
        table = pd.read_csv(out / relative)
        assert list(table.columns) == [
            "filename",
            "onset",
            "offset",
            "event_label",
            "score",
            "mean_score",
        ]
    combined = pd.read_csv(out / "all_events.csv")
    for recording in recordings[:3]:  # the combined table holds each recording's events
        own = pd.read_csv(out / (os.path.splitext(recording.relative)[0] + ".csv"))
        pd.testing.assert_frame_equal(
            combined[combined["filename"] == recording.path].reset_index(drop=True), own
        )
    assert len(combined) == sum(o.n_events for o in first.outcomes) > 0
    failures = pd.read_csv(out / "failures.csv")
    assert failures["path"].tolist() == [recordings[3].path, recordings[4].path]
    assert failures["error"].tolist() == [
        "not a readable audio file (Format not recognised.)",
        "file is empty (0 bytes)",
    ]
    parameters = json.loads((out / "parameters.json").read_text())
    assert parameters["settings"]["classes"] == "Bicycle bell,Speech"
    assert parameters["settings"]["weights"] and parameters["sed_version"]
    assert capsys.readouterr().out == ""  # nothing on stdout during a batch

    mtimes = {p: p.stat().st_mtime_ns for p in out.glob("site*/**/*.csv")}
    second = run_batch(recordings, str(out), spec=SPEC, formats=["csv", "raven"], quiet=True)
    assert (second.count("skipped"), second.count("done"), second.count("failed")) == (3, 0, 2)
    assert {p: p.stat().st_mtime_ns for p in out.glob("site*/**/*.csv")} == mtimes
    # The format added on the second run is rendered from the stored results.
    raven = pd.read_csv(out / "siteA" / "a1.selections.txt", sep="\t")
    assert len(raven) == len(pd.read_csv(out / "siteA" / "a1.csv"))
    pd.testing.assert_frame_equal(pd.read_csv(out / "all_events.csv"), combined)

    # A fixed file is processed on the next run; changed settings redo everything.
    (tmp_path / "in" / "siteB" / "broken.wav").unlink()
    third = run_batch(
        find_audio_files([str(tmp_path / "in")]).files, str(out), spec=SPEC, formats=CSV, quiet=True
    )
    assert (third.count("skipped"), third.count("failed")) == (3, 1)
    stricter = DetectorSpec(
        classes="Bicycle bell,Speech", postprocessing=PostProcessing(threshold_on=0.9)
    )
    fourth = run_batch(recordings[:3], str(out), spec=stricter, formats=CSV, quiet=True)
    assert fourth.count("done") == 3
    assert not (out / "failures.csv").exists()  # no failures in this run: no stale list
    # The Raven tables made with the old threshold would contradict the new results: gone.
    assert not list(out.glob("site*/**/*.selections.txt"))
    assert len(pd.read_csv(out / "siteA" / "a1.csv")) <= len(raven)


@pytest.mark.slow
def test_parallel_jobs_give_the_same_results(tmp_path, bells_wav):
    make_archive(tmp_path / "in", bells_wav)
    recordings = find_audio_files([str(tmp_path / "in")]).files
    run_batch(recordings, str(tmp_path / "one"), spec=SPEC, formats=CSV, quiet=True)
    summary = run_batch(
        recordings, str(tmp_path / "two"), spec=SPEC, formats=CSV, jobs=2, quiet=True
    )
    assert (summary.count("done"), summary.count("failed")) == (3, 2)
    for path in (tmp_path / "one").rglob("*.csv"):
        twin = tmp_path / "two" / path.relative_to(tmp_path / "one")
        assert path.read_text() == twin.read_text()


@pytest.mark.slow
def test_killed_run_leaves_no_partial_output_and_resumes(tmp_path, bells_wav):
    audio, rate = sf.read(bells_wav, dtype="float32")
    archive = tmp_path / "in"
    archive.mkdir()
    for i in range(16):
        sf.write(archive / f"rec{i:02d}.flac", np.roll(audio, i * rate), rate)
    out = tmp_path / "out"
    command = [
        str(Path(sys.executable).parent / "sed"),
        "detect",
        str(archive),
        "-o",
        str(out),
        "--classes",
        "Bicycle bell",
        "--quiet",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    results = out / ".sed" / "results"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(list(results.glob("*.json"))) < 2:
        assert process.poll() is None, process.stderr.read()
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_before = {p.name for p in results.glob("*.json")}
    assert 2 <= len(done_before) < 16
    before = {table.name: table.read_text() for table in out.glob("rec*.csv")}
    for name, text in before.items():  # every visible output is a complete events file
        assert text.startswith("filename,onset,offset,event_label,score,mean_score\n")
        assert len(pd.read_csv(out / name)) > 0
    resumed = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(done_before)} already done" in resumed.stdout
    assert len(list(out.glob("rec*.csv"))) == 16
    assert not [p for p in out.rglob("*.tmp")]
    combined = pd.read_csv(out / "all_events.csv")
    assert combined["filename"].nunique() == 16
    for name, text in before.items():  # what was there before the kill equals the final output
        stem = name[: -len(".csv")]
        assert (out / name).read_text() == text
        assert (
            len(pd.read_csv(out / name))
            == (combined["filename"].str.endswith(f"/{stem}.flac")).sum()
        )


def test_evaluate_reads_a_batch_output_folder(tmp_path, bells_wav):
    from sed.pipeline import annotation_files, evaluate_files

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "bells.wav").write_bytes(bells_wav.read_bytes())
    (tmp_path / "ref").mkdir()
    (tmp_path / "ref" / "bells.tsv").write_text(
        "7.0\t22.0\tBicycle bell\n26.0\t37.0\tBicycle bell\n"
    )
    out = tmp_path / "out"
    run_batch(
        find_audio_files([str(tmp_path / "in")]).files,
        str(out),
        spec=SPEC,
        formats=["csv", "json", "raven"],
        quiet=True,
    )
    assert annotation_files(out) == {"bells": str(out / "bells.json")}  # run files skipped
    results = evaluate_files(tmp_path / "ref", out).results()
    assert results["files"][0]["evaluated_length_seconds"] == pytest.approx(60.0)  # from the json
    # The folder gives the same figures as the recording's own file with its true length.
    direct = evaluate_files(
        tmp_path / "ref" / "bells.tsv", out / "bells.csv", audio=tmp_path / "in"
    ).results()
    assert results["segment_based"] == direct["segment_based"]
    assert results["event_based"] == direct["event_based"]
    assert results["segment_based"]["overall"]["f_measure"]["f_measure"] > 0.5
    # The DESED-style combined table and the durations beside it give the same figures.
    assert (out / "all_events.tsv").read_text().splitlines()[0] == (
        "filename\tonset\toffset\tevent_label"
    )
    assert (out / "durations.tsv").read_text() == "filename\tduration\nbells.wav\t60.000\n"
    combined = evaluate_files(
        tmp_path / "ref", out / "all_events.tsv", durations=out / "durations.tsv"
    ).results()
    assert combined["segment_based"] == direct["segment_based"]
    assert combined["event_based"] == direct["event_based"]


def test_combined_tables_name_recordings_relative_to_the_input_or_by_basename(tmp_path):
    from sed.batch import RUN_FILES, BatchOutputs, combined_names

    for relative in ("siteA/x.wav", "siteB/x.wav", "siteB/y.flac"):
        (tmp_path / "in" / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "in" / relative).write_bytes(b"")
    recordings = find_audio_files([str(tmp_path / "in")]).files
    names = combined_names(recordings)
    assert sorted(names.values()) == ["siteA/x.wav", "siteB/x.wav", "siteB/y.flac"]
    with pytest.raises(ParameterError, match="would have one name"):
        combined_names(recordings, basenames=True)
    assert sorted(combined_names(recordings[1:], basenames=True).values()) == ["x.wav", "y.flac"]
    (tmp_path / "in" / "durations.wav").write_bytes(b"")
    clash = [r for r in find_audio_files([str(tmp_path / "in")]).files if "durations" in r.path]
    with pytest.raises(ParameterError, match="would overwrite the batch's own file"):
        BatchOutputs(str(tmp_path / "out"), ["tsv"]).check_no_clash(clash)
    assert {"all_events.tsv", "durations.tsv"} <= set(RUN_FILES)
