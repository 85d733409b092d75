"""Training heads: data sets from folders and CSV files, splits, training, reports."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from sed.errors import AnnotationError, AudioError, ParameterError
from sed.heads import BACKGROUND_LABEL, Head
from sed.mixing import mix, rms, window_labels
from sed.training import (Evaluation, TrainingConfig, TrainingData, Windows, cross_validate,
                          csv_dataset, fit_network, folder_dataset, grouped_folds, load_dataset,
                          parse_where, train_head, usable_windows, validation_split, write_report)


def write_clip(path, kind, rng, seconds=1.2, rate=16000):
    """A tone (660 Hz) or noise clip with a seeded random level and length."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = int(rate * seconds * rng.uniform(0.8, 1.2))
    t = np.arange(n) / rate
    signal = np.sin(2 * np.pi * 660 * t) if kind == "tone" else rng.standard_normal(n) / 3
    sf.write(path, (rng.uniform(0.1, 0.5) * signal).astype(np.float32), rate)


@pytest.fixture
def folder(tmp_path, rng):
    """tone/ and noise/ with 6 clips each, and a _background/ of near silence."""
    for kind in ("tone", "noise"):
        for i in range(6):
            write_clip(tmp_path / "data" / kind / f"{kind}{i}.wav", kind, rng)
    (tmp_path / "data" / "_background").mkdir()
    sf.write(tmp_path / "data" / "_background" / "quiet.flac",
             (1e-3 * rng.standard_normal(48000)).astype(np.float32), 16000)
    return tmp_path / "data"


def synthetic_windows(rng, n_clips=24, n_labels=3, per_clip=4, separation=2.0):
    """Windows of clips whose embeddings are noisy copies of a per-label centre."""
    centres = rng.random((n_labels, 1024)) * separation
    labels = np.arange(n_clips) % n_labels
    clip = np.repeat(np.arange(n_clips), per_clip)
    target = labels[clip]
    embeddings = (centres[target] + rng.random((len(clip), 1024))).astype(np.float32)
    data = TrainingData(pd.DataFrame({"path": [f"c{i}.wav" for i in range(n_clips)],
                                      "label": [f"L{k}" for k in labels],
                                      "group": [f"g{i // 2}" for i in range(n_clips)]}),
                        tuple(f"L{k}" for k in range(n_labels)))
    return data, Windows(embeddings, clip, target, np.ones(len(clip), bool))


# ---------------------------------------------------------------------------- data sets

def test_folder_dataset(folder):
    data = folder_dataset(folder)
    assert data.classes == ("noise", "tone")
    assert data.labels == ("noise", "tone", BACKGROUND_LABEL)
    assert data.clips["label"].value_counts().to_dict() == {"noise": 6, "tone": 6,
                                                            BACKGROUND_LABEL: 1}
    assert data.clips["group"].nunique() == 13
    only = folder_dataset(folder, classes=["tone"])
    assert only.labels == ("tone", BACKGROUND_LABEL)
    summary = data.summary()
    assert summary["per_label"]["tone"] == {"clips": 6, "groups": 6}


def test_folder_dataset_errors(folder, tmp_path):
    with pytest.raises(ParameterError, match=r"unknown class 'cat': not a sub-folder \(there are "
                                             r"'noise', 'tone'\)"):
        folder_dataset(folder, classes=["cat"])
    (folder / "empty").mkdir()
    with pytest.raises(ParameterError, match=r"empty: class folder has no audio files"):
        folder_dataset(folder)
    with pytest.raises(ParameterError, match="need at least two labels"):
        _single_class(tmp_path)
    with pytest.raises(ParameterError, match="training folder does not exist"):
        folder_dataset(tmp_path / "nowhere")
    with pytest.raises(ParameterError, match="--group-column apply to a CSV file, not a folder"):
        load_dataset(folder, group_column="src")


def _single_class(tmp_path):
    (tmp_path / "one" / "a").mkdir(parents=True)
    sf.write(tmp_path / "one" / "a" / "x.wav", np.zeros(1600, np.float32), 16000)
    return folder_dataset(tmp_path / "one")


def write_csv(tmp_path, text, clips=("a.wav", "b.wav", "c.wav", "d.wav")):
    audio = tmp_path / "audio"
    audio.mkdir(exist_ok=True)
    for name in clips:
        sf.write(audio / name, np.zeros(1600, np.float32), 16000)
    (tmp_path / "meta").mkdir(exist_ok=True)
    (tmp_path / "meta" / "clips.csv").write_text(text)
    return tmp_path / "meta" / "clips.csv"


