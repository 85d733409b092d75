"""The layout: no import cycles between sed's modules, and each wing depends only downwards."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sed"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every sed module ``path`` imports, at top level or inside functions, but not in an
    ``if TYPE_CHECKING:`` block (annotations only, never run)."""
    tree = ast.parse(path.read_text())
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(inner) for inner in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sed"):
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("sed")}
    return found


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        # "from sed.model import Yamnet" names the package; keep the modules that exist.
        graph[name] = {m for m in imports_of(path) if m in modules and m != name}
    return graph


def test_no_import_cycles():
    graph = import_graph()
    state: dict[str, str] = {}

    def visit(node, trail):
        state[node] = "open"
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                pytest.fail("import cycle: " + " -> ".join([*trail, node, target]))
            if target not in state:
                visit(target, [*trail, node])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])


@pytest.mark.parametrize(
    "wing,forbidden",
    [
        ("sed.infra", ("sed.",)),
        ("sed.errors", ("sed.",)),
        ("sed.params", ("sed.audio", "sed.model", "sed.heads", "sed.pipeline", "sed.cli")),
        ("sed.model", ("sed.heads", "sed.pipeline", "sed.cli", "sed.batch", "sed.segmenter")),
        ("sed.heads", ("sed.pipeline", "sed.cli", "sed.batch", "sed.tuning")),
        ("sed.evaluation", ("sed.batch", "sed.pipeline", "sed.cli", "sed.audio")),
        ("sed.batch", ("sed.cli",)),
        ("sed.pipeline", ("sed.cli", "sed.listen", "sed.review")),
        ("sed.postprocessing", ("sed.segmenter", "sed.pipeline", "sed.listen", "sed.cli")),
        ("sed.listen", ("sed.cli", "sed.batch")),
        ("sed.review", ("sed.cli", "sed.model", "sed.heads", "sed.listen")),
    ],
)
def test_wings_depend_downwards(wing, forbidden):
    # sed.errors is the floor every room stands on (it imports nothing of sed): any may use it.
    graph = import_graph()
    for module, targets in graph.items():
        if module == wing or module.startswith(wing + "."):
            bad = sorted(
                t
                for t in targets
                if t.startswith(forbidden)
                and t != "sed.errors"
                and not (t == wing or t.startswith(wing + "."))
            )
            assert not bad, f"{module} imports {bad}"


def test_the_command_line_starts_without_pandas_tensorflow_or_matplotlib():
    # `sed --help` and argument errors must be instant; heavy libraries load when work starts.
    import subprocess
    import sys

    code = (
        "import sys, sed.cli; print(sorted(m for m in ('pandas', 'tensorflow', 'matplotlib',"
        " 'keras', 'sed_eval') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_no_assert_statements_in_the_package():
    # `python -O` removes asserts: input is checked by explicit tests raising a SedError, and an
    # internal invariant by one raising RuntimeError.
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Assert)
    ]
    assert not found, f"assert statements in sed/: {', '.join(found)}"
