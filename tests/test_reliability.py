"""The table of docs/reliability.md is true: every case is run here (or by the test it names),
and the document shows exactly the cases of ``tests/reliability_cases.py``."""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
import tokenize
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.conftest import ROOT, session_outcomes
from tests.reliability_cases import CASES, TABLE_END, TABLE_START, make_workspace, render_table
from tests.test_docs import clean, matches

BIN = Path(sys.executable).parent
DOCUMENT = ROOT / "docs" / "reliability.md"
RUN_HERE = [case for case in CASES if not case.verified_by]


def test_at_least_fifty_cases_with_unique_ids():
    assert len(CASES) >= 50
    assert len({case.id for case in CASES}) == len(CASES)


def test_the_document_shows_every_case():
    text = DOCUMENT.read_text(encoding="utf-8")
    start, end = text.index(TABLE_START), text.index(TABLE_END) + len(TABLE_END)
    assert text[start:end] == render_table(), "run: uv run python scripts/reliability_table.py"
    assert f"{len(CASES)} bad inputs and faults" in text


VERIFIED_ELSEWHERE = [case for case in CASES if case.verified_by]


def executable_source(function) -> str:
    """``function``'s source with its docstring and comments blanked out: the code that runs."""
    source = textwrap.dedent(inspect.getsource(function))
    lines = source.splitlines(keepends=True)
    spans = [
        (token.start, token.end)
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    ]
    first = ast.parse(source).body[0].body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        spans.append(((first.lineno, first.col_offset), (first.end_lineno, first.end_col_offset)))
    for (row, col), (end_row, end_col) in spans:
        for number in range(row, end_row + 1):
            line = lines[number - 1]
            start = col if number == row else 0
            stop = end_col if number == end_row else len(line.rstrip("\n"))
            lines[number - 1] = line[:start] + " " * (stop - start) + line[stop:]
    return "".join(lines)


def named_test(case):
    """The test function ``case.verified_by`` names (``tests/<file>.py::<test>``)."""
    path, name = case.verified_by.split("::")
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    function = getattr(module, name, None)
    assert callable(function) and name.startswith("test_"), f"{case.verified_by}: no such test"
    return function


@pytest.mark.parametrize("case", VERIFIED_ELSEWHERE, ids=lambda case: case.id)
def test_the_test_a_case_names_causes_it_and_asserts_its_message(case):
    """Each fragment is in the named test's code (not a comment or its docstring)."""
    code = executable_source(named_test(case))
    missing = [fragment for fragment in case.fragments if fragment not in code]
    assert case.fragments and not missing, f"{case.verified_by} does not assert {missing}"


@pytest.fixture(scope="module")
def named_outcomes(request, tmp_path_factory):
    """The outcome of every test the cases name: from this run when it ran already, here or in
    another ``pytest -n`` worker (the full suite runs tests/test_batch.py and the others
    first), else from one pytest run of those tests that did not. Returns ``{test: [outcome,
    ...]}`` and what that run printed."""
    wanted = sorted({case.verified_by for case in VERIFIED_ELSEWHERE})
    ran = session_outcomes(request.config)
    outcomes = {test: [v for k, v in ran.items() if k.split("[")[0] == test] for test in wanted}
    missing = [test for test, found in outcomes.items() if not found]
    printed = ""
    if missing:
        report = tmp_path_factory.mktemp("named") / "report.xml"
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                f"--junitxml={report}",
                *missing,
            ],
            cwd=ROOT,
            capture_output=True,
            timeout=1800,
        )
        printed = run.stdout.decode(errors="replace")
        assert report.is_file(), printed[-2000:]
        for testcase in ElementTree.parse(report).iter("testcase"):
            module = testcase.get("classname", "").replace(".", "/")
            test = f"{module}.py::{testcase.get('name', '').split('[')[0]}"
            if testcase.find("failure") is not None or testcase.find("error") is not None:
                outcomes.setdefault(test, []).append("failed")
            elif testcase.find("skipped") is not None:
                outcomes.setdefault(test, []).append("skipped")
            else:
                outcomes.setdefault(test, []).append("passed")
    return outcomes, printed


@pytest.mark.slow  # runs the named tests (batches killed by signals, Dask clusters) if not run yet
@pytest.mark.parametrize("case", VERIFIED_ELSEWHERE, ids=lambda case: case.id)
def test_the_test_a_case_names_passes(case, named_outcomes):
    """The case is executed and its message asserted: the named test ran here and passed."""
    outcomes, printed = named_outcomes
    found = outcomes.get(case.verified_by, [])
    assert found, f"{case.verified_by} was not run (not collected?)"
    assert "failed" not in found, (
        f"{case.verified_by} failed: the case is not verified\n{printed[-4000:]}"
    )
    if "skipped" in found:
        pytest.skip(f"{case.verified_by} was skipped here, so the case is not verified here")


