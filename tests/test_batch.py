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
from click.testing import CliRunner

from sed.audio import find_audio_files
from sed.batch import check_unique_stems, run_batch
from sed.cli import cli
from sed.errors import OutputError, ParameterError
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


def done_results(results: Path) -> set[str]:
    """The recordings a batch has finished: results with a fingerprint (a record written before
    the files, which only marks them as the batch's, has none)."""
    return {p.name for p in results.glob("*.json") if "fingerprint" in json.loads(p.read_text())}


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
    for relative in ("siteA/a1.sed.csv", "siteA/deep/a2.sed.csv", "siteB/b1.sed.csv"):
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
        own = pd.read_csv(out / (os.path.splitext(recording.relative)[0] + ".sed.csv"))
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
    raven = pd.read_csv(out / "siteA" / "a1.sed.selections.txt", sep="\t")
    assert len(raven) == len(pd.read_csv(out / "siteA" / "a1.sed.csv"))
    pd.testing.assert_frame_equal(pd.read_csv(out / "all_events.csv"), combined)

    # A fixed file is processed on the next run; changed settings redo everything, with
    # --overwrite only (without it the folder is refused, its results kept).
    (tmp_path / "in" / "siteB" / "broken.wav").unlink()
    third = run_batch(
        find_audio_files([str(tmp_path / "in")]).files, str(out), spec=SPEC, formats=CSV, quiet=True
    )
    assert (third.count("skipped"), third.count("failed")) == (3, 1)
    stricter = DetectorSpec(
        classes="Bicycle bell,Speech", postprocessing=PostProcessing(threshold_on=0.9)
    )
    kept = (out / "all_events.csv").read_bytes()
    with pytest.raises(
        OutputError, match=r"other settings \(parameters.json: threshold_on 0.5, now 0.9"
    ):
        run_batch(recordings[:3], str(out), spec=stricter, formats=CSV, quiet=True)
    assert (out / "all_events.csv").read_bytes() == kept
    fourth = run_batch(
        recordings[:3], str(out), spec=stricter, formats=CSV, quiet=True, overwrite=True
    )
    assert fourth.count("done") == 3
    assert not (out / "failures.csv").exists()  # no failures in this run: no stale list
    # The Raven tables made with the old threshold would contradict the new results: gone.
    assert not list(out.glob("site*/**/*.selections.txt"))
    assert len(pd.read_csv(out / "siteA" / "a1.sed.csv")) <= len(raven)


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
    command = detect_command(archive, out)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    results = out / ".sed" / "results"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(done_results(results)) < 2:
        assert process.poll() is None, process.stderr.read()
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_before = done_results(results)
    assert 2 <= len(done_before) < 16
    before = {table.name: table.read_text() for table in out.glob("rec*.sed.csv")}
    for name, text in before.items():
        complete = text.startswith("filename,onset,offset,event_label,score,mean_score\n")
        assert complete and len(pd.read_csv(out / name)) > 0, (
            f"{name}: not every visible output is a complete events file"
        )
    resumed = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(done_before)} already done" in resumed.stdout
    assert len(list(out.glob("rec*.sed.csv"))) == 16
    assert not [p for p in out.rglob("*.tmp")]
    combined = pd.read_csv(out / "all_events.csv")
    assert combined["filename"].nunique() == 16
    for name, text in before.items():  # what was there before the kill equals the final output
        stem = name[: -len(".sed.csv")]
        assert (out / name).read_text() == text
        assert (
            len(pd.read_csv(out / name))
            == (combined["filename"].str.endswith(f"/{stem}.flac")).sum()
        )


