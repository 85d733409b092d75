"""Framing constants, padding and patches (parity with the TF-Hub graph is in test_model.py)."""

from __future__ import annotations

import numpy as np
import pytest

from sed.errors import ParameterError
from sed.features import frame_patches, log_mel_spectrogram, pad_waveform
from sed.params import YamnetParams
from sed.segmenter import window_times


def test_derived_constants():
    p = YamnetParams()
    assert (p.stft_window_samples, p.stft_hop_samples, p.fft_length) == (400, 160, 512)
    assert (p.patch_frames, p.patch_hop_frames, p.patch_hop_samples) == (96, 50, 8000)
    assert p.min_samples == 15600
    assert YamnetParams(patch_hop_seconds=0.48).patch_hop_samples == 7680


@pytest.mark.parametrize("hop", [0.333, 0.0, -0.5, float("nan"), float("inf")])
def test_bad_hops_are_rejected(hop):
    with pytest.raises(ParameterError):
        YamnetParams(patch_hop_seconds=hop)


@pytest.mark.parametrize("n_samples,windows_048,windows_050", [
    (1, 1, 1), (15600, 1, 1), (15601, 2, 2), (23280, 2, 2), (23281, 3, 2), (23600, 3, 2),
    (23601, 3, 3), (48000, 6, 6),
])
def test_window_count_is_the_reference_padding_rule(n_samples, windows_048, windows_050):
    assert YamnetParams(patch_hop_seconds=0.48).num_windows(n_samples) == windows_048
    assert YamnetParams().num_windows(n_samples) == windows_050


def test_padding_and_patches_line_up(rng):
    p = YamnetParams()
    waveform = rng.uniform(-1, 1, 40007).astype(np.float32)
    padded = pad_waveform(waveform, p)
    assert len(padded) == p.padded_length(len(waveform)) and not padded[len(waveform):].any()
    np.testing.assert_array_equal(padded[:len(waveform)], waveform)
    log_mel = log_mel_spectrogram(padded, p)
    assert log_mel.shape == (1 + (len(padded) - 400) // 160, 64)
    patches = frame_patches(log_mel, p)
    assert patches.shape == (p.num_windows(len(waveform)), 96, 64)
    for i in range(len(patches)):
        np.testing.assert_array_equal(patches[i], log_mel[50 * i: 50 * i + 96])


def test_silence_is_log_of_the_offset():
    log_mel = log_mel_spectrogram(np.zeros(16000, np.float32), YamnetParams())
    np.testing.assert_allclose(log_mel, np.log(0.001), rtol=1e-6)


def test_window_times():
    starts, ends = window_times(4, YamnetParams())
    np.testing.assert_allclose(starts, [0.0, 0.5, 1.0, 1.5])
    np.testing.assert_allclose(ends - starts, 0.96)
    starts, _ = window_times(1001, YamnetParams(patch_hop_seconds=0.48))
    assert starts[-1] == 480.0  # from sample counts: no accumulated rounding
