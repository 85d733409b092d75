"""Frame-level heads: trained on small synthetic data (tone and noise bursts with known onsets)
they place onsets and offsets within one frame; training is deterministic with a seed; a head
round-trips through save and load; either kind of head loads through one function.

The trained head is the session's (``frame_head`` in tests/conftest.py, trained once by
``sed train --frame-level``); the determinism test trains small networks of its own."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

import sed
from sed.errors import ModelError
from sed.heads.config import FrameTrainingConfig
from sed.heads.frame_features import FeatureCache
from sed.heads.frame_head import FrameHead
from sed.heads.frame_training import fit_frame_network, frame_f1
from sed.heads.head import Head
from sed.heads.strong import frame_targets, strong_dataset, training_sequences
from sed.postprocessing import PostProcessing
from tests.helpers import recording_with_events, write_bursts

#: Small and quick, for the determinism test: a few seconds per epoch on two cores.
SMALL = dict(
    soundscapes=48,
    sequence_seconds=4.0,
    conv_filters=16,
    gru_units=8,
    max_epochs=25,
    patience=5,
    ebr_db=(0.0, 12.0),
    gain_db=(-12.0, 0.0),
)


@pytest.mark.slow
def test_a_frame_head_places_onsets_and_offsets_within_one_frame(frame_head, model, rng):
    head = sed.load_head(frame_head.path, model)
    assert head.labels == ("hiss", "tone") and head.hop_seconds == 0.08
    assert head.metadata["validation"]["frame_f1"] > 0.9  # train_frame_head's validation
    waveform, events = recording_with_events(rng)
    detection = sed.detect(waveform, 16000, model=model, head=head, postprocessing=PostProcessing())
    found = detection.events
    assert len(found) == len(events), found
    # The labels' own boundaries on the frame grid: the frames an event covers at least half of.
    active = frame_targets(events, 150, 0.08, head.labels).max(axis=1)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], active, [0]])))
    on_grid = list(zip(edges[::2] * 0.08, edges[1::2] * 0.08))
    for (onset, offset, label), row, (grid_on, grid_off) in zip(
        events, found.itertuples(), on_grid
    ):
        assert row.event_label == label
        assert abs(row.onset - grid_on) <= 0.08 + 1e-9, (row, onset)
        assert abs(row.offset - grid_off) <= 0.08 + 1e-9, (row, offset)
    scores = detection.score_grid
    assert scores.frames_tile and scores.labels == ("hiss", "tone")
    assert len(scores) == 150 and scores.scores.shape == (150, 2)


@pytest.mark.slow
def test_training_is_deterministic_with_a_seed(burst_clips, model, tmp_path):
    data = strong_dataset(burst_clips)
    config = FrameTrainingConfig(seed=4, **{**SMALL, "max_epochs": 2, "soundscapes": 8})
    settings_cache = FeatureCache(tmp_path / "features")
    from sed.heads.frame_training import sequence_settings

    train, validation = training_sequences(
        data, model, sequence_settings(config), cache=settings_cache
    )
    again = training_sequences(data, model, sequence_settings(config), cache=settings_cache)
    np.testing.assert_array_equal(train.features, again[0].features)
    np.testing.assert_array_equal(train.targets, again[0].targets)
    first, fit = fit_frame_network(train, validation, 2, config)
    second, _ = fit_frame_network(train, validation, 2, config)
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert fit.epochs == 2
    # Another seed, all else equal (two epochs too), gives other weights.
    other, _ = fit_frame_network(train, validation, 2, dataclasses.replace(config, seed=5))
    assert not np.array_equal(first.get_weights()[2], other.get_weights()[2])


@pytest.mark.slow
def test_save_load_round_trip_and_one_loader_for_both_kinds(frame_head, tmp_path, rng, model):
    head = FrameHead.load(frame_head.path, runtime="keras")  # the network, as training left it
    head.save(tmp_path / "frame")
    metadata = json.loads((tmp_path / "frame" / "head.json").read_text())
    assert metadata["kind"] == "frame" and metadata["features"]["layers"] == [6, 12, 14]
    # 10 s sequences (the default) of 0.08 s frames, a fifth of them context at each end.
    assert metadata["sequence"] == {"frames": 125, "context_frames": 25}
    assert metadata["yamnet"]["weights_sha256"] == model.weights_sha256
    # LiteRT runs the converted network (no TensorFlow needed); Keras the saved one.
    loaded = sed.load_head(tmp_path / "frame", model)
    assert isinstance(loaded, FrameHead) and loaded.labels == head.labels
    assert loaded.litert is not None and loaded.network is None
    keras = FrameHead.load(tmp_path / "frame", runtime="keras")
    features = rng.normal(size=(3, 50, head.feature_spec.width)).astype(np.float32)
    reference = head.predict_sequences(features)
    np.testing.assert_array_equal(keras.predict_sequences(features), reference)
    np.testing.assert_allclose(loaded.predict_sequences(features), reference, atol=1e-4)
    # A sequence of another length (a recording shorter than one sequence).
    short = features[:, :17]
    np.testing.assert_allclose(
        loaded.predict_sequences(short), head.predict_sequences(short), atol=1e-4
    )
    assert loaded.predict_sequences(short).shape == (3, 17, 2)
    with pytest.raises(ModelError, match="a frame-level head, not a window head"):
        Head.load(tmp_path / "frame")
    with pytest.raises(ModelError, match="frame head expects feature sequences"):
        loaded.predict_sequences(features[..., :10])

    metadata["yamnet"]["weights_sha256"] = "0" * 64
    (tmp_path / "frame" / "head.json").write_text(json.dumps(metadata))
    with pytest.raises(ModelError, match="feature maps of other YAMNet weights"):
        sed.load_head(tmp_path / "frame", model)
    del metadata["sequence"]
    (tmp_path / "frame" / "head.json").write_text(json.dumps(metadata))
    with pytest.raises(ModelError, match="lacks its 'sequence' entry"):
        FrameHead.load(tmp_path / "frame")


def test_frame_f1_counts_frames_and_leaves_out_ignored_ones():
    scores = np.array([[0.9, 0.1], [0.8, 0.7], [0.2, 0.6], [0.9, 0.9]])
    targets = np.array([[1, 0], [0, 1], [0, 1], [-1, -1]], np.float32)
    figures = frame_f1(scores, targets, ["a", "b"])
    # a: tp 1, fp 1; b: tp 2. Micro F1 = 2*3 / (2*3 + 1) = 0.857.
    assert figures["frame_f1"] == pytest.approx(6 / 7, abs=1e-4)
    assert figures["per_class_frame_f1"] == {"a": pytest.approx(2 / 3, abs=1e-4), "b": 1.0}
    assert figures["frames"] == 3


def test_a_heads_own_postprocessing_is_its_default():
    from sed.errors import ParameterError
    from sed.heads.head import stored_postprocessing as head_postprocessing

    assert head_postprocessing({"kind": "frame"}) is None and head_postprocessing(None) is None
    stored = {"postprocessing": {"threshold_on": 0.3, "median_filter_seconds": 0.24}}
    assert head_postprocessing(stored) == PostProcessing(
        threshold_on=0.3, median_filter_seconds=0.24
    )
    with pytest.raises(ParameterError, match="threshold_on must be in"):
        head_postprocessing({"postprocessing": {"threshold_on": 2}})


def _three_rooms(root):
    """The burst clips over three background recordings of different lengths (30, 20, 25 s),
    so that each side of the split can be told by the lengths it was given."""
    from tests.helpers import write

    folder = write_bursts(root)
    rng = np.random.default_rng(3)
    write(folder / "_background" / "hall.wav", 0.02 * rng.standard_normal(16000 * 20))
    write(folder / "_background" / "yard.wav", 0.005 * rng.standard_normal(16000 * 25))
    return folder


def test_validation_holds_out_whole_background_recordings_unheard(model, tmp_path, monkeypatch):
    import sed.heads.strong as strong
    from sed.heads.frame_training import sequence_settings

    given = []
    synthesise = strong.synthesise

    def recording(clips, backgrounds, count, rng, **options):
        given.append((count, sorted(len(b) for b in backgrounds)))
        return synthesise(clips, backgrounds, count, rng, **options)

    monkeypatch.setattr(strong, "synthesise", recording)
    data = strong_dataset(_three_rooms(tmp_path / "clips"))
    config = FrameTrainingConfig(soundscapes=10, sequence_seconds=4.0)
    split = strong.training_split(
        data, model, sequence_settings(config), cache=FeatureCache(tmp_path / "features")
    )
    # One of the three recordings (a fifth of them, at least one) is held out whole.
    assert len(split.unheard_backgrounds) == 1 and split.notes == []
    (train_count, train_lengths), (heard_count, heard_lengths), (unheard_count, unheard) = given
    assert (train_count, heard_count, unheard_count) == (10, 2, 2)
    assert len(train_lengths) == len(heard_lengths) == 2 and len(unheard) == 1
    # Training and heard validation share the two heard rooms (four fifths / the last fifth of
    # each); the unheard room, whole, is in neither.
    whole = sorted(t + h for t, h in zip(train_lengths, heard_lengths))
    assert unheard[0] not in whole and sorted([*whole, unheard[0]]) == [
        16000 * s for s in (20, 25, 30)
    ]
    mask = split.validation.unheard_mask
    assert mask.sum() == 2 and (~mask).sum() == 2 and not split.train.unheard_mask.any()
    assert [item.name for item in split.unheard_audio] == [
        "unheard soundscape 0",
        "unheard soundscape 1",
    ]
    assert all(len(item.events) >= 1 for item in split.unheard_audio)


def test_one_background_recording_cannot_give_unheard_validation(model, burst_clips, tmp_path):
    from sed.heads.frame_training import sequence_settings
    from sed.heads.strong import training_split

    config = FrameTrainingConfig(soundscapes=10, sequence_seconds=4.0)
    split = training_split(
        strong_dataset(burst_clips),
        model,
        sequence_settings(config),
        cache=FeatureCache(tmp_path / "features"),
    )
    assert not split.validation.unheard_mask.any() and split.unheard_audio == []
    assert split.notes == [
        "one background recording: unheard validation was impossible, the validation "
        "soundscapes are over the last part of it, heard in training"
    ]
