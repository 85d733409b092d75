"""The ``sed`` command line: a thin click layer over :mod:`sed.pipeline`, one module per command.

``sed`` shares its name with GNU sed. An invocation whose first argument is not one of our
commands or options (``sed -e s/a/b/ f``, ``sed 's/x/y/' f``, ``sed -n p``) is handed unchanged to
the next ``sed`` on PATH, so shell scripts run inside the environment keep working.
"""

from __future__ import annotations

import os
import sys

import click

from sed.cli.classes import classes
from sed.cli.detect import detect
from sed.cli.embed import embed
from sed.cli.evaluate import evaluate
from sed.cli.options import CONTEXT
from sed.cli.plot import plot
from sed.cli.review import review
from sed.cli.tag import tag
from sed.cli.train import train
from sed.cli.tune import tune

TOP_LEVEL_OPTIONS = ("--help", "-h", "--version")


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="sed", prog_name="sed")
def cli():
    """Sound event detection with YAMNet: what happened, and when."""


for _command in (detect, tag, evaluate, tune, plot, review, classes, embed, train):
    cli.add_command(_command)


def is_our_invocation(argv: list[str]) -> bool:
    """True when ``argv`` (without the program name) is meant for us, not for GNU sed."""
    return not argv or argv[0] in cli.commands or argv[0] in TOP_LEVEL_OPTIONS


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
        if other is None:
            click.echo(
                f"sed: {argv[0]!r} is not a sed command (see `sed --help`), and no other "
                "sed (such as GNU sed) was found on PATH to hand it to",
                err=True,
            )
            sys.exit(2)
        os.execv(other, [other, *argv])
    _log_to_stderr()
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
