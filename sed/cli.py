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
from sed.params import YamnetParams

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
    return command


def head_option(command):
    """``--head DIR``: score with a head trained by ``sed train`` instead of YAMNet's classes."""
    return click.option("--head", "head_dir", type=click.Path(), default=None,
                        help="Head directory written by `sed train`: report its classes instead "
                             "of YAMNet's (the hop defaults to the head's).")(command)


def load_head_for(head_dir, hop_seconds):
    """The head in ``head_dir`` (or None) and the hop to use: the head's unless --hop was given."""
    if head_dir is None:
        return None, hop_seconds
    from sed.heads import Head

    head = Head.load(head_dir)
    source = click.get_current_context().get_parameter_source("hop_seconds")
    if source == click.core.ParameterSource.DEFAULT:
        hop_seconds = head.metadata.get("yamnet", {}).get("hop_seconds", hop_seconds)
    return head, hop_seconds


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
@head_option
@model_options
@reports_errors
def detect(input_path, output, classes, label_map, threshold, scores_path, head_dir, weights,
           hop_seconds, resampler):
    """Detect sound events in INPUT and write them to a CSV file."""
    from sed import pipeline
    from sed.audio import audio_info
    from sed.events import summarize, write_events_csv, write_scores_csv
    from sed.postprocessing import PostProcessing

    # Everything that can be checked without TensorFlow is checked before loading it.
    audio_info(input_path)
    if head_dir is not None and (classes or label_map):
        raise ParameterError("--head sets the classes: give no --classes or --label-map with it")
    selection = pipeline.class_selection(classes=classes, label_map=label_map)
    head, hop_seconds = load_head_for(head_dir, hop_seconds)
    YamnetParams(patch_hop_seconds=hop_seconds)
    model = pipeline.load_model(weights, hop_seconds=hop_seconds)
    detection = pipeline.detect_file(input_path, model=model, selection=selection,
                                     postprocessing=PostProcessing(threshold=threshold),
                                     resampler=resampler, head=head)
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
@head_option
@model_options
@reports_errors
def tag(input_path, k, head_dir, weights, hop_seconds, resampler):
    """List the top-k classes of INPUT by window-averaged score (as the reference inference.py)."""
    from sed import pipeline
    from sed.audio import audio_info
    from sed.segmenter import score_file

    audio_info(input_path)
    head, hop_seconds = load_head_for(head_dir, hop_seconds)
    YamnetParams(patch_hop_seconds=hop_seconds)
    model = pipeline.load_model(weights, hop_seconds=hop_seconds)
    window_scores = score_file(input_path, model, resampler=resampler,
                               keep_embeddings=head is not None)
    if head is not None:
        window_scores = pipeline.head_scores(window_scores, head, model)
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


def cache_option(command):
    """``--cache-dir``: where embeddings are cached."""
    return click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
                        help="Embedding cache [default: $SED_CACHE_DIR/embeddings, else "
                             "~/.cache/sed/embeddings].")(command)


@cli.command(context_settings=CONTEXT)
@click.argument("inputs", metavar="INPUT...", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="embeddings.npz or embeddings.parquet to write.")
@cache_option
@model_options
@reports_errors
def embed(inputs, output, cache_dir, weights, hop_seconds, resampler):
    """Write YAMNet's 1024-D embeddings of every window of INPUT... (files or folders)."""
    from sed import pipeline
    from sed.embeddings import (EmbeddingCache, check_embeddings_path, embed_files, input_files,
                                write_embeddings)

    check_embeddings_path(output)
    paths = input_files(inputs)
    YamnetParams(patch_hop_seconds=hop_seconds)
    model = pipeline.load_model(weights, hop_seconds=hop_seconds)
    items = embed_files(paths, model, cache=EmbeddingCache(cache_dir), resampler=resampler,
                        progress=sys.stderr.isatty())
    write_embeddings(items, output, model.params)
    click.echo(f"{len(items)} file{'s' * (len(items) != 1)}, {sum(map(len, items))} windows "
               f"(hop {hop_seconds} s) x 1024: embeddings written to {output}")


@cli.command(context_settings=CONTEXT)
@click.argument("data", metavar="DATA", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
              help="Head directory to write (model.keras, labels.txt, head.json, reports).")
@click.option("--classes", default=None,
              help="Comma-separated classes to use, in output order [default: all].")
@click.option("--label-column", default="label", help="CSV DATA: column of the class.")
@click.option("--filename-column", default="filename", help="CSV DATA: column of the audio file.")
@click.option("--group-column", default=None,
              help="CSV DATA: clips with one value here stay on one side of every split "
                   "(ESC-50: src_file) [default: each clip its own group].")
@click.option("--where", "where", multiple=True, metavar="COLUMN=VALUE",
              help="CSV DATA: keep only rows where COLUMN is VALUE (repeatable).")
@click.option("--audio-dir", type=click.Path(file_okay=False), default=None,
              help="CSV DATA: folder of the audio files [default: the CSV's folder, or audio/ "
                   "beside it].")
@click.option("--background", type=click.Path(file_okay=False), default=None,
              help="Folder of recordings without events: the background class.")
@click.option("--activation", type=click.Choice(["sigmoid", "softmax"]), default="sigmoid",
              help="Output activation (sigmoid: one score per class, for overlapping events).")
@click.option("--mixtures", type=click.IntRange(min=0), default=None,
              help="Synthetic mixtures of each event clip over the background recordings, "
                   "added to training [default: 5 with background recordings, else 0].")
@click.option("--seed", type=int, default=0,
              help="Seed of the split, mixtures, weights and shuffling.")
@click.option("--epochs", type=click.IntRange(min=1), default=100,
              help="Maximum number of epochs (early stopping on validation loss).")
@click.option("--patience", type=click.IntRange(min=1), default=5,
              help="Epochs without a better validation loss before stopping.")
@click.option("--validation-fraction", type=click.FloatRange(0, 0.5), default=0.2,
              help="Share of groups held out for early stopping and validation metrics.")
@click.option("--cross-validate", "folds", type=click.IntRange(min=2), default=None,
              help="Also run grouped K-fold cross-validation and report its clip accuracy.")
@cache_option
@model_options
@reports_errors
def train(data, output, classes, label_column, filename_column, group_column, where, audio_dir,
          background, activation, mixtures, seed, epochs, patience, validation_fraction, folds,
          cache_dir, weights, hop_seconds, resampler):
    """Train a head on YAMNet embeddings of labelled clips.

    DATA is a folder with one sub-folder of audio files per class (a `_background` sub-folder
    holds recordings without events), or a CSV file with a file name and a label per clip.
    """
    from sed import pipeline
    from sed.embeddings import EmbeddingCache
    from sed.training import (TrainingConfig, load_dataset, parse_where, report_lines,
                              train_and_report)

    dataset = load_dataset(data, classes=classes.split(",") if classes else None,
                           label_column=label_column, filename_column=filename_column,
                           group_column=group_column, where=parse_where(where),
                           audio_dir=audio_dir, background=background)
    config = TrainingConfig(activation=activation, mixtures=mixtures, seed=seed, max_epochs=epochs,
                            patience=patience, validation_fraction=validation_fraction)
    YamnetParams(patch_hop_seconds=hop_seconds)
    model = pipeline.load_model(weights, hop_seconds=hop_seconds)
    report = train_and_report(dataset, model, output, config=config, folds=folds,
                              cache=EmbeddingCache(cache_dir), resampler=resampler,
                              progress=sys.stderr.isatty())
    click.echo("\n".join(report_lines(report)))


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
    cli.main(args=argv, prog_name="sed")
