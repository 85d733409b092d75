"""`sed index` and `sed search`: the embedding index of an archive, and search by example."""

from __future__ import annotations

import dataclasses
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from sed.audio import Recording, find_audio_files
from sed.cli import cli
from sed.errors import AudioError, ModelError, ParameterError
from sed.frame_index import FRAME_LAYERS, FRAME_MEANS, FRAMES_JSON, layer_file
from sed.index import (
    DATABASE,
    VECTORS,
    open_index,
    start_time_from_name,
)
from sed.indexing import index_recordings
from sed.search import hits_to_events, query_embeddings, search, similarities
from sed.vector_store import GRAPH

SECONDS = 20


@pytest.fixture(scope="module")
def archive(tmp_path_factory, bells_wav):
    """20 s of the bells recording and a copy whose name holds a start time."""
    folder = tmp_path_factory.mktemp("archive")
    samples, rate = sf.read(bells_wav, dtype="float32")
    first = folder / "bells.wav"
    sf.write(first, samples[: SECONDS * rate], rate)
    sf.write(folder / "20240131_120000_copy.wav", samples[: SECONDS * rate], rate)
    return folder


@pytest.fixture(scope="module")
def built(tmp_path_factory, archive, model):
    folder = tmp_path_factory.mktemp("index") / "idx"
    report = index_recordings(find_audio_files([archive]).files, folder, model, frames=False)
    assert len(report.added) == 2 and not report.failed
    return open_index(folder)


def test_index_holds_every_window_and_the_metadata(built, model):
    assert len(built.recordings) == 2
    assert len(built) == sum(r.n_windows for r in built.recordings)
    assert built.recordings[0].n_windows == model.params.num_windows(SECONDS * 16000)
    assert built.vectors.dtype == np.float32 and built.vectors.shape[1] == 1024
    assert built.settings["weights_sha256"] == model.weights_sha256
    assert built.hop_seconds == 0.5
    starts = {os.path.basename(r.filename): r.start_time for r in built.recordings}
    assert starts == {"20240131_120000_copy.wav": "2024-01-31T12:00:00", "bells.wav": None}
    assert all(r.duration_seconds == pytest.approx(SECONDS) for r in built.recordings)


def test_start_time_from_name():
    assert start_time_from_name("/x/AM1_20230615_053000.WAV") == "2023-06-15T05:30:00"
    assert start_time_from_name("20231399_000000.wav") is None
    assert start_time_from_name("take_12.wav") is None


def test_a_window_cut_from_the_archive_finds_itself_first(built, archive, model):
    query = query_embeddings(archive / "bells.wav", model, start_seconds=10.0, end_seconds=10.96)
    assert query.embeddings.shape == (1, 1024)
    plain = search(built, [query.embeddings], k=5, centre="none")
    # The recording and its copy hold the same window: both tie at the top. The clip's
    # embedding equals the streamed one to about 1e-3 (float32 STFT of another length).
    assert plain.scores[:2] == pytest.approx([1.0, 1.0], abs=2e-3)
    # Centred on the archive's mean, what the windows share is gone: the small difference
    # weighs more, and the window still comes first.
    for hits in (plain, search(built, [query.embeddings], k=5)):
        assert sorted(hits.onsets[:2]) == [10.0, 10.0]
        assert set(hits.recordings[:2]) == {0, 1}
        assert hits.scores[1] > 0.97
        assert np.all(np.diff(hits.scores) <= 0)


def test_short_query_is_the_window_centred_on_it(built, archive, model):
    query = query_embeddings(archive / "bells.wav", model, start_seconds=10.28, end_seconds=10.68)
    assert query.embeddings.shape == (1, 1024)
    hits = search(built, query.embeddings, k=1, centre="none")
    assert hits.onsets[0] == 10.0 and hits.scores[0] == pytest.approx(1.0, abs=2e-3)


def test_hits_of_one_recording_merge_into_events(built):
    scores = similarities(built, [np.asarray(built.vectors[20], np.float32)])
    assert scores.shape == (len(built),)
    hits = search(built, [np.asarray(built.vectors[20], np.float32)], k=len(built))
    events = hits_to_events(built, hits, "bell")
    # Every window of both recordings: one event per recording, covering it.
    assert len(events) == 2
    assert set(events["onset"]) == {0.0}
    assert events["offset"].max() <= SECONDS
    assert list(events["event_label"].unique()) == ["bell"]


