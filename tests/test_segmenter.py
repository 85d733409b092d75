"""The streaming segmenter: block-by-block scores equal whole-file scores, memory stays flat."""

from __future__ import annotations

import dataclasses
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from sed.audio import load_audio, resample
from sed.errors import AudioError, ParameterError
from sed.features import pad_waveform
from sed.params import YamnetParams
from sed.segmenter import (
    run_yamnet,
    score_file,
    score_stream,
    score_waveform,
    score_waveforms,
    window_times,
)

# Streaming and whole-file scores may differ by float32 rounding only (BLAS blocking of the mel
# projection depends on how many frames a call holds): the bound the memory benchmark holds.
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def bells(bells_wav):
    """The real 60 s street recording, 16 kHz mono."""
    waveform, rate = sf.read(bells_wav, dtype="float32")
    assert rate == 16000
    return waveform


def write_recording(path, bells, rate, channels, seconds=None):
    """The real recording at ``rate`` Hz, optionally cut, in ``channels`` channels (the second
    channel is the recording played backwards, so downmixing matters)."""
    waveform = resample(bells, 16000, rate)
    if seconds is not None:
        waveform = waveform[: int(seconds * rate)]
    columns = [waveform, waveform[::-1]][:channels]
    sf.write(path, np.stack(columns, axis=1), rate, subtype="PCM_24")
    return path


def assert_same_as_whole_file(path, model, *, resampler="soxr", **options):
    streamed = score_file(path, model, resampler=resampler, **options)
    waveform, info = load_audio(path, resampler=resampler)
    scores, _, _ = run_yamnet(waveform, model)
    assert streamed.scores.shape == scores.shape
    assert np.abs(streamed.scores - scores).max() <= TOLERANCE
    starts, ends = window_times(len(scores), model.params)
    np.testing.assert_array_equal(streamed.starts, starts)
    np.testing.assert_array_equal(streamed.ends, ends)
    assert streamed.duration_seconds == info.duration_seconds
    return streamed


@pytest.mark.parametrize(
    "rate,channels,block_samples",
    [
        (44100, 2, 12345),  # blocks end mid-window, mid-frame
        (22050, 2, 7919),  # a prime: every block boundary falls somewhere new
        (11025, 1, 100_000),
        (16000, 1, 4_000_000),  # the file is shorter than one block
    ],
)
def test_streamed_scores_equal_whole_file_scores(
    tmp_path, bells, model, rate, channels, block_samples
):
    path = write_recording(tmp_path / f"r{rate}.flac", bells, rate, channels)
    streamed = assert_same_as_whole_file(path, model, block_samples=block_samples)
    assert len(streamed) == 120


def test_streaming_with_resampy_and_the_tensorflow_backend(tmp_path, bells, tf_model):
    path = write_recording(tmp_path / "r22050.wav", bells, 22050, 2, seconds=12.3)
    assert_same_as_whole_file(path, tf_model, resampler="resampy", block_samples=5000)


@pytest.mark.parametrize("seconds", [0.3, 0.97, 1.4])
def test_files_shorter_than_one_window_or_two(tmp_path, bells, model, seconds):
    path = write_recording(tmp_path / "short.wav", bells, 22050, 2, seconds=seconds)
    streamed = assert_same_as_whole_file(path, model, block_samples=1000)
    assert len(streamed) == YamnetParams().num_windows(round(seconds * 16000))


def test_reference_hop_and_embeddings_stream_too(tmp_path, bells, model):
    hop_048 = dataclasses.replace(model, params=YamnetParams(patch_hop_seconds=0.48))
    path = write_recording(tmp_path / "r.flac", bells, 44100, 2, seconds=20.0)
    streamed = score_file(path, hop_048, keep_embeddings=True, block_samples=33333)
    waveform, _ = load_audio(path)
    scores, embeddings, _ = run_yamnet(waveform, hop_048)
    assert streamed.embeddings.shape == embeddings.shape == (len(scores), 1024)
    assert np.abs(streamed.scores - scores).max() <= TOLERANCE
    assert np.abs(streamed.embeddings - embeddings).max() <= 1e-4  # values up to about 5


def test_batch_size_and_block_sizes_do_not_change_scores(bells, model):
    whole, _, _ = run_yamnet(bells, model)
    for batch_size in (1, 7, 300):
        pieces = (bells[i : i + 7777] for i in range(0, len(bells), 7777))
        streamed = score_stream(pieces, model, batch_size=batch_size)
        assert np.abs(streamed.scores - whole).max() <= TOLERANCE
    assert np.abs(score_waveform(bells, model).scores - whole).max() <= TOLERANCE


