"""What `pyproject.toml` promises a user: fast starts and the right licence for the weights."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_uv_compiles_bytecode_at_install():
    # Where PYTHONDONTWRITEBYTECODE is set, only bytecode compiled at install keeps
    # `uv run sed` from recompiling pandas and numpy at every start.
    assert _pyproject()["tool"]["uv"]["compile-bytecode"] is True


def test_weights_licence_is_apache_where_the_weights_are_described():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    comment = next(line for line in text.splitlines() if "TF-Hub YAMNet" in line)
    assert "Apache" in comment
    for doc in ("README.md", "docs/model.md"):
        body = (ROOT / doc).read_text(encoding="utf-8")
        assert "TF-Hub release (Apache 2.0)" in body or "Apache License 2.0" in body, doc
