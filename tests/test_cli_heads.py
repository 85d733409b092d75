"""The head commands as users run them: `sed embed`, `sed train`, `--head` in detect and tag."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sed.cli import cli
from tests.helpers import write_clip
from tests.test_cli import run_sed


@pytest.fixture
def cache_env(tmp_path, monkeypatch):
    """A cache folder of the test's own, for the test that checks what is written there. The
    other tests use the session's (tests/conftest.py), which has the same clips' embeddings."""
    monkeypatch.setenv("SED_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


@pytest.mark.slow
def test_embed_writes_npz_and_parquet(training_folder, tmp_path, cache_env):
    output = invoke(
        "embed",
        training_folder / "tone",
        training_folder / "noise" / "noise0.wav",
        "-o",
        tmp_path / "e.npz",
    )
    assert output.startswith("7 files, ") and "(hop 0.5 s) x 1024: embeddings written to" in output
    with np.load(tmp_path / "e.npz") as data:
        assert data["embeddings"].shape[1] == 1024 and len(set(data["filenames"])) == 7
    assert any(cache_env.rglob("*.npz"))
    invoke("embed", training_folder / "tone", "-o", tmp_path / "e.parquet", "--hop", "0.25")
    table = pd.read_parquet(tmp_path / "e.parquet")
    assert table["start"].iloc[1] == 0.25 and table.shape[1] == 1028


@pytest.mark.slow
def test_train_then_tag_and_detect_with_the_head(training_folder, tmp_path):
    output = invoke(
        "train",
        training_folder,
        "-o",
        tmp_path / "head",
        "--epochs",
        "10",
        "--seed",
        "3",
        "--validation-fraction",
        "0.25",
        "--mixtures",
        "1",
    )
    lines = output.splitlines()
    assert lines[0] == "data: 13 clips in 13 groups, 2 classes + background (1 recordings)"
    assert "validation (4 clips): clip accuracy 1.000" in output
    assert lines[-1].startswith(
        f"head written to {tmp_path / 'head'}: model.keras, labels.txt, "
        "head.json, confusion_matrix.csv, confusion_matrix.png"
    )
    metadata = json.loads((tmp_path / "head" / "head.json").read_text())
    assert metadata["labels"] == ["noise", "tone"]  # sigmoid: no background output
    assert metadata["training"]["config"]["seed"] == 3
    assert metadata["created"].endswith("+00:00")

    write_clip(tmp_path / "t.wav", "tone", np.random.default_rng(9), seconds=3)
    output = invoke("tag", tmp_path / "t.wav", "--head", tmp_path / "head", "-k", "2")
    assert output.splitlines()[1].split()[:2] == ["1.", "tone"]
    invoke(
        "detect",
        tmp_path / "t.wav",
        "--head",
        tmp_path / "head",
        "-o",
        tmp_path / "ev.csv",
        "--scores",
        tmp_path / "s.scores.tsv",
    )
    events = pd.read_csv(tmp_path / "ev.csv")
    assert set(events["event_label"]) == {"tone"} and events["onset"].min() == 0
    assert list(pd.read_csv(tmp_path / "s.scores.tsv", sep="\t").columns) == [
        "onset",
        "offset",
        "noise",
        "tone",
    ]

    # The post-processing can be tuned on the head's scores (its hop, its labels).
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev" / "t.wav").write_bytes((tmp_path / "t.wav").read_bytes())
    (tmp_path / "dev" / "t.tsv").write_text("0.0\t3.0\ttone\n")
    output = invoke(
        "tune",
        "--audio",
        tmp_path / "dev",
        "--reference",
        tmp_path / "dev" / "t.tsv",
        "--head",
        tmp_path / "head",
        "-o",
        tmp_path / "pp.toml",
        "--onset-only",
    )
    before, after = (
        float(x)
        for x in next(
            line for line in output.splitlines() if line.startswith("segment_f1")
        ).split()[1:]
    )
    assert after >= before and after >= 0.8, output  # 3 s of tone: found
    invoke(
        "detect",
        tmp_path / "t.wav",
        "--head",
        tmp_path / "head",
        "--config",
        tmp_path / "pp.toml",
        "-o",
        tmp_path / "tuned.csv",
    )
    assert set(pd.read_csv(tmp_path / "tuned.csv")["event_label"]) == {"tone"}

    # Same head, other framing: refused, in one line.
    result = CliRunner().invoke(
        cli,
        [
            "detect",
            str(tmp_path / "t.wav"),
            "--head",
            str(tmp_path / "head"),
            "--hop",
            "0.48",
            "-o",
            str(tmp_path / "x.csv"),
        ],
    )
    assert result.exit_code == 2 and result.stderr.count("\n") == 1  # a bad option value
    assert "--hop 0.48 does not fit the head, trained with hop 0.5 s (leave --hop out" in (
        result.stderr
    )
    result = run_sed(
        "detect",
        tmp_path / "t.wav",
        "--head",
        tmp_path / "head",
        "--classes",
        "Dog",
        "-o",
        tmp_path / "x.csv",
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "give no --classes or --label-map" in result.stderr and not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize(
    "make,args,message,status",
    [
        (
            lambda d: (d / "c.csv").write_text('filename,label\n"a.wav,x\n'),
            ["{d}/c.csv"],
            "{d}/c.csv: line 2: not a readable CSV file",
            1,
        ),
        (
            lambda d: (d / "c.csv").write_text("filename,label\na.wav,x\n"),
            ["{d}/c.csv", "--label-column", "category"],
            "{d}/c.csv: no column 'category'",
            1,
        ),
        (lambda d: None, ["{folder}", "--classes", "tone,cat"], "unknown class 'cat'", 2),
        (
            lambda d: (d / "data" / "empty").mkdir(),
            ["{folder}"],
            "{folder}/empty: class folder has no audio files",
            2,
        ),
        (lambda d: None, ["{d}/nothing"], "{d}/nothing: no such folder or CSV file", 2),
        (
            lambda d: None,
            ["{folder}", "--cross-validate", "20"],
            "--cross-validate needs at least 20 groups of clips (recordings); the data has 13",
            2,
        ),
        (
            lambda d: None,
            ["{folder}/tone"],
            "{folder}/tone: training folder holds no class folders",
            2,
        ),
        (
            lambda d: shutil.rmtree(d / "data" / "_background"),
            ["{folder}", "--mixtures", "2"],
            "--mixtures needs background recordings",
            2,
        ),
    ],
)
def test_train_errors_are_one_line(training_folder, tmp_path, make, args, message, status):
    make(tmp_path)
    names = {"d": tmp_path, "folder": training_folder}
    result = CliRunner().invoke(
        cli,
        ["train", *[a.format(**names) for a in args], "-o", str(tmp_path / "h")],
        prog_name="sed",
    )
    assert result.exit_code == status, result.output
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("sed train: error: ")
    assert message.format(**names) in result.stderr
    assert not (tmp_path / "h").exists()


def test_embed_bad_output_is_a_usage_error(training_folder, tmp_path):
    result = CliRunner().invoke(cli, ["embed", str(training_folder), "-o", str(tmp_path / "e.csv")])
    assert result.exit_code == 2 and "must end in .npz or .parquet" in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.slow
def test_train_on_esc50_with_cross_validation(shared_data, tmp_path):
    """Two ESC-50 classes of fold 4 (16 clips), grouped by source file, 2-fold CV."""
    output = invoke(
        "train",
        shared_data / "esc50" / "meta" / "esc50.csv",
        "-o",
        tmp_path / "h",
        "--label-column",
        "category",
        "--group-column",
        "src_file",
        "--where",
        "fold=4",
        "--classes",
        "dog,rooster",
        "--cross-validate",
        "2",
        "--epochs",
        "10",
        "--patience",
        "2",
    )
    assert output.startswith("data: 16 clips in ")
    line = next(x for x in output.splitlines() if x.startswith("2-fold cross-validation"))
    assert float(line.split("clip accuracy ")[1].split()[0]) >= 0.85, line
    # The report docs/heads.md shows for the ten animal classes (an `sh` block there: this is
    # its test), line by line.
    lines = output.splitlines()
    assert re.fullmatch(r"windows: \d+ \(\d+ of digital silence or quiet gaps left out\)", lines[1])
    assert re.fullmatch(r"training: [\d.]+ s, \d+ epochs \(best \d+\), energy .*", lines[2])
    assert re.fullmatch(r"validation \(\d+ clips\): clip accuracy [\d.]+", lines[3])
    figure = r"[\d.]+"
    assert re.fullmatch(
        rf"2-fold cross-validation: clip accuracy {figure} ± {figure} "
        rf"\(folds: {figure}, {figure}; {figure} s\)",
        line,
    )
    assert lines[-1] == (
        f"head written to {tmp_path / 'h'}: model.keras, labels.txt, head.json, "
        "confusion_matrix.csv, confusion_matrix.png, per_class.csv, cv_confusion_matrix.csv, "
        "cv_confusion_matrix.png, cv_per_class.csv"
    )
    assert (tmp_path / "h" / "cv_confusion_matrix.png").is_file()
    metadata = json.loads((tmp_path / "h" / "head.json").read_text())
    assert metadata["cross_validation"]["folds"] == 2
    assert metadata["training"]["data"]["per_label"]["dog"]["clips"] == 8


@pytest.mark.slow
def test_train_skips_unreadable_clips_and_names_a_class_left_without_any(training_folder, tmp_path):
    (training_folder / "tone" / "broken.wav").write_bytes(b"RIFF\x00\x00not audio")
    result = CliRunner().invoke(
        cli,
        ["train", str(training_folder), "-o", str(tmp_path / "head"), "--epochs", "2"],
        prog_name="sed",
    )
    assert result.exit_code == 0, result.output
    broken = training_folder / "tone" / "broken.wav"
    assert (
        f"sed train: warning: skipped unreadable clip {broken}: not a readable audio file"
        in result.stderr
    )
    assert result.stdout.startswith(
        "data: 13 clips in 13 groups, 2 classes + background (1 recordings); "
        "1 unreadable clip skipped\n"
    )
    skipped = json.loads((tmp_path / "head" / "head.json").read_text())["training"]["skipped_clips"]
    assert [item["path"] for item in skipped] == [str(broken)]

    for clip in (training_folder / "tone").iterdir():  # now no tone clip can be read
        clip.write_bytes(b"")
    result = CliRunner().invoke(
        cli, ["train", str(training_folder), "-o", str(tmp_path / "h2")], prog_name="sed"
    )
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith(
        f"sed train: error: {training_folder}: no readable clip of 'tone' is left (7 unreadable,"
    )
    assert not (tmp_path / "h2").exists()


@pytest.mark.slow
def test_train_warns_of_a_class_the_split_leaves_without_clips(tmp_path, rng):
    for kind in ("tone", "noise"):
        write_clip(tmp_path / "data" / kind / f"{kind}.wav", kind, rng)
    result = CliRunner().invoke(
        cli,
        [
            "train",
            str(tmp_path / "data"),
            "-o",
            str(tmp_path / "head"),
            "--validation-fraction",
            "0.5",
            "--epochs",
            "2",
        ],
        prog_name="sed",
    )
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 2, result.stderr  # one class only validates, the other only trains
    assert any("has no training clip after the split" in line for line in warnings)
    assert any("has no validation clip after the split" in line for line in warnings)
    metadata = json.loads((tmp_path / "head" / "head.json").read_text())
    assert len(metadata["training"]["warnings"]) == 2
