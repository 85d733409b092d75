"""``sed tag``: the top classes of a recording by window-averaged score."""

from __future__ import annotations

import click

from sed.cli.options import (
    CONTEXT,
    batch_size_option,
    detector_spec,
    head_option,
    model_options,
    reports_errors,
    selection_options,
)
from sed.pipeline import DEFAULT_TAG_FORMAT, DEFAULT_TOP_K, TAG_FORMATS


@click.command(context_settings=CONTEXT, short_help="List a recording's top-k classes.")
@click.argument("input_path", metavar="INPUT", type=click.Path())
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
@reports_errors
def tag(
    input_path,
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
):
    """List the top-k classes of INPUT by window-averaged score (as the reference inference.py;
    with a frame-level head, by highest frame score); --classes or --label-map restrict them to
    some classes."""
    from sed.audio import audio_info
    from sed.cli.printing import format_tags

    audio_info(input_path)
    spec = detector_spec(
        head_dir=head_dir,
        classes=classes,
        label_map=label_map,
        weights=weights,
        hop_seconds=hop_seconds,
        resampler=resampler,
        backend=backend,
        batch_size=batch_size,
    )
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
