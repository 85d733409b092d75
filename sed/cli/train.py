"""``sed train``: a head on YAMNet embeddings of labelled clips, with its reports."""

from __future__ import annotations

import sys

import click

from sed.cli.options import CONTEXT, cache_option, model_options, reports_errors
from sed.heads.config import (
    ACTIVATIONS,
    DEFAULT_FILENAME_COLUMN,
    DEFAULT_LABEL_COLUMN,
    TrainingConfig,
)

_DEFAULTS = TrainingConfig()


@click.command(
    context_settings=CONTEXT, short_help="Train a head for your own classes on labelled clips."
)
@click.argument("data", metavar="DATA", type=click.Path())
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(file_okay=False),
    help="Head directory to write (model.keras, labels.txt, head.json, reports).",
)
@click.option(
    "--classes",
    default=None,
    help="Comma-separated classes to use, in output order [default: all].",
)
@click.option("--label-column", default=DEFAULT_LABEL_COLUMN, help="CSV DATA: column of the class.")
@click.option(
    "--filename-column", default=DEFAULT_FILENAME_COLUMN, help="CSV DATA: column of the audio file."
)
@click.option(
    "--group-column",
    default=None,
    help="CSV DATA: clips with one value here stay on one side of every split "
    "(ESC-50: src_file) [default: each clip its own group].",
)
@click.option(
    "--where",
    "where",
    multiple=True,
    metavar="COLUMN=VALUE",
    help="CSV DATA: keep only rows where COLUMN is VALUE (repeatable).",
)
@click.option(
    "--audio-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="CSV DATA: folder of the audio files [default: the CSV's folder, or audio/ beside it].",
)
@click.option(
    "--background",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder of recordings without events: the background class.",
)
@click.option(
    "--activation",
    type=click.Choice(ACTIVATIONS),
    default=_DEFAULTS.activation,
    help="Output activation (sigmoid: one score per class, for overlapping events).",
)
@click.option(
    "--mixtures",
    type=click.IntRange(min=0),
    default=_DEFAULTS.mixtures,
    help="Synthetic mixtures of each event clip over the background recordings, "
    "added to training [default: 5 with background recordings, else 0].",
)
@click.option(
    "--seed",
    type=int,
    default=_DEFAULTS.seed,
    help="Seed of the split, mixtures, weights and shuffling.",
)
@click.option(
    "--epochs",
    type=click.IntRange(min=1),
    default=_DEFAULTS.max_epochs,
    help="Maximum number of epochs (early stopping on validation loss).",
)
@click.option(
    "--patience",
    type=click.IntRange(min=1),
    default=_DEFAULTS.patience,
    help="Epochs without a better validation loss before stopping.",
)
@click.option(
    "--validation-fraction",
    type=click.FloatRange(0, 0.5),
    default=_DEFAULTS.validation_fraction,
    help="Share of groups held out for early stopping and validation metrics.",
)
@click.option(
    "--cross-validate",
    "folds",
    type=click.IntRange(min=2),
    default=None,
    help="Also run grouped K-fold cross-validation and report its clip accuracy.",
)
@cache_option
@model_options
@reports_errors
def train(
    data,
    output,
    classes,
    label_column,
    filename_column,
    group_column,
    where,
    audio_dir,
    background,
    activation,
    mixtures,
    seed,
    epochs,
    patience,
    validation_fraction,
    folds,
    cache_dir,
    weights,
    hop_seconds,
    resampler,
    backend,
):
    """Train a head on YAMNet embeddings of labelled clips.

    DATA is a folder with one sub-folder of audio files per class (a `_background` sub-folder
    holds recordings without events), or a CSV file with a file name and a label per clip.
    """
    from sed import pipeline
    from sed.heads.datasets import load_dataset, parse_where
    from sed.heads.embeddings import EmbeddingCache
    from sed.heads.head import METADATA_FILE
    from sed.heads.reports import report_lines, train_and_report
    from sed.heads.training import check_training_plan
    from sed.outputs import Output, check_outputs

    check_outputs(
        [
            Output(output, folder=True, marker=METADATA_FILE),
            Output(cache_dir, "--cache-dir", folder=True),
        ],
        inputs={
            "DATA": data,
            "--audio-dir": audio_dir,
            "--background": background,
            "--weights": weights,
        },
    )
    dataset = load_dataset(
        data,
        classes=classes.split(",") if classes else None,
        label_column=label_column,
        filename_column=filename_column,
        group_column=group_column,
        where=parse_where(where),
        audio_dir=audio_dir,
        background=background,
    )
    config = TrainingConfig(
        activation=activation,
        mixtures=mixtures,
        seed=seed,
        max_epochs=epochs,
        patience=patience,
        validation_fraction=validation_fraction,
    )
    check_training_plan(dataset, config, folds)  # before the model loads
    model = pipeline.load_model(weights, hop_seconds=hop_seconds, backend=backend)
    report = train_and_report(
        dataset,
        model,
        output,
        config=config,
        folds=folds,
        cache=EmbeddingCache(cache_dir),
        resampler=resampler,
        progress=sys.stderr.isatty(),
        warn=lambda message: click.echo(f"sed train: warning: {message}", err=True),
    )
    click.echo("\n".join(report_lines(report)))
