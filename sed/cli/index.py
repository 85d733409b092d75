"""``sed index``: YAMNet's embedding of every window of an archive, stored for ``sed search``."""

from __future__ import annotations

import click

from sed.cli.options import (
    CONTEXT,
    cluster_runner,
    glob_option,
    model_options,
    note_duplicates,
    parallel_options,
    refuse_jobs_on_a_cluster,
    reports_errors,
)


@click.command(
    context_settings=CONTEXT, short_help="Embed every window of an archive for `sed search`."
)
@click.argument("inputs", metavar="INPUT...", nargs=-1, required=True, type=click.Path())
@click.option(
    "-o",
    "--output",
    "index_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Index folder: created, or extended with the recordings it does not hold yet.",
)
@glob_option
@click.option("-q", "--quiet", is_flag=True, help="No line per recording on stderr.")
@click.option(
    "--frames/--no-frames",
    default=True,
    show_default=True,
    help="Also store the layer 6 and 14 feature frames `sed search` compares by default (about "
    "three times the size of the window vectors).",
)
@parallel_options
@model_options
@reports_errors
def index(
    inputs,
    index_dir,
    pattern,
    quiet,
    frames,
    jobs,
    scheduler,
    weights,
    hop_seconds,
    resampler,
    backend,
):
    """Embed every window of INPUT... (files, folders, or '-' for paths on standard input) into
    the index folder INDEX_DIR; a second run adds only the recordings not indexed yet.

    The model runs in this process, in --jobs worker processes or on a Dask cluster
    (--scheduler); this process writes the index, in the order of the inputs, so it holds the
    same vectors whichever runs the model."""
    import contextlib
    import sys

    from sed import pipeline
    from sed.audio import find_audio_files
    from sed.errors import AudioError
    from sed.index import describe, open_index, print_progress
    from sed.indexing import index_recordings
    from sed.outputs import Output, check_outputs

    if scheduler:
        refuse_jobs_on_a_cluster(jobs)
    check_outputs([Output(index_dir, "-o", folder=True)], inputs={"INPUT": inputs})
    found = find_audio_files(inputs, pattern=pattern)
    if not found.paths:
        raise AudioError(f"no audio files found in {', '.join(inputs)}")
    note_duplicates(found.duplicates)
    with contextlib.ExitStack() as stack:
        runner = stack.enter_context(cluster_runner(scheduler)) if scheduler else None
        model = pipeline.load_model(weights, hop_seconds=hop_seconds, backend=backend)
        report = index_recordings(
            found.files,
            index_dir,
            model,
            frames=frames,
            resampler=resampler,
            jobs=jobs,
            runner=runner,
            progress=None if quiet else print_progress,
        )
    for path, reason in report.failed.items():
        click.echo(
            f"sed index: skipped {reason}" if path in reason else f"{path}: {reason}", err=True
        )
    click.echo(
        f"{len(report.added)} added ({report.windows} windows), {len(report.skipped)} already "
        f"indexed, {len(report.failed)} failed; {index_dir}: {describe(open_index(index_dir))}"
    )
    if report.failed:
        sys.exit(1)
