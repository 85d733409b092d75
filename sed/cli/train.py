"""``sed train``: a head on YAMNet embeddings of labelled clips (or, with ``--frame-level``, a
frame-level head on YAMNet's feature maps of strongly labelled material), with its reports."""

from __future__ import annotations

import sys

import click

from sed.cli.options import (
    CONTEXT,
    ConfigOption,
    cache_option,
    config_option,
    config_options,
    label_map_option,
    model_options,
    reports_errors,
)
from sed.errors import ParameterError
from sed.heads.config import (
    ACTIVATIONS,
    DEFAULT_FILENAME_COLUMN,
    DEFAULT_FRAME_LAYERS,
    DEFAULT_LABEL_COLUMN,
    EXCERPT_TRAINING,
    FrameTrainingConfig,
    TrainingConfig,
)

_DEFAULTS = TrainingConfig()
_FRAME_DEFAULTS = FrameTrainingConfig()
#: Options that only window heads take, and options that only frame-level heads take.
_WINDOW_ONLY = ("activation", "mixtures", "folds")
_FRAME_ONLY = (
    "recordings",
    "annotations",
    "soundscapes",
    "mixup",
    "layers",
    "label_map",
    "non_target",
)

#: The options of the training itself, setting the fields of :class:`TrainingConfig` (the
#: frame-level training takes the same seed, epochs, patience and validation fraction).
TRAINING_OPTIONS = [
    ConfigOption(
        ("--activation",),
        "activation",
        click.Choice(ACTIVATIONS),
        "Output activation (sigmoid: one score per class, for overlapping events).",
    ),
    ConfigOption(
        ("--mixtures",),
        "mixtures",
        click.IntRange(min=0),
        "Synthetic mixtures of each event clip over the background recordings, "
        "added to training [default: 5 with background recordings, else 0].",
    ),
    ConfigOption(
        ("--seed",), "seed", click.INT, "Seed of the split, mixtures, weights and shuffling."
    ),
    ConfigOption(
        ("--epochs",),
        "max_epochs",
        click.IntRange(min=1),
        "Maximum number of epochs (early stopping on validation loss).",
        parameter="epochs",
        show_default=f"{_DEFAULTS.max_epochs}; excerpt table {EXCERPT_TRAINING['max_epochs']}",
    ),
    ConfigOption(
        ("--patience",),
        "patience",
        click.IntRange(min=1),
        "Epochs without a better validation loss before stopping.",
        show_default=f"{_DEFAULTS.patience}; frame-level {_FRAME_DEFAULTS.patience}",
    ),
    ConfigOption(
        ("--validation-fraction",),
        "validation_fraction",
        click.FloatRange(0, 0.5),
        "Share of groups held out for early stopping and validation metrics.",
        show_default=f"{_DEFAULTS.validation_fraction}; excerpt table "
        f"{EXCERPT_TRAINING['validation_fraction']}",
    ),
]
#: ``--soundscapes``, of :class:`FrameTrainingConfig`.
SOUNDSCAPES_OPTION = ConfigOption(
    ("--soundscapes",),
    "soundscapes",
    click.IntRange(min=0),
    "Frame-level: training soundscapes synthesised from DATA's clips.",
)

#: ``--mixup``, of :class:`FrameTrainingConfig`.
MIXUP_OPTION = ConfigOption(
    ("--mixup",),
    "mixup",
    click.FloatRange(0, 1),
    "Frame-level: share of training sequences mixed with another (mixup): better in rooms "
    "no background recording came from, a little worse in those they came from.",
)