def test_background_and_negatives_and_max_pooling_run(built, archive, model):
    query = query_embeddings(archive / "bells.wav", model, start_seconds=10.0, end_seconds=12.0)
    negative = query_embeddings(archive / "bells.wav", model, start_seconds=0.0, end_seconds=1.0)
    for options in (
        {"pooling": "max"},
        {"centre": "recording"},
        {"centre": "none"},
        {"negatives": [negative.embeddings]},
    ):
        hits = search(built, [query.embeddings], k=3, **options)
        assert len(hits) == 3 and np.all(np.isfinite(hits.scores))
    with pytest.raises(ParameterError, match="pooling"):
        search(built, [query.embeddings], pooling="median")


def test_incremental_run_adds_new_recordings_and_skips_indexed_ones(tmp_path, archive, model):
    folder = tmp_path / "idx"
    bells = str(archive / "bells.wav")
    # A file named twice is indexed once, its repeat counted as already indexed.
    first = index_recordings([Recording(bells, "bells.wav")] * 2, folder, model, frames=False)
    assert first.added == [bells] and first.skipped == [bells]
    report = index_recordings(find_audio_files([archive]).files, folder, model, frames=False)
    assert report.skipped == [bells]
    assert len(report.added) == 1
    index = open_index(folder)
    assert len(index.recordings) == 2
    assert index.recordings[1].first_row == index.recordings[0].n_windows
    # The second run added its rows to the first run's graph.
    assert index.graph is not None and index.graph.rows == len(index)


def test_approximate_search_scores_like_exact_and_falls_back_without_graph(tmp_path, built):
    query = np.asarray(built.vectors[30:32])
    exact = search(built, [query], k=20, exact=True)
    approximate = search(built, [query], k=20)
    np.testing.assert_array_equal(approximate.rows, exact.rows)
    np.testing.assert_array_equal(approximate.scores, exact.scores)
    # An index whose graph is gone (built before graphs, or killed before the first save) is
    # searched in full.
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in (DATABASE, VECTORS):
        (copy / name).write_bytes((Path(built.folder) / name).read_bytes())
    bare = open_index(copy)
    assert bare.graph is None
    np.testing.assert_array_equal(search(bare, [query], k=20).rows, exact.rows)


def test_another_hop_or_model_is_refused(tmp_path, archive, model, reference_hop_model):
    folder = tmp_path / "idx"
    index_recordings(find_audio_files([archive / "bells.wav"]).files, folder, model, frames=False)
    copy = find_audio_files([archive / "20240131_120000_copy.wav"]).files
    with pytest.raises(ParameterError, match="hop 0.5 s, not 0.48 s"):
        index_recordings(copy, folder, reference_hop_model, frames=False)
    other = dataclasses.replace(model, weights_sha256="0" * 64)
    with pytest.raises(ModelError, match="other YAMNet weights"):
        index_recordings(copy, folder, other, frames=False)
    with pytest.raises(ModelError):
        open_index(folder).check_model(other)
    assert len(open_index(folder).recordings) == 1


