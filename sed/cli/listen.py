"""``sed listen``: sound events as they happen, from a sound card or audio piped in."""

from __future__ import annotations

import json
import signal
import sys
from typing import TYPE_CHECKING, cast

import click

from sed.cli.options import (
    CONTEXT,
    POSTPROCESSING_OPTIONS,
    batch_size_option,
    detector_spec,
    formats_option,
    head_option,
    model_options,
    postprocessing_options,
    reports_errors,
    selection_options,
)
from sed.errors import ParameterError
from sed.listen import (
    DEFAULT_CHANNELS,
    DEFAULT_SAMPLE_FORMAT,
    SAMPLE_FORMATS,
    Stopped,
    StopRequest,
)
from sed.pipeline import DEFAULT_TOP_K

if TYPE_CHECKING:
    from sed.postprocessing import PostProcessing


@click.command(context_settings=CONTEXT)
@click.argument("source", metavar="[-]", required=False)
@click.option(
    "--device",
    default=None,
    help="Sound card to record from: an index or (part of) a name, as `python -m sounddevice` "
    "lists them [default: the system's default input].",
)
@click.option(
    "--rate",
    "sample_rate",
    type=click.IntRange(min=1),
    default=None,
    help="Sample rate in Hz: of raw PCM on standard input (required for it), or to record a "
    "sound card at [default: the card's].",
)
@click.option(
    "--sample-format",
    type=click.Choice(SAMPLE_FORMATS),
    default=DEFAULT_SAMPLE_FORMAT,
    help="Raw PCM on standard input: little-endian 16-bit integers or 32-bit floats.",
)
@click.option(
    "--channels",
    type=click.IntRange(min=1),
    default=DEFAULT_CHANNELS,
    help="Channels of raw PCM on standard input, or to record (averaged to mono).",
)
@click.option(
    "--start-time",
    default=None,
    help="Wall-clock time of the first sample, ISO 8601 (2025-06-01T05:30:00+02:00; without "
    "an offset: local time) [default: the clock when the first audio arrives].",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also append the events to this events file (created if missing), one flushed write "
    "per event; with several --format, its name up to the first dot plus each format's suffix.",
)
@formats_option("Format of the -o file; repeat for several.")
@click.option(
    "--every",
    "every_seconds",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Instead of events, print the top classes of every stretch of this many seconds.",
)
@click.option(
    "--top",
    "top_k",
    type=click.IntRange(min=1),
    default=DEFAULT_TOP_K,
    help="With --every: how many classes to print.",
)
@click.option(
    "--quiet", is_flag=True, help="No status lines on stderr (errors and lost samples still are)."
)
@selection_options
@postprocessing_options
@head_option
@model_options
@batch_size_option
@reports_errors
def listen(
    source,
    device,
    sample_rate,
    sample_format,
    channels,
    start_time,
    output,
    formats,
    every_seconds,
    top_k,
    quiet,
    classes,
    label_map,
    head_dir,
    weights,
    hop_seconds,
    resampler,
    backend,
    batch_size,
    **options,
):
    """Detect sound events as they happen, in audio from a sound card or piped in.

    Without SOURCE, records the default input device (or --device) through PortAudio. With '-',
    reads standard input: a WAV stream (its header gives rate, channels and encoding) or raw PCM
    (--rate, --sample-format, --channels), for example

    \b
      arecord -f S16_LE -r 16000 -c 1 -t raw | sed listen - --rate 16000
      ffmpeg -i rtsp://camera/stream -f s16le -ac 1 -ar 16000 - | sed listen - --rate 16000

    Every event is printed on standard output as one JSON line (onset and offset in seconds
    since the start of the stream, event_label, score, mean_score, and start_time/end_time on
    the wall clock) as soon as the post-processing can decide it: the same events `sed detect`
    finds in a recording of the same audio. The end of the stream closes the open events and
    exits with 0; SIGINT (Ctrl-C) and SIGTERM close them too and exit with 130 and 143.
    """
    from sed.events import check_appendable, format_paths
    from sed.listen import parse_start_time
    from sed.postprocessing import save_config

    stop = StopRequest()
    with stop.on_signals(signal.SIGINT, signal.SIGTERM):
        # Everything that can be checked without the model is checked before loading it.
        context = click.get_current_context()
        if source not in (None, "-"):
            raise ParameterError(
                f"the source is '-' (standard input) or nothing (a sound card), not {source!r}; "
                "to detect events in a file use `sed detect`"
            )
        if source == "-" and device is not None:
            raise ParameterError("give either '-' (standard input) or --device, not both")
        _check_every(context, every_seconds, output, options)
        spec = detector_spec(options)
        config = cast("PostProcessing", spec.postprocessing)  # set: options were given
        clock = parse_start_time(start_time) if start_time is not None else None
        paths = format_paths(output, formats) if output is not None else {}
        for name, path in paths.items():
            check_appendable(path, name)
        if options["save_config"]:
            save_config(config, options["save_config"])
        detector = spec.build()
        if stop.requested:  # interrupted while the model loaded
            sys.exit(128 + stop.signum)  # type: ignore[operator]
        try:
            audio = _open_source(source, device, sample_rate, sample_format, channels, stop)
        except Stopped:  # interrupted while waiting for the first audio
            sys.exit(128 + stop.signum)  # type: ignore[operator]
        status = _Status(quiet)
        status.say(f"listening to {audio.describe()}; {_what(every_seconds)} on stdout")
        summary = _run(
            audio,
            detector,
            clock,
            paths,
            stop,
            status,
            every_seconds=every_seconds,
            top_k=top_k,
        )
    incomplete = getattr(audio, "incomplete_bytes", 0)
    if incomplete:
        status.say(
            "the stream ended inside a sample frame: "
            + (f"its last {incomplete} bytes were" if incomplete > 1 else "its last byte was")
            + " dropped",
            always=True,
        )
    lost = f" ({summary.overflows} overflows, {summary.underflows} underflows)"
    counted = f"{summary.decided} {'stretches' if every_seconds else 'events'}"
    status.say(
        f"{summary.seconds:.1f} s of audio, {counted}"
        + (lost if summary.overflows or summary.underflows else ""),
        always=bool(summary.overflows or summary.underflows),
    )
    if summary.signum is not None:
        sys.exit(128 + summary.signum)


