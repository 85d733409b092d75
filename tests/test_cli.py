"""The command line, run as users run it: click's runner in-process, and real subprocesses for
exit codes, stderr and the hand-over to GNU sed."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from sed.cli import cli, next_sed_on_path
from sed.cli.printing import summarize
from sed.events import event_table

BIN = Path(sys.executable).parent
SED = str(BIN / "sed")


def run_sed(*args, stdin=None, path=None, cwd=None):
    env = dict(
        os.environ, PATH=path if path is not None else f"{BIN}{os.pathsep}{os.environ['PATH']}"
    )
    return subprocess.run(
        [SED, *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=600,
    )


def invoke_sed(*args):
    """``sed ARGS`` run in this process by click's runner, as a ``subprocess.CompletedProcess``
    (stdout and stderr apart): for tests where a process adds only its start-up. An exception
    that ``sed`` lets through (a user would see its traceback) fails the test."""
    result = CliRunner().invoke(cli, [str(a) for a in args], prog_name="sed")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception.with_traceback(result.exc_info[2])
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def test_detect_writes_events_and_scores(tmp_path, bells_wav):
    before = hashlib.sha256(bells_wav.read_bytes()).hexdigest()
    result = CliRunner().invoke(
        cli,
        [
            "detect",
            str(bells_wav),
            "-o",
            str(tmp_path / "ev.csv"),
            "--classes",
            "Bicycle bell,Speech",
            "--scores",
            str(tmp_path / "scores.tsv"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Bicycle bell" in result.output and "events written to" in result.output
    events = pd.read_csv(tmp_path / "ev.csv")
    assert list(events.columns) == [
        "filename",
        "onset",
        "offset",
        "event_label",
        "score",
        "mean_score",
    ]
    assert set(events["event_label"]) <= {"Bicycle bell", "Speech"}
    assert (events["offset"] > events["onset"]).all() and events["offset"].max() <= 60.0
    scores = pd.read_csv(tmp_path / "scores.tsv", sep="\t")
    assert list(scores.columns) == ["onset", "offset", "Bicycle bell", "Speech"]
    # One frame per window: the hop-long stretch centred on the window (0.48 s + 0.5 k).
    assert len(scores) == 120 and list(scores["onset"].iloc[:3]) == [0.0, 0.73, 1.23]
    assert scores["offset"].iloc[-1] == 60.0
    assert hashlib.sha256(bells_wav.read_bytes()).hexdigest() == before
    assert sorted(os.listdir(tmp_path)) == ["ev.csv", "scores.tsv"]


def test_detect_with_label_map_and_reference_hop(tmp_path, bells_wav):
    (tmp_path / "map.csv").write_text(
        'event_label,yamnet_display_names\nbell,"Bicycle bell;Bell;Ding"\n'
    )
    result = CliRunner().invoke(
        cli,
        [
            "detect",
            str(bells_wav),
            "-o",
            str(tmp_path / "ev.csv"),
            "--label-map",
            str(tmp_path / "map.csv"),
            "--hop",
            "0.48",
            "--scores",
            str(tmp_path / "s.tsv"),
            "--resampler",
            "resampy",
        ],
    )
    assert result.exit_code == 0, result.output
    assert set(pd.read_csv(tmp_path / "ev.csv")["event_label"]) == {"bell"}
    scores = pd.read_csv(tmp_path / "s.tsv", sep="\t")
    # At the reference hop the second frame starts half a hop after the first window's centre.
    assert list(scores.columns)[2:] == ["bell"] and scores["onset"].iloc[1] == 0.72


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


def test_classes_search_takes_several_words_in_any_order():
    bell = ["198,/m/0gy1t2s,Bicycle bell"]
    for args in (["--search", "bell bicycle"], ["--search", "BICYCLE", "--search", "bell"]):
        result = CliRunner().invoke(cli, ["classes", *args])
        assert result.exit_code == 0, result.output
        assert result.output.splitlines()[1:] == bell
    result = CliRunner().invoke(cli, ["classes", "--search", "bicycle dog"])
    assert result.stdout.splitlines() == ["index,mid,display_name"]
    assert "no class name or mid contains every word of 'bicycle dog'" in result.stderr


def test_help_shows_defaults():
    for command in ("detect", "tag", "classes", "evaluate", "tune", "plot"):
        result = CliRunner().invoke(cli, [command, "--help"])
        assert result.exit_code == 0
    help_text = " ".join(CliRunner().invoke(cli, ["detect", "--help"]).output.split())
    assert "default: 0.5" in help_text and "default: soxr" in help_text


def test_version():
    result = run_sed("--version")
    assert result.returncode == 0 and result.stdout.startswith("sed, version ")


@pytest.mark.parametrize(
    "args,message,status",
    [
        (["detect", "{missing}", "-o", "{out}"], "{missing}: no such file", 1),
        (["detect", "{empty}", "-o", "{out}"], "{empty}: file is empty (0 bytes)", 1),
        (["detect", "{text}", "-o", "{out}"], "{text}: not a readable audio file", 1),
        (["detect", "{wav}", "-o", "{out}", "--classes", "Dgo"], "unknown YAMNet class 'Dgo'", 2),
        (["detect", "{wav}", "-o", "{out}", "--hop", "0.333"], "window hop must be a multiple", 2),
        (["detect", "{wav}", "-o", "{out}", "--weights", "{missing}"], "do not exist", 1),
        (
            ["detect", "{wav}", "-o", "{out}", "--classes", "Dog", "--label-map", "{text}"],
            "either a class list or a label map",
            2,
        ),
        (["tag", "{empty}"], "{empty}: file is empty", 1),
    ],
)
def test_errors_are_one_line_without_traceback(tmp_path, bells_wav, args, message, status):
    names = {
        "missing": tmp_path / "missing.wav",
        "empty": tmp_path / "empty.wav",
        "text": tmp_path / "notes.txt",
        "wav": bells_wav,
        "out": tmp_path / "out.csv",
    }
    names["empty"].write_bytes(b"")
    names["text"].write_text("hello\n")
    result = run_sed(*[a.format(**names) for a in args])
    assert result.returncode == status
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert message.format(**names) in result.stderr
    assert not (tmp_path / "out.csv").exists()


def test_bad_option_value_is_a_usage_error(bells_wav, tmp_path):
    result = invoke_sed("detect", bells_wav, "-o", tmp_path / "o.csv", "--threshold", "1.5")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "'--threshold': 1.5 is not in the range 0<=x<=1" in result.stderr
    result = invoke_sed("tag", bells_wav, "--batch-size", "0")
    assert result.returncode == 2 and "'--batch-size': 0 is not in the range x>=1" in result.stderr
    result = invoke_sed("tag", bells_wav, "--backend", "onnx")
    assert result.returncode == 2 and "'onnx' is not one of 'auto', 'litert'" in result.stderr


gnu_sed = pytest.mark.skipif(next_sed_on_path() is None, reason="no other sed on PATH")


@gnu_sed
@pytest.mark.parametrize(
    "args,stdin,expected",
    [
        (["-e", "s/a/b/"], "abc\naaa\n", "bbc\nbaa\n"),
        (["s/x/y/g"], "xox\n", "yoy\n"),
        (["-n", "2p"], "one\ntwo\nthree\n", "two\n"),
    ],
)
def test_other_invocations_go_to_gnu_sed(args, stdin, expected):
    result = run_sed(*args, stdin=stdin)
    assert (result.returncode, result.stdout, result.stderr) == (0, expected, "")


@gnu_sed
def test_gnu_sed_with_a_file_and_python_dash_m(tmp_path):
    (tmp_path / "f.txt").write_text("hello world\n")
    assert run_sed("s/world/there/", "f.txt", cwd=tmp_path).stdout == "hello there\n"
    result = subprocess.run(
        [sys.executable, "-m", "sed", "-n", "s/hello/bye/p", "f.txt"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.stdout == "bye world\n"
    assert run_sed("-i.bak", "s/hello/bye/", "f.txt", cwd=tmp_path).returncode == 0
    assert (tmp_path / "f.txt").read_text() == "bye world\n"


def test_no_other_sed_on_path_is_a_clear_error():
    result = run_sed("-e", "s/a/b/", stdin="a\n", path=str(BIN))
    assert result.returncode == 2
    assert "no other sed" in result.stderr and result.stderr.count("\n") == 1


# ---- post-processing options, formats, evaluate, tune, plot ---------------------------------


def test_detect_writes_every_format_with_a_config(tmp_path, bells_wav):
    (tmp_path / "pp.toml").write_text(
        'threshold_on = 0.3\nmedian_filter_seconds = 1.5\nboundaries = "refined"\n'
    )
    args = [
        "detect",
        str(bells_wav),
        "-o",
        str(tmp_path / "out" / "bells.csv"),
        "--classes",
        "Bicycle bell,Speech",
        "--config",
        str(tmp_path / "pp.toml"),
        "--min-gap",
        "0.5",
        "--save-config",
        str(tmp_path / "used.json"),
    ]
    for name in ("csv", "tsv", "audacity", "raven", "json"):
        args += ["--format", name]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(tmp_path / "out")) == [
        "bells.audacity.txt",
        "bells.csv",
        "bells.json",
        "bells.selections.txt",
        "bells.tsv",
    ]
    from sed.events import read_events
    from sed.postprocessing import load_config

    tables = {
        name: read_events(tmp_path / "out" / name).events for name in os.listdir(tmp_path / "out")
    }
    counts = {len(t) for t in tables.values()}
    assert len(counts) == 1 and counts.pop() > 0
    assert read_events(tmp_path / "out" / "bells.json").durations == {str(bells_wav): 60.0}
    used = load_config(tmp_path / "used.json")  # the file's values, then the command line's
    assert (
        used.threshold_on,
        used.median_filter_seconds,
        used.min_gap_seconds,
        used.boundaries,
    ) == (0.3, 1.5, 0.5, "refined")


def test_config_error_is_one_line(tmp_path, bells_wav):
    (tmp_path / "pp.toml").write_text("threshold_on = 0.3\nsmoothing = 2\n")
    result = run_sed(
        "detect", bells_wav, "-o", tmp_path / "o.csv", "--config", tmp_path / "pp.toml"
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert f"error: {tmp_path / 'pp.toml'}: line 2: unknown key 'smoothing'" in result.stderr
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize(
    "config,extra,message",
    [
        (
            "threshold_on = 0.3\n",
            ["--threshold-off", "0.6"],
            "--threshold-off (0.6) must not exceed threshold_on (0.3)",
        ),
        ("", ["--class-thresholds", "{thresholds}"], "not detected: 'cow'"),
        ("", ["--boundaries", "middle"], "Invalid value for '--boundaries'"),
        ("", ["--min-gap", "-1"], "-1.0 is not in the range x>=0"),
    ],
)
def test_postprocessing_values_are_rejected_not_clamped(
    tmp_path, bells_wav, config, extra, message
):
    (tmp_path / "pp.toml").write_text(config)
    (tmp_path / "t.csv").write_text("event_label,threshold_on\ncow,0.2\n")
    extra = [a.format(thresholds=tmp_path / "t.csv") for a in extra]
    result = CliRunner().invoke(
        cli,
        [
            "detect",
            str(bells_wav),
            "-o",
            str(tmp_path / "o.csv"),
            "--classes",
            "Dog",
            "--config",
            str(tmp_path / "pp.toml"),
            *extra,
        ],
    )
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "o.csv").exists()


def write_pair(tmp_path):
    (tmp_path / "ref").mkdir()
    (tmp_path / "est").mkdir()
    (tmp_path / "ref" / "rec.tsv").write_text("0.5\t2.0\tdog\n3.0\t4.0\tbird\n")
    (tmp_path / "est" / "rec.csv").write_text(
        "filename,onset,offset,event_label,score\nrec.wav,0.6,2.1,dog,0.9\nrec.wav,5,6,cat,0.5\n"
    )


def test_evaluate_prints_sed_eval_report_and_json(tmp_path):
    write_pair(tmp_path)
    result = invoke_sed(
        "evaluate",
        "--reference",
        tmp_path / "ref",
        "--estimated",
        tmp_path / "est",
        "--json",
        tmp_path / "r.json",
        "--t-collar",
        "0.25",
    )
    assert result.returncode == 0, result.stderr
    assert "Labels only in the reference events: bird" in result.stdout
    assert "Labels only in the estimated events: cat" in result.stdout
    assert "Segment based metrics" in result.stdout and "Event based metrics" in result.stdout
    assert "last offset" in result.stderr  # no audio, no stated length: said, not hidden
    import json

    data = json.loads((tmp_path / "r.json").read_text())
    assert data["settings"]["t_collar_seconds"] == 0.25
    assert data["event_based"]["class_wise"]["dog"]["f_measure"]["f_measure"] == 1.0


def test_evaluate_onset_only(tmp_path):
    write_pair(tmp_path)
    (tmp_path / "est" / "rec.csv").write_text(  # dog's offset 1.5 s late: an onset-only match
        "filename,onset,offset,event_label,score\nrec.wav,0.6,3.5,dog,0.9\n"
    )
    figures = {}
    for extra in ([], ["--onset-only"]):
        result = invoke_sed(
            "evaluate",
            "--reference",
            tmp_path / "ref",
            "--estimated",
            tmp_path / "est",
            "--json",
            tmp_path / "r.json",
            *extra,
        )
        assert result.returncode == 0, result.stderr
        import json

        data = json.loads((tmp_path / "r.json").read_text())
        assert data["settings"]["evaluate_offset"] is not bool(extra)
        figures[bool(extra)] = data["event_based"]["class_wise"]["dog"]["f_measure"]["f_measure"]
    assert figures == {False: 0.0, True: 1.0}


def test_evaluate_malformed_file_is_one_line_with_file_and_line(tmp_path):
    write_pair(tmp_path)
    (tmp_path / "ref" / "rec.tsv").write_text("0.5\t2.0\tdog\n3.0\tlater\tbird\n")
    result = run_sed("evaluate", "--reference", tmp_path / "ref", "--estimated", tmp_path / "est")
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert (
        f"{tmp_path / 'ref' / 'rec.tsv'}: line 2: offset 'later' is not a number" in result.stderr
    )


def test_tune_then_plot(tmp_path, bells_wav):
    (tmp_path / "audio").mkdir()
    (tmp_path / "ref").mkdir()
    os.symlink(bells_wav, tmp_path / "audio" / "bells.wav")
    annotation = pd.read_csv(bells_wav.with_suffix(".csv"))
    annotation[annotation["is_bell"]].assign(label="Bicycle bell")[
        ["onset", "offset", "label"]
    ].to_csv(tmp_path / "ref" / "bells.tsv", sep="\t", header=False, index=False)
    result = CliRunner().invoke(
        cli,
        [
            "tune",
            "--audio",
            str(tmp_path / "audio"),
            "--reference",
            str(tmp_path / "ref"),
            "--classes",
            "Bicycle bell",
            "-o",
            str(tmp_path / "tuned.toml"),
            "--metric",
            "event_f1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "event_f1" in result.output and "chosen values:" in result.output
    from sed.postprocessing import load_config

    load_config(tmp_path / "tuned.toml")
    result = CliRunner().invoke(
        cli,
        [
            "plot",
            str(bells_wav),
            "-o",
            str(tmp_path / "f.png"),
            "--reference",
            str(tmp_path / "ref" / "bells.tsv"),
            "--top",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"


# ---- one recording to standard output, tag formats, near-miss commands, evaluate options ----


def test_detect_to_standard_output(bells_wav):
    result = CliRunner().invoke(
        cli, ["detect", str(bells_wav), "-o", "-", "--classes", "Bicycle bell", "--format", "tsv"]
    )
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "onset\toffset\tevent_label" and len(lines) > 1
    assert all(line.endswith("\tBicycle bell") for line in lines[1:])
    assert result.stderr.startswith(f"{len(lines) - 1} events in 60.0 s of audio:")
    result = run_sed("detect", bells_wav, "-o", "-", "--format", "csv", "--format", "tsv")
    assert result.returncode == 2 and "-o - writes one format" in result.stderr
    result = run_sed("detect", bells_wav, bells_wav, "-o", "-")
    assert result.returncode == 2 and "a batch writes into a folder" in result.stderr


def test_tag_formats_and_classes(bells_wav):
    import json

    result = CliRunner().invoke(cli, ["tag", str(bells_wav), "-k", "2", "--format", "csv"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(io.StringIO(result.stdout))
    assert list(table.columns) == ["filename", "rank", "label", "score"]
    assert table["label"].tolist()[0] == "Bicycle bell" and table["rank"].tolist() == [1, 2]
    result = CliRunner().invoke(
        cli,
        ["tag", str(bells_wav), "--format", "json", "--classes", "Dog,Chicken, rooster,Speech"],
    )
    data = json.loads(result.stdout)
    assert data["windows"] == 120 and data["duration_seconds"] == 60.0
    assert sorted(tag["label"] for tag in data["tags"]) == ["Chicken, rooster", "Dog", "Speech"]
    assert [tag["rank"] for tag in data["tags"]] == [1, 2, 3]


def test_near_miss_commands_get_did_you_mean():
    from sed.cli import edit_distance, near_misses

    assert edit_distance("detec", "detect") == 1 and edit_distance("tgae", "tag") == 2
    assert near_misses("detec") == ["detect"] and near_misses("-n") == [] and not near_misses("p")
    result = run_sed("detec", "x", "-o", "y")
    assert result.returncode == 2
    assert result.stderr == (
        "sed: 'detec' is not a sed command; did you mean 'detect'? (see `sed --help`)\n"
    )


@gnu_sed
def test_near_misses_that_gnu_sed_compiles_still_go_to_gnu_sed():
    # `t` (a branch to the end) is two edits from `tag` but a valid GNU sed script.
    assert run_sed("t", stdin="abc\n").stdout == "abc\n"
    # `evalute` would be GNU sed's `e` command (run a program): taken for a typo.
    result = run_sed("evalute", "--reference", "r")
    assert result.returncode == 2 and "did you mean 'evaluate'" in result.stderr
    assert "did you mean 'tune'" in run_sed("tun").stderr  # `t un`: no label `un`


def test_evaluate_option_errors(tmp_path):
    write_pair(tmp_path)
    ref, est = str(tmp_path / "ref"), str(tmp_path / "est")
    cases = [
        (["--reference", ref], "give --reference and --estimated, or --file-list"),
        (["--file-list", "list.txt", "--reference", ref], "--file-list replaces --reference"),
        (["--reference", ref, "--estimated", est, "--onset-only", "--offset-only"], "exclude"),
        (["--reference", ref, "--estimated", est, "--t-collar", "0"], "not in the range x>0"),
        (["--reference", ref, "--estimated", est, "--event-matching", "best"], "'best' is not"),
    ]
    for args, message in cases:
        result = CliRunner().invoke(cli, ["evaluate", *args])
        assert result.exit_code == 2 and message in result.stderr, (args, result.stderr)


def test_evaluate_labels_from_a_file(tmp_path):
    import json

    write_pair(tmp_path)
    (tmp_path / "labels.txt").write_text("dog\nChicken, rooster\n")
    result = CliRunner().invoke(
        cli,
        [
            "evaluate",
            "--reference", str(tmp_path / "ref"),
            "--estimated", str(tmp_path / "est"),
            "--labels", str(tmp_path / "labels.txt"),
            "--json", str(tmp_path / "r.json"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["labels"] == ["Chicken, rooster", "dog"]
    assert "Left out" in result.stdout


def test_summary():
    events = event_table(
        [
            {"filename": "a", "onset": 0.0, "offset": 1.0, "event_label": "Dog", "score": 0.9},
            {"filename": "a", "onset": 2.0, "offset": 2.5, "event_label": "Dog", "score": 0.9},
            {"filename": "a", "onset": 3.0, "offset": 6.0, "event_label": "Cat", "score": 0.9},
        ]
    )
    lines = summarize(events, 10.0).splitlines()
    assert lines[0] == "3 events in 10.0 s of audio:"
    assert lines[1].split() == ["Dog", "2", "x", "1.50", "s"]
    assert summarize(event_table(), 3.0) == "0 events in 3.0 s of audio"


# ---- outputs that are not regular files, and files sed did not write ---------------------------


def test_detect_into_a_fifo_streams_to_it(tmp_path, bells_wav):
    fifo = tmp_path / "p.csv"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    result = run_sed("detect", bells_wav, "-o", fifo, "--classes", "Bicycle bell")
    assert result.returncode == 0, result.stderr
    assert reader.communicate(timeout=60)[0].startswith(b"filename,onset,offset,event_label")
    assert fifo.is_fifo()  # not replaced by a regular file
    assert os.listdir(tmp_path) == ["p.csv"]


def test_detect_to_a_full_standard_output_is_one_line(bells_wav):
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [SED, "detect", str(bells_wav), "-o", "-", "--classes", "Bicycle bell"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=600,
        )
    assert result.returncode == 1
    assert result.stderr == (
        "sed detect: error: standard output (-o -): cannot write (No space left on device)\n"
    )


def test_detect_refuses_a_file_it_did_not_write_unless_overwrite(tmp_path, bells_wav):
    mine = tmp_path / "annotations.csv"
    mine.write_text("filename,onset,offset,event_label\nrec.wav,1,2,bell\n")
    result = run_sed("detect", bells_wav, "-o", mine, "--classes", "Bicycle bell")
    assert result.returncode == 2
    assert result.stderr == (
        f"sed detect: error: {mine}: -o exists and sed did not write it (or it was changed "
        "since); it will not be replaced: give --overwrite to replace it, or another name\n"
    )
    assert mine.read_text() == "filename,onset,offset,event_label\nrec.wav,1,2,bell\n"
    args = ("detect", bells_wav, "-o", mine, "--classes", "Bicycle bell", "--overwrite")
    assert invoke_sed(*args).returncode == 0
    assert invoke_sed(*args[:-1]).returncode == 0  # sed's own file now: replaced again freely


@pytest.mark.parametrize(
    "name,given,written",
    [
        ("ev.json", [], "json"),
        ("ev.selections.txt", [], "raven"),
        ("ev.audacity.txt", [], "audacity"),
        ("ev.TSV", [], "tsv"),
        ("ev.txt", [], "csv"),
        ("ev.txt", ["--format", "raven"], "raven"),
    ],
)
def test_the_suffix_of_o_names_the_format(tmp_path, name, given, written):
    from sed.events import output_formats

    assert output_formats(tmp_path / name, [a for a in given if a != "--format"]) == [written]


@pytest.mark.parametrize(
    "args,message",
    [
        (
            ["-o", "ev.csv", "--format", "raven"],
            "-o ev.csv has the suffix of csv (.csv), and --format raven writes .selections.txt "
            "files: name it ev.selections.txt, or leave out --format",
        ),
        (
            ["-o", "ev.csv", "--scores", "s.csv"],
            "--scores s.csv has the suffix of csv (.csv), and score tables are tab-separated: "
            "name it s.scores.tsv",
        ),
    ],
)
def test_a_suffix_that_contradicts_the_format_is_refused(tmp_path, bells_wav, args, message):
    result = run_sed("detect", bells_wav, *args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == f"sed detect: error: {message}\n"
    assert os.listdir(tmp_path) == []


def test_a_batch_refuses_an_output_named_as_a_file(tmp_path, bells_wav):
    result = run_sed("detect", bells_wav, bells_wav, "-o", "out.csv", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        "sed detect: error: -o out.csv is named as a csv file, and a batch writes into a "
        "folder: give a folder name (or create the folder first)\n"
    )
    assert os.listdir(tmp_path) == []


def test_evaluate_brief_label_map_glob_and_per_file_json(tmp_path):
    refs = tmp_path / "refs"
    refs.mkdir()
    (refs / "a.txt").write_text("1.0\t3.0\tbell\n")
    (refs / "a.jams").write_text("{}")  # another layout of the same recording, not read
    (tmp_path / "est.csv").write_text(
        "filename,onset,offset,event_label,score\na.wav,1.0,3.0,Bicycle bell,0.9\n"
    )
    (tmp_path / "map.csv").write_text("event_label,yamnet_display_names\nbell,Bicycle bell\n")
    args = ["evaluate", "--reference", str(refs), "--estimated", str(tmp_path / "est.csv")]
    args += ["--glob", "*.txt", "--label-map", str(tmp_path / "map.csv"), "--brief"]
    result = CliRunner().invoke(cli, [*args, "--json", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (
        "segment F1 100.0 %, ER 0.00; event F1 100.0 %, ER 0.00 (1 recording, 1 label)"
    )
    figures = json.loads((tmp_path / "r.json").read_text())["files"][0]["event_based"]
    assert (figures["Ntp"], figures["f_measure"]) == (1, 1.0)
    refused = CliRunner().invoke(
        cli, ["evaluate", "--scores", str(refs), "--reference", str(refs), "--brief"]
    )
    assert refused.exit_code == 2 and "--brief is for --estimated events" in refused.output


def test_tag_many_recordings_into_one_resumable_table(tmp_path, bells_wav):
    import pandas as pd
    import soundfile as sf

    audio, rate = sf.read(bells_wav, dtype="float32")
    (tmp_path / "in").mkdir()
    sf.write(tmp_path / "in" / "a.wav", audio[: 10 * rate], rate)
    sf.write(tmp_path / "in" / "b.flac", audio[20 * rate : 32 * rate], rate)
    (tmp_path / "in" / "broken.wav").write_text("not audio")
    table = tmp_path / "tags.csv"
    args = ["tag", str(tmp_path / "in"), "-o", str(table), "--classes", "Bicycle bell,Speech"]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 1  # the broken file failed, named on stderr
    assert "broken.wav: not a readable audio file" in first.stderr
    assert first.stdout.startswith("3 recordings: 2 tagged, 0 already in the table, 1 failed")
    tags = pd.read_csv(table)
    assert list(tags.columns) == ["filename", "duration_seconds", "Bicycle bell", "Speech"]
    assert [Path(f).name for f in tags["filename"]] == ["a.wav", "b.flac"]
    assert tags["duration_seconds"].tolist() == [10.0, 12.0]
    # The clip score is what `sed tag FILE` ranks (the window mean).
    single = CliRunner().invoke(cli, ["tag", str(tmp_path / "in" / "b.flac"), "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(single.stdout)))
    top = {row["label"]: float(row["score"]) for row in rows}
    assert tags.loc[1, "Bicycle bell"] == pytest.approx(top["Bicycle bell"], abs=5e-4)
    # A rerun skips what the table holds; other classes are refused, not mixed in.
    (tmp_path / "in" / "broken.wav").unlink()
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0 and "0 tagged, 2 already in the table" in again.stdout
    assert pd.read_csv(table).equals(tags)
    other = CliRunner().invoke(cli, [*args[:-1], "Dog"])
    assert other.exit_code == 2 and "tag table of other labels" in other.output
    parquet = CliRunner().invoke(cli, [*args[:3], str(tmp_path / "t.parquet"), *args[4:]])
    assert parquet.exit_code == 0, parquet.output
    assert pd.read_parquet(tmp_path / "t.parquet").shape == (2, 4)
    several = CliRunner().invoke(cli, ["tag", str(tmp_path / "in")])
    assert several.exit_code == 2 and "give -o TABLE.csv" in several.output
