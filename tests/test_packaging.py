"""What `pyproject.toml` and the docs promise: fast starts, the right licence for the weights."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_bytecode_is_compiled_at_install_not_at_every_run():
    # uv's `compile-bytecode = true` re-walks site-packages on every `uv run` (0.7 s and a line
    # on stderr per command); the docs tell users of PYTHONDONTWRITEBYTECODE to compile once.
    assert "compile-bytecode" not in _pyproject()["tool"]["uv"]
    for doc in ("README.md", "docs/performance.md"):
        assert "--compile-bytecode" in (ROOT / doc).read_text(encoding="utf-8"), doc


def test_weights_licence_is_apache_where_the_weights_are_described():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    comment = next(line for line in text.splitlines() if "TF-Hub YAMNet" in line)
    assert "Apache" in comment
    for doc in ("README.md", "docs/model.md"):
        body = (ROOT / doc).read_text(encoding="utf-8")
        assert "TF-Hub release (Apache 2.0)" in body or "Apache License 2.0" in body, doc
