"""``sed review``: a page to look at, listen to and judge a batch's detections."""

from __future__ import annotations

import click

from sed.audio import DEFAULT_RESAMPLER, RESAMPLERS
from sed.cli.options import CONTEXT, label_column_option, reports_errors
from sed.review.media import AUDIO_FORMATS, DEFAULT_AUDIO_FORMAT
from sed.review.recordings import DEFAULT_SEED


@click.command(context_settings=CONTEXT)
@click.argument("source", metavar="OUT_DIR", type=click.Path())
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="The page to write (.html); its images and clips go to the folder beside it named "
    "after it (review.html: review_files/).",
)
@click.option(
    "--audio",
    type=click.Path(),
    default=None,
    help="The recordings: a folder (or one file). Needed when OUT_DIR is an events file, or when "
    "a batch's recordings moved.",
)
@click.option(
    "--reference",
    type=click.Path(),
    default=None,
    help="Reference annotations (a file or folder, any format sed evaluate reads), drawn in "
    "each recording's overview.",
)
@label_column_option
@click.option(
    "--max-per-label",
    type=click.IntRange(min=1),
    default=None,
    help="Put at most N events of each label on the page: the highest scores, the lowest and a "
    "random sample of the rest [default: every event].",
)
@click.option(
    "--seed",
    type=int,
    default=DEFAULT_SEED,
    help="Seed of the random sample of --max-per-label.",
)
@click.option(
    "--audio-format",
    type=click.Choice(tuple(AUDIO_FORMATS)),
    default=DEFAULT_AUDIO_FORMAT,
    help="Format of the clips: mp3 (plays everywhere) or opus (a third smaller, slower to write, "
    "Safari 17+).",
)
@click.option("--title", default=None, help="Title of the page [default: sed review: OUT_DIR].")
@click.option(
    "--resampler",
    type=click.Choice(RESAMPLERS),
    default=DEFAULT_RESAMPLER,
    help="Resampler of the overview spectrograms (16 kHz) and the clips.",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="Threads encoding the images and clips [default: the CPUs available].",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@reports_errors
def review(
    source,
    output,
    audio,
    reference,
    label_column,
    max_per_label,
    seed,
    audio_format,
    title,
    resampler,
    threads,
    quiet,
):
    """Write a review page for the detections of OUT_DIR: look, listen, mark them right or wrong.

    OUT_DIR is the output folder of a `sed detect` batch, or an events file (or folder of
    them) with --audio. The page opens from disk in a browser, with no server and no network;
    the verdicts it exports (CSV) are a reference for `sed evaluate`.
    """
    from sed.review import build_review

    written = build_review(
        source,
        output,
        audio=audio,
        reference=reference,
        label_column=label_column,
        max_per_label=max_per_label,
        seed=seed,
        audio_format=audio_format,
        title=title,
        resampler=resampler,
        threads=threads,
        quiet=quiet,
    )
    click.echo(str(written))