def test_csv_dataset_esc50_layout(tmp_path):
    path = write_csv(tmp_path, "filename,fold,category,src_file\n"
                               "a.wav,1,dog,s1\nb.wav,1,dog,s1\nc.wav,2,cat,s2\nd.wav,1,cow,s3\n")
    data = csv_dataset(path, label_column="category", group_column="src_file")
    assert data.classes == ("cat", "cow", "dog")
    assert data.clips["path"].tolist()[0] == str(tmp_path / "audio" / "a.wav")
    assert data.clips["group"].tolist() == ["s1", "s1", "s2", "s3"]
    data = csv_dataset(path, label_column="category", where={"fold": "1"}, classes=["dog", "cow"])
    assert data.classes == ("dog", "cow") and len(data.clips) == 3
    assert data.clips["group"].nunique() == 3  # without a group column, each clip is a group
    assert parse_where(["fold=1", " split = train "]) == {"fold": "1", "split": "train"}


@pytest.mark.parametrize("text,error,message", [
    ("filename,category\na.wav,dog\nb.wav,\n", AnnotationError, "clips.csv: line 3: empty category"),
    ("file,category\na.wav,dog\n", AnnotationError,
     "clips.csv: no column 'filename'; the columns are 'file', 'category'"),
    ('filename,category\n"a.wav,dog\n', AnnotationError, "clips.csv: not a readable CSV file"),
    ("", AnnotationError, "clips.csv: not a readable CSV file"),
    ("filename,category\na.wav,dog\nb.wav,cat\n", ParameterError, "unknown class 'cow'"),
    ("filename,category\na.wav,dog\nzz.wav,cat\ny.wav,cat\n", AudioError,
     r"zz.wav: audio file listed in clips.csv not found \(and 1 more\); pass the audio folder"),
])
def test_csv_dataset_errors(tmp_path, text, error, message):
    path = write_csv(tmp_path, text)
    with pytest.raises(error, match=message) as caught:
        csv_dataset(path, label_column="category", classes=["dog", "cow"]
                    if "cow" in message else None)
    assert "\n" not in str(caught.value)


def test_csv_where_without_match(tmp_path):
    path = write_csv(tmp_path, "filename,category,fold\na.wav,dog,1\nb.wav,cat,1\n")
    with pytest.raises(ParameterError, match="no row has fold = '7'"):
        csv_dataset(path, label_column="category", where={"fold": "7"})
    with pytest.raises(ParameterError, match="expected COLUMN=VALUE"):
        parse_where(["fold"])


# ---------------------------------------------------------------------------- windows, splits

def test_usable_windows():
    levels = np.array([-20, -30, -45, -90, -200], np.float32)
    assert usable_windows(levels).all()
    assert usable_windows(levels, min_level_dbfs=-80).tolist() == [1, 1, 1, 0, 0]
    assert usable_windows(levels, -80, max_db_below_peak=20).tolist() == [1, 1, 0, 0, 0]
    # The loudest window is kept even below the floor: a clip always has a window.
    assert usable_windows(np.array([-200.0, -200.0]), -80).tolist() == [1, 0]


def test_grouped_folds_keep_groups_apart(rng):
    data, _ = synthetic_windows(rng)
    folds = grouped_folds(data, 4, seed=1)
    assert sorted(np.concatenate(folds).tolist()) == list(range(24))
    groups = [set(data.clips["group"].iloc[f]) for f in folds]
    assert all(not (a & b) for i, a in enumerate(groups) for b in groups[i + 1:])
    assert [f.tolist() for f in folds] == [f.tolist() for f in grouped_folds(data, 4, seed=1)]
    train, validation = validation_split(data, 0.25, seed=0)
    assert not set(data.clips["group"].iloc[train]) & set(data.clips["group"].iloc[validation])
    assert len(validation) == 6
    with pytest.raises(ParameterError, match="cannot make 13 folds of 12 groups"):
        grouped_folds(data, 13)


