"""Backends: the LiteRT conversion cache, and the fallback to TensorFlow where LiteRT is missing.

Parity of each backend with the TF-Hub graph is in test_model_yamnet.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import sed.model.litert as litert
from sed.errors import ModelError, ParameterError
from sed.model import Yamnet, find_weights
from sed.model.backends import resolve_backend
from sed.params import YamnetParams


@pytest.fixture(scope="module")
def flatbuffer(model):
    """The session's conversion, read back from its cache file."""
    stored = litert.read_cached(litert.cache_path(model.source))
    assert stored is not None
    return stored


@pytest.fixture
def conversions(monkeypatch, flatbuffer):
    """Replace the (20 s) TensorFlow conversion by the session's result; counts the calls."""
    calls = []

    def convert(source, params=YamnetParams()):
        calls.append(source)
        return flatbuffer

    monkeypatch.setattr(litert, "convert_to_tflite", convert)
    return calls


@pytest.fixture
def patches(rng):
    return rng.normal(-4.0, 2.0, (5, 96, 64)).astype(np.float32)


def test_conversion_is_cached_under_the_weights_key(model, session_cache_dir):
    path = litert.cache_path(model.source)
    assert os.path.dirname(path) == session_cache_dir
    assert os.path.basename(path).startswith("yamnet-") and path.endswith(".tflite")
    # Other tests cache embeddings and feature-map networks beside it; no temporary is left.
    names = os.listdir(session_cache_dir)
    assert os.path.basename(path) in names and not [n for n in names if n.endswith(".tmp")]
    data = Path(path).read_bytes()
    assert data[4:8] == b"TFL3"  # a TFLite flatbuffer, then sed's trailer
    assert data[-40:-32] == b"SEDTFL01"


def test_a_cached_conversion_is_used_without_converting(conversions, model, patches):
    again = Yamnet.load(backend="litert")
    assert conversions == []
    np.testing.assert_array_equal(again.predict(patches)[0], model.predict(patches)[0])


@pytest.mark.parametrize(
    "damage", ["truncated", "flipped_byte", "valid_trailer_not_a_model", "empty"]
)
def test_a_damaged_cache_file_is_converted_again(
    tmp_path, monkeypatch, conversions, model, patches, flatbuffer, damage
):
    monkeypatch.setenv("SED_CACHE_DIR", str(tmp_path))
    path = litert.cache_path(find_weights())
    litert.write_cached(path, flatbuffer)
    data = Path(path).read_bytes()
    if damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "flipped_byte":
        data = data[:1000] + bytes([data[1000] ^ 0xFF]) + data[1001:]
    elif damage == "empty":
        data = b""
    with open(path, "wb") as handle:
        handle.write(data)
    if damage == "valid_trailer_not_a_model":
        litert.write_cached(path, b"not a flatbuffer" * 100)
    loaded = Yamnet.load(backend="litert")
    assert len(conversions) == 1
    np.testing.assert_array_equal(loaded.predict(patches)[0], model.predict(patches)[0])
    assert litert.read_cached(path) == flatbuffer  # replaced by a good one
    assert os.listdir(tmp_path) == [os.path.basename(path)]


def test_an_unwritable_cache_warns_and_still_works(
    tmp_path, monkeypatch, conversions, model, patches
):
    (tmp_path / "a_file").write_text("")
    monkeypatch.setenv("SED_CACHE_DIR", str(tmp_path / "a_file" / "cache"))
    with pytest.warns(UserWarning, match="cannot cache the LiteRT conversion"):
        loaded = Yamnet.load(backend="litert")
    assert len(conversions) == 1
    np.testing.assert_array_equal(loaded.predict(patches)[0], model.predict(patches)[0])


def test_cache_writes_are_atomic(tmp_path, monkeypatch):
    path = str(tmp_path / "yamnet-x.tflite")

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        litert.write_cached(path, b"model")
    assert os.listdir(tmp_path) == []  # neither the file nor a temporary