def test_evaluate_reads_a_batch_output_folder(tmp_path, bells_wav):
    from sed.annotations import annotation_files, evaluate_files

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
    assert annotation_files(out) == {"bells": str(out / "bells.sed.json")}  # run files skipped
    results = evaluate_files(tmp_path / "ref", out).results()
    assert results["files"][0]["evaluated_length_seconds"] == pytest.approx(60.0)  # from the json
    # The folder gives the same figures as the recording's own file with its true length.
    direct = evaluate_files(
        tmp_path / "ref" / "bells.tsv", out / "bells.sed.csv", audio=tmp_path / "in"
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
    from sed.batch import BatchOutputs, combined_names
    from sed.batch_folder import RUN_FILES

    for relative in ("siteA/x.wav", "siteB/x.wav", "siteB/y.flac"):
        (tmp_path / "in" / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "in" / relative).write_bytes(b"")
    recordings = find_audio_files([str(tmp_path / "in")]).files
    names = combined_names(recordings)
    assert sorted(names.values()) == ["siteA/x.wav", "siteB/x.wav", "siteB/y.flac"]
    with pytest.raises(ParameterError, match="would have one name"):
        combined_names(recordings, basenames=True)
    assert sorted(combined_names(recordings[1:], basenames=True).values()) == ["x.wav", "y.flac"]
    # A recording named like a run file cannot hit it: its outputs carry the batch's own infix.
    assert (
        BatchOutputs(str(tmp_path / "out"), ["tsv"])
        .format_path(recordings[0], "tsv")
        .endswith("x.sed.tsv")
    )
    assert {"all_events.tsv", "durations.tsv"} <= set(RUN_FILES)


# ---- nothing a user owns is lost: own names, never a foreign file, a lock ----------------------


def test_a_batch_into_its_input_folder_leaves_the_annotations_alone(tmp_path):
    import hashlib

    from tests.conftest import EXAMPLES

    folder = tmp_path / "exa"
    folder.mkdir()
    for item in EXAMPLES.iterdir():
        (folder / item.name).write_bytes(item.read_bytes())
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    recordings = find_audio_files([str(folder)]).files
    summary = run_batch(recordings, str(folder), spec=SPEC, formats=["csv", "tsv"], quiet=True)
    assert summary.count("done") == 1
    after = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()
    }
    assert {name: after[name] for name in before} == before  # the annotations are untouched
    assert sorted(set(after) - set(before)) == [
        "all_events.csv",
        "all_events.tsv",
        "bicycle_bells.sed.csv",
        "bicycle_bells.sed.tsv",
        "durations.tsv",
        "parameters.json",
    ]
    again = run_batch(recordings, str(folder), spec=SPEC, formats=["csv", "tsv"], quiet=True)
    assert again.count("skipped") == 1


def test_a_batch_never_replaces_a_file_it_did_not_write(tmp_path, bells_wav):
    from sed.errors import OutputError

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "bells.wav").write_bytes(bells_wav.read_bytes())
    recordings = find_audio_files([str(tmp_path / "in")]).files
    for name in ("bells.sed.csv", "all_events.csv"):
        out = tmp_path / f"out-{name}"
        out.mkdir()
        (out / name).write_text("mine\n")
        with pytest.raises(OutputError, match="was not written by a sed batch"):
            run_batch(recordings, str(out), spec=SPEC, formats=CSV, quiet=True)
        assert [p.name for p in out.iterdir()] == [name]  # nothing written, not even .sed/
        assert (out / name).read_text() == "mine\n"
    # Its own files it replaces: a re-run with other settings rewrites them (--overwrite).
    out = tmp_path / "ours"
    run_batch(recordings, str(out), spec=SPEC, formats=CSV, quiet=True)
    stricter = DetectorSpec(classes="Bicycle bell", postprocessing=PostProcessing(threshold_on=0.9))
    again = run_batch(recordings, str(out), spec=stricter, formats=CSV, quiet=True, overwrite=True)
    assert again.count("done")


def test_files_written_before_a_kill_stay_the_batchs_own(tmp_path, bells_wav, monkeypatch):
    # Killed after its event files and before its result: the next run must not take the files
    # for someone else's (the record written before them says they are the batch's).
    from sed.batch import BatchOutputs

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "bells.wav").write_bytes(bells_wav.read_bytes())
    recordings = find_audio_files([str(tmp_path / "in")]).files
    real_write_result = BatchOutputs.write_result

    def killed_before_the_result(self, recording, result):
        if "fingerprint" in result:
            raise KeyboardInterrupt
        real_write_result(self, recording, result)

    monkeypatch.setattr(BatchOutputs, "write_result", killed_before_the_result)
    with pytest.raises(KeyboardInterrupt, match="0 of 1 recording done; run the same command"):
        run_batch(recordings, str(tmp_path / "out"), spec=SPEC, formats=CSV, quiet=True)
    assert (tmp_path / "out" / "bells.sed.csv").exists()
    monkeypatch.undo()
    summary = run_batch(recordings, str(tmp_path / "out"), spec=SPEC, formats=CSV, quiet=True)
    assert summary.count("done") == 1


