"""The quick run's list of slow tests (``tests/conftest.py``) names tests that exist: a test
renamed or removed would otherwise leave the list silently, and slow the quick run."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import MEASURED_SLOW

TESTS = Path(__file__).resolve().parent


def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    }


def test_every_test_the_slow_list_names_exists():
    missing = [
        f"{file}::{name}"
        for file, names in sorted(MEASURED_SLOW.items())
        for name in sorted(names)
        if not (TESTS / file).is_file() or name not in _test_functions(TESTS / file)
    ]
    assert not missing, f"MEASURED_SLOW names tests that do not exist: {missing}"