@click.command(
    context_settings=CONTEXT,
    short_help="Train a head for your own classes on labelled clips or annotated recordings.",
)
@click.argument("data", metavar="[DATA]", type=click.Path(), required=False)
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
    "--frame-level",
    is_flag=True,
    help="Train a frame-level head: a score per class every 0.08 s from YAMNet's feature "
    "maps, trained on strong labels (soundscapes synthesised from DATA's clips over the "
    "background recordings, and/or --recordings with --annotations).",
)
@click.option(
    "--recordings",
    type=click.Path(file_okay=False),
    default=None,
    help="Frame-level: folder of annotated recordings, trained on whole.",
)
@click.option(
    "--annotations",
    type=click.Path(),
    default=None,
    help="Frame-level: their annotation files (a file or folder; Raven, Audacity, DCASE tsv, "
    "csv or json), paired with the recordings by name.",
)
@click.option(
    "--non-target",
    type=click.Path(file_okay=False),
    default=None,
    help="Frame-level: folder of clips of other sounds (none of the classes), mixed into the "
    "training soundscapes with no label, so that any loud event is not enough to fire.",
)
@config_option(SOUNDSCAPES_OPTION, _FRAME_DEFAULTS)
@config_option(MIXUP_OPTION, _FRAME_DEFAULTS)
@click.option(
    "--layers",
    default=",".join(map(str, DEFAULT_FRAME_LAYERS)),
    help="Frame-level: YAMNet layers (1-14) whose feature maps the head reads.",
)
@label_map_option(
    "Frame-level: CSV event_label,yamnet_display_names; the report then gives raw "
    "YAMNet's figures with it on the unheard validation data, and says when the head does worse.",
)
@config_options(TRAINING_OPTIONS, _DEFAULTS)
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
    frame_level,
    recordings,
    annotations,
    non_target,
    soundscapes,
    mixup,
    layers,
    label_map,
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
    """Train a head on YAMNet embeddings of labelled clips (or a frame-level head).

    DATA is a folder with one sub-folder of audio files per class (a `_background` sub-folder
    holds recordings without events), or a CSV file with a file name and a label per clip, or an
    excerpt table: an event table (filename, onset, offset, event_label) or the verdicts file of
    `sed review` (correct: positives; wrong: negatives; relabelled: positives of the new label),
    trained by default on every excerpt for 20 epochs. With
    --frame-level, soundscapes are synthesised from DATA's clips over the background recordings,
    and --recordings with --annotations add annotated recordings (DATA is then optional).
    """
    from sed import pipeline
    from sed.heads.datasets import parse_where
    from sed.heads.head import METADATA_FILE
    from sed.heads.reports import frame_report_lines, report_lines
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
            "--non-target": non_target,
            "--recordings": recordings,
            "--annotations": annotations,
            "--label-map": label_map,
            "--weights": weights,
        },
    )
    context = click.get_current_context()
    given = {
        name
        for name in (*_WINDOW_ONLY, *_FRAME_ONLY, "hop_seconds", "patience")
        if context.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE
    }
    clip_options = {
        "label_column": label_column,
        "filename_column": filename_column,
        "group_column": group_column,
        "where": parse_where(where),
        "audio_dir": audio_dir,
    }
    if frame_level:
        _refuse(given, (*_WINDOW_ONLY, "hop_seconds"), "to window heads, not --frame-level")
        frame_config = FrameTrainingConfig(
            layers=_layer_list(layers),
            soundscapes=soundscapes,
            mixup=mixup,
            seed=seed,
            max_epochs=epochs,
            patience=patience if "patience" in given else _FRAME_DEFAULTS.patience,
            validation_fraction=validation_fraction,
        )
        report = pipeline.train_frame_head_files(
            data,
            output,
            model=lambda: pipeline.load_model(weights, backend=backend),
            recordings=recordings,
            annotations=annotations,
            classes=classes.split(",") if classes else None,
            background=background,
            non_target=non_target,
            config=frame_config,
            cache_dir=cache_dir,
            resampler=resampler,
            progress=sys.stderr.isatty(),
            label_map=label_map,
            **clip_options,
        )
        click.echo("\n".join(frame_report_lines(report)))
        return
    _refuse(given, _FRAME_ONLY, "to --frame-level heads")
    if data is None:
        raise ParameterError("give DATA: a folder with a sub-folder per class, or a CSV file")
    config = TrainingConfig(
        activation=activation,
        mixtures=mixtures,
        seed=seed,
        max_epochs=epochs,
        patience=patience,
        validation_fraction=validation_fraction,
    )
    config = _excerpt_defaults(config, data, context)
    report = pipeline.train_head_files(
        data,
        output,
        model=lambda: pipeline.load_model(weights, hop_seconds=hop_seconds, backend=backend),
        classes=classes.split(",") if classes else None,
        background=background,
        config=config,
        folds=folds,
        cache_dir=cache_dir,
        resampler=resampler,
        progress=sys.stderr.isatty(),
        warn=lambda message: click.echo(f"sed train: warning: {message}", err=True),
        **clip_options,
    )
    click.echo("\n".join(report_lines(report)))


def _excerpt_defaults(config: TrainingConfig, data: str, context: click.Context):
    """An excerpt table's own defaults (:data:`sed.heads.config.EXCERPT_TRAINING`) for the
    options not given on the command line."""
    from dataclasses import replace

    from sed.heads.excerpts import is_excerpt_table

    if not is_excerpt_table(data):
        return config
    parameters = {option.field: option.name for option in TRAINING_OPTIONS}
    unset = {
        field: value
        for field, value in EXCERPT_TRAINING.items()
        if context.get_parameter_source(parameters[field]) != click.core.ParameterSource.COMMANDLINE
    }
    return replace(config, **unset)


def _refuse(given: set, names, why: str) -> None:
    """A usage error for options of the other kind of head given on the command line."""
    wrong = [name for name in names if name in given]
    if wrong:
        options = {"folds": "--cross-validate", "hop_seconds": "--hop"}
        shown = ", ".join(options.get(n, "--" + n.replace("_", "-")) for n in wrong)
        raise ParameterError(f"{shown} {'apply' if len(wrong) > 1 else 'applies'} {why}")


def _layer_list(text: str) -> tuple[int, ...]:
    """``"6,12,14"`` as ``(6, 12, 14)``; a usage error for anything else."""
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ParameterError(f"--layers takes layer numbers like 6,12,14, got {text!r}") from None
