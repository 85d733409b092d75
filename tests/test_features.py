"""Features: padding, log-mel spectrogram and patches (parity with the TF-Hub graph is in
test_model_yamnet.py)."""

from __future__ import annotations

import numpy as np
import pytest

from sed.errors import ParameterError
from sed.features import (
    MEL_MATRIX_FILE,
    frame_patches,
    hz_to_mel,
    log_mel_spectrogram,
    mel_band_centres_hz,
    mel_band_edges_hz,
    mel_to_hz,
    pad_waveform,
)
from sed.params import YamnetParams
from sed.segmenter import window_times


def test_padding_and_patches_line_up(rng):
    p = YamnetParams()
    waveform = rng.uniform(-1, 1, 40007).astype(np.float32)
    padded = pad_waveform(waveform, p)
    assert len(padded) == p.padded_length(len(waveform)) and not padded[len(waveform) :].any()
    np.testing.assert_array_equal(padded[: len(waveform)], waveform)
    log_mel = log_mel_spectrogram(padded, p)
    assert log_mel.shape == (1 + (len(padded) - 400) // 160, 64)
    patches = frame_patches(log_mel, p)
    assert patches.shape == (p.num_windows(len(waveform)), 96, 64)
    for i in range(len(patches)):
        np.testing.assert_array_equal(patches[i], log_mel[50 * i : 50 * i + 96])


def test_silence_is_log_of_the_offset():
    log_mel = log_mel_spectrogram(np.zeros(16000, np.float32), YamnetParams())
    np.testing.assert_allclose(log_mel, np.log(0.001), rtol=1e-6)


def test_window_times():
    starts, ends = window_times(4, YamnetParams())
    np.testing.assert_allclose(starts, [0.0, 0.5, 1.0, 1.5])
    np.testing.assert_allclose(ends - starts, 0.96)
    starts, _ = window_times(1001, YamnetParams(patch_hop_seconds=0.48))
    assert starts[-1] == 480.0  # from sample counts: no accumulated rounding


def test_stored_mel_matrix_is_tensorflows_bit_for_bit():
    """sed/data/mel_matrix.npz (scripts/make_mel_matrix.py) is tf.signal's matrix, exactly."""
    from sed.features import mel_weight_matrix, tensorflow_mel_weight_matrix

    stored = mel_weight_matrix(YamnetParams())
    assert stored.shape == (257, 64) and stored.dtype == np.float32
    np.testing.assert_array_equal(stored, tensorflow_mel_weight_matrix(YamnetParams()))


def test_hann_window_is_tensorflows_periodic_window():
    from sed.features import hann_window
    from sed.model.runtime import import_tensorflow

    tf_window = import_tensorflow().signal.hann_window(400, periodic=True).numpy()
    # TensorFlow computes it in float32: 2.5e-7 apart, 4 float32 ulps of 1.0.
    assert np.abs(hann_window(YamnetParams()) - tf_window).max() <= 4 * np.finfo(np.float32).eps


def test_numpy_and_tensorflow_features_agree_on_noise(rng):
    p = YamnetParams()
    waveform = rng.uniform(-1, 1, 3 * 16000).astype(np.float32)
    numpy_log_mel = log_mel_spectrogram(waveform, p, implementation="numpy")
    tf_log_mel = log_mel_spectrogram(waveform, p, implementation="tensorflow")
    assert numpy_log_mel.shape == tf_log_mel.shape == (1 + (48000 - 400) // 160, 64)
    assert np.abs(numpy_log_mel - tf_log_mel).max() <= 1e-4


def test_unknown_feature_implementation():
    with pytest.raises(ParameterError, match="unknown feature implementation 'torch'"):
        log_mel_spectrogram(np.zeros(1000, np.float32), YamnetParams(), implementation="torch")


@pytest.mark.parametrize("implementation", ["numpy", "tensorflow"])
def test_frames_computed_block_by_block_equal_the_whole(rng, implementation):
    from sed.segmenter import FrameStream

    p = YamnetParams()
    waveform = rng.uniform(-1, 1, 40007).astype(np.float32)
    whole = log_mel_spectrogram(waveform, p, implementation=implementation)
    stream = FrameStream(p, implementation)
    cuts = [0, 1, 399, 400, 561, 10000, 10001, 25000, 40007]
    pieces = [stream.push(waveform[a:b]) for a, b in zip(cuts, cuts[1:])]
    assert [len(piece) for piece in pieces][:3] == [0, 0, 1]
    joined = np.concatenate(pieces)
    assert joined.shape == whole.shape
    assert np.abs(joined - whole).max() <= 1e-5


def test_band_centres_are_the_peaks_of_tensorflows_mel_filters():
    # The reference: the filter bank tf.signal.linear_to_mel_weight_matrix computed (stored in
    # sed/data). Each filter peaks on the FFT bin nearest its centre frequency.
    p = YamnetParams()
    with np.load(MEL_MATRIX_FILE) as stored:
        matrix = stored["matrix"]
    bin_hz = p.sample_rate / p.fft_length
    peaks_hz = matrix.argmax(axis=0) * bin_hz
    centres = mel_band_centres_hz(p)
    assert centres.shape == (64,)
    assert np.abs(peaks_hz - centres).max() <= bin_hz / 2
    # The HTK scale: 1000 Hz is 1000 mel, and mel_to_hz undoes hz_to_mel.
    assert hz_to_mel(1000.0) == pytest.approx(1000.0, abs=0.05)
    np.testing.assert_allclose(mel_to_hz(hz_to_mel(centres)), centres, rtol=1e-12)


def test_band_edges_hold_their_centres_and_span_the_filter_bank():
    p = YamnetParams()
    edges, centres = mel_band_edges_hz(p), mel_band_centres_hz(p)
    assert edges[0] == p.mel_min_hz and edges[-1] == p.mel_max_hz and len(edges) == 65
    assert np.all(edges[:-1] < centres) and np.all(centres < edges[1:])
    # Inner cells are one mel step tall, centred on their band's centre.
    inner = hz_to_mel(edges[1:-1])
    np.testing.assert_allclose(np.diff(inner), np.diff(hz_to_mel(centres))[0], rtol=1e-9)
