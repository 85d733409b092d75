"""Frozen feature maps of YAMNet's layers over the continuous spectrogram: streamed block by block
they equal the whole-file computation, the receptive field is what the streaming assumes, and the
LiteRT conversion agrees with the Keras network."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from sed.errors import ParameterError
from sed.features import log_mel_spectrogram
from sed.model.feature_maps import (
    FeatureMapStream,
    FeatureSpec,
    feature_frames,
    frame_count,
    padded_frame_count,
    padded_sample_count,
    receptive_field,
)
from sed.model.network import layer_channels, layer_stride
from sed.segmenter import frame_features

TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def bells(bells_wav):
    waveform, rate = sf.read(bells_wav, dtype="float32")
    assert rate == 16000
    return waveform


def whole_file(waveform, model, spec):
    """The reference: the network over the whole padded spectrogram at once."""
    n = len(waveform)
    padded = np.pad(waveform, (0, padded_sample_count(n, spec, model.params) - n))
    log_mel = log_mel_spectrogram(padded, model.params)
    features = feature_frames(log_mel, model.feature_network(spec.layers), spec)
    return features[: frame_count(n, spec, model.params)]


def test_layer_strides_channels_and_receptive_field():
    assert [layer_stride(n) for n in (1, 5, 6, 7, 12, 13, 14)] == [2, 8, 8, 16, 16, 32, 32]
    assert [layer_channels(n) for n in (1, 6, 12, 14)] == [32, 256, 512, 1024]
    assert receptive_field(14) == (126, 188)
    spec = FeatureSpec()
    assert spec.layers == (6, 12, 14) and spec.width == 256 + 512 + 1024
    assert spec.grid_frames == 8 and spec.block_multiple == 32 and spec.hop_seconds() == 0.08
    assert spec.context_frames() == 160
    assert FeatureSpec((14, 6), log_mel=True).layers == (6, 14)
    for bad in [(0,), (15,), ()]:
        with pytest.raises(ParameterError, match="numbered 1 to 14"):
            FeatureSpec(bad)


def test_padding_covers_every_sample_on_the_deepest_stride():
    from sed.params import YamnetParams

    params, spec = YamnetParams(), FeatureSpec()
    for n in (1, 1279, 1280, 1281, 16000, 5 * 1280 * 4 + 7):
        frames = padded_frame_count(n, spec, params)
        assert frames % 32 == 0 and frames * 160 >= n
        assert padded_sample_count(n, spec, params) == (frames - 1) * 160 + 400
        assert frame_count(n, spec, params) == -(-n // 1280)


def test_outputs_reach_exactly_as_far_as_the_receptive_field(model, rng):
    """Change one log-mel frame: the outputs of layer 14 that change are exactly those whose
    receptive field (126 back, 188 forward) holds it. Checks the assumption streaming rests on,
    on the network itself."""
    spec = FeatureSpec((14,))
    network = model.feature_network(spec.layers)
    log_mel = rng.normal(-4.0, 2.0, (1024, 64)).astype(np.float32)
    changed_frame = 500
    other = log_mel.copy()
    other[changed_frame] += 3.0
    before, after = network(log_mel)[0], network(other)[0]
    moved = np.flatnonzero(np.abs(after - before).max(axis=1) > 0)
    back, forward = receptive_field(14)
    expected = [i for i in range(len(before)) if 32 * i - back <= changed_frame <= 32 * i + forward]
    assert moved.tolist() == expected


@pytest.mark.parametrize("block_samples", [12345, 7919, 1_000_000])
@pytest.mark.parametrize("core_frames", [64, 2048])
def test_streamed_features_equal_whole_file_features(model, bells, block_samples, core_frames):
    spec = FeatureSpec()
    reference = whole_file(bells, model, spec)
    blocks = (bells[i : i + block_samples] for i in range(0, len(bells), block_samples))
    totals_features = np.concatenate(list(_features(blocks, model, spec, core_frames=core_frames)))[
        : len(reference)
    ]
    assert totals_features.shape == reference.shape == (750, spec.width)
    assert np.abs(totals_features - reference).max() <= TOLERANCE


def _features(blocks, model, spec, core_frames):
    from sed.segmenter import feature_stream

    return feature_stream(blocks, model, spec, core_frames=core_frames)


@pytest.mark.parametrize("seconds", [0.01, 0.5, 3.3])
def test_short_recordings_give_one_frame_per_started_hop(model, bells, seconds):
    spec = FeatureSpec(log_mel=True)
    waveform = bells[: int(seconds * 16000)]
    streamed = frame_features([waveform], model, spec)
    reference = whole_file(waveform, model, spec)
    assert len(streamed) == -(-len(waveform) // 1280) and streamed.hop_seconds == 0.08
    assert np.abs(streamed.features - reference).max() <= TOLERANCE
    assert streamed.features.shape[1] == spec.width == 1792 + 64


def test_stream_rejects_a_core_off_the_stride_and_a_ragged_end(model):
    spec = FeatureSpec()
    network = model.feature_network(spec.layers)
    with pytest.raises(ParameterError, match="multiple of 32"):
        FeatureMapStream(network, spec, core_frames=100)
    stream = FeatureMapStream(network, spec, core_frames=64)
    stream.push(np.zeros((40, 64), np.float32))
    with pytest.raises(ParameterError, match="multiple of 32 log-mel frames, got 40"):
        stream.finish()


def test_litert_feature_maps_agree_with_the_keras_network(model, tf_model, bells):
    """The LiteRT conversion (batch norm folded) against the Keras rebuild with TensorFlow's
    own features: the same tolerance as the embeddings' (1e-3 absolute on values up to ~10)."""
    spec = FeatureSpec()
    litert = whole_file(bells[: 10 * 16000], model, spec)
    keras = whole_file(bells[: 10 * 16000], tf_model, spec)
    assert np.abs(litert - keras).max() < 1e-3
    assert np.abs(litert).max() > 1.0  # not trivially small values
