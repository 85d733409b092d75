"""Training data: data sets from class folders and CSV files, and their errors."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from sed.errors import AnnotationError, ParameterError
from sed.heads.datasets import csv_dataset, folder_dataset, load_dataset, parse_where
from sed.heads.head import BACKGROUND_LABEL


def test_folder_dataset(training_folder):
    data = folder_dataset(training_folder)
    assert data.classes == ("noise", "tone")
    assert data.labels == ("noise", "tone", BACKGROUND_LABEL)
    assert data.clips["label"].value_counts().to_dict() == {
        "noise": 6,
        "tone": 6,
        BACKGROUND_LABEL: 1,
    }
    assert data.clips["group"].nunique() == 13
    only = folder_dataset(training_folder, classes=["tone"])
    assert only.labels == ("tone", BACKGROUND_LABEL)
    summary = data.summary()
    assert summary["per_label"]["tone"] == {"clips": 6, "groups": 6}


def test_folder_dataset_errors(training_folder, tmp_path):
    with pytest.raises(
        ParameterError,
        match=r"unknown class 'cat': not a sub-folder \(there are "
        r"'noise', 'tone'\)",
    ):
        folder_dataset(training_folder, classes=["cat"])
    (training_folder / "empty").mkdir()
    with pytest.raises(ParameterError, match=r"empty: class folder has no audio files"):
        folder_dataset(training_folder)
    with pytest.raises(ParameterError, match="need at least two labels"):
        _single_class(tmp_path)
    with pytest.raises(ParameterError, match="training folder does not exist"):
        folder_dataset(tmp_path / "nowhere")
    with pytest.raises(ParameterError, match="--group-column apply to a CSV file, not a folder"):
        load_dataset(training_folder, group_column="src")


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
    path = tmp_path / "meta" / "clips.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return tmp_path / "meta" / "clips.csv"


def test_csv_dataset_esc50_layout(tmp_path):
    path = write_csv(
        tmp_path,
        "filename,fold,category,src_file\n"
        "a.wav,1,dog,s1\nb.wav,1,dog,s1\nc.wav,2,cat,s2\nd.wav,1,cow,s3\n",
    )
    data = csv_dataset(path, label_column="category", group_column="src_file")
    assert data.classes == ("cat", "cow", "dog")
    assert data.clips["path"].tolist()[0] == str(tmp_path / "audio" / "a.wav")
    assert data.clips["group"].tolist() == ["s1", "s1", "s2", "s3"]
    data = csv_dataset(path, label_column="category", where={"fold": "1"}, classes=["dog", "cow"])
    assert data.classes == ("dog", "cow") and len(data.clips) == 3
    assert data.clips["group"].nunique() == 3  # without a group column, each clip is a group
    assert parse_where(["fold=1", " split = train "]) == {"fold": "1", "split": "train"}


@pytest.mark.parametrize(
    "text,error,message",
    [
        (
            "filename,category\na.wav,dog\nb.wav,\n",
            AnnotationError,
            "clips.csv: line 3: empty category",
        ),
        (
            "file,category\na.wav,dog\n",
            AnnotationError,
            "clips.csv: no column 'filename'; the columns are 'file', 'category'",
        ),
        (
            'filename,category\n"a.wav,dog\n',
            AnnotationError,
            r"clips.csv: line 2: not a readable CSV file \(unexpected end of data\)",
        ),
        ("", AnnotationError, "clips.csv: file is empty: expected a header line"),
        ("filename,category\n", AnnotationError, "clips.csv: holds no clips: a header line only"),
        ("filename,category\na.wav,dog,x\n", AnnotationError, "line 2: 3 fields, more than"),
        ("filename,filename\na.wav,dog\n", AnnotationError, "line 1: column 'filename' appears"),
        (
            b"filename,category\na.wav,d\xe9\n",
            AnnotationError,
            r"line 2: not UTF-8 text \(byte 0xe9\)",
        ),
        ("filename,category\na.wav,dog\nb.wav,cat\n", ParameterError, "unknown class 'cow'"),
        (
            "filename,category\na.wav,dog\nzz.wav,cat\ny.wav,cat\n",
            AnnotationError,
            r"clips.csv: line 3: audio file 'zz.wav' not found in .* \(and 1 more\); "
            "pass the audio folder",
        ),
    ],
)
def test_csv_dataset_errors(tmp_path, text, error, message):
    path = write_csv(tmp_path, text)
    with pytest.raises(error, match=message) as caught:
        csv_dataset(
            path, label_column="category", classes=["dog", "cow"] if "cow" in message else None
        )
    assert "\n" not in str(caught.value)


def test_csv_where_without_match(tmp_path):
    path = write_csv(tmp_path, "filename,category,fold\na.wav,dog,1\nb.wav,cat,1\n")
    with pytest.raises(ParameterError, match="no row has fold = '7'"):
        csv_dataset(path, label_column="category", where={"fold": "7"})
    with pytest.raises(ParameterError, match="expected COLUMN=VALUE"):
        parse_where(["fold"])