@pytest.fixture(scope="module")
def template(tmp_path_factory, bells_wav):
    return make_workspace(tmp_path_factory.mktemp("reliability") / "workspace", bells_wav)


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry under ``folder`` with its content's hash (links by their target)."""
    found = {}
    for root, directories, names in os.walk(folder):
        for name in directories + names:
            path = Path(root) / name
            key = str(path.relative_to(folder))
            if path.is_symlink():
                found[key] = "-> " + os.readlink(path)
            elif path.is_dir():
                found[key] = "folder"
            else:
                found[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def mount(folder: Path, kind: str) -> None:
    """A small tmpfs at ``folder``: read-only, or with every byte taken; skip where not allowed."""
    folder.mkdir()
    options = "ro,size=64k" if kind == "ro" else "size=64k"
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True
    )
    if result.returncode:
        pytest.skip(f"cannot mount a small file system here: {result.stderr.decode().strip()}")
    if kind == "full":
        handle = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(handle, b"\0" * 4096):
                pass
        except OSError:  # no space left: as wanted
            pass
        finally:
            os.close(handle)


#: Cases run as real processes although their command is a plain `sed ...`: the console script
#: itself, start to end, on a usage error, a bad input and a whole detection.
REAL_PROCESS = {"missing", "unknown-class", "head-and-classes", "latin-name"}


def in_process(case) -> bool:
    """Whether the case runs in this process through click's CliRunner: a plain ``sed ...``
    command (no shell pipe, redirection, substitution or glob) on no special file system.
    Starting a Python process (and TensorFlow) per case cost most of this file's time."""
    plain = re.fullmatch(r"sed [^|;&<>$`\\(){}*]*", case.command)
    return bool(plain) and not case.mount and case.id not in REAL_PROCESS


def run_in_process(command: str, work: Path, env: dict) -> tuple[int, bytes, bytes, object]:
    """``command`` run by the CLI in this process, in ``work`` with ``env``: its exit status,
    stdout, stderr, and the exception that escaped it (None: it ended with an exit status)."""
    from click.testing import CliRunner

    from sed.cli import cli

    here = os.getcwd()
    os.chdir(work)
    try:
        result = CliRunner(env=env).invoke(cli, shlex.split(command)[1:], prog_name="sed")
    finally:
        os.chdir(here)
    crash = result.exception if not isinstance(result.exception, SystemExit) else None
    return result.exit_code, result.stdout_bytes, result.stderr_bytes, crash


@pytest.mark.parametrize(
    "case",
    [pytest.param(case, id=case.id) for case in RUN_HERE],
)
@pytest.mark.slow  # about 0.4 s of CPU each (2 s on a loaded machine), a few load the model
def test_case(case, template, tmp_path, request, session_cache_dir):
    if case.slow:  # the model is converted for LiteRT once, before, with its one-off note
        request.getfixturevalue("model")
    work = tmp_path / "workspace"
    shutil.copytree(template, work, symlinks=True)
    # A cache of the case's own (embeddings of `sed train`), holding the session's conversion.
    cache = tmp_path / "cache"
    cache.mkdir()
    for conversion in Path(session_cache_dir).glob("*.tflite"):
        (cache / conversion.name).symlink_to(conversion)
    env = dict(
        os.environ,
        PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}",
        COLUMNS="100",
        SED_CACHE_DIR=str(cache),
    )
    mounted = work / case.mount if case.mount else None
    if mounted is not None:
        mount(mounted, case.mount)
    try:
        if case.setup:
            subprocess.run(["bash", "-c", case.setup], cwd=work, env=env, check=True)
        before = snapshot(work)
        if in_process(case):
            status, out, err, crash = run_in_process(case.command, work, env)
        else:
            result = subprocess.run(
                ["bash", "-c", case.command], cwd=work, env=env, capture_output=True, timeout=600
            )
            status, out, err, crash = result.returncode, result.stdout, result.stderr, None
        after = snapshot(work)
    finally:
        if mounted is not None:
            subprocess.run(["umount", "-l", str(mounted)], check=False)
    stderr = clean(err.decode(errors="replace"))
    stdout = clean(out.decode(errors="replace"))
    shown = "\n".join(["stderr:", *stderr, "stdout:", *stdout, f"exception: {crash!r}"])
    assert status == case.status, shown
    assert crash is None and not any("Traceback" in line for line in stderr), shown
    assert any(matches([case.gets], [line]) for line in stderr + stdout), shown
    if case.gets.startswith("Error: "):  # click's usage error: usage, hint, error
        assert stderr[-1] == stderr[-1].strip() and len(stderr) == 4, shown
    elif case.status:
        assert len(stderr) == 1, shown  # one line
    if case.status == 2:
        assert after == before  # refused: nothing written
