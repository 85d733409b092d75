"""YAMNet's framing constants: derived sizes, the reference padding rule, which hops are allowed."""

from __future__ import annotations

import pytest

from sed.errors import ParameterError
from sed.params import YamnetParams, check_hop_seconds


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


@pytest.mark.parametrize(
    "n_samples,windows_048,windows_050",
    [
        (1, 1, 1),
        (15600, 1, 1),
        (15601, 2, 2),
        (23280, 2, 2),
        (23281, 3, 2),
        (23600, 3, 2),
        (23601, 3, 3),
        (48000, 6, 6),
    ],
)
def test_window_count_is_the_reference_padding_rule(n_samples, windows_048, windows_050):
    assert YamnetParams(patch_hop_seconds=0.48).num_windows(n_samples) == windows_048
    assert YamnetParams().num_windows(n_samples) == windows_050


@pytest.mark.parametrize("hop", [0.01, 0.1, 0.48, 0.5, 0.96])
def test_hops_up_to_one_window_are_allowed(hop):
    assert check_hop_seconds(hop) == hop
    assert YamnetParams(patch_hop_seconds=hop).patch_hop_seconds == hop


@pytest.mark.parametrize(
    "hop,message",
    [
        (0.97, "at most the window length"),
        (3, "at most the window length"),
        (0.005, "a multiple of 0.01"),
        (0.333, "a multiple of 0.01"),
        (0, "positive number"),
        (True, "positive number"),
        ("0.5", "positive number"),
    ],
)
def test_check_hop_seconds_says_what_is_wrong(hop, message):
    with pytest.raises(ParameterError, match=message):
        check_hop_seconds(hop)


def test_frame_centres():
    p = YamnetParams()
    assert p.stft_frame_centre_seconds == pytest.approx(0.0125)
    assert p.padded_length(1) == p.min_samples == 15600
