"""The ``sed`` command line: a thin click layer over :mod:`sed.pipeline`, one module per command.

``sed`` shares its name with GNU sed. An invocation whose first argument is not one of our
commands or options (``sed -e s/a/b/ f``, ``sed 's/x/y/' f``, ``sed -n p``) is handed unchanged to
the next ``sed`` on PATH, so shell scripts run inside the environment keep working. A mistyped
command (``sed detec x -o y``: within two edits of one of ours) that GNU sed would not take as
a script either gets "did you mean ..." instead.
"""

from __future__ import annotations

import os
import subprocess
import sys

import click

from sed.cli.classes import classes
from sed.cli.detect import detect
from sed.cli.embed import embed
from sed.cli.evaluate import evaluate
from sed.cli.index import index
from sed.cli.listen import listen
from sed.cli.options import CONTEXT
from sed.cli.plot import plot
from sed.cli.review import review
from sed.cli.search import search
from sed.cli.tag import tag
from sed.cli.train import train
from sed.cli.tune import tune

TOP_LEVEL_OPTIONS = ("--help", "-h", "--version")


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="sed", prog_name="sed")
def cli():
    """Sound event detection with YAMNet: what happened, and when."""


for _command in (detect, listen, tag, evaluate, tune, plot, review, classes, embed, train):
    cli.add_command(_command)
cli.add_command(index)
cli.add_command(search)


def is_our_invocation(argv: list[str]) -> bool:
    """True when ``argv`` (without the program name) is meant for us, not for GNU sed."""
    return not argv or argv[0] in cli.commands or argv[0] in TOP_LEVEL_OPTIONS


#: Greatest edit distance at which a first argument is taken for one of our commands, mistyped.
NEAR_MISS_DISTANCE = 2


def edit_distance(a: str, b: str) -> int:
    """Insertions, deletions, substitutions and swaps of neighbours that turn ``a`` into ``b``
    (the optimal string alignment distance)."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            row[j] = min(
                rows[i - 1][j] + 1,
                row[j - 1] + 1,
                rows[i - 1][j - 1] + (a[i - 1] != b[j - 1]),
            )
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[i - 2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def near_misses(word: str) -> list[str]:
    """Our commands closest to ``word`` within :data:`NEAR_MISS_DISTANCE` edits (none for an
    option or a command itself)."""
    if word.startswith("-") or word in cli.commands:
        return []
    distances = {name: edit_distance(word.lower(), name) for name in cli.commands}
    best = min(distances.values())
    if best > NEAR_MISS_DISTANCE:
        return []
    return sorted(name for name, distance in distances.items() if distance == best)


def is_sed_script(word: str, other_sed: str | None) -> bool:
    """True if the other ``sed`` compiles ``word`` as a script.

    It runs in GNU sed's sandbox on no input: nothing is executed, and the ``e``, ``r`` and
    ``w`` commands (which would run a program or open a file) are refused, so a word that only
    they could read counts as a typo.
    """
    if other_sed is None:
        return False
    try:
        result = subprocess.run(
            [other_sed, "--sandbox", "-n", "-e", word, os.devnull],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def next_sed_on_path(path: str | None = None) -> str | None:
    """The first ``sed`` executable on PATH that is not this program's entry point.

    Console scripts of this package (found by their ``sed.cli`` import) and the running script
    itself are skipped.
    """
    own = {os.path.realpath(sys.argv[0])} if sys.argv and sys.argv[0] else set()
    for directory in (path if path is not None else os.environ.get("PATH", "")).split(os.pathsep):
        candidate = os.path.join(directory or ".", "sed")
        if not (os.path.isfile(candidate) and os.access(candidate, os.X_OK)):
            continue
        if os.path.realpath(candidate) in own or _is_our_script(candidate):
            continue
        return candidate
    return None


def _is_our_script(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return b"sed.cli" in head


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``sed`` console script and ``python -m sed``."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not is_our_invocation(argv):
        other = next_sed_on_path()
        guesses = near_misses(argv[0])
        if guesses and not is_sed_script(argv[0], other):
            click.echo(
                f"sed: {argv[0]!r} is not a sed command; did you mean "
                + " or ".join(repr(name) for name in guesses)
                + "? (see `sed --help`)",
                err=True,
            )
            sys.exit(2)
        if other is None:
            click.echo(
                f"sed: {argv[0]!r} is not a sed command (see `sed --help`), and no other "
                "sed (such as GNU sed) was found on PATH to hand it to",
                err=True,
            )
            sys.exit(2)
        os.execv(other, [other, *argv])
    _log_to_stderr()
    _warnings_in_one_line()
    cli.main(args=argv, prog_name="sed")


def _log_to_stderr() -> None:
    """Show the package's rare progress notes (such as a one-off model conversion) on stderr."""
    import logging

    logger = logging.getLogger("sed")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("sed: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def _warnings_in_one_line() -> None:
    """Show the package's warnings (a cache it cannot write...) as ``sed: warning: ...``, one
    line, instead of Python's two lines with the source line that warned."""
    import warnings

    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, UserWarning) and filename.startswith(_PACKAGE):
            click.echo(f"sed: warning: {message}", err=True)
        else:
            shown(message, category, filename, lineno, file, line)

    warnings.showwarning = show


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
