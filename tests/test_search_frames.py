"""The frame rule of `sed search`: the index's layer 6 and 14 frames, and the chamfer similarity
of a query's sounding frames (sed.frame_index, sed.search.frame_similarities)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from click.testing import CliRunner

from sed.audio import find_audio_files
from sed.cli import cli
from sed.errors import ParameterError
from sed.frame_index import (
    FRAME_LAYERS,
    FRAMES_JSON,
    build_frame_index,
    layer_file,
    open_frame_index,
    recording_frames,
)
from sed.index import open_index
from sed.indexing import index_recordings
from sed.search import (
    Query,
    active_frames,
    partial_mean,
    query_embeddings,
    search,
    similarities,
    window_similarities,
)

SECONDS = 20
#: Where the short event is mixed into the street recording, seconds.
EVENT_ONSET = 12.3


@pytest.fixture(scope="module")
def event_clip(shared_data):
    """A real 0.28 s keys-dropped clip (DCASE2016 task 2), at 16 kHz."""
    from sed.audio import load_audio

    waveform, _ = load_audio(shared_data / "dcase2016_task2" / "train" / "keysDrop002.flac")
    return waveform


@pytest.fixture(scope="module")
def archive(tmp_path_factory, bells_wav, event_clip):
    """20 s of the street recording with bells, and a copy with the keys dropped at 12.3 s."""
    from sed.audio import load_audio

    folder = tmp_path_factory.mktemp("archive")
    street, _ = load_audio(bells_wav)
    street = street[: SECONDS * 16000]
    sf.write(folder / "street.wav", street, 16000, subtype="FLOAT")
    mixed = street.copy()
    start = int(EVENT_ONSET * 16000)
    # At +6 dB over the street there (the clip as recorded is 2 dB under it).
    mixed[start : start + len(event_clip)] += 2.5 * event_clip
    sf.write(folder / "street_keys.wav", mixed, 16000, subtype="FLOAT")
    return folder


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, archive, model):
    folder = tmp_path_factory.mktemp("index") / "idx"
    index_recordings(find_audio_files([archive]).files, folder, model, frames=False)
    assert build_frame_index(open_index(folder), model) == []
    index = open_index(folder)
    return index, open_frame_index(index)


def test_frames_are_each_layers_frames_at_its_own_stride(indexed, archive, model):
    index, frames = indexed
    assert frames.layers == FRAME_LAYERS and frames.hops == (0.08, 0.32)
    for position, recording in enumerate(index.recordings):
        expected, _ = recording_frames(recording.path, model, resampler="soxr")
        for layer in range(len(FRAME_LAYERS)):
            first, count = frames.firsts[position, layer], frames.counts[position, layer]
            stored = frames.frames[layer][first : first + count]
            np.testing.assert_array_equal(stored, expected[layer])
        # One frame per started hop of the recording.
        assert frames.counts[position, 0] == int(np.ceil(SECONDS / 0.08))
        assert frames.counts[position, 1] == int(np.ceil(frames.counts[position, 0] / 4))
    for layer in range(len(FRAME_LAYERS)):
        np.testing.assert_allclose(
            frames.means[layer], np.asarray(frames.frames[layer]).mean(axis=0), atol=1e-5
        )


def window_frames_reference(index, frames, layer):
    """Every window's frames of ``layer`` (those overlapping it), in the index's order."""
    hop, windows = frames.hops[layer], []
    for position, recording in enumerate(index.recordings):
        first, count = frames.firsts[position, layer], frames.counts[position, layer]
        own = np.asarray(frames.frames[layer][first : first + count], np.float64)
        starts = np.arange(count) * hop
        for window in range(recording.n_windows):
            onset = window * index.hop_seconds
            offset = onset + index.window_seconds
            windows.append(own[(starts < offset) & (starts + hop > onset)])
    return windows


def raw_chamfer_reference(index, frames, query_frames, layer):
    """Per window, the mean over the better half of the query's frames (ceil(n / 2) of n, the
    partial chamfer) of their best centred cosine to the window's frames."""
    centre = frames.means[layer]

    def unit(x):
        x = np.asarray(x, np.float64) - centre
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    query = unit(query_frames[layer])
    windows = window_frames_reference(index, frames, layer)
    half = -(-len(query) // 2)
    return np.array(
        [np.sort((unit(own) @ query.T).max(axis=0))[::-1][:half].mean() for own in windows]
    )


def zscore(scores):
    return (scores - scores.mean()) / scores.std()


def chamfer_reference(index, frames, query_frames):
    """The frame rule written out window by window, from its definition in sed.search."""
    return np.mean(
        [
            zscore(raw_chamfer_reference(index, frames, query_frames, layer))
            for layer in range(len(frames.hops))
        ],
        axis=0,
    )


def test_the_frame_rule_is_the_chamfer_similarity_z_scored_per_layer(indexed, event_clip, model):
    index, frames = indexed
    query = active_frames(event_clip, model)
    example = Query("keys", np.zeros((1, 1024), np.float32), query)
    scores = similarities(index, [example], scoring="frames")
    np.testing.assert_allclose(scores, chamfer_reference(index, frames, query), atol=1e-4)


def test_query_expansion_adds_the_best_windows_frames_that_match_the_query(
    indexed, event_clip, model
):
    """expand=2, written out: the two best windows by the frame rule; per layer, each query
    frame's best-matching frame (centred cosine) in each of them is an expansion example, and a
    window's chamfer similarity is the mean of the query's and the two expansions' before the
    z-score."""
    index, frames = indexed
    query = active_frames(event_clip, model)
    example = Query("keys", np.zeros((1, 1024), np.float32), query)
    best = np.argsort(-chamfer_reference(index, frames, query), kind="stable")[:2]
    expected = []
    for layer in range(len(frames.hops)):
        centre = frames.means[layer]
        windows = window_frames_reference(index, frames, layer)
        chamfers = [raw_chamfer_reference(index, frames, query, layer)]
        for row in best:
            hit = windows[row]
            cosines = [
                [
                    np.dot(q - centre, h - centre)
                    / np.linalg.norm(q - centre)
                    / np.linalg.norm(h - centre)
                    for h in hit
                ]
                for q in query[layer]
            ]
            matched = hit[np.argmax(cosines, axis=1)]
            chamfers.append(raw_chamfer_reference(index, frames, {layer: matched}, layer))
        expected.append(zscore(np.mean(chamfers, axis=0)))
    scores = similarities(index, [example], scoring="frames", expand=2)
    np.testing.assert_allclose(scores, np.mean(expected, axis=0), atol=1e-4)
    # Expansion changes the ranking's scores, and a window rule search ignores it.
    assert not np.allclose(scores, similarities(index, [example], scoring="frames"), atol=1e-3)
    windows = [query_embeddings(archive_path(index, 1), model, start_seconds=12, end_seconds=13)]
    np.testing.assert_array_equal(
        similarities(index, windows, scoring="windows", expand=2),
        similarities(index, windows, scoring="windows"),
    )
    with pytest.raises(ParameterError, match="--expand"):
        similarities(index, [example], expand=-1)


def archive_path(index, position):
    return index.recordings[position].path


def test_candidate_windows_score_as_in_the_whole_index(indexed, event_clip, model):
    """Scattered rows (an approximate search's candidates) gather their own frames; on an index
    smaller than the standardising sample the z-scores are every window's, so the scores match."""
    index, _ = indexed
    example = Query("keys", np.zeros((1, 1024), np.float32), active_frames(event_clip, model))
    everything = similarities(index, [example], scoring="frames")
    rows = np.flatnonzero(np.random.default_rng(0).random(len(index)) < 0.3)
    assert 0 < len(rows) < len(index)
    some = similarities(index, [example], scoring="frames", rows=rows)
    np.testing.assert_allclose(some, everything[rows], atol=1e-5)
    # The standardising sample's frames are read once per opened index, and reused as they are.
    cached = index.cache[("standardising_frames", 0)]
    np.testing.assert_allclose(similarities(index, [example], rows=rows[::2]), some[::2], atol=1e-6)
    assert index.cache[("standardising_frames", 0)] is cached


def test_partial_chamfer_averages_the_better_half_of_the_query_frames():
    # Window 0 matches 3 of 5 query frames exactly and 2 not at all; window 1 all 5 at 0.7.
    best = np.array([[1.0, -0.2, 1.0, 1.0, -0.2], [0.7, 0.7, 0.7, 0.7, 0.7]])
    # ceil(5 / 2) = 3 frames: window 0's three matches outrank window 1, whose plain mean wins.
    np.testing.assert_allclose(partial_mean(best), [1.0, 0.7])
    np.testing.assert_allclose(partial_mean(best, fraction=1.0), [0.52, 0.7])
    np.testing.assert_allclose(partial_mean(best[:, :1]), [1.0, 0.7])


def test_silence_around_a_query_does_not_count(event_clip, model):
    alone = active_frames(event_clip, model)
    # Whole 80 ms frames (1280 samples) of zeros, so that the clip's frames stay aligned.
    padded = np.concatenate([np.zeros(12800, np.float32), event_clip, np.zeros(6400, np.float32)])
    around = active_frames(padded, model)
    # The same number of sounding frames: the zeros are far below the loudest frame's level
    # less ACTIVE_DB, and the 1.2 s of them (15 frames of 80 ms) are all left out.
    assert len(around[0]) == len(alone[0]) < int(np.ceil(len(padded) / 1280)) - 15
    assert [f.shape[1] for f in alone] == [256, 1024]


def test_a_short_event_raises_the_score_of_its_windows(indexed, archive, shared_data, model):
    index, _ = indexed
    query = query_embeddings(shared_data / "dcase2016_task2" / "train" / "keysDrop002.flac", model)
    scores = similarities(index, [query])
    plain, mixed = (index.recordings[n] for n in (0, 1))
    assert plain.filename.endswith("street.wav") and mixed.filename.endswith("street_keys.wav")
    onsets = np.arange(mixed.n_windows) * index.hop_seconds
    holding = np.flatnonzero((onsets < EVENT_ONSET + 0.28) & (onsets + 0.96 > EVENT_ONSET))
    # The two recordings are the same street but for the keys: only the windows that hold
    # them differ, and the keys bring them nearer the query.
    with_keys = scores[mixed.first_row + holding].max()
    without = scores[plain.first_row + holding].max()
    assert with_keys > without + 0.5
    # Farther than layer 14's receptive field (1.3 s back, 1.9 s ahead, plus its 0.32 s frame)
    # from the keys, the frames and so the scores are the same in both recordings.
    far = (onsets + 0.96 < EVENT_ONSET - 2.5) | (onsets > EVENT_ONSET + 0.28 + 2.5)
    others = np.flatnonzero(far)
    np.testing.assert_allclose(
        scores[mixed.first_row + others], scores[plain.first_row + others], atol=0.05
    )


def test_a_span_of_an_indexed_recording_finds_itself_first(indexed, archive, model):
    index, _ = indexed
    query = query_embeddings(archive / "street.wav", model, start_seconds=6.0, end_seconds=6.96)
    hits = search(index, [query], k=6)
    # The windows over the span in the recording and in its copy with the keys (which sound at
    # 12.3 s): the partial chamfer scores the windows that hold half the span's frames (5.5 s
    # and 6.5 s) as high as the span's own, which matches all of them.
    assert set(hits.recordings) == {0, 1}
    assert np.all(hits.onsets < 6.96) and np.all(hits.offsets > 6.0)
    own = hits.scores[np.isclose(hits.onsets, 6.0)]
    assert len(own) == 2 and own.min() >= hits.scores.max() - 1e-4


def test_auto_scoring_falls_back_to_windows_and_frames_says_what_is_missing(
    tmp_path, archive, model
):
    folder = tmp_path / "idx"
    index_recordings(find_audio_files([archive / "street.wav"]).files, folder, model, frames=False)
    index = open_index(folder)
    assert open_frame_index(index) is None
    query = query_embeddings(archive / "street.wav", model, start_seconds=3, end_seconds=4)
    np.testing.assert_array_equal(
        similarities(index, [query]), window_similarities(index, [query.embeddings])
    )
    with pytest.raises(ParameterError, match="sed index"):
        similarities(index, [query], scoring="frames")
    build_frame_index(index, model)
    with pytest.raises(ParameterError, match="frames"):  # bare embeddings have no frames
        similarities(index, [query.embeddings], scoring="frames")
    with pytest.raises(ParameterError, match="scoring"):
        similarities(index, [query], scoring="best")


def test_a_second_run_adds_nothing_and_cuts_off_a_killed_runs_rows(tmp_path, archive, model):
    folder = tmp_path / "idx"
    index_recordings(find_audio_files([archive / "street.wav"]).files, folder, model, frames=False)
    build_frame_index(open_index(folder), model)
    path = os.path.join(folder, layer_file(6))
    size = os.path.getsize(path)
    build_frame_index(open_index(folder), model)
    assert os.path.getsize(path) == size
    with open(path, "ab") as handle:  # what a run killed before its commit leaves
        handle.write(b"\x00" * 1000)
    street_keys = find_audio_files([archive / "street_keys.wav"]).files
    index_recordings(street_keys, folder, model, frames=False)
    index = open_index(folder)
    build_frame_index(index, model)
    frames = open_frame_index(index)
    assert frames.firsts[1, 0] == frames.counts[0, 0]
    assert os.path.getsize(path) == frames.counts[:, 0].sum() * 256 * 4


def test_cli_index_stores_frames_and_search_uses_them(tmp_path, archive):
    index_dir = tmp_path / "idx"
    runner = CliRunner()
    result = runner.invoke(cli, ["index", str(archive), "-o", str(index_dir), "-q"])
    assert result.exit_code == 0, result.output
    assert os.path.isfile(index_dir / FRAMES_JSON)
    bare = tmp_path / "bare"
    result = runner.invoke(cli, ["index", str(archive), "-o", str(bare), "-q", "--no-frames"])
    assert result.exit_code == 0 and not os.path.exists(bare / FRAMES_JSON)
    query = archive / "street_keys.wav"
    span = ["--start", "12.3", "--end", "12.6", "-k", "3"]
    for folder, scoring, code in (
        (index_dir, "auto", 0),
        (index_dir, "windows", 0),
        (bare, "auto", 0),
        (bare, "frames", 2),
    ):
        out = tmp_path / f"{folder.name}_{scoring}.csv"
        result = runner.invoke(
            cli,
            ["search", str(folder), "--query", str(query), *span, "--scoring", scoring]
            + ["-o", str(out)],
        )
        assert result.exit_code == code, result.output
        assert "Traceback" not in result.output
    assert "sed index" in result.output
    # --expand 0 is the query alone: the same hit first, with the unexpanded frame rule's score.
    alone = tmp_path / "alone.csv"
    result = runner.invoke(
        cli, ["search", str(index_dir), "--query", str(query), *span, "--expand", "0", "-o", alone]
    )
    assert result.exit_code == 0, result.output
    expanded = pd.read_csv(tmp_path / "idx_auto.csv")
    unexpanded = pd.read_csv(alone)
    assert expanded["onset"].iloc[0] == unexpanded["onset"].iloc[0]
    assert expanded["score"].iloc[0] != pytest.approx(unexpanded["score"].iloc[0], abs=1e-3)
    result = runner.invoke(cli, ["search", str(index_dir), "--query", str(query), "--expand", "-1"])
    assert result.exit_code == 2 and "--expand" in result.output
