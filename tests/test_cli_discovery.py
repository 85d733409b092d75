"""Every command sees the same recordings in one folder (one discovery: find_audio_files)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from sed.cli import cli


@pytest.fixture
def tricky(tmp_path, rng):
    """Short real audio files among hidden files, odd suffixes, a link to another folder, a link
    loop and a second name for one file."""
    root = tmp_path / "tricky"
    names = ["a.WAV", "b.Flac", "sub/c.ogg", ".hidden.wav", ".cache/d.wav"]
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        sf.write(root / name, (0.1 * rng.standard_normal(24000)).astype(np.float32), 16000)
    (root / "notes.txt").write_text("field notes")
    (root / "e.wav.bak").write_bytes(b"an old copy")
    (tmp_path / "other").mkdir()
    sf.write(tmp_path / "other" / "f.wav", np.zeros(24000, np.float32), 16000)
    (root / "linked").symlink_to(tmp_path / "other")
    (root / "sub" / "loop").symlink_to(root)
    (root / "g.wav").symlink_to(root / "a.WAV")
    return root


EXPECTED = ["a.WAV", "b.Flac", "linked/f.wav", "sub/c.ogg"]


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def test_detect_and_embed_see_the_same_files(tricky, tmp_path):
    invoke("detect", tricky, "-o", tmp_path / "out", "--quiet", "--classes", "Speech")
    parameters = json.loads((tmp_path / "out" / "parameters.json").read_text())
    results = sorted(
        p.relative_to(tmp_path / "out" / ".sed" / "results").as_posix()
        for p in (tmp_path / "out" / ".sed" / "results").rglob("*.json")
    )
    assert results == [name + ".json" for name in EXPECTED]
    assert parameters["recordings"] == len(EXPECTED)
    invoke("embed", tricky, "-o", tmp_path / "e.npz")
    with np.load(tmp_path / "e.npz") as stored:
        embedded = sorted({str(name)[len(str(tricky)) + 1 :] for name in stored["filenames"]})
    assert embedded == EXPECTED


def test_tune_and_evaluate_pair_the_same_files(tricky, tmp_path):
    from sed.annotations import development_set
    from sed.audio import audio_by_stem

    stems = {"a", "b", "f", "c"}
    assert set(audio_by_stem(tricky)) == stems
    (tmp_path / "ref").mkdir()
    for stem in stems:
        (tmp_path / "ref" / f"{stem}.tsv").write_text("0.1\t0.9\tSpeech\n")
    paths, _ = development_set(tricky, tmp_path / "ref")
    assert sorted(p[len(str(tricky)) + 1 :] for p in paths) == EXPECTED
