"""``sed tag``: the top classes of a recording by window-averaged score, or a clip x class
table of many recordings (``-o TABLE``)."""

from __future__ import annotations

import os

import click

from sed.cli.options import (
    CONTEXT,
    batch_size_option,
    detector_spec,
    glob_option,
    head_option,
    model_options,
    note_duplicates,
    overwrite_option,
    reports_errors,
    selection_options,
)
from sed.errors import ParameterError
from sed.pipeline import DEFAULT_TAG_FORMAT, DEFAULT_TOP_K, TAG_FORMATS


@click.command(
    context_settings=CONTEXT,
    short_help="List a recording's top-k classes, or tag many into one table.",
)
@click.argument("inputs", metavar="INPUT...", nargs=-1, required=True, type=click.Path())
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write one clip x class table (a row per recording: filename, duration_seconds, a "
    "clip score per class) to this CSV, or Parquet if it ends in .parquet; a rerun skips the "
    "recordings already in it.",
)
@glob_option
@click.option(
    "-k",
    "--top",
    "k",
    type=click.IntRange(min=1),
    default=DEFAULT_TOP_K,
    help="Number of classes to list.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(TAG_FORMATS),
    default=DEFAULT_TAG_FORMAT,
    help="text (as the reference inference.py prints), csv (filename,rank,label,score) or json.",
)
@selection_options
@head_option
@model_options
@batch_size_option
@overwrite_option
@reports_errors
def tag(
    inputs,
    output,
    pattern,
    k,
    output_format,
    classes,
    label_map,
    head_dir,
    weights,
    hop_seconds,
    resampler,
    backend,
    batch_size,
    overwrite,
):
    """List the top-k classes of INPUT by window-averaged score (as the reference inference.py;
    with a frame-level head, by highest frame score); --classes or --label-map restrict them to
    some classes. With -o TABLE, tag every recording of the INPUT files and folders into one
    clip x class table instead."""
    from sed.audio import audio_info
    from sed.cli.printing import format_tags

    if output is not None:
        _tag_table(inputs, output, pattern, overwrite)
        return
    if len(inputs) > 1 or os.path.isdir(inputs[0]):
        raise ParameterError("several recordings make one table: give -o TABLE.csv")
    input_path = inputs[0]
    audio_info(input_path)
    spec = detector_spec()
    tagging = spec.build().tag_file(input_path, k)
    scores = tagging.score_grid
    text = format_tags(
        tagging.top,
        output_format,
        filename=str(input_path),
        duration_seconds=scores.duration_seconds,
        windows=len(scores),
        unit="frames" if scores.frames_tile else "windows",
    )
    click.echo(text, nl=False)


def _tag_table(inputs, output, pattern, overwrite) -> None:
    """``sed tag INPUT... -o TABLE``: every recording's clip scores, one row each, resumable."""
    from sed.audio import find_audio_files
    from sed.outputs import Output, check_outputs

    found = find_audio_files(inputs, pattern=pattern)
    if not found.files:
        raise ParameterError(f"no audio files found in {', '.join(inputs)}")
    note_duplicates(found.duplicates)
    check_outputs(
        [Output(output, "-o")],
        inputs={
            "INPUT": list(inputs),
            "--label-map": click.get_current_context().params["label_map"],
        },
        overwrite=overwrite,
    )
    detector = detector_spec().build()
    run = detector.tag_files(
        [recording.path for recording in found.files], output, resume=not overwrite
    )
    click.echo(
        f"{len(found.files)} recording{'s' * (len(found.files) != 1)}: {run.tagged} tagged, "
        f"{run.skipped} already in the table, {len(run.failures)} failed; "
        f"{len(run.table)} row{'s' * (len(run.table) != 1)} x {len(run.table.columns) - 2} "
        f"classes written to {output}"
    )
    for _, error in run.failures:
        click.echo(f"sed tag: {error}", err=True)
    if run.failures:
        raise SystemExit(1)