def test_cache_key_follows_the_weights_content_not_their_path(tmp_path):
    for name in ("a", "b", "c"):
        (tmp_path / name / "variables").mkdir(parents=True)
        (tmp_path / name / "variables" / "variables.index").write_bytes(b"index")
        (tmp_path / name / "variables" / "variables.data-00000-of-00001").write_bytes(b"data")
    (tmp_path / "c" / "variables" / "variables.data-00000-of-00001").write_bytes(b"DATA")
    (tmp_path / "b" / "saved_model.pb").write_bytes(b"graph, not weights")
    key = {name: litert.cache_path(tmp_path / name, directory="d") for name in ("a", "b", "c")}
    assert key["a"] == key["b"] != key["c"]
    (tmp_path / "w.h5").write_bytes(b"weights")
    (tmp_path / "copy.h5").write_bytes(b"weights")
    assert litert.cache_path(tmp_path / "w.h5") == litert.cache_path(tmp_path / "copy.h5")


def test_bad_backend_and_thread_values(flatbuffer):
    with pytest.raises(ParameterError, match="unknown backend 'onnx'"):
        resolve_backend("onnx")
    with pytest.raises(ParameterError, match="threads must be a positive integer"):
        litert.LiteRTNetwork(flatbuffer, threads=0)
    assert litert.LiteRTNetwork(flatbuffer, threads=1).threads == 1


@pytest.fixture
def without_litert(monkeypatch):
    """Simulate an installation without ai-edge-litert: importing it fails."""
    for name in [m for m in sys.modules if m.startswith("ai_edge_litert")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)


@pytest.mark.slow
def test_without_litert_auto_falls_back_to_tensorflow(without_litert, tf_model, patches):
    assert resolve_backend("auto") == "tensorflow"
    with pytest.raises(ModelError, match="needs the ai-edge-litert package"):
        resolve_backend("litert")
    fallback = Yamnet.load()
    assert fallback.backend == "tensorflow" and fallback.feature_implementation == "tensorflow"
    np.testing.assert_array_equal(fallback.predict(patches)[0], tf_model.predict(patches)[0])


RUN_CLI = """
import sys
{block}
from sed.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exit:
    assert not exit.code, exit.code
print("tensorflow imported:", "tensorflow" in sys.modules)
"""


def run_cli_in_python(*args, block=""):
    return subprocess.run(
        [sys.executable, "-c", RUN_CLI.format(block=block), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
        env=os.environ,
    )


@pytest.fixture(scope="module")
def litert_run(model, bells_wav, tmp_path_factory):
    """``sed detect`` of the bells in a fresh Python, on LiteRT (the session's conversion is
    cached): what it printed, and the events file. Read-only."""
    events = tmp_path_factory.mktemp("litert-run") / "ev.csv"
    return run_cli_in_python("detect", bells_wav, "-o", events), events


def test_the_fast_path_never_imports_tensorflow(litert_run):
    result, _ = litert_run
    assert result.returncode == 0, result.stderr
    assert "tensorflow imported: False" in result.stdout
    assert result.stderr == ""


@pytest.mark.slow
def test_the_command_works_where_only_tensorflow_is_installed(litert_run, bells_wav, tmp_path):
    fast, litert_events = litert_run
    slow = run_cli_in_python(
        "detect", bells_wav, "-o", tmp_path / "tf.csv", block="sys.modules['ai_edge_litert'] = None"
    )
    assert slow.returncode == 0, slow.stderr
    assert "tensorflow imported: True" in slow.stdout and slow.stderr == ""
    assert fast.returncode == 0
    assert (tmp_path / "tf.csv").read_text() == litert_events.read_text()


@pytest.mark.slow
def test_first_run_converts_quietly_with_one_note(first_run, bells_wav, tmp_path):
    """A real conversion through the command (the session's, which every test's model comes
    from): TensorFlow's converter prints its progress on stdout and stderr; all the user sees is
    one note on stderr, and the cache file."""
    result = first_run.result
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("sed: converting YAMNet for LiteRT, once for these weights")
    assert result.stderr.count("\n") == 1
    assert result.stdout.splitlines()[0].endswith(" events in 60.0 s of audio:")
    # The conversion, and the record of the events file sed wrote (sed.infra.written_by_sed).
    names = first_run.cached_names
    assert len(names) == 2 and names[0] == "written" and names[1].endswith(".tflite")
    again = subprocess.run(
        [
            str(Path(sys.executable).parent / "sed"),
            "detect",
            str(bells_wav),
            "-o",
            str(tmp_path / "ev2.csv"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, SED_CACHE_DIR=str(first_run.cache)),
    )
    assert (again.returncode, again.stderr, again.stdout.splitlines()[0]) == (
        0,
        "",
        result.stdout.splitlines()[0],
    )  # the cached model: no note, same events
    assert (tmp_path / "ev2.csv").read_text() == first_run.events.read_text()
