"""``sed tune``: the post-processing that maximises a sed_eval metric on development data."""

from __future__ import annotations

import click

from sed.cli.options import (
    CONTEXT,
    batch_size_option,
    config_file_option,
    detector_spec,
    evaluation_options,
    head_option,
    label_column_option,
    model_options,
    overwrite_option,
    postprocessing_option,
    reports_errors,
    selection_options,
)
from sed.evaluation import METRICS
from sed.postprocessing import PostProcessing
from sed.tuning import (
    DEFAULT_CLASS_THRESHOLD_GAIN,
    DEFAULT_FOLDS,
    DEFAULT_METRIC,
    DEFAULT_SHRINKAGE_EVENTS,
    MIN_FOLDS,
    MIN_RECORDINGS_PER_FOLD,
)


@click.command(
    context_settings=CONTEXT, short_help="Search the post-processing that maximises a metric."
)
@click.option(
    "--audio",
    "audio_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder of development recordings.",
)
@click.option(
    "--reference",
    required=True,
    type=click.Path(),
    help="Their reference annotations: a folder of files (matched by name stem) or a table "
    "naming its recordings (filename, Begin File or Begin Path column), in any layout "
    "`sed evaluate` reads.",
)
@label_column_option
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Configuration file to write (.toml, else JSON).",
)
@selection_options
@click.option(
    "--metric",
    type=click.Choice(METRICS),
    default=DEFAULT_METRIC,
    help="Overall sed_eval metric to optimise (error rates are minimised).",
)
@config_file_option(
    "Start the search from this configuration (.toml or .json, as --save-config writes it) "
    "instead of the defaults; what the search does not tune (threshold_off, ...) is kept as "
    "given, and the report's 'before' is this configuration's."
)
@postprocessing_option(
    "mode", "Post-processing mode to tune (with --config: that file's, unless given)."
)
@click.option(
    "--class-threshold-gain",
    type=click.FloatRange(min=0),
    default=DEFAULT_CLASS_THRESHOLD_GAIN,
    help="Least improvement of the metric for which a per-class threshold is kept "
    "(guards against fitting a few recordings).",
)
@click.option(
    "--folds",
    type=click.IntRange(min=0),
    default=None,
    help="Cross-validation over recordings: each fold's recordings are scored with the "
    "configuration tuned without them, to choose between the untouched start, global "
    "parameters only and per-class thresholds, and to estimate the result on new recordings. "
    "0 turns it off. [default: "
    f"{DEFAULT_FOLDS}, fewer with fewer than {DEFAULT_FOLDS * MIN_RECORDINGS_PER_FOLD} "
    f"recordings, off below {MIN_FOLDS * MIN_RECORDINGS_PER_FOLD}]",
)
@click.option(
    "--shrinkage",
    type=click.FloatRange(min=0),
    default=DEFAULT_SHRINKAGE_EVENTS,
    help="How many reference events the global threshold is worth: a class's own threshold "
    "is pulled toward the global one by shrinkage / (shrinkage + its reference events). "
    "0: no shrinkage.",
)
@evaluation_options
@head_option
@model_options
@batch_size_option
@overwrite_option
@reports_errors
def tune(
    audio_dir,
    reference,
    label_column,
    output,
    classes,
    label_map,
    metric,
    config_path,
    mode,
    class_threshold_gain,
    folds,
    shrinkage,
    time_resolution,
    t_collar,
    percentage_of_length,
    onset_only,
    head_dir,
    weights,
    hop_seconds,
    resampler,
    backend,
    batch_size,
    overwrite,
):
    """Search post-processing parameters that maximise a sed_eval metric on development data."""
    from dataclasses import replace

    from sed import pipeline
    from sed.annotations import development_set
    from sed.outputs import Output, check_outputs
    from sed.postprocessing import load_config, save_config
    from sed.tuning import check_folds
    from sed.tuning import tune as run_tuning

    check_outputs(
        [Output(output)],
        overwrite=overwrite,
        inputs={
            "--audio": audio_dir,
            "--reference": reference,
            "--label-map": label_map,
            "--head": head_dir,
            "--weights": weights,
            "--config": config_path,
        },
    )
    start = PostProcessing(mode=mode)
    if config_path is not None:
        start = load_config(config_path)
        mode_given = click.get_current_context().get_parameter_source("mode")
        if mode_given is click.core.ParameterSource.COMMANDLINE:
            start = replace(start, mode=mode)
    spec = detector_spec()
    recordings, references = development_set(
        audio_dir,
        reference,
        label_column=label_column,
        warn=lambda message: click.echo(f"sed tune: warning: {message}", err=True),
    )
    check_folds(folds, len(recordings))  # before the model runs over every recording
    detector = spec.build()
    click.echo(f"scoring {len(recordings)} recordings once", err=True)
    scores = pipeline.score_files(
        recordings,
        model=detector.model,
        head=detector.scorer,
        resampler=detector.resampler,
        batch_size=detector.batch_size,
    )
    result = run_tuning(
        scores,
        references,
        metric=metric,
        start=start,
        class_threshold_gain=class_threshold_gain,
        folds=folds,
        shrinkage_events=shrinkage,
        time_resolution_seconds=time_resolution,
        t_collar_seconds=t_collar,
        percentage_of_length=percentage_of_length,
        evaluate_offset=not onset_only,
        progress=lambda message: click.echo(f"  {message}", err=True),
    )
    save_config(result.config, output)
    click.echo(result.report())
    click.echo(f"configuration written to {output}")
