"""The command line, run as users run it: click's runner in-process, and real subprocesses for
exit codes, stderr and the hand-over to GNU sed."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from sed.cli import cli, next_sed_on_path

BIN = Path(sys.executable).parent
SED = str(BIN / "sed")


def run_sed(*args, stdin=None, path=None, cwd=None):
    env = dict(os.environ, PATH=path if path is not None else f"{BIN}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run([SED, *map(str, args)], input=stdin, capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=600)


def test_detect_writes_events_and_scores(tmp_path, bells_wav):
    before = hashlib.sha256(bells_wav.read_bytes()).hexdigest()
    result = CliRunner().invoke(cli, ["detect", str(bells_wav), "-o", str(tmp_path / "ev.csv"),
                                      "--classes", "Bicycle bell,Speech",
                                      "--scores", str(tmp_path / "scores.csv")])
    assert result.exit_code == 0, result.output
    assert "Bicycle bell" in result.output and "events written to" in result.output
    events = pd.read_csv(tmp_path / "ev.csv")
    assert list(events.columns) == ["filename", "onset", "offset", "event_label", "score"]
    assert set(events["event_label"]) <= {"Bicycle bell", "Speech"}
    assert (events["offset"] > events["onset"]).all() and events["offset"].max() <= 60.0
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert list(scores.columns) == ["filename", "start", "end", "Bicycle bell", "Speech"]
    assert len(scores) == 120 and scores["start"].iloc[1] == 0.5
    assert hashlib.sha256(bells_wav.read_bytes()).hexdigest() == before
    assert sorted(os.listdir(tmp_path)) == ["ev.csv", "scores.csv"]


def test_detect_with_label_map_and_reference_hop(tmp_path, bells_wav):
    (tmp_path / "map.csv").write_text('event_label,yamnet_display_names\nbell,"Bicycle bell;Bell;Ding"\n')
    result = CliRunner().invoke(cli, ["detect", str(bells_wav), "-o", str(tmp_path / "ev.csv"),
                                      "--label-map", str(tmp_path / "map.csv"), "--hop", "0.48",
                                      "--scores", str(tmp_path / "s.csv"), "--resampler", "resampy"])
    assert result.exit_code == 0, result.output
    assert set(pd.read_csv(tmp_path / "ev.csv")["event_label"]) == {"bell"}
    scores = pd.read_csv(tmp_path / "s.csv")
    assert list(scores.columns)[3:] == ["bell"] and scores["start"].iloc[1] == 0.48


def test_backends_and_batch_sizes_give_the_same_events(tmp_path, bells_wav):
    outputs = []
    for options in (["--backend", "litert"], ["--backend", "tensorflow", "--batch-size", "7"]):
        out = tmp_path / f"{options[1]}.csv"
        result = CliRunner().invoke(cli, ["detect", str(bells_wav), "-o", str(out), *options])
        assert result.exit_code == 0, result.output
        outputs.append(out.read_text())
    assert outputs[0] == outputs[1] and outputs[0].count("\n") > 10


def test_tag_lists_top_classes(bells_wav):
    result = CliRunner().invoke(cli, ["tag", str(bells_wav), "-k", "3"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 4 and lines[1].split()[:3] == ["1.", "Bicycle", "bell"]


def test_classes_lists_and_searches():
    result = CliRunner().invoke(cli, ["classes"])
    assert result.output.splitlines()[0] == "index,mid,display_name"
    assert len(result.output.splitlines()) == 522
    result = CliRunner().invoke(cli, ["classes", "--search", "bicycle"])
    assert result.output.splitlines()[1:] == ["198,/m/0gy1t2s,Bicycle bell", "335,/m/0199g,Bicycle"]


def test_help_shows_defaults():
    for command in ("detect", "tag", "classes"):
        result = CliRunner().invoke(cli, [command, "--help"])
        assert result.exit_code == 0
    help_text = CliRunner().invoke(cli, ["detect", "--help"]).output
    assert "default: 0.5" in help_text and "default: soxr" in help_text


def test_version():
    result = run_sed("--version")
    assert result.returncode == 0 and result.stdout.startswith("sed, version ")


@pytest.mark.parametrize("args,message,status", [
    (["detect", "{missing}", "-o", "{out}"], "{missing}: no such file", 1),
    (["detect", "{empty}", "-o", "{out}"], "{empty}: file is empty (0 bytes)", 1),
    (["detect", "{text}", "-o", "{out}"], "{text}: not a readable audio file", 1),
    (["detect", "{wav}", "-o", "{out}", "--classes", "Dgo"], "unknown YAMNet class 'Dgo'", 2),
    (["detect", "{wav}", "-o", "{out}", "--hop", "0.333"], "window hop must be a multiple", 2),
    (["detect", "{wav}", "-o", "{out}", "--weights", "{missing}"], "do not exist", 1),
    (["detect", "{wav}", "-o", "{out}", "--classes", "Dog", "--label-map", "{text}"],
     "either a class list or a label map", 2),
    (["tag", "{empty}"], "{empty}: file is empty", 1),
])
def test_errors_are_one_line_without_traceback(tmp_path, bells_wav, args, message, status):
    names = {"missing": tmp_path / "missing.wav", "empty": tmp_path / "empty.wav",
             "text": tmp_path / "notes.txt", "wav": bells_wav, "out": tmp_path / "out.csv"}
    names["empty"].write_bytes(b"")
    names["text"].write_text("hello\n")
    result = run_sed(*[a.format(**names) for a in args])
    assert result.returncode == status
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert message.format(**names) in result.stderr
    assert not (tmp_path / "out.csv").exists()


def test_bad_option_value_is_a_usage_error(bells_wav, tmp_path):
    result = run_sed("detect", bells_wav, "-o", tmp_path / "o.csv", "--threshold", "1.5")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "'--threshold': 1.5 is not in the range 0<=x<=1" in result.stderr
    result = run_sed("tag", bells_wav, "--batch-size", "0")
    assert result.returncode == 2 and "'--batch-size': 0 is not in the range x>=1" in result.stderr
    result = run_sed("tag", bells_wav, "--backend", "onnx")
    assert result.returncode == 2 and "'onnx' is not one of 'auto', 'litert'" in result.stderr


gnu_sed = pytest.mark.skipif(next_sed_on_path() is None, reason="no other sed on PATH")


@gnu_sed
@pytest.mark.parametrize("args,stdin,expected", [
    (["-e", "s/a/b/"], "abc\naaa\n", "bbc\nbaa\n"),
    (["s/x/y/g"], "xox\n", "yoy\n"),
    (["-n", "2p"], "one\ntwo\nthree\n", "two\n"),
])
def test_other_invocations_go_to_gnu_sed(args, stdin, expected):
    result = run_sed(*args, stdin=stdin)
    assert (result.returncode, result.stdout, result.stderr) == (0, expected, "")


@gnu_sed
def test_gnu_sed_with_a_file_and_python_dash_m(tmp_path):
    (tmp_path / "f.txt").write_text("hello world\n")
    assert run_sed("s/world/there/", "f.txt", cwd=tmp_path).stdout == "hello there\n"
    result = subprocess.run([sys.executable, "-m", "sed", "-n", "s/hello/bye/p", "f.txt"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.stdout == "bye world\n"
    assert run_sed("-i.bak", "s/hello/bye/", "f.txt", cwd=tmp_path).returncode == 0
    assert (tmp_path / "f.txt").read_text() == "bye world\n"


def test_no_other_sed_on_path_is_a_clear_error():
    result = run_sed("-e", "s/a/b/", stdin="a\n", path=str(BIN))
    assert result.returncode == 2
    assert "no other sed" in result.stderr and result.stderr.count("\n") == 1