@pytest.mark.parametrize("batch_size", [7, 64])
def test_waveforms_batched_together_score_as_each_alone(bells, backend_model, batch_size):
    """Windows of several recordings share model calls (batches of 7 cut through recordings,
    64 hold several whole), yet each recording's grid is the one it gets alone: same framing,
    times and levels exactly, scores and embeddings within the batch-size rounding."""
    starts = [0, 3 * 16000, 40 * 16000, 20 * 16000, 5 * 16000]
    lengths = [4000, 16000 * 7 + 123, 16000 * 3, 16000 * 21, 16000]  # one shorter than a window
    waveforms = [bells[start : start + length] for start, length in zip(starts, lengths)]
    names = [f"mix{i}" for i in range(len(waveforms))]
    together = list(
        score_waveforms(
            iter(waveforms),
            backend_model,
            filenames=names,
            keep_embeddings=True,
            batch_size=batch_size,
        )
    )
    assert [grid.filename for grid in together] == names
    for waveform, name, grid in zip(waveforms, names, together):
        alone = score_waveform(waveform, backend_model, filename=name, keep_embeddings=True)
        assert len(grid) == len(alone) == backend_model.params.num_windows(len(waveform))
        np.testing.assert_array_equal(grid.starts, alone.starts)
        np.testing.assert_array_equal(grid.ends, alone.ends)
        np.testing.assert_array_equal(grid.window_level_dbfs, alone.window_level_dbfs)
        np.testing.assert_array_equal(grid.frame_level_db, alone.frame_level_db)
        assert grid.duration_seconds == alone.duration_seconds == len(waveform) / 16000
        assert np.abs(grid.scores - alone.scores).max() <= 1e-6
        assert np.abs(grid.embeddings - alone.embeddings).max() <= 1e-5  # values up to about 5


def test_a_bad_waveform_among_many_is_an_audio_error(model):
    waveforms = [np.zeros(16000, np.float32), np.array([0.0, np.nan], np.float32)]
    with pytest.raises(AudioError, match="second"):
        list(score_waveforms(waveforms, model, filenames=["first", "second"]))
    with pytest.raises(AudioError):
        list(score_waveforms([np.zeros(0, np.float32)], model))


def test_window_levels_come_from_the_streaming_pass(bells, model):
    """Each window's RMS level, from odd-sized blocks, equals the level of its 0.96 s of samples
    cut from the whole zero-padded waveform."""
    params = model.params
    pieces = (bells[i : i + 7777] for i in range(0, len(bells), 7777))
    levels = score_stream(pieces, model).window_level_dbfs
    padded = pad_waveform(bells, params).astype(np.float64)
    length = params.patch_frames * params.stft_hop_samples
    expected = [
        10 * np.log10(np.mean(padded[s : s + length] ** 2))
        for s in range(0, len(padded) - length + 1, params.patch_hop_samples)
    ]
    assert len(levels) == len(expected) == params.num_windows(len(bells))
    np.testing.assert_allclose(levels, expected, atol=1e-4)


def test_reading_in_a_background_thread_changes_nothing(bells, model):
    pieces = [bells[i : i + 10007] for i in range(0, len(bells), 10007)]
    ahead = score_stream(iter(pieces), model, overlap=True)
    inline = score_stream(iter(pieces), model, overlap=False)
    np.testing.assert_array_equal(ahead.scores, inline.scores)


def test_an_error_while_reading_reaches_the_caller(tmp_path, bells, model):
    samples = np.stack([bells, bells], axis=1)
    samples[800_000:800_003, 1] = np.inf
    sf.write(tmp_path / "inf.wav", samples, 16000, subtype="FLOAT")
    with pytest.raises(
        AudioError, match=r"inf\.wav: NaN or infinite samples, the first at 50\.000 s"
    ):
        score_file(tmp_path / "inf.wav", model, block_samples=16000)


def test_an_error_in_the_model_stops_the_reader(bells, model):
    import threading

    class Failing:
        params, feature_implementation, labels = model.params, "numpy", model.labels
        calls = 0

        def predict(self, patches, *, batch_size):
            self.calls += 1
            if self.calls == 2:
                raise RuntimeError("model failed")
            return model.predict(patches, batch_size=batch_size)

    before = threading.active_count()
    blocks = (bells[i : i + 4000] for i in range(0, len(bells), 4000))
    with pytest.raises(RuntimeError, match="model failed"):
        score_stream(blocks, Failing(), batch_size=8)
    assert threading.active_count() == before  # the reader thread has ended


def test_empty_stream_and_bad_batch_size_are_errors(model):
    with pytest.raises(AudioError, match="no audio samples"):
        score_stream(iter([np.zeros(0, np.float32)]), model)
    with pytest.raises(ParameterError, match="batch size must be a positive integer"):
        score_stream(iter([np.zeros(100, np.float32)]), model, batch_size=0)


class OneLabelModel:
    """A stand-in network (one output, mean of the patch) to measure the segmenter's own memory."""

    params = YamnetParams()
    feature_implementation = "numpy"
    labels = ("mean",)

    def predict(self, patches, *, batch_size):
        means = patches.mean(axis=(1, 2))[:, None]
        return means, np.zeros((len(patches), 1024), np.float32)


def traced_peak_mb(minutes: float) -> float:
    rng = np.random.default_rng(0)
    block = (0.1 * rng.standard_normal(5 * 16000)).astype(np.float32)  # 5 s, reused
    tracemalloc.start()
    try:
        # In one thread: the reading thread runs up to two batches of windows ahead, and where
        # the peak falls among them would vary from run to run.
        score_stream((block for _ in range(int(minutes * 12))), OneLabelModel(), overlap=False)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_recording_length():
    """Traced numpy/Python allocations: 3 minutes and 30 minutes of audio peak alike, but for
    what the result keeps per window and per 10 ms frame. The 27 extra minutes keep 3240 more
    one-column scores (13 KB) and 162000 more frame levels (0.62 MB, held twice while they are
    joined), against 104 MB of audio and 41 MB of log-mel that must not be held. The 10-hour
    figure is in benchmarks/."""
    short, long = traced_peak_mb(3), traced_peak_mb(30)
    kept_mb = (3240 * 4 + 2 * 162000 * 4) / 2**20
    assert long < 30 and long - short < 1.0 + kept_mb, (short, long)