def test_not_an_index_and_silent_query_are_refused(tmp_path, model):
    with pytest.raises(ParameterError, match="not a sed index"):
        open_index(tmp_path)
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(16000, np.float32), 16000)
    with pytest.raises(AudioError, match="silent"):
        query_embeddings(silent, model)


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".json", ".audacity.txt"])
def test_cli_index_then_search_writes_readable_events(tmp_path, archive, suffix):
    from sed.events import read_events

    index_dir = tmp_path / "idx"
    result = CliRunner().invoke(cli, ["index", str(archive), "-o", str(index_dir), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "2 added" in result.output
    query = tmp_path / "query.wav"
    samples, rate = sf.read(archive / "bells.wav", dtype="float32")
    sf.write(query, samples[10 * rate : int(10.96 * rate)], rate)
    # Audacity takes one recording: search only the best hit's.
    k = ["-k", "1"] if suffix == ".audacity.txt" else ["-k", "10"]
    out = tmp_path / f"hits{suffix}"
    result = CliRunner().invoke(
        cli, ["search", str(index_dir), "--query", str(query), *k, "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    events = read_events(out).events
    assert len(events) >= 1
    assert set(events["event_label"]) == {"query"}
    if suffix == ".csv":
        # The window rule's score is a cosine; the query file is a 16-bit copy of the window:
        # nearly, not exactly, the same.
        windows = tmp_path / "windows.csv"
        command = ["search", str(index_dir), "--query", str(query), "--scoring", "windows"]
        result = CliRunner().invoke(cli, [*command, *k, "-o", str(windows)])
        assert result.exit_code == 0, result.output
        found = read_events(windows).events
        assert found["score"].max() > 0.97
        assert found["onset"].iloc[0] <= 10.0 <= found["offset"].iloc[0]
        # This small index is smaller than the candidates: --exact finds the same events.
        for scoring, approximate in (("frames", out), ("windows", windows)):
            exact = tmp_path / f"exact-{scoring}.csv"
            command = ["search", str(index_dir), "--query", str(query), "--scoring", scoring]
            result = CliRunner().invoke(cli, [*command, *k, "--exact", "-o", str(exact)])
            assert result.exit_code == 0, result.output
            assert exact.read_text() == approximate.read_text()


def test_cli_errors_are_one_line(tmp_path, archive):
    result = CliRunner().invoke(
        cli, ["search", str(tmp_path), "--query", str(archive / "bells.wav"), "-o", "x.csv"]
    )
    assert result.exit_code == 2
    assert "not a sed index" in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_a_killed_index_run_resumes(tmp_path, archive):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    samples, rate = sf.read(archive / "bells.wav", dtype="float32")
    for i in range(8):
        sf.write(inputs / f"r{i}.wav", samples, rate)
    folder = tmp_path / "idx"
    command = [sys.executable, "-m", "sed", "index", str(inputs), "-o", str(folder), "-q"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    committed = 0
    while time.monotonic() < deadline and process.poll() is None:
        if (folder / DATABASE).exists():
            try:
                with sqlite3.connect(folder / DATABASE) as connection:
                    (committed,) = connection.execute("SELECT COUNT(*) FROM recordings").fetchone()
            except sqlite3.OperationalError:
                committed = 0
            if committed >= 2:
                break
        time.sleep(0.02)
    if process.poll() is not None:
        pytest.skip("the run finished before it could be killed")
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    killed = open_index(folder)
    assert 2 <= len(killed.recordings) < 8
    assert len(killed) == sum(r.n_windows for r in killed.recordings)
    assert os.path.getsize(folder / VECTORS) >= len(killed) * 1024 * 4
    # The graph, if one was saved, covers committed rows only; the rest is scanned exactly.
    assert killed.graph is None or killed.graph.rows <= len(killed)
    query = np.asarray(killed.vectors[10:11])
    np.testing.assert_array_equal(
        search(killed, [query], k=50).rows, search(killed, [query], k=50, exact=True).rows
    )
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    resumed = open_index(folder)
    assert len(resumed.recordings) == 8
    assert os.path.getsize(folder / VECTORS) == len(resumed) * 1024 * 4
    assert (folder / GRAPH).exists() and resumed.graph.rows == len(resumed)
    # Every recording is the same audio: every one's windows equal the first's.
    first = resumed.recordings[0]
    for recording in resumed.recordings[1:]:
        np.testing.assert_array_equal(
            resumed.vectors[recording.first_row : recording.first_row + recording.n_windows],
            resumed.vectors[first.first_row : first.first_row + first.n_windows],
        )


# --- the model in worker processes or on a cluster: the index of one process ------------------


def parallel_inputs(root: Path, bells_wav: Path) -> Path:
    """Three real 3 s recordings and, sorted between them, a file that is not audio."""
    from tests.test_batch import short_archive

    short_archive(root, bells_wav, 3, seconds=3.0)
    (root / "rec01_broken.wav").write_bytes(b"not audio")
    return root


def index_contents(folder: Path) -> dict:
    """Every row of an index's database and the bytes of its vector and frame files."""
    with sqlite3.connect(folder / DATABASE) as connection:
        rows = connection.execute("SELECT * FROM recordings ORDER BY id").fetchall()
        settings = connection.execute("SELECT * FROM settings ORDER BY key").fetchall()
    names = [VECTORS, FRAMES_JSON, FRAME_MEANS, *map(layer_file, FRAME_LAYERS)]
    return {
        "recordings": rows,
        "settings": settings,
        **{n: (folder / n).read_bytes() for n in names},
    }


def one_process_index(inputs: Path, folder: Path, model) -> Path:
    """The index of ``inputs`` with the model in this process, checked."""
    report = index_recordings(find_audio_files([str(inputs)]).files, folder, model)
    assert [Path(p).name for p in report.added] == ["rec00.flac", "rec01.flac", "rec02.flac"]
    assert list(report.failed) == [str(inputs / "rec01_broken.wav")]
    return folder


def test_a_one_thread_model_embeds_in_one_thread_with_the_same_arrays(archive, model, monkeypatch):
    import threading

    from sed.indexing import IndexTask, embed_recording

    task = IndexTask(str(archive / "bells.wav"), "bells.wav", windows=True, frames=True)
    started = []

    class Counted(threading.Thread):
        def __init__(self, *args, **kwargs):
            started.append(kwargs.get("name"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(threading, "Thread", Counted)
    overlapped = embed_recording(model, task, "soxr")
    assert started.count("sed-features") == 2  # the windows' pass and the frames' pass
    started.clear()
    # A worker's model (one thread): the processes fill the cores, so no second thread each.
    alone = embed_recording(dataclasses.replace(model, threads=1), task, "soxr")
    assert "sed-features" not in started
    np.testing.assert_array_equal(alone.embeddings, overlapped.embeddings)
    for mine, theirs in zip(alone.frames, overlapped.frames, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert alone.duration_seconds == overlapped.duration_seconds == pytest.approx(SECONDS)


@pytest.mark.slow
def test_jobs_2_writes_the_index_of_one_process_and_a_bad_file_is_one_line(
    tmp_path, bells_wav, model
):
    inputs = parallel_inputs(tmp_path / "in", bells_wav)
    reference = one_process_index(inputs, tmp_path / "one", model)
    folder = tmp_path / "two"
    command = [sys.executable, "-m", "sed", "index", str(inputs), "-o", str(folder), "--jobs", "2"]
    result = subprocess.run([*command, "-q"], capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"sed index: skipped {inputs}/rec01_broken.wav: "
    )
    assert result.stdout.startswith("3 added (")
    assert ", 0 already indexed, 1 failed;" in result.stdout
    # The same rows (ids, paths, first rows, means) and the same bytes of every vector and frame,
    # written in input order whichever worker finished first.
    assert index_contents(folder) == index_contents(reference)
    assert len(open_index(folder).recordings) == 3
    # A second run skips the three before sending any work, and tries the bad file again.
    again = subprocess.run(command, capture_output=True, text=True)
    assert (
        again.returncode == 1 and "0 added (0 windows), 3 already indexed, 1 failed" in again.stdout
    )
    assert again.stderr.count("already indexed") == 3 and again.stderr.count("skipped") == 1
    assert index_contents(folder) == index_contents(reference)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_sigterm_stops_a_parallel_index_and_its_workers(tmp_path, bells_wav):
    from tests.test_batch import alive, children_of, short_archive, wait_for

    inputs = short_archive(tmp_path / "in", bells_wav, 12, seconds=12.0)
    folder = tmp_path / "idx"
    command = [sys.executable, "-m", "sed", "index", str(inputs), "-o", str(folder), "-q"]
    process = subprocess.Popen([*command, "--jobs", "2"], stderr=subprocess.PIPE, text=True)

    def committed() -> int:
        try:
            with sqlite3.connect(folder / DATABASE) as connection:
                return connection.execute("SELECT COUNT(*) FROM recordings").fetchone()[0]
        except sqlite3.Error:
            return 0

    # Two workers and the resource tracker, and a recording written.
    wait_for(lambda: committed() >= 1 and len(children_of(process.pid)) >= 3, 300, process)
    workers = children_of(process.pid)
    process.send_signal(signal.SIGTERM)
    stderr = process.communicate(timeout=30)[1]
    assert process.returncode == 143
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    assert stderr.startswith("sed index: interrupted by SIGTERM: ")
    assert stderr.rstrip().endswith(
        "of 12 recordings indexed; run the same command again to resume"
    )
    wait_for(lambda: not alive(workers), 10)
    done = len(open_index(folder).recordings)
    resumed = subprocess.run(command, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{12 - done} added" in resumed.stdout and f"{done} already indexed" in resumed.stdout
