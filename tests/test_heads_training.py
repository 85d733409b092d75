"""Training heads: determinism, learning, the background, the configuration, a run on audio."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sed.errors import ParameterError
from sed.heads.clips import evaluate_clips
from sed.heads.config import TrainingConfig
from sed.heads.datasets import TrainingData, folder_dataset
from sed.heads.embeddings import EmbeddingCache
from sed.heads.head import BACKGROUND_LABEL, Head
from sed.heads.splits import validation_split
from sed.heads.training import cross_validate, fit_network, train_head
from tests.helpers import synthetic_windows


@pytest.mark.slow
def test_training_is_deterministic_and_learns(rng):
    data, windows = synthetic_windows(rng)
    train, validation = validation_split(data, 0.25, seed=0)
    config = TrainingConfig(seed=5, max_epochs=6, activation="softmax")
    first, fit = fit_network(windows, train, validation, data, config)
    second, _ = fit_network(windows, train, validation, data, config)
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert 1 <= fit.best_epoch <= fit.epochs <= 6
    head = Head(first, data.labels, {"head": {"activation": "softmax"}})
    assert evaluate_clips(head, windows, validation, data).accuracy == 1.0
    other, _ = fit_network(
        windows, train, validation, data, TrainingConfig(seed=6, max_epochs=1, activation="softmax")
    )
    assert not np.array_equal(first.get_weights()[0], other.get_weights()[0])


@pytest.mark.slow
def test_sigmoid_head_with_background_predicts_it(rng):
    data, windows = synthetic_windows(rng)
    data.clips.loc[data.clips["label"] == "L2", "label"] = BACKGROUND_LABEL
    data = TrainingData(data.clips, ("L0", "L1"))
    config = TrainingConfig(activation="sigmoid", seed=0, max_epochs=15, validation_fraction=0)
    network, _ = fit_network(windows, np.arange(24), np.arange(0), data, config)
    assert network.output_shape == (None, 2)  # no background output
    head = Head(network, ("L0", "L1"), {"head": {"activation": "sigmoid"}})
    assert evaluate_clips(head, windows, np.arange(24), data).accuracy == 1.0


def test_config_rejects_bad_values():
    for kwargs, message in [
        ({"activation": "relu"}, "unknown activation"),
        ({"validation_fraction": 0.9}, "validation fraction"),
        ({"max_epochs": 0}, "max epochs must be an integer >= 1"),
        ({"aggregation": "median"}, "unknown aggregation"),
        ({"mixtures": -1}, "mixtures must be"),
    ]:
        with pytest.raises(ParameterError, match=message):
            TrainingConfig(**kwargs)


@pytest.mark.slow
def test_train_head_on_audio_folder(training_folder, model, tmp_path, embedding_cache_dir):
    data = folder_dataset(training_folder)
    cache = EmbeddingCache(embedding_cache_dir)  # the session's: `sed train`'s tests fill it too
    config = TrainingConfig(seed=1, max_epochs=10, validation_fraction=0.25, mixtures=1)
    result = train_head(data, model, config=config, cache=cache)
    metadata = result.head.metadata
    assert (
        metadata["yamnet"]["hop_seconds"] == 0.5 and len(metadata["yamnet"]["weights_sha256"]) == 64
    )
    assert metadata["training"]["data"]["clips"] == 13
    assert metadata["training"]["mixture_windows"] > 0
    assert metadata["validation"]["clip_accuracy"] == 1.0
    assert result.head.labels == ("noise", "tone")  # sigmoid: background = all scores low
    result.head.save(tmp_path / "head")
    assert (
        json.loads((tmp_path / "head" / "head.json").read_text())["head"]["activation"] == "sigmoid"
    )
    crossed = cross_validate(data, model, 2, config=config, cache=cache)
    assert len(crossed.fold_accuracies) == 2 and crossed.mean >= 0.9
    assert crossed.pooled.confusion().to_numpy().sum() == 13