def test_mixing_ebr_and_window_labels(rng):
    event = rng.standard_normal(8000)
    background = 0.1 * rng.standard_normal(32000)
    mixture = mix(event, background, onset=16000, ebr_db=-6.0)
    added = mixture[16000:24000] - background[16000:24000]
    assert 20 * np.log10(rms(added) / rms(background[16000:24000])) == pytest.approx(-6, abs=0.01)
    np.testing.assert_allclose(mixture[:16000], background[:16000], atol=1e-7)
    starts = np.arange(5) * 0.5
    # A 0.5 s event at 1.0-1.5 s: windows 1 and 2 hold it whole, window 0 not at all.
    assert window_labels(starts, starts + 0.96, 1.0, 1.5).tolist() == [0, 1, 1, 0, 0]
    assert window_labels(starts, starts + 0.96, 0.9, 1.5).tolist() == [-1, 1, 1, 0, 0]


# ---------------------------------------------------------------------------- training

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
    from sed.training import evaluate

    assert evaluate(head, windows, validation, data).accuracy == 1.0
    other, _ = fit_network(windows, train, validation, data,
                           TrainingConfig(seed=6, max_epochs=1, activation="softmax"))
    assert not np.array_equal(first.get_weights()[0], other.get_weights()[0])


def test_sigmoid_head_with_background_predicts_it(rng):
    data, windows = synthetic_windows(rng)
    data.clips.loc[data.clips["label"] == "L2", "label"] = BACKGROUND_LABEL
    data = TrainingData(data.clips, ("L0", "L1"))
    config = TrainingConfig(activation="sigmoid", seed=0, max_epochs=15, validation_fraction=0)
    network, _ = fit_network(windows, np.arange(24), np.arange(0), data, config)
    assert network.output_shape == (None, 2)  # no background output
    head = Head(network, ("L0", "L1"), {"head": {"activation": "sigmoid"}})
    from sed.training import evaluate

    assert evaluate(head, windows, np.arange(24), data).accuracy == 1.0


def test_config_rejects_bad_values():
    for kwargs, message in [({"activation": "relu"}, "unknown activation"),
                            ({"validation_fraction": 0.9}, "validation fraction"),
                            ({"max_epochs": 0}, "max epochs must be an integer >= 1"),
                            ({"aggregation": "median"}, "unknown aggregation"),
                            ({"mixtures": -1}, "mixtures must be")]:
        with pytest.raises(ParameterError, match=message):
            TrainingConfig(**kwargs)


def test_evaluation_tables_and_report(tmp_path):
    evaluation = Evaluation(("a", "b", "c"), np.array([0, 0, 1, 1, 2]), np.array([0, 1, 1, 1, 0]))
    assert evaluation.accuracy == pytest.approx(0.6)
    assert evaluation.confusion().to_numpy().tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert evaluation.per_class()["accuracy"].tolist() == [0.5, 1.0, 0.0]
    paths = write_report(tmp_path, evaluation, prefix="cv_")
    assert [p.split("/")[-1] for p in paths] == ["cv_confusion_matrix.csv", "cv_confusion_matrix.png",
                                                 "cv_per_class.csv"]
    table = pd.read_csv(paths[0], index_col=0)
    assert table.index.name == "true" and table.loc["c", "a"] == 1
    assert open(paths[1], "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_train_head_on_audio_folder(folder, model, tmp_path):
    from sed.embeddings import EmbeddingCache

    data = folder_dataset(folder)
    cache = EmbeddingCache(tmp_path / "cache")
    config = TrainingConfig(seed=1, max_epochs=10, validation_fraction=0.25, mixtures=1)
    result = train_head(data, model, config=config, cache=cache)
    metadata = result.head.metadata
    assert metadata["yamnet"]["hop_seconds"] == 0.5 and len(metadata["yamnet"]["weights_sha256"]) == 64
    assert metadata["training"]["data"]["clips"] == 13
    assert metadata["training"]["mixture_windows"] > 0
    assert metadata["validation"]["clip_accuracy"] == 1.0
    assert result.head.labels == ("noise", "tone")  # sigmoid: background = all scores low
    result.head.save(tmp_path / "head")
    assert json.loads((tmp_path / "head" / "head.json").read_text())["head"]["activation"] == "sigmoid"
    crossed = cross_validate(data, model, 2, config=config, cache=cache)
    assert len(crossed.fold_accuracies) == 2 and crossed.mean >= 0.9
    assert crossed.pooled.confusion().to_numpy().sum() == 13


def test_energy_without_codecarbon(monkeypatch):
    import sys

    from sed.training import measure_energy

    monkeypatch.setitem(sys.modules, "codecarbon", None)  # as if not installed
    with measure_energy() as energy:
        pass
    assert energy == {"kwh": None, "method": "not measured: codecarbon is not installed"}
