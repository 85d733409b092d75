"""Infrastructure: atomic output files, content fingerprints, the cache folder."""

from __future__ import annotations

import os

import pytest

from sed.infra import atomic_open, atomic_path, cache_dir, content_sha256


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_open(target) as handle:
        handle.write("partial")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.csv"]  # no temporary file left behind


def test_atomic_path_honours_the_umask(tmp_path):
    # mkstemp makes 0600 files; an output must get the permissions any new file would.
    target = tmp_path / "out.bin"
    with atomic_path(target) as temporary, open(temporary, "wb") as handle:
        handle.write(b"x")
    umask = os.umask(0)
    os.umask(umask)
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~umask)


def test_content_sha256_sees_content_and_names_not_location(tmp_path):
    for root in ("a", "b"):
        (tmp_path / root / "sub").mkdir(parents=True)
        (tmp_path / root / "sub" / "x.bin").write_bytes(b"weights")
    assert content_sha256(tmp_path / "a") == content_sha256(tmp_path / "b")
    (tmp_path / "b" / "sub" / "x.bin").write_bytes(b"Weights")
    assert content_sha256(tmp_path / "a") != content_sha256(tmp_path / "b")
    (tmp_path / "b" / "sub" / "x.bin").write_bytes(b"weights")
    (tmp_path / "b" / "sub" / "x.bin").rename(tmp_path / "b" / "sub" / "y.bin")
    assert content_sha256(tmp_path / "a") != content_sha256(tmp_path / "b")
    # A single file: only its bytes count, not its name.
    (tmp_path / "c.bin").write_bytes(b"weights")
    assert content_sha256(tmp_path / "c.bin") == content_sha256(tmp_path / "b" / "sub" / "y.bin")


def test_cache_directory_choice(monkeypatch, tmp_path):
    monkeypatch.setenv("SED_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_dir() == str(tmp_path / "mine")
    monkeypatch.delenv("SED_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == str(tmp_path / "xdg" / "sed")
