"""``sed search``: the windows of an index most similar to example sounds, as an event table."""

from __future__ import annotations

import click

from sed.cli.options import CONTEXT, reports_errors
from sed.events.writers import FORMAT_SUFFIXES, output_formats
from sed.model.backends import BACKENDS, DEFAULT_BACKEND
from sed.search import (
    CENTRES,
    DEFAULT_CENTRE,
    DEFAULT_EXPAND,
    DEFAULT_K,
    DEFAULT_MIN_GAP_SECONDS,
    DEFAULT_POOLING,
    DEFAULT_SCORING,
    POOLINGS,
    SCORINGS,
)


@click.command(context_settings=CONTEXT, short_help="Find the windows most like an example.")
@click.argument("index_dir", type=click.Path(file_okay=False))
@click.option(
    "--query",
    "queries",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="An example sound; repeat for several (their windows are pooled).",
)
@click.option(
    "--head",
    "head_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Instead of --query: rank every window by this window head's score (sed train).",
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
@click.option(
    "--label",
    default=None,
    help="event_label of the hits [default: the query's stem]; with --head, the head's label "
    "to rank by [default: its only one].",
)
@click.option(
    "--min-gap",
    "min_gap_seconds",
    type=click.FloatRange(min=0),
    default=DEFAULT_MIN_GAP_SECONDS,
    help="Hits of one recording closer than this (s) become one event.",
)
@click.option(
    "--recording",
    "recording_patterns",
    multiple=True,
    metavar="PATTERN",
    help="Only recordings whose indexed name or path matches this glob pattern (e.g. "
    "'site3/*', '*_202406*'); repeat for several.",
)
@click.option(
    "--time-of-day",
    default=None,
    metavar="HH:MM-HH:MM",
    help="Only windows starting between these clock times, from the YYYYMMDD_HHMMSS in the "
    "file names (recordings without one are left out); 22:00-04:00 wraps past midnight.",
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
    "--scoring",
    type=click.Choice(SCORINGS),
    default=DEFAULT_SCORING,
    show_default=True,
    help="Compare the query's 80/320 ms feature frames with the index's (frames), or 0.96 s "
    "window embeddings (windows); auto: frames when the index holds them.",
)
@click.option(
    "--expand",
    type=click.IntRange(min=0),
    default=DEFAULT_EXPAND,
    show_default=True,
    help="Frame scoring: the frames of this many best windows that match the query join it, "
    "and the index is scored again (query expansion); 0: the query alone.",
)
@click.option(
    "--exact",
    is_flag=True,
    help="Score every window (brute force) instead of re-ranking the index graph's candidates.",
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
    head_dir,
    start_seconds,
    end_seconds,
    negatives,
    k,
    output,
    label,
    min_gap_seconds,
    recording_patterns,
    time_of_day,
    pooling,
    centre,
    scoring,
    expand,
    exact,
    backend,
    weights,
):
    """Find the K windows of the index INDEX_DIR most similar to the --query sounds (score =
    how far the window's similarity stands above the index's average, in standard deviations;
    a cosine with --scoring windows), or scored highest by a trained window --head (score = the
    head's), and write them, adjacent windows merged into events, to -o. --recording and
    --time-of-day narrow the windows searched (every one of them is then scored)."""
    from sed import pipeline
    from sed.errors import ParameterError
    from sed.events import write_events
    from sed.index import open_index
    from sed.outputs import Output, check_outputs
    from sed.search import hits_to_events, query_embeddings
    from sed.search import search as find

    if bool(queries) == bool(head_dir):
        raise ParameterError("give --query (one or more examples) or --head (a trained head)")
    if head_dir:
        _refuse_with_head(click.get_current_context())
    if (start_seconds is not None or end_seconds is not None) and len(queries) > 1:
        raise ParameterError("--start and --end cut one --query; give a single one")
    check_outputs(
        [Output(output)],
        inputs={"--query": queries, "--negative": negatives, "--head": head_dir},
    )
    index = open_index(index_dir)
    within = _selected_rows(index, recording_patterns, time_of_day)
    if head_dir:
        hits, label = _head_hits(index, head_dir, label, k, within)
        events = hits_to_events(index, hits, label, min_gap_seconds=min_gap_seconds)
        write_events(events, output, output_formats(output)[0])
        click.echo(f"{len(hits)} windows, {len(events)} events written to {output}")
        return
    model = pipeline.load_model(weights, hop_seconds=index.hop_seconds, backend=backend)
    index.check_model(model)
    resampler = index.settings["resampler"]
    positive = [
        query_embeddings(
            path, model, start_seconds=start_seconds, end_seconds=end_seconds, resampler=resampler
        )
        for path in queries
    ]
    negative = [query_embeddings(path, model, resampler=resampler) for path in negatives]
    hits = find(
        index,
        positive,
        k=k,
        negatives=negative,
        pooling=pooling,
        centre=centre,
        scoring=scoring,
        exact=exact,
        expand=expand,
        within=within,
    )
    events = hits_to_events(index, hits, label or positive[0].name, min_gap_seconds=min_gap_seconds)
    write_events(events, output, output_formats(output)[0])
    click.echo(f"{len(hits)} windows, {len(events)} events written to {output}")


def _refuse_with_head(context: click.Context) -> None:
    """A usage error for the options of a query search given with --head."""
    only_query = {
        "start_seconds": "--start",
        "end_seconds": "--end",
        "negatives": "--negative",
        "pooling": "--pooling",
        "centre": "--centre",
        "scoring": "--scoring",
        "expand": "--expand",
        "exact": "--exact",
    }
    given = [
        option
        for name, option in only_query.items()
        if context.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE
    ]
    if given:
        from sed.errors import ParameterError

        raise ParameterError(f"{', '.join(given)} apply to --query, not --head")


def _selected_rows(index, recording_patterns: tuple[str, ...], time_of_day: str | None):
    """The rows --recording and --time-of-day leave (None: every row); a note on stderr for the
    recordings a time of day leaves out because their names carry no start time."""
    from sed.search_filter import TimeOfDay, select_windows

    clock = TimeOfDay.parse(time_of_day) if time_of_day is not None else None
    selection = select_windows(index, recordings=recording_patterns, time_of_day=clock)
    if selection is None:
        return None
    if selection.undated:
        click.echo(
            f"sed search: {selection.undated} recording{'s' * (selection.undated != 1)} without "
            f"a YYYYMMDD_HHMMSS start time in the name left out by --time-of-day {clock}",
            err=True,
        )
    return selection.rows


def _head_hits(index, head_dir: str, label: str | None, k: int, within):
    """The hits of a window head over the index, and the label they rank by."""
    from sed import pipeline
    from sed.errors import ParameterError
    from sed.heads.head import Head
    from sed.search import head_label, search_with_head

    head = pipeline.load_head(head_dir)
    if not isinstance(head, Head):
        raise ParameterError(
            "a frame-level head cannot rank an index of window embeddings: give a window head",
            head_dir,
        )
    label = head_label(head, label)
    return search_with_head(index, head, label=label, k=k, within=within), label
