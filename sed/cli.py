"""The ``sed`` command line: a thin click layer over :mod:`sed.pipeline`.

``sed`` shares its name with GNU sed. An invocation whose first argument is not one of our
commands or options (``sed -e s/a/b/ f``, ``sed 's/x/y/' f``, ``sed -n p``) is handed unchanged to
the next ``sed`` on PATH, so shell scripts run inside the environment keep working.
"""

from __future__ import annotations

import os
import sys
from functools import wraps

import click

from sed.errors import ParameterError, SedError
from sed.params import DEFAULT_BATCH_SIZE, YamnetParams

TOP_LEVEL_OPTIONS = ("--help", "-h", "--version")
CONTEXT = {"help_option_names": ["-h", "--help"], "show_default": True}


def reports_errors(command):
    """Print a :class:`SedError` as one line on stderr and exit non-zero (2 for bad parameters)."""
    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except SedError as error:
            name = click.get_current_context().command_path
            click.echo(f"{name}: error: {error}", err=True)
            sys.exit(2 if isinstance(error, ParameterError) else 1)
    return wrapper


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="sed", prog_name="sed")
def cli():
    """Sound event detection with YAMNet: what happened, and when."""


def model_options(command):
    """Options shared by every command that runs the model."""
    command = click.option("--weights", type=click.Path(dir_okay=True), default=None,
                           help="yamnet.h5 or a TF-Hub YAMNet SavedModel directory "
                                "[default: $SED_YAMNET_WEIGHTS, else the bundled weights]")(command)
    command = click.option("--hop", "hop_seconds", type=float, default=0.5,
                           help="Window hop in seconds, a multiple of 0.01 "
                                "(0.48 reproduces the reference).")(command)
    command = click.option("--resampler", type=click.Choice(["soxr", "resampy"]), default="soxr",
                           help="soxr (fast) or resampy kaiser_best (the reference's).")(command)
    command = click.option("--backend", type=click.Choice(["auto", "litert", "tensorflow"]),
                           default="auto",
                           help="What runs YAMNet: LiteRT (fast; auto when installed) or "
                                "TensorFlow (the reference).")(command)
    command = click.option("--batch-size", type=click.IntRange(min=1), default=DEFAULT_BATCH_SIZE,
                           help="Windows per model call.")(command)
    return command


@cli.command(context_settings=CONTEXT)
@click.argument("input_path", metavar="INPUT", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Events CSV to write: filename,onset,offset,event_label,score.")
@click.option("--classes", default=None,
              help='Comma-separated YAMNet display names or mids, e.g. "Dog,Bark" '
                   "[default: all 521 classes].")
@click.option("--label-map", type=click.Path(dir_okay=False), default=None,
              help="CSV event_label,yamnet_display_names (names separated by ';').")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.5,
              help="Minimum score of the winning class for a window to be active.")
@click.option("--scores", "scores_path", type=click.Path(dir_okay=False), default=None,
              help="Also write per-window scores: filename,start,end, one column per class.")
@model_options
@reports_errors
def detect(input_path, output, classes, label_map, threshold, scores_path, weights, hop_seconds,
           resampler, backend, batch_size):
    """Detect sound events in INPUT and write them to a CSV file."""
    from sed import pipeline
    from sed.audio import audio_info
    from sed.events import summarize, write_events_csv, write_scores_csv
    from sed.postprocessing import PostProcessing

    # Everything that can be checked without TensorFlow is checked before loading it.
    audio_info(input_path)
    selection = pipeline.class_selection(classes=classes, label_map=label_map)
    YamnetParams(patch_hop_seconds=hop_seconds)
    model = pipeline.load_model(weights, hop_seconds=hop_seconds, backend=backend)
    detection = pipeline.detect_file(input_path, model=model, selection=selection,
                                     postprocessing=PostProcessing(threshold=threshold),
                                     resampler=resampler, batch_size=batch_size)
    write_events_csv(detection.events, output)
    if scores_path:
        write_scores_csv(detection.window_scores, scores_path)
    click.echo(summarize(detection.events, detection.window_scores.duration_seconds))
    click.echo(f"events written to {output}" + (f", window scores to {scores_path}"
                                                  if scores_path else ""))


@cli.command(context_settings=CONTEXT)
@click.argument("input_path", metavar="INPUT", type=click.Path())
@click.option("-k", "--top", "k", type=click.IntRange(min=1), default=5,
              help="Number of classes to list.")
@model_options
@reports_errors
def tag(input_path, k, weights, hop_seconds, resampler, backend, batch_size):
    """List the top-k classes of INPUT by window-averaged score (as the reference inference.py)."""
    from sed import pipeline
    from sed.audio import audio_info
    from sed.segmenter import score_file

    audio_info(input_path)
    YamnetParams(patch_hop_seconds=hop_seconds)
    model = pipeline.load_model(weights, hop_seconds=hop_seconds, backend=backend)
    window_scores = score_file(input_path, model, resampler=resampler, batch_size=batch_size)
    table = pipeline.top_classes(window_scores, k)
    width = max(len(label) for label in table["label"])
    click.echo(f"{input_path}: {len(window_scores)} windows, "
               f"{window_scores.duration_seconds:.2f} s")
    for row in table.itertuples():
        click.echo(f"{row.rank:>3}. {row.label:<{width}}  {row.score:.3f}")


@cli.command(context_settings=CONTEXT)
@click.option("--search", default=None, help="Only classes whose name or mid contains TEXT.")
@reports_errors
def classes(search):
    """List YAMNet's 521 AudioSet classes as CSV: index,mid,display_name."""
    import csv

    from sed.classes import load_class_map

    class_map = load_class_map()
    indices = class_map.search(search) if search else range(len(class_map))
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["index", "mid", "display_name"])
    for i in indices:
        writer.writerow([i, class_map.mids[i], class_map.display_names[i]])


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
            click.echo(f"sed: {argv[0]!r} is not a sed command (see `sed --help`), and no other "
                       "sed (such as GNU sed) was found on PATH to hand it to", err=True)
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