def test_a_write_that_fails_is_a_failed_recording(tmp_path, bells_wav, monkeypatch):
    import errno

    make_archive(tmp_path / "in", bells_wav)
    recordings = find_audio_files([str(tmp_path / "in")]).files
    real_replace = os.replace

    def refused_for_a2(source, target):  # as if a2's folder had lost its write permission
        if str(target).endswith("a2.sed.csv"):
            raise PermissionError(errno.EACCES, "Permission denied")
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", refused_for_a2)
    out = tmp_path / "out"
    summary = run_batch(recordings, str(out), spec=SPEC, formats=CSV, quiet=True)
    assert (summary.count("done"), summary.count("failed")) == (2, 3)
    failures = pd.read_csv(out / "failures.csv")
    assert failures["path"].iloc[0].endswith("a2.flac")
    assert (
        failures["error"].iloc[0]
        == f"{out / 'siteA/deep/a2.sed.csv'}: cannot write (Permission denied)"
    )
    assert not list(out.rglob("*.tmp"))


def test_a_second_batch_into_a_locked_folder_is_refused(tmp_path, bells_wav):
    from sed.batch import _folder_lock
    from sed.errors import OutputError

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "bells.wav").write_bytes(bells_wav.read_bytes())
    recordings = find_audio_files([str(tmp_path / "in")]).files
    out = tmp_path / "out"
    refused = pytest.raises(OutputError, match=r"another sed batch is writing into this folder")
    with _folder_lock(str(out)), refused:  # as another batch holds it
        run_batch(recordings, str(out), spec=SPEC, formats=CSV, quiet=True)
    assert run_batch(recordings, str(out), spec=SPEC, formats=CSV, quiet=True).count("done") == 1


# ---- real runs stopped from outside: signals, SIGKILL, a full or read-only disk ---------------

SED = str(Path(sys.executable).parent / "sed")
linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")


def short_archive(root: Path, bells_wav: Path, count: int, seconds: float = 10.0) -> Path:
    """``count`` recordings of ``seconds`` each, cut at different places of the bells recording."""
    audio, rate = sf.read(bells_wav, dtype="float32")
    root.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        sf.write(root / f"rec{i:02d}.flac", np.roll(audio, -i * rate)[: int(seconds * rate)], rate)
    return root


def detect_command(archive: Path, out: Path, *extra: str) -> list[str]:
    return [
        SED,
        "detect",
        str(archive),
        "-o",
        str(out),
        "--classes",
        "Bicycle bell",
        "--quiet",
        *extra,
    ]


