"""The documents stay true: every console example of the README and docs/ is run and compared.

How a document is written for this test:

- A ````console```` block is a transcript: lines starting with ``$ `` are commands (a trailing
  ``\\`` continues one on the next line), the lines after a command are its output (stdout and
  stderr together, in the order written). ``uv run sed`` and ``uv run python`` run this checkout's
  ``sed`` and Python.
- A command that is only ``uv run sed ARGS`` (no pipe, redirection, variable or other shell
  syntax) runs in this process, through the console script's entry point ``sed.cli.main``: that
  spares a Python start-up and TensorFlow's import per command (a minute over the documents).
  The others run in bash; ``tests/test_cli.py`` and ``tests/test_acceptance.py`` run ``sed`` as
  a real process.
- In the expected output, ``...`` stands for any text within a line, and a line holding only
  ``...`` for any number of lines (timings, progress bars, long reports).
- A ````python```` block is run as a script and must succeed: in this process, unless it holds
  ``__main__`` (a script that worker processes import runs in a Python of its own).
- Blocks of any other language (``sh``, ``toml``, ``text``...) are shown, never run: use ``sh`` for
  commands too long for a test (benchmarks, training on a whole data set).
- The blocks of one document run in order, in one fresh folder holding a copy of ``examples/``,
  with ``../shared`` beside it as in the project folder. A block whose commands read
  ``../shared`` is skipped where the shared data is absent.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from sed.cli import main
from tests.conftest import EXAMPLES, ROOT, SHARED_DATA

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BIN = Path(sys.executable).parent
FENCE = re.compile(r"^```(\w*)\s*$")


@dataclass
class Step:
    """One command of a console block and the output the document shows for it."""

    command: str
    expected: list[str] = field(default_factory=list)


@dataclass
class Block:
    """A fenced block of a document: its language, where it starts, and its text."""

    document: Path
    line: int
    language: str
    text: str

    @property
    def steps(self) -> list[Step]:
        steps: list[Step] = []
        lines = self.text.split("\n")
        i = 0
        while i < len(lines):
            line = lines[i]
            if line.startswith("$ "):
                command = line[2:]
                while command.endswith("\\") and i + 1 < len(lines):
                    i += 1
                    command = command[:-1].rstrip() + " " + lines[i].strip()
                steps.append(Step(command))
            elif steps:
                steps[-1].expected.append(line)
            i += 1
        for step in steps:
            while step.expected and not step.expected[-1].strip():
                step.expected.pop()
        return steps

    @property
    def needs_shared_data(self) -> bool:
        return "../shared" in self.text


def blocks_of(document: Path) -> list[Block]:
    blocks, language, start, body = [], None, 0, []
    for number, line in enumerate(document.read_text(encoding="utf-8").split("\n"), start=1):
        match = FENCE.match(line)
        if language is None and match:
            language, start, body = match.group(1), number, []
        elif language is not None and line.strip() == "```":
            blocks.append(Block(document, start, language, "\n".join(body)))
            language = None
        elif language is not None:
            body.append(line)
    return [block for block in blocks if block.language in ("console", "python")]


def shell_command(command: str) -> str:
    """The document's command with ``uv run`` resolved to this checkout's environment."""
    command = re.sub(r"(^|[;&|(]\s*)uv run sed\b", rf"\1{BIN / 'sed'}", command)
    return re.sub(r"(^|[;&|(]\s*)uv run python\b", rf"\1{sys.executable}", command)


#: What makes a command more than ``uv run sed ARGS``: bash must run it.
SHELL_SYNTAX = re.compile(r"[|&;<>()$`*?~{}\[\]!\\#]")


def in_process_args(command: str) -> list[str] | None:
    """The arguments of a command that is only ``uv run sed ARGS``, else None."""
    if not command.startswith("uv run sed ") or SHELL_SYNTAX.search(command):
        return None
    return shlex.split(command)[3:]


class _Sed:
    """The ``sed`` console script for :meth:`CliRunner.invoke`, which calls ``.main``."""

    def main(self, args, prog_name, **_):
        # Line-buffered, as on the terminal the documents show (a progress bar's last line break
        # comes before the next line on stdout).
        sys.stdout.reconfigure(line_buffering=True)
        sys.stderr.reconfigure(line_buffering=True)
        main(list(args))


@contextlib.contextmanager
def as_a_fresh_process():
    """Warnings and the package's log notes reach stderr as in a fresh ``sed`` process: Python's
    default warning filters (not pytest's), and ``sed.cli.main``'s log handler, which is removed
    afterwards (it holds the runner's stream)."""
    logger = logging.getLogger("sed")
    saved = logger.handlers[:], logger.level, logger.propagate
    logger.handlers.clear()
    with warnings.catch_warnings():
        warnings.resetwarnings()
        for action, category in DEFAULT_WARNING_FILTERS:
            warnings.filterwarnings(action, category=category)
        warnings.showwarning = _warning_to_stderr
        try:
            yield
        finally:
            logger.handlers[:], logger.level, logger.propagate = saved


#: Python's warning filters at start-up (no ``-W``), in the order they are added: each goes
#: in front, so the last one added is the first to match.
DEFAULT_WARNING_FILTERS = [
    ("default", Warning),
    ("ignore", ResourceWarning),
    ("ignore", ImportWarning),
    ("ignore", PendingDeprecationWarning),
    ("ignore", DeprecationWarning),
]


def _warning_to_stderr(message, category, filename, lineno, file=None, line=None):
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def run_in_process(args: list[str], cwd: Path) -> tuple[int, str]:
    """``sed ARGS`` run in ``cwd`` by this process: its exit status and output (stdout and stderr
    mixed in the order written, and what C code wrote to the file descriptors after them). An
    exception ``sed`` lets through fails the test with its traceback."""
    here = os.getcwd()
    os.chdir(cwd)
    try:
        with as_a_fresh_process():
            result = CliRunner(capture="fd").invoke(
                _Sed(), args, prog_name="sed", env={"COLUMNS": "100"}
            )
    finally:
        os.chdir(here)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception.with_traceback(result.exc_info[2])
    return result.exit_code, result.output


def matches(expected: list[str], actual: list[str]) -> bool:
    """True if ``actual`` fits ``expected``, where ``...`` is any text (a line of only ``...``:
    any number of lines)."""
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head.strip() == "...":
        return any(matches(rest, actual[k:]) for k in range(len(actual) + 1))
    if not actual:
        return False
    pattern = ".*".join(re.escape(part) for part in head.rstrip().split("..."))
    return re.fullmatch(pattern, actual[0].rstrip()) is not None and matches(rest, actual[1:])


def clean(output: str) -> list[str]:
    """Output lines as a terminal shows them: a progress bar's carriage returns keep its last
    state, trailing blank lines go."""
    lines = [line.split("\r")[-1] for line in output.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


class Workspaces:
    """One working folder per document, like the project folder: examples/ and ../shared; and
    which of the document's blocks this process has run in it.

    The documents' ``--cache-dir embeddings`` (and ``EmbeddingCache("embeddings")``) is the
    session's embedding cache, so the ESC-50 clips that several documents and tests train on are
    embedded once: the cache is keyed by content, so what the examples print is the same."""

    def __init__(self, tmp_path_factory, embedding_cache_dir: Path):
        self._factory, self._embeddings = tmp_path_factory, embedding_cache_dir
        self._made: dict[Path, Path] = {}
        self.ran: set[tuple[Path, int]] = set()  # (document, line) of the blocks run

    def folder(self, document: Path) -> Path:
        if document not in self._made:
            self._embeddings.mkdir(parents=True, exist_ok=True)
            root = self._factory.mktemp(document.stem)
            project = root / "project"
            shutil.copytree(EXAMPLES, project / "examples")
            (project / "embeddings").symlink_to(self._embeddings)
            if SHARED_DATA.is_dir():
                (root / "shared").symlink_to(SHARED_DATA.parent)
            self._made[document] = project
        return self._made[document]


@pytest.fixture(scope="module")
def workspaces(tmp_path_factory, embedding_cache_dir):
    """The documents' working folders (:class:`Workspaces`)."""
    return Workspaces(tmp_path_factory, embedding_cache_dir)


ALL_BLOCKS = [block for document in DOCUMENTS for block in blocks_of(document)]


@pytest.mark.slow
@pytest.mark.parametrize(
    "block", ALL_BLOCKS, ids=[f"{b.document.relative_to(ROOT)}:{b.line}" for b in ALL_BLOCKS]
)
def test_document_examples_are_true(block, workspaces, session_cache_dir, model):
    """Each block's commands print what the document shows, in the folder the document's
    earlier blocks left: those another process ran (``pytest -n``) are run here first.
    ``model``: YAMNet's LiteRT conversion is in the session's cache, so no block prints that it
    converts."""
    if block.needs_shared_data and not SHARED_DATA.is_dir():
        pytest.skip(f"needs the shared data at {SHARED_DATA}")
    env = dict(
        os.environ,
        SED_CACHE_DIR=session_cache_dir,
        COLUMNS="100",
        PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}",
    )
    earlier = [b for b in ALL_BLOCKS if b.document == block.document and b.line < block.line]
    for needed in [*earlier, block]:
        if (needed.document, needed.line) in workspaces.ran:
            continue
        workspaces.ran.add((needed.document, needed.line))
        if not needed.needs_shared_data or SHARED_DATA.is_dir():
            run_block(needed, workspaces.folder(needed.document), env)


def run_block(block: Block, cwd: Path, env: dict) -> None:
    """Run ``block`` in ``cwd``; fail the test if it prints other than the document shows."""
    where = f"{block.document.relative_to(ROOT)}, block at line {block.line}"
    if block.language == "python" and "__main__" not in block.text:
        run_python_in_process(block, cwd)
        return
    if block.language == "python":  # a script its worker processes import: its own process
        result = subprocess.run(
            [sys.executable, "-c", block.text],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert result.returncode == 0, f"{where}:\n{result.stderr}"
        return
    status = 0
    for step in block.steps:
        args = in_process_args(step.command)
        if args is not None:
            status, output = run_in_process(args, cwd)
        else:
            status, output = run_in_bash(step.command, status, cwd, env)
        actual = clean(output)
        assert matches(step.expected, actual), (
            f"{where}: `$ {step.command}` printed\n"
            + "\n".join(actual)
            + "\n--- but the document shows ---\n"
            + "\n".join(step.expected)
        )


def run_python_in_process(block: Block, cwd: Path) -> None:
    """A python block run as a script (``__name__ == "__main__"``) in ``cwd`` by this process,
    its output discarded; an exception fails the test with its traceback."""
    code = compile(block.text, f"{block.document.name}:{block.line}", "exec")
    here = os.getcwd()
    os.chdir(cwd)
    try:
        with as_a_fresh_process(), contextlib.redirect_stdout(io.StringIO()):
            exec(code, {"__name__": "__main__"})
    finally:
        os.chdir(here)


def run_in_bash(command: str, status: int, cwd: Path, env: dict) -> tuple[int, str]:
    """``command`` run by bash in ``cwd``, after a command that ended with ``status``: its exit
    status and output (stdout and stderr together)."""
    # `(exit N)` hands the previous status to commands such as `echo $?`.
    result = subprocess.run(
        ["bash", "-c", f"(exit {status}); {shell_command(command)}"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=900,
    )
    # Decoded here, not by text=True, whose universal newlines would turn a progress bar's
    # carriage returns into line breaks.
    return result.returncode, result.stdout.decode("utf-8", errors="replace")


def test_commands_without_shell_syntax_run_in_process():
    assert in_process_args('uv run sed detect a.wav -o e.csv --classes "Bicycle bell"') == [
        "detect", "a.wav", "-o", "e.csv", "--classes", "Bicycle bell",
    ]  # fmt: skip
    for command in ("uv run sed detect - < a.wav", "cat a.wav | uv run sed listen -",
                    "uv run sed detect a.wav 2> /dev/null", "uv run sed tag *.wav",
                    "uv run sed tag $HOME/a.wav", "uv run python -c 'print(1)'"):  # fmt: skip
        assert in_process_args(command) is None, command


def test_an_in_process_command_shows_what_a_process_prints(tmp_path):
    status, output = run_in_process(["detect", "missing.wav", "-o", "e.csv"], tmp_path)
    assert status != 0 and output.startswith("sed detect: error: ")
    assert output.count("\n") == 1


def test_the_matcher():
    assert matches(["a ... c"], ["a b c"])
    assert matches(["...", "z"], ["x", "y", "z"])
    assert matches(["x", "..."], ["x"])
    assert not matches(["a ... c"], ["a b d"])
    assert not matches(["x"], ["x", "y"])
    assert clean("bar 10%\rbar 100%\ndone\n\n") == ["bar 100%", "done"]
