"""The layout: no import cycles between sed's modules, and each wing depends only downwards."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sed"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, *, type_only: bool = True) -> set[str]:
    """Every sed module ``path`` imports, at top level, inside functions and, with
    ``type_only``, in an ``if TYPE_CHECKING:`` block: an import for annotations only is a
    dependency too (a cycle through one says two modules know each other)."""
    tree = ast.parse(path.read_text())
    skipped = set()
    if not type_only:
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


def within(module: str, package: str) -> bool:
    """True if ``module`` is ``package`` or in it: ``sed.batch`` is not ``sed.batch_folder``."""
    return module == package or module.startswith(package + ".")


def import_graph(*, type_only: bool = True) -> dict[str, set[str]]:
    """Each sed module's imports of other sed modules (:func:`imports_of`)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        # "from sed.model import Yamnet" names the package; keep the modules that exist.
        graph[name] = {
            m for m in imports_of(path, type_only=type_only) if m in modules and m != name
        }
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
        ("sed.infra", ("sed",)),
        ("sed.errors", ("sed",)),
        ("sed.params", ("sed.audio", "sed.model", "sed.heads", "sed.pipeline", "sed.cli")),
        ("sed.model", ("sed.heads", "sed.pipeline", "sed.cli", "sed.batch", "sed.segmenter")),
        ("sed.heads", ("sed.pipeline", "sed.cli", "sed.batch", "sed.tuning")),
        ("sed.evaluation", ("sed.batch", "sed.pipeline", "sed.cli", "sed.audio")),
        ("sed.batch", ("sed.cli",)),
        # The layout of a batch folder stands below the runner and every reader of the folder.
        ("sed.batch_folder", ("sed.batch", "sed.cluster", "sed.pipeline", "sed.review", "sed.cli")),
        # Readers of batch folders need its layout, never the runner.
        ("sed.pipeline", ("sed.cli", "sed.listen", "sed.review", "sed.batch", "sed.cluster")),
        ("sed.postprocessing", ("sed.segmenter", "sed.pipeline", "sed.listen", "sed.cli")),
        ("sed.listen", ("sed.cli", "sed.batch")),
        ("sed.review", ("sed.cli", "sed.model", "sed.heads", "sed.listen", "sed.batch")),
    ],
)
def test_wings_depend_downwards(wing, forbidden):
    # sed.errors is the floor every room stands on (it imports nothing of sed): any may use it.
    graph = import_graph()
    for module, targets in graph.items():
        if within(module, wing):
            bad = sorted(
                t
                for t in targets
                if any(within(t, f) for f in forbidden)
                and t != "sed.errors"
                and not within(t, wing)
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
