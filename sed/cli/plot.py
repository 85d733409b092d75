"""``sed plot``: one recording's waveform, log-mel spectrogram, scores and events in one figure."""

from __future__ import annotations

import click

from sed.cli.options import (
    CONTEXT,
    batch_size_option,
    model_options,
    overwrite_option,
    reports_errors,
    selection_options,
)
from sed.params import YamnetParams, check_band
from sed.plotting import DEFAULT_TOP_N

_PARAMS = YamnetParams()


@click.command(
    context_settings=CONTEXT, short_help="Draw a recording's spectrogram, scores and events."
)
@click.argument("input_path", metavar="INPUT", type=click.Path())
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Figure to write (.png, .pdf or .svg).",
)
@click.option(
    "--events",
    "events_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Estimated events to draw (any format sed evaluate reads).",
)
@click.option(
    "--reference",
    "reference_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Reference annotations to draw against them.",
)
@click.option(
    "--top",
    "top_n",
    type=click.IntRange(min=1),
    default=DEFAULT_TOP_N,
    help="Number of classes in the score heat map (highest maximum score first).",
)
@click.option(
    "--fmin",
    "fmin_hz",
    type=float,
    default=_PARAMS.mel_min_hz,
    show_default=True,
    help="Lowest frequency of the spectrogram panel, in Hz (YAMNet's log-mel band starts there).",
)
@click.option(
    "--fmax",
    "fmax_hz",
    type=float,
    default=_PARAMS.mel_max_hz,
    show_default=True,
    help="Highest frequency of the spectrogram panel, in Hz (YAMNet's log-mel band ends there).",
)
@selection_options
@model_options
@batch_size_option
@overwrite_option
@reports_errors
def plot(
    input_path,
    output,
    events_path,
    reference_path,
    top_n,
    fmin_hz,
    fmax_hz,
    classes,
    label_map,
    weights,
    hop_seconds,
    resampler,
    backend,
    batch_size,
    overwrite,
):
    """Draw INPUT's waveform, log-mel spectrogram, top window scores and event roll."""
    from sed import pipeline
    from sed.audio import audio_info
    from sed.errors import ParameterError
    from sed.outputs import Output, check_outputs
    from sed.plotting import check_figure_path

    check_figure_path(output)
    try:
        band_hz = check_band((fmin_hz, fmax_hz))
    except ParameterError as error:
        raise ParameterError(f"--fmin/--fmax: {error}") from None
    check_outputs(
        [Output(output)],
        overwrite=overwrite,
        inputs={
            "INPUT": input_path,
            "--events": events_path,
            "--reference": reference_path,
            "--label-map": label_map,
            "--weights": weights,
        },
    )
    audio_info(input_path)
    selection = pipeline.class_selection(classes=classes, label_map=label_map)
    estimated = _events_of(input_path, "--events", events_path) if events_path else None
    reference = _events_of(input_path, "--reference", reference_path) if reference_path else None
    model = pipeline.load_model(weights, hop_seconds=hop_seconds, backend=backend)
    pipeline.plot_file(
        input_path,
        output,
        model=model,
        selection=selection,
        estimated=estimated,
        reference=reference,
        top_n=top_n,
        band_hz=band_hz,
        resampler=resampler,
        batch_size=batch_size,
        overwrite=overwrite,
    )
    click.echo(f"figure written to {output}")


def _events_of(input_path: str, option: str, path: str):
    """The events of ``path`` to draw on INPUT: a table of several recordings (a batch's
    ``all_events.csv``) gives INPUT's alone, paired by stem; a note says when it has none."""
    from sed.errors import printable
    from sed.events import read_events
    from sed.events.table import events_of_recording

    found = read_events(path)
    if not found.names_recordings:  # a file of one recording: its events are INPUT's
        return found.events
    events = events_of_recording(found.events, input_path)
    if events.empty and not found.events.empty:
        click.echo(
            f"sed plot: note: {option} {printable(path)} has no event of {printable(input_path)} "
            f"({len(found.events)} events of {found.events['filename'].nunique()} other "
            "recordings, paired by the name before the first dot); none drawn",
            err=True,
        )
    return events
