"""Outputs checked before any work: inputs never overwritten, wrong kinds and unwritable paths
refused, in one line, with nothing read or written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sed.errors import OutputError, ParameterError, WriteError
from sed.infra import atomic_open
from sed.outputs import Output, check_outputs

SED = str(Path(sys.executable).parent / "sed")


@pytest.fixture
def files(tmp_path):
    (tmp_path / "rec.wav").write_bytes(b"RIFF")
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "rec.tsv").write_text("1\t2\tdog\n")
    (tmp_path / "notes.txt").write_text("mine\n")
    return tmp_path


def refused(outputs, inputs=None):
    with pytest.raises(OutputError) as caught:
        check_outputs(outputs, inputs)
    return str(caught.value)


def test_an_output_may_not_be_an_input_under_any_name(files):
    inputs = {"INPUT": str(files / "rec.wav"), "--reference": [str(files / "annotations")]}
    message = refused([Output(files / "rec.wav")], inputs)
    assert message == (
        f"{files / 'rec.wav'}: -o would replace an input of this run (INPUT {files / 'rec.wav'}); "
        "write it elsewhere"
    )
    os.symlink(files / "rec.wav", files / "link.csv")
    assert "through a link" in refused([Output(files / "link.csv", "--scores")], inputs)
    os.link(files / "rec.wav", files / "hard.csv")
    assert ", as a hard link" in refused([Output(files / "hard.csv")], inputs)
    relative = os.path.relpath(files / "rec.wav")
    assert "would replace an input" in refused([Output(relative)], inputs)
    # A file inside a folder the run reads, and a hard link to one from outside the folder.
    assert "inside" in refused([Output(files / "annotations" / "rec.tsv")], inputs)
    os.link(files / "annotations" / "rec.tsv", files / "other.tsv")
    assert "annotations/rec.tsv, as a hard link" in refused([Output(files / "other.tsv")], inputs)
    # New files are fine, also inside an input folder, and a batch may write into its input folder.
    check_outputs(
        [
            Output(files / "annotations" / "new.json", "--json"),
            Output(files / "events.csv"),
            Output(files / "annotations", "output", folder=True),
        ],
        inputs,
    )


def test_outputs_of_the_wrong_kind_or_named_twice(files):
    assert "needs a folder, and this is a file" in refused(
        [Output(files / "notes.txt", folder=True)]
    )
    assert "needs a file name, and this is a folder" in refused([Output(files / "annotations")])
    assert f"{files / 'notes.txt'} is a file, not a folder" in refused(
        [Output(files / "notes.txt" / "deeper" / "x.csv")]
    )
    assert "--save-config and -o name the same file" in refused(
        [Output(files / "x.csv"), Output(files / "x.csv", "--save-config")]
    )
    assert "-o is empty" in refused([Output("")])
    check_outputs([Output(None), Output(files / "new" / "deeper" / "x.csv")])  # created later
    assert not (files / "new").exists()  # the check creates nothing


def test_a_folder_with_a_marker_holds_only_what_sed_wrote(files):
    head = files / "head"
    head.mkdir()
    check_outputs([Output(head, folder=True, marker="head.json")])  # empty: fine
    (head / "notes.txt").write_text("mine")
    assert "holds other files (no head.json)" in refused(
        [Output(head, folder=True, marker="head.json")]
    )
    (head / "head.json").write_text("{}")
    check_outputs([Output(head, folder=True, marker="head.json")])  # a head: retrained in place


def test_names_too_long_for_the_temporary_file_are_refused(files):
    name = "a" * 250 + ".csv"  # fits the file system's 255 bytes, not its temporary sibling
    assert "name too long" in refused([Output(files / name)])


def test_a_read_only_file_is_not_replaced(files):
    (files / "kept.csv").write_text("keep")
    (files / "kept.csv").chmod(0o444)
    if os.access(files / "kept.csv", os.W_OK):
        pytest.skip("this user writes read-only files anyway (root)")
    assert "is read-only" in refused([Output(files / "kept.csv")])


def test_an_output_error_is_a_parameter_error_and_a_write_error_an_os_error(tmp_path):
    assert issubclass(OutputError, ParameterError)  # exit status 2 on the command line
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(WriteError) as caught, atomic_open(blocker / "x.csv") as handle:
        handle.write("never")
    assert isinstance(caught.value, OSError) and caught.value.errno is not None
    assert str(caught.value).startswith(f"{blocker / 'x.csv'}: cannot write (")


def run_sed(*args, cwd):
    return subprocess.run([SED, *map(str, args)], capture_output=True, text=True, cwd=cwd)


@pytest.mark.parametrize(
    "args,message",
    [
        (
            ["detect", "rec.wav", "-o", "rec.wav"],
            "sed detect: error: rec.wav: -o would replace an input of this run (INPUT rec.wav)",
        ),
        (
            ["detect", "rec.wav", "-o", "x.csv", "--scores", "rec.wav"],
            "sed detect: error: rec.wav: --scores would replace an input of this run",
        ),
        (
            ["detect", "rec.wav", "-o", "x.csv", "--format", "csv", "--format", "tsv"],
            "sed detect: error: x.tsv: -o would replace an input of this run (--label-map x.tsv)",
        ),
        (
            ["detect", "rec.wav", "rec.wav", "-o", "notes.txt"],
            "sed detect: error: notes.txt: -o needs a folder, and this is a file",
        ),
        (
            ["tune", "--audio", ".", "--reference", "ref.tsv", "-o", "ref.tsv"],
            "sed tune: error: ref.tsv: -o would replace an input of this run (--reference ref.tsv)",
        ),
        (
            ["evaluate", "--reference", "ref.tsv", "--estimated", "ref.tsv", "--json", "ref.tsv"],
            "sed evaluate: error: ref.tsv: --json would replace an input of this run",
        ),
        (["plot", "rec.wav", "-o", "rec.wav/f.png"], "sed plot: error: rec.wav/f.png: -o cannot"),
        (["embed", "rec.wav", "-o", "rec.wav/e.npz"], "sed embed: error: rec.wav/e.npz: -o cannot"),
        (["train", ".", "-o", "."], "sed train: error: .: -o is a folder that holds other files"),
    ],
)
def test_every_command_refuses_before_reading_anything(tmp_path, args, message):
    # rec.wav is not even audio: a command that read it first would say so instead.
    (tmp_path / "rec.wav").write_bytes(b"not audio at all")
    (tmp_path / "ref.tsv").write_text("1\t2\tdog\n")
    (tmp_path / "notes.txt").write_text("mine\n")
    if "--format" in args:  # the second format's file is the label map given
        args = [*args, "--label-map", "x.tsv"]
        (tmp_path / "x.tsv").write_text("event_label,yamnet_display_names\n")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    result = run_sed(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1, result.stderr
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


# ---- special files and files sed did not write -------------------------------------------------


def test_a_fifo_is_written_to_and_stays_a_fifo(tmp_path):
    fifo = tmp_path / "p.csv"
    os.mkfifo(fifo)
    check_outputs([Output(fifo)])  # no refusal: its folder and free space do not matter
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    with atomic_open(fifo, "w", encoding="utf-8") as handle:
        handle.write("filename,onset\n")
    assert reader.communicate(timeout=30)[0] == b"filename,onset\n"
    assert fifo.is_fifo()
    assert not [p for p in tmp_path.iterdir() if p.name != "p.csv"]  # no temporary file


def test_a_character_device_is_written_to_not_replaced(tmp_path):
    null = tmp_path / "null"
    os.symlink(os.devnull, null)
    check_outputs([Output(null)])
    with atomic_open(null, "w", encoding="utf-8") as handle:
        handle.write("gone\n")
    assert null.is_symlink() and Path(os.devnull).is_char_device()


def test_a_socket_is_refused(tmp_path):
    import socket

    path = tmp_path / "s.csv"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    try:
        assert refused([Output(path)]) == (
            f"{path}: -o is a socket; sed writes regular files, FIFOs and character devices only"
        )
        with pytest.raises(WriteError, match="is a socket"), atomic_open(path) as handle:
            handle.write("x")
    finally:
        server.close()


def test_a_file_sed_did_not_write_needs_overwrite(files):
    target = files / "annotations" / "rec.tsv"
    assert refused([Output(target)]) == (
        f"{target}: -o exists and sed did not write it (or it was changed since); it will not be "
        "replaced: give --overwrite to replace it, or another name"
    )
    check_outputs([Output(target)], overwrite=True)
    with atomic_open(target, "w", encoding="utf-8") as handle:  # what --overwrite lets happen
        handle.write("0\t1\tbell\n")
    check_outputs([Output(target)])  # now sed's own: replaced without asking
    os.utime(target, ns=(0, 0))  # touched (or edited) since: the user's again
    assert "sed did not write it (or it was changed since)" in refused([Output(target)])