def _check_every(context, every_seconds, output, options) -> None:
    """``--top`` needs ``--every``; ``--every`` prints no events, so takes no event options."""
    given = {
        name
        for name in ("top_k", "config_path", "class_thresholds", "save_config")
        if context.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE
    }
    given |= {
        option.name
        for option in POSTPROCESSING_OPTIONS
        if context.get_parameter_source(option.name) == click.core.ParameterSource.COMMANDLINE
    }
    if every_seconds is None and "top_k" in given:
        raise ParameterError("--top goes with --every")
    if every_seconds is not None and (output is not None or given - {"top_k"}):
        raise ParameterError(
            "--every prints the top classes of each stretch, not events: -o and the "
            "post-processing options do not apply"
        )


def _open_source(source, device, sample_rate, sample_format, channels, stop):
    """Standard input (WAV or raw PCM) or a sound card."""
    from sed.listen import DeviceSource, PcmFormat, PcmSource

    context = click.get_current_context()
    if source != "-":
        if context.get_parameter_source("sample_format") == click.core.ParameterSource.COMMANDLINE:
            raise ParameterError("--sample-format is for raw PCM on standard input ('-')")
        return DeviceSource(_device(device), sample_rate=sample_rate, channels=channels)
    raw = PcmFormat(sample_rate, channels, sample_format) if sample_rate is not None else None
    audio = PcmSource(sys.stdin.buffer, raw_format=raw, stop=stop)
    if audio.is_wav:  # the header says it all: options that disagree are mistakes
        given = {
            "sample_rate": ("--rate", audio.format.sample_rate),
            "channels": ("--channels", audio.format.channels),
            "sample_format": ("--sample-format", audio.format.encoding),
        }
        for name, (option, value) in given.items():
            source_of = context.get_parameter_source(name)
            if (
                source_of == click.core.ParameterSource.COMMANDLINE
                and context.params[name] != value
            ):
                raise ParameterError(
                    f"standard input is a WAV stream with {option} {value}, not "
                    f"{context.params[name]}: leave the option out"
                )
    return audio


def _device(text):
    """A device index when the text is a number, else (part of) its name."""
    if text is None:
        return None
    return int(text) if text.strip().isdigit() else text


def _what(every_seconds) -> str:
    if every_seconds is None:
        return "events as JSON lines"
    return f"the top classes of every {every_seconds:g} s as JSON lines"


class _Status:
    """One-line notes on stderr (``sed listen: ...``), unless --quiet."""

    def __init__(self, quiet: bool):
        self.quiet = quiet

    def say(self, text: str, *, always: bool = False) -> None:
        if always or not self.quiet:
            click.echo(f"sed listen: {text}", err=True)


def _run(
    audio,
    detector,
    clock,
    paths,
    stop,
    status,
    *,
    every_seconds,
    top_k,
):
    """Listen until the source ends or a signal arrives; events to stdout and the -o files."""
    from sed.events import EventAppender
    from sed.listen import Listener, listen, rounded, wall_time

    listener = Listener(
        detector.model,
        sample_rate=audio.sample_rate,
        head=detector.scorer,
        postprocessing=detector.postprocessing,
        every_seconds=every_seconds,
        top_k=top_k,
        resampler=detector.resampler,
        batch_size=detector.batch_size,
        start_time=clock,
    )
    start = wall_time(clock, 0.0) if clock is not None else None
    appenders = [
        EventAppender(path, name, filename=audio.name, start_time=start)
        for name, path in paths.items()
    ]
    out = sys.stdout
    alive = [True]

    def emit(item: dict) -> None:
        for appender in appenders:
            appender.append(item)
        if alive[0]:
            try:
                out.write(json.dumps(rounded(item)) + "\n")
                out.flush()
            except BrokenPipeError:  # the reader went away: stop as `yes | head` does
                alive[0] = False
                stop.request(signal.SIGPIPE)

    summary = None
    try:
        summary = listen(
            audio, listener, emit, stop=stop, warn=lambda line: status.say(line, always=True)
        )
    finally:
        for appender in appenders:
            appender.close(summary.seconds if summary is not None else None)
    return summary
