"""``sed embed``: YAMNet's 1024-D embeddings of every window, to .npz or .parquet."""

from __future__ import annotations

import sys

import click

from sed.cli.options import (
    CONTEXT,
    cache_option,
    model_options,
    note_duplicates,
    overwrite_option,
    reports_errors,
)


@click.command(
    context_settings=CONTEXT, short_help="Write YAMNet's 1024-D embedding of every window."
)
@click.argument("inputs", metavar="INPUT...", nargs=-1, required=True, type=click.Path())
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="embeddings.npz or embeddings.parquet to write.",
)
@cache_option
@model_options
@overwrite_option
@reports_errors
def embed(inputs, output, cache_dir, weights, hop_seconds, resampler, backend, overwrite):
    """Write YAMNet's 1024-D embeddings of every window of INPUT... (files or folders)."""
    from sed import pipeline
    from sed.audio import find_audio_files
    from sed.errors import AudioError
    from sed.heads.embeddings import (
        EmbeddingCache,
        check_embeddings_path,
        embed_files,
        write_embeddings,
    )
    from sed.outputs import Output, check_outputs

    check_embeddings_path(output)
    check_outputs(
        [Output(output), Output(cache_dir, "--cache-dir", folder=True)],
        inputs={"INPUT": inputs, "--weights": weights},
        overwrite=overwrite,
    )
    found = find_audio_files(inputs)
    if not found.paths:
        raise AudioError(f"no audio files found in {', '.join(inputs)}")
    note_duplicates(found.duplicates)
    paths = found.paths
    model = pipeline.load_model(weights, hop_seconds=hop_seconds, backend=backend)
    items = embed_files(
        paths,
        model,
        cache=EmbeddingCache(cache_dir),
        resampler=resampler,
        progress=sys.stderr.isatty(),
    )
    write_embeddings(items, output, model.params)
    click.echo(
        f"{len(items)} file{'s' * (len(items) != 1)}, {sum(map(len, items))} windows "
        f"(hop {hop_seconds} s) x 1024: embeddings written to {output}"
    )
