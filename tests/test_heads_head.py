"""Heads: save/load round trip, compatibility with YAMNet settings, scores for detection."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sed.errors import ModelError
from sed.heads.head import BACKGROUND_LABEL, Head, build_head_network
from sed.params import YamnetParams
from sed.scores import ScoreGrid

METADATA = {
    "yamnet": {
        "sample_rate": 16000,
        "hop_seconds": 0.5,
        "patch_window_seconds": 0.96,
        "weights_sha256": "ab" * 32,
    },
    "head": {"activation": "softmax"},
}


@pytest.fixture
def head():
    import keras

    keras.utils.set_random_seed(3)
    network = build_head_network(3, activation="softmax")
    return Head(network, ("dog", "cat", BACKGROUND_LABEL), dict(METADATA))


def test_network_is_the_tutorial_head(head):
    dense = [layer for layer in head.network.layers if layer.weights]
    assert [layer.units for layer in dense] == [512, 3]
    assert dense[0].activation.__name__ == "relu"
    assert head.network.input_shape == (None, 1024)


def test_predict_gives_probabilities(head, rng):
    scores = head.predict(rng.random((7, 1024), dtype=np.float32))
    assert scores.shape == (7, 3) and scores.dtype == np.float32
    np.testing.assert_allclose(scores.sum(axis=1), 1, atol=1e-5)
    assert head.predict(np.zeros((0, 1024))).shape == (0, 3)
    with pytest.raises(ModelError, match=r"shape \(n, 1024\)"):
        head.predict(np.zeros((2, 521)))


def test_save_load_round_trip(head, tmp_path, rng):
    head.save(tmp_path / "h")
    assert sorted(p.name for p in (tmp_path / "h").iterdir()) == [
        "head.json",
        "labels.txt",
        "model.keras",
    ]
    assert (tmp_path / "h" / "labels.txt").read_text() == "dog\ncat\n_background\n"
    metadata = json.loads((tmp_path / "h" / "head.json").read_text())
    assert metadata["format"] == 1 and metadata["yamnet"]["hop_seconds"] == 0.5
    loaded = Head.load(tmp_path / "h")
    assert loaded.labels == head.labels and loaded.event_labels == ("dog", "cat")
    assert loaded.directory == str(tmp_path / "h")
    x = rng.random((5, 1024), dtype=np.float32)
    np.testing.assert_allclose(loaded.predict(x), head.predict(x), atol=1e-6)
    # No optimizer state: the file holds the ~530k weights (2.1 MB), not three times as much.
    assert (tmp_path / "h" / "model.keras").stat().st_size < 2.5e6


def test_window_scores_drop_the_background(head, rng):
    embeddings = rng.random((4, 1024), dtype=np.float32)
    starts = np.arange(4) * 0.5
    raw = ScoreGrid(
        "a.wav",
        starts,
        starts + 0.96,
        np.zeros((4, 521), np.float32),
        ("x",) * 521,
        2.46,
        embeddings,
    )
    scored = head.window_scores(raw)
    assert scored.labels == ("dog", "cat") and scored.scores.shape == (4, 2)
    np.testing.assert_allclose(scored.scores, head.predict(embeddings)[:, :2], atol=1e-6)
    np.testing.assert_array_equal(scored.starts, starts)
    with pytest.raises(ModelError, match="keep_embeddings=True"):
        head.window_scores(ScoreGrid("a.wav", starts, starts + 0.96, raw.scores, raw.labels, 2.46))


def test_other_settings_are_refused(head, tmp_path):
    head.save(tmp_path / "h")
    loaded = Head.load(tmp_path / "h")
    loaded.check_settings(YamnetParams(), "ab" * 32)
    with pytest.raises(
        ModelError,
        match=r"h: head was trained with hop seconds 0.5, not 0.48 "
        r"\(use --hop 0.5\)",
    ):
        loaded.check_settings(YamnetParams(patch_hop_seconds=0.48))
    with pytest.raises(ModelError, match="sample rate 16000, not 8000"):
        loaded.check_settings(YamnetParams(sample_rate=8000))
    with pytest.raises(ModelError, match="other YAMNet weights"):
        loaded.check_settings(YamnetParams(), "cd" * 32)


@pytest.mark.parametrize(
    "damage,message",
    [
        (lambda d: (d / "labels.txt").unlink(), "labels.txt is missing"),
        (lambda d: (d / "labels.txt").write_text("dog\n"), "1 labels but the model has 3 outputs"),
        (lambda d: (d / "head.json").write_text("{"), "head.json: line 1: not valid JSON"),
        (lambda d: (d / "labels.txt").write_bytes(b"dog\n\xff"), "labels.txt: line 2: not UTF-8"),
        (lambda d: (d / "head.json").write_text("{}"), "not a sed head description"),
        (lambda d: (d / "model.keras").write_bytes(b"junk"), "model.keras is not a Keras model"),
    ],
)
def test_damaged_head_directories(head, tmp_path, damage, message):
    head.save(tmp_path / "h")
    damage(tmp_path / "h")
    with pytest.raises(ModelError, match=message):
        Head.load(tmp_path / "h")
    with pytest.raises(ModelError, match="no such head directory"):
        Head.load(tmp_path / "missing")