def children_of(pid: int) -> set[int]:
    """The live processes whose parent is ``pid`` (worker processes, the resource tracker)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def alive(pids: set[int]) -> set[int]:
    living = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            living.add(pid)
    return living


def wait_for(condition, timeout: float, process=None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            pytest.fail(f"the run ended early: {process.stderr.read() if process.stderr else ''}")
        if time.monotonic() > deadline:
            pytest.fail("timed out")
        time.sleep(0.05)


def start_run(tmp_path, bells_wav, *extra: str, count=12, seconds=10.0, **popen):
    """A real `sed detect` run of ``count`` recordings, started: (process, archive, out)."""
    archive = short_archive(tmp_path / "in", bells_wav, count, seconds)
    out = tmp_path / "out"
    command = detect_command(archive, out, *extra)
    return subprocess.Popen(command, stderr=subprocess.PIPE, text=True, **popen), archive, out


def start_parallel_run(tmp_path, bells_wav, **popen):
    """A real `sed detect --jobs 2` run, once its two workers are up and a recording is done."""
    process, archive, out = start_run(
        tmp_path, bells_wav, "--jobs", "2", count=16, seconds=12.0, **popen
    )
    results = out / ".sed" / "results"
    wait_for(
        lambda: len(done_results(results)) >= 1 and len(children_of(process.pid)) >= 3, 300, process
    )
    return process, archive, out


@linux_only
@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGTERM to the process", "SIGINT to the process group (Ctrl-C)"])
def test_a_signal_stops_a_parallel_batch_and_its_workers(tmp_path, bells_wav, how):
    group = how.endswith("(Ctrl-C)")
    process, archive, out = start_parallel_run(tmp_path, bells_wav, start_new_session=group)
    workers = children_of(process.pid)
    sent = time.monotonic()
    if group:
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(signal.SIGTERM)
    stderr = process.communicate(timeout=30)[1]
    stopped = time.monotonic() - sent
    assert process.returncode == (130 if group else 143)
    assert stopped < 5, f"took {stopped:.1f} s to stop"
    name = "SIGINT" if group else "SIGTERM"
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    assert stderr.startswith(f"sed detect: interrupted by {name}: ")
    assert "of 16 recordings done; run the same command again to resume" in stderr
    wait_for(lambda: not alive(workers), 10)  # workers and the resource tracker are gone
    if group:
        return
    done = len(done_results(out / ".sed" / "results"))
    resumed = subprocess.run(detect_command(archive, out), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{done} already done" in resumed.stdout and len(list(out.glob("*.sed.csv"))) == 16


@linux_only
@pytest.mark.slow
def test_sigterm_stops_a_batch_without_jobs(tmp_path, bells_wav):
    process, _, out = start_run(tmp_path, bells_wav)
    wait_for(lambda: len(done_results(out / ".sed" / "results")) >= 1, 300, process)
    process.send_signal(signal.SIGTERM)
    stderr = process.communicate(timeout=30)[1]
    assert process.returncode == 143, stderr
    assert stderr.startswith("sed detect: interrupted by SIGTERM: ") and stderr.count("\n") == 1
    assert not list(out.rglob("*.tmp"))


@linux_only
@pytest.mark.slow
def test_workers_end_when_the_parent_is_killed(tmp_path, bells_wav):
    process, archive, out = start_parallel_run(tmp_path, bells_wav, stdout=subprocess.PIPE)
    workers = children_of(process.pid)
    process.kill()  # SIGKILL: the parent cannot clean up; the workers must notice by themselves
    process.wait()
    killed = time.monotonic()
    wait_for(lambda: not alive(workers), 10)
    # A pipeline reading the run's standard output gets its end instead of hanging.
    assert process.stdout.read() == "" and time.monotonic() - killed < 10
    # With every process of the run gone, the folder's lock is free and the same command resumes.
    resumed = subprocess.run(detect_command(archive, out), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert len(pd.read_csv(out / "all_events.csv")["filename"].unique()) == 16


@linux_only
@pytest.mark.slow
def test_a_second_batch_is_refused_while_the_first_runs(tmp_path, bells_wav):
    first, archive, out = start_run(tmp_path, bells_wav)
    wait_for(lambda: (out / "parameters.json").exists(), 300, first)
    second = subprocess.run(detect_command(archive, out), capture_output=True, text=True)
    assert second.returncode == 2 and second.stderr.count("\n") == 1, second.stderr
    assert (
        f"sed detect: error: {out}: another sed batch is writing into this folder (pid {first.pid},"
        in second.stderr
    )
    assert first.wait(timeout=300) == 0, first.stderr.read()
    assert len(pd.read_csv(out / "all_events.csv")["filename"].unique()) == 12


@pytest.fixture
def small_disk(tmp_path):
    """A 256 KiB file system of our own (tmpfs); skipped where it cannot be mounted."""
    mount = tmp_path / "disk"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True
    )
    if result.returncode:
        pytest.skip(f"cannot mount a small file system here: {result.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def free_bytes(path: Path) -> int:
    status = os.statvfs(path)
    return status.f_bavail * status.f_frsize


@pytest.mark.slow
def test_a_full_disk_stops_the_batch_and_the_same_command_resumes(
    tmp_path, bells_wav, small_disk, model
):
    # model: the LiteRT conversion is cached, so the run prints nothing but its one error line
    archive = short_archive(tmp_path / "in", bells_wav, 10, seconds=5.0)
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * (free_bytes(small_disk) - 40 * 1024))  # room for a few files
    out = small_disk / "out"
    result = subprocess.run(detect_command(archive, out), capture_output=True, text=True)
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert "cannot write (No space left on device); the batch stopped with " in result.stderr
    assert "of 10 recordings done: make room on the device" in result.stderr
    assert result.stderr.rstrip().endswith("run the same command again to resume")
    assert not list(out.rglob("*.tmp"))  # nothing half-written
    for table in out.glob("*.sed.csv"):  # what is there is complete
        assert table.read_text().startswith("filename,onset,offset,event_label,score")
    filler.unlink()
    resumed = subprocess.run(detect_command(archive, out), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert len(list(out.glob("*.sed.csv"))) == 10 and "already done" in resumed.stdout


def remount_read_only(mount_point, attempts: int = 50) -> None:
    """``mount -o remount,ro``, tried again while the kernel refuses it as busy (exit 32: a file
    was open for writing at that instant; the batch closes each file soon after opening it)."""
    for _ in range(attempts):
        result = subprocess.run(
            ["mount", "-o", "remount,ro", str(mount_point)], capture_output=True, text=True
        )
        if result.returncode != 32:
            break
        time.sleep(0.1)
    assert result.returncode == 0, result.stderr


@linux_only
@pytest.mark.slow
def test_a_file_system_made_read_only_mid_run_stops_the_batch(
    tmp_path, bells_wav, small_disk, model
):
    # `model` converts YAMNet for LiteRT before, so its one-off note is not in the batch's stderr
    # when this test runs alone.
    archive = short_archive(tmp_path / "in", bells_wav, 12)
    out = small_disk / "out"
    process = subprocess.Popen(detect_command(archive, out), stderr=subprocess.PIPE, text=True)
    wait_for(lambda: len(done_results(out / ".sed" / "results")) >= 1, 300, process)
    remount_read_only(small_disk)
    stderr = process.communicate(timeout=120)[1]
    assert process.returncode == 1 and stderr.count("\n") == 1, stderr
    assert "cannot write (Read-only file system); the batch stopped with " in stderr
    subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    resumed = subprocess.run(detect_command(archive, out), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert len(list(out.glob("*.sed.csv"))) == 12 and not list(out.rglob("*.tmp"))


# ---- batch folders inside or around each other, and re-runs with other settings ---------------


def test_a_batch_is_refused_inside_or_around_another_batchs_folder(tmp_path, bells_wav):
    from sed.batch import _folder_lock

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "bells.wav").write_bytes(bells_wav.read_bytes())
    recordings = find_audio_files([str(tmp_path / "in")]).files
    out, inner = tmp_path / "out", tmp_path / "out" / "sub"
    # Another batch writing into out: out/sub is refused.
    with _folder_lock(str(out)), pytest.raises(OutputError) as caught:
        run_batch(recordings, str(inner), spec=SPEC, formats=CSV, quiet=True)
    assert str(caught.value) == (
        f"{inner}: is inside {out}, the folder of another sed batch (a batch is writing there); "
        "their files would mix: choose a folder outside it"
    )
    with _folder_lock(str(inner)), pytest.raises(OutputError) as caught:  # the other way round
        run_batch(recordings, str(out), spec=SPEC, formats=CSV, quiet=True)
    assert str(caught.value) == (
        f"{out}: holds {inner}, the folder of another sed batch (a batch is writing there); "
        "their files would mix: choose a folder that does not hold it"
    )
    assert not list(out.rglob("*.csv"))
    # A finished batch's folder counts as well: its results would mix with the new one's.
    run_batch(recordings, str(tmp_path / "done"), spec=SPEC, formats=CSV, quiet=True)
    with pytest.raises(OutputError, match=r"the folder of another sed batch \(a batch wrote there"):
        run_batch(recordings, str(tmp_path / "done" / "sub"), spec=SPEC, formats=CSV, quiet=True)
    assert not (tmp_path / "done" / "sub" / "bells.sed.csv").exists()


@linux_only
@pytest.mark.slow
def test_a_batch_into_a_folder_inside_a_running_one_is_refused(tmp_path, bells_wav):
    first, archive, out = start_run(tmp_path, bells_wav)
    wait_for(lambda: (out / "parameters.json").exists(), 300, first)
    second = subprocess.run(detect_command(archive, out / "sub"), capture_output=True, text=True)
    assert second.returncode == 2 and second.stderr.count("\n") == 1, second.stderr
    assert second.stderr == (
        f"sed detect: error: {out / 'sub'}: is inside {out}, the folder of another sed batch (a "
        "batch is writing there); their files would mix: choose a folder outside it\n"
    )
    assert first.wait(timeout=300) == 0, first.stderr.read()
    assert not list((out / "sub").glob("*.sed.csv"))


def test_a_rerun_with_another_threshold_is_refused_unless_overwrite(tmp_path, bells_wav):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "bells.wav").write_bytes(bells_wav.read_bytes())
    out = tmp_path / "out"
    command = ["detect", str(tmp_path / "in"), "-o", str(out), "--classes", "Bicycle bell"]
    assert CliRunner().invoke(cli, [*command, "--quiet"]).exit_code == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != "lock"}
    result = CliRunner().invoke(cli, [*command, "--quiet", "--threshold", "0.3"])
    assert result.exit_code == 2
    assert result.output == (
        f"cli detect: error: {out}: holds the results of 1 recording made with other settings "
        "(parameters.json: threshold_on 0.5, now 0.3); they will not be replaced: give "
        "--overwrite to redo them, or choose another output folder\n"
    )
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != "lock"} == before
    again = CliRunner().invoke(cli, [*command, "--quiet", "--threshold", "0.3", "--overwrite"])
    assert again.exit_code == 0 and "1 processed" in again.output


def test_special_files_in_a_batch_folder_are_failures_not_skipped(tmp_path, bells_wav):
    archive = tmp_path / "in"
    archive.mkdir()
    (archive / "bells.wav").write_bytes(bells_wav.read_bytes())
    os.mkfifo(archive / "fifo.wav")
    (archive / "zero.wav").symlink_to("/dev/zero")
    SEEKABLE = (
        ", not a regular file: sed reads a recording from a file it can seek in; save the audio "
        "to a file first"
    )
    (archive / "gone.wav").symlink_to(archive / "missing.wav")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["detect", str(archive), "-o", str(out), "--quiet"])
    assert result.exit_code == 1
    failures = pd.read_csv(out / "failures.csv")
    assert dict(zip(failures["path"], failures["error"])) == {
        str(archive / "fifo.wav"): f"is a pipe (a FIFO, or a shell's <(...)){SEEKABLE}",
        str(archive / "gone.wav"): f"a symbolic link to a missing file ({archive / 'missing.wav'})",
        str(archive / "zero.wav"): f"is a character device{SEEKABLE}",
    }


def test_batch_summary_gives_events_per_label_and_a_resumed_run_its_audio(tmp_path, bells_wav):
    audio, rate = sf.read(bells_wav, dtype="float32")
    (tmp_path / "in").mkdir()
    sf.write(tmp_path / "in" / "a.wav", audio[: 36 * rate], rate)
    sf.write(tmp_path / "in" / "b.wav", audio[: 24 * rate], rate)
    args = ["detect", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--quiet"]
    args += ["--classes", "Bicycle bell"]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    lines = first.output.splitlines()
    assert lines[0].startswith("2 recordings: 2 processed, 0 already done, 0 failed; 0.02 h ")
    events = pd.read_csv(tmp_path / "out" / "all_events.csv")
    seconds = (events["offset"] - events["onset"]).sum()
    assert lines[1:] == [f"  Bicycle bell  {len(events):>4} x  {seconds:8.2f} s"]
    again = CliRunner().invoke(cli, args)
    lines = again.output.splitlines()
    # The results cover 60 s of audio, processed by the first run.
    assert lines[0].startswith("2 recordings: 0 processed, 2 already done, 0 failed; 0.02 h of")
    assert "(0.00 h processed now in " in lines[0]
    assert lines[1:] == first.output.splitlines()[1:]


def test_combined_raven_table_names_each_recording_and_reads_back(tmp_path, bells_wav):
    from sed.annotations import read_annotations

    audio, rate = sf.read(bells_wav, dtype="float32")
    (tmp_path / "in" / "site").mkdir(parents=True)
    sf.write(tmp_path / "in" / "site" / "a.wav", audio[: 36 * rate], rate)
    sf.write(tmp_path / "in" / "b.wav", audio[6 * rate : 24 * rate], rate)
    out = tmp_path / "out"
    args = ["detect", str(tmp_path / "in"), "-o", str(out), "--quiet", "--format", "raven"]
    args += ["--classes", "Bicycle bell", "--combine"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "all_events.selections.txt", sep="\t")
    assert table.columns[-1] == "Begin File"
    assert set(table["Begin File"]) == {"site/a.wav", "b.wav"}
    # The band YAMNet analyses, the same for every event (docs/formats.md says so).
    assert set(table["Low Freq (Hz)"]) == {125.0} and set(table["High Freq (Hz)"]) == {7500.0}
    combined = read_annotations(out / "all_events.selections.txt")
    assert sorted(combined.recordings) == ["a", "b"]
    for stem, recording in combined.recordings.items():
        own = pd.read_csv(next(out.rglob(f"{stem}.sed.selections.txt")), sep="\t")
        assert recording.events["onset"].tolist() == own["Begin Time (s)"].tolist()
    # Without --combine the table goes (it would miss this run's recordings); no raven refused.
    assert CliRunner().invoke(cli, args[:-1]).exit_code == 0
    assert not (out / "all_events.selections.txt").exists()
    refused = CliRunner().invoke(cli, [*args[:5], "csv", *args[6:]])
    assert refused.exit_code == 2 and "give --format raven with it" in refused.output
