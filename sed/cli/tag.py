"""``sed tag``: the top classes of a recording by window-averaged score."""

from __future__ import annotations

import click

from sed.cli.options import (
    CONTEXT,
    batch_size_option,
    head_labels_and_hop,
    head_option,
    model_options,
    reports_errors,
)
from sed.pipeline import DEFAULT_TOP_K


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
@head_option
@model_options
@batch_size_option
@reports_errors
def tag(input_path, k, head_dir, weights, hop_seconds, resampler, backend, batch_size):
    """List the top-k classes of INPUT by window-averaged score (as the reference inference.py)."""
    from sed import pipeline
    from sed.audio import audio_info

    audio_info(input_path)
    _, hop_seconds = head_labels_and_hop(head_dir, hop_seconds)
    model = pipeline.load_model(weights, hop_seconds=hop_seconds, backend=backend)
    head = pipeline.load_head(head_dir, model) if head_dir is not None else None
    tagging = pipeline.tag_file(
        input_path, model=model, head=head, k=k, resampler=resampler, batch_size=batch_size
    )
    table, window_scores = tagging.top, tagging.window_scores
    width = max(len(label) for label in table["label"])
    click.echo(
        f"{input_path}: {len(window_scores)} windows, {window_scores.duration_seconds:.2f} s"
    )
    for row in table.itertuples():
        click.echo(f"{row.rank:>3}. {row.label:<{width}}  {row.score:.3f}")
