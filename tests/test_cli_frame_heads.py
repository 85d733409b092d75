"""Frame-level heads as users run them: `sed train --frame-level` on clips and on annotated
recordings, then detect (one file, --scores, a batch), tag and tune with --head; bad training data
and options of the wrong kind of head give one line."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sed.cli import cli
from tests.conftest import FRAME_HEAD_OPTIONS
from tests.helpers import recording_with_events, write, write_bursts

#: Small and quick: the options of the session's frame head (see tests/conftest.py).
SMALL = list(FRAME_HEAD_OPTIONS)


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args], prog_name="sed")
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def fails(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args], prog_name="sed")
    assert result.exit_code != 0 and "Traceback" not in result.stderr, result.output
    assert result.stderr.count("\n") == 1, result.stderr
    return result


@pytest.mark.slow
def test_train_frame_level_on_clips_and_annotated_recordings(frame_head):
    # The session's frame head is this training: `sed train --frame-level` on the burst clips
    # and two annotated recordings, with --cache-dir and SMALL (tests/conftest.py).
    output, report = frame_head
    lines = report.splitlines()
    assert lines[0] == (
        "clips: 16 event clips, 2 classes, 1 background recordings; 48 soundscapes of 10 s"
    )
    assert lines[1] == "recordings: 2 annotated, 8 events of 2 classes"
    # Two recordings are too few to hold one out: their last 20 % validates instead.
    assert (
        lines[2].startswith("sequences: ")
        and "(125 frames of 0.08 s; YAMNet layers 6, 12, 14)" in lines[2]
    )
    assert any(line.startswith("validation (") and "frame F1" in line for line in lines)
    assert lines[-1] == (
        f"frame head written to {output}: model.keras, labels.txt, head.json, per_class.csv"
    )
    metadata = json.loads((output / "head.json").read_text())
    assert metadata["kind"] == "frame" and metadata["labels"] == ["hiss", "tone"]
    assert metadata["training"]["data"]["recordings"]["events_per_label"] == {"hiss": 4, "tone": 4}
    assert metadata["training"]["config"]["seed"] == 2
    # The post-processing tuned on the validation sequences is the head's default.
    assert any(
        line.startswith("post-processing tuned on the validation sequences") for line in lines
    )
    assert metadata["postprocessing"]["threshold_on"] > 0
    # One background recording and two annotated recordings: nothing unheard to validate on,
    # and the report says so; the figures are on the heard validation sequences.
    assert "note: one background recording: unheard validation was impossible" in report
    assert "note: 2 annotated recordings: too few to hold one out" in report
    validation = metadata["validation"]
    assert validation["tuned_on"] == "heard" and validation["conditions"]["unheard"] is None
    heard = validation["conditions"]["heard"]
    assert heard["sequences"] == metadata["training"]["validation_sequences"]
    assert set(heard["own_postprocessing"]) >= {"segment_f1", "event_f1"}
    assert "  unheard: no validation sequences" in lines


@pytest.mark.slow
def test_detect_tag_and_tune_with_a_frame_head(frame_head, tmp_path):
    output = frame_head.path
    rng = np.random.default_rng(99)
    waveform, events = recording_with_events(rng)
    write(tmp_path / "r.wav", waveform)
    printed = invoke(
        "detect",
        tmp_path / "r.wav",
        "--head",
        output,
        "-o",
        tmp_path / "ev.csv",
        "--scores",
        tmp_path / "scores.tsv",
    )
    assert printed.splitlines()[-1] == (
        f"events written to {tmp_path / 'ev.csv'}, frame scores to {tmp_path / 'scores.tsv'}"
    )
    found = pd.read_csv(tmp_path / "ev.csv")
    assert sorted(found["event_label"]) == sorted(label for _, _, label in events)
    scores = pd.read_csv(tmp_path / "scores.tsv", sep="\t")  # sed_scores_eval's layout
    assert list(scores.columns) == ["onset", "offset", "hiss", "tone"]
    assert (
        len(scores) == 150
        and scores["offset"].iloc[0] == 0.08
        and scores["onset"].iloc[-1] == 11.92
    )

    printed = invoke("tag", tmp_path / "r.wav", "--head", output, "-k", "2")
    assert printed.splitlines()[0] == f"{tmp_path / 'r.wav'}: 150 frames, 12.00 s"

    (tmp_path / "dev").mkdir()
    write(tmp_path / "dev" / "r.wav", waveform)
    (tmp_path / "dev" / "r.tsv").write_text("".join(f"{a}\t{b}\t{c}\n" for a, b, c in events))
    printed = invoke(
        "tune",
        "--audio",
        tmp_path / "dev",
        "--reference",
        tmp_path / "dev" / "r.tsv",
        "--head",
        output,
        "--metric",
        "event_f1",
        "-o",
        tmp_path / "pp.toml",
    )
    after = next(line for line in printed.splitlines() if line.startswith("event_f1"))
    assert float(after.split()[2]) >= 0.75, printed

    # A batch of two recordings, then the same command again: everything already done.
    (tmp_path / "batch").mkdir()
    write(tmp_path / "batch" / "one.wav", waveform)
    write(tmp_path / "batch" / "two.wav", waveform[: 16000 * 5])
    first = invoke(
        "detect", tmp_path / "batch", "--head", output, "-o", tmp_path / "out", "--quiet"
    )
    assert first.startswith("2 recordings: 2 processed, 0 already done, 0 failed")
    again = invoke(
        "detect", tmp_path / "batch", "--head", output, "-o", tmp_path / "out", "--quiet"
    )
    assert again.startswith("2 recordings: 0 processed, 2 already done, 0 failed")
    assert len(pd.read_csv(tmp_path / "out" / "one.sed.csv")) == len(found)

    result = fails(
        "detect", tmp_path / "r.wav", "--head", output, "--hop", "0.48", "-o", tmp_path / "x.csv"
    )
    assert result.exit_code == 2
    assert "a frame-level head scores every 0.08 s and reads no windows" in result.stderr


@pytest.mark.parametrize(
    "args,message",
    [
        (
            ["{clips}", "--frame-level", "--activation", "softmax"],
            "--activation applies to window heads, not --frame-level",
        ),
        (["{clips}", "--frame-level", "--hop", "0.25"], "--hop applies to window heads"),
        (["{clips}", "--soundscapes", "10"], "--soundscapes applies to --frame-level heads"),
        (["{clips}", "--mixup", "0.5"], "--mixup applies to --frame-level heads"),
        (["{clips}", "--non-target", "{root}"], "--non-target applies to --frame-level heads"),
        (["--frame-level"], "no training data: give event clips (DATA) or annotated recordings"),
        (
            ["--frame-level", "--recordings", "{root}"],
            "need both their audio folder and annotations",
        ),
        (["{clips}", "--frame-level", "--layers", "6,x"], "--layers takes layer numbers"),
        (["{clips}", "--frame-level", "--layers", "6,15"], "numbered 1 to 14"),
        ([], "give DATA"),
        (["{clips}", "--label-map", "{root}/map.csv"], "--label-map applies to --frame-level"),
        (
            ["{clips}", "--frame-level", "--label-map", "{root}/map.csv"],
            "the label map names none of the classes trained (hiss, tone)",
        ),
    ],
)
def test_options_of_the_other_kind_of_head_are_usage_errors(tmp_path, args, message):
    names = {"clips": tmp_path / "clips", "root": tmp_path}
    write_bursts(tmp_path / "clips")
    (tmp_path / "map.csv").write_text("event_label,yamnet_display_names\nowl,Owl\n")
    result = fails("train", *[a.format(**names) for a in args], "-o", tmp_path / "h")
    assert result.exit_code == 2 and message in result.stderr, result.stderr
    assert not (tmp_path / "h").exists()


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["empty_class", "unknown_recording", "corrupt_clip"])
def test_bad_training_data_is_one_clear_line(tmp_path, damage, monkeypatch):
    monkeypatch.setenv("SED_CACHE_DIR", str(tmp_path / "cache"))
    clips = write_bursts(tmp_path / "clips")
    args = ["train", clips, "--frame-level", "-o", tmp_path / "h", *SMALL]
    if damage == "empty_class":
        (clips / "owl").mkdir()
        expected = f"{clips / 'owl'}: class folder has no audio files"
    elif damage == "unknown_recording":
        write(tmp_path / "rec" / "a.wav", np.zeros(16000))
        (tmp_path / "ann").mkdir()
        (tmp_path / "ann" / "a.txt").write_text("0.1\t0.2\ttone\n")
        (tmp_path / "ann" / "ghost.txt").write_text("0.1\t0.2\ttone\n")
        args += ["--recordings", tmp_path / "rec", "--annotations", tmp_path / "ann"]
        expected = (
            f"{tmp_path / 'ann' / 'ghost.txt'}: annotation names recording 'ghost', which has "
            f"no audio file in {tmp_path / 'rec'}"
        )
    else:
        (clips / "tone" / "broken.wav").write_bytes(b"RIFF\x00\x00")
        expected = f"{clips / 'tone' / 'broken.wav'}: not a readable audio file"
    result = fails(*args)
    assert result.stderr.startswith("sed train: error: ") and expected in result.stderr, (
        result.stderr
    )
    assert not (tmp_path / "h").exists()


@pytest.mark.slow
def test_the_report_sets_unheard_rooms_and_raw_yamnet_beside_the_heard_ones(tmp_path):
    # Three background recordings: one is held out whole, unheard in training; the label map
    # lets raw YAMNet score the same unheard soundscapes.
    clips = write_bursts(tmp_path / "clips")
    rng = np.random.default_rng(3)
    write(clips / "_background" / "hall.wav", 0.02 * rng.standard_normal(16000 * 20))
    write(clips / "_background" / "yard.wav", 0.005 * rng.standard_normal(16000 * 25))
    (tmp_path / "map.csv").write_text(
        "event_label,yamnet_display_names\ntone,Sine wave\nhiss,White noise;Hiss\n"
    )
    output = tmp_path / "head"
    report = invoke(
        "train",
        clips,
        "--frame-level",
        "-o",
        output,
        "--soundscapes",
        "20",
        "--mixup",
        "0.5",
        "--epochs",
        "3",
        "--label-map",
        tmp_path / "map.csv",
        "--cache-dir",
        tmp_path / "cache",
    )
    lines = report.splitlines()
    assert any(
        line.startswith("post-processing tuned on the unheard validation sequences")
        for line in lines
    ), report
    assert "note:" not in report
    heard = next(line for line in lines if line.startswith("  heard in training, "))
    unheard = next(
        line
        for line in lines
        if line.startswith("  unheard in training (1 background recording held out), ")
    )
    assert heard.split(", ")[1].startswith("4 sequences")
    assert unheard.split(", ")[1].startswith("4 sequences")
    assert any(
        line.startswith("  raw YAMNet with the label map, unheard (4 recordings)") for line in lines
    )
    assert "; 20 soundscapes of 10 s, mixup 0.5" in report
    metadata = json.loads((output / "head.json").read_text())
    assert metadata["training"]["config"]["mixup"] == 0.5
    validation = metadata["validation"]
    assert validation["tuned_on"] == "unheard" and len(validation["unheard_backgrounds"]) == 1
    conditions = validation["conditions"]
    assert conditions["heard"]["sequences"] == conditions["unheard"]["sequences"] == 4
    yamnet = validation["yamnet"]
    assert yamnet["labels"] == ["hiss", "tone"] and yamnet["recordings"] == 4
    assert yamnet["label_map"] == str(tmp_path / "map.csv")
    # The verdict is stated plainly, in head.json and in what sed train printed.
    worse = yamnet["head_worse_than_yamnet"]
    assert worse == bool(yamnet["head_worse_on"])
    assert any(
        line.startswith(
            "warning: on unheard validation data the head does WORSE than raw YAMNet"
            if worse
            else "on unheard validation data the head does no worse than raw YAMNet"
        )
        for line in lines
    ), report
    # The head's own figures on the unheard part are those it was compared with.
    assert yamnet["head"] == conditions["unheard"]["own_postprocessing"]
