"""``sed search``: the windows of an index most similar to example sounds, as an event table."""

from __future__ import annotations

import click

from sed.cli.options import CONTEXT, reports_errors
from sed.events.writers import FORMAT_SUFFIXES
from sed.model.backends import BACKENDS, DEFAULT_BACKEND
from sed.search import (
    CENTRES,
    DEFAULT_CENTRE,
    DEFAULT_K,
    DEFAULT_MIN_GAP_SECONDS,
    DEFAULT_POOLING,
    POOLINGS,
)


@click.command(context_settings=CONTEXT, short_help="Find the windows most like an example.")
@click.argument("index_dir", type=click.Path(file_okay=False))
@click.option(
    "--query",
    "queries",
    multiple=True,
    required=True,
    type=click.Path(dir_okay=False),
    help="An example sound; repeat for several (their windows are pooled).",
)
@click.option(
    "--start", "start_seconds", type=float, default=None, help="Span start in the (one) query, s."
)
@click.option(
    "--end", "end_seconds", type=float, default=None, help="Span end in the (one) query, s."
)
@click.option(
    "--negative",
    "negatives",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="A sound not wanted: windows similar to it sink in the ranking. Repeatable.",
)
@click.option("-k", "k", type=click.IntRange(min=1), default=DEFAULT_K, help="Windows to find.")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Hits file; its format follows the suffix: "
    + ", ".join(f"{suffix} ({name})" for name, suffix in FORMAT_SUFFIXES.items()),
)
@click.option("--label", default=None, help="event_label of the hits [default: the query's stem]")
@click.option(
    "--min-gap",
    "min_gap_seconds",
    type=click.FloatRange(min=0),
    default=DEFAULT_MIN_GAP_SECONDS,
    help="Hits of one recording closer than this (s) become one event.",
)
@click.option(
    "--pooling",
    type=click.Choice(POOLINGS),
    default=DEFAULT_POOLING,
    help="Several query windows: compare with their mean, or take the best match of any.",
)
@click.option(
    "--centre",
    type=click.Choice(CENTRES),
    default=DEFAULT_CENTRE,
    help="Subtracted before the cosine: the archive's mean window, each recording's mean "
    "(background-normalised), or nothing.",
)
@click.option(
    "--backend",
    type=click.Choice(BACKENDS),
    default=DEFAULT_BACKEND,
    help="What runs YAMNet on the queries.",
)
@click.option(
    "--weights",
    type=click.Path(dir_okay=True),
    default=None,
    help="The index's YAMNet weights [default: $SED_YAMNET_WEIGHTS, else the bundled weights]",
)
@reports_errors
def search(
    index_dir,
    queries,
    start_seconds,
    end_seconds,
    negatives,
    k,
    output,
    label,
    min_gap_seconds,
    pooling,
    centre,
    backend,
    weights,
):
    """Find the K windows of the index INDEX_DIR most similar to the --query sounds and write
    them, adjacent windows merged into events, to -o (score = cosine similarity)."""
    from sed import pipeline
    from sed.errors import ParameterError
    from sed.events import write_events
    from sed.index import open_index
    from sed.outputs import Output, check_outputs
    from sed.search import hits_to_events, query_embeddings
    from sed.search import search as find

    if (start_seconds is not None or end_seconds is not None) and len(queries) > 1:
        raise ParameterError("--start and --end cut one --query; give a single one")
    check_outputs([Output(output)], inputs={"--query": queries, "--negative": negatives})
    index = open_index(index_dir)
    model = pipeline.load_model(weights, hop_seconds=index.hop_seconds, backend=backend)
    index.check_model(model)
    resampler = index.settings["resampler"]
    positive = [
        query_embeddings(
            path, model, start_seconds=start_seconds, end_seconds=end_seconds, resampler=resampler
        )
        for path in queries
    ]
    negative = [query_embeddings(path, model, resampler=resampler).embeddings for path in negatives]
    hits = find(
        index,
        [query.embeddings for query in positive],
        k=k,
        negatives=negative,
        pooling=pooling,
        centre=centre,
    )
    events = hits_to_events(index, hits, label or positive[0].name, min_gap_seconds=min_gap_seconds)
    write_events(events, output, _format_of(output))
    click.echo(f"{len(hits)} windows, {len(events)} events written to {output}")


def _format_of(path: str) -> str:
    """The event format whose suffix ``path`` ends with (the longest that fits), else csv."""
    lower = path.lower()
    fitting = [name for name, suffix in FORMAT_SUFFIXES.items() if lower.endswith(suffix)]
    return max(fitting, key=lambda name: len(FORMAT_SUFFIXES[name]), default="csv")
