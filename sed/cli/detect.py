"""``sed detect``: events of one recording, or of a whole archive into an output folder."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import TYPE_CHECKING, cast

import click

from sed.cli.options import (
    CONTEXT,
    batch_size_option,
    cluster_runner,
    detector_spec,
    formats_option,
    glob_option,
    head_option,
    model_options,
    note_duplicates,
    overwrite_option,
    parallel_options,
    postprocessing_options,
    refuse_jobs_on_a_cluster,
    reports_errors,
    selection_options,
)
from sed.errors import ParameterError

if TYPE_CHECKING:
    from sed.pipeline import DetectorSpec
    from sed.postprocessing import PostProcessing

#: The value of a bare ``--scores`` (no file is named ""): beside the events file, or the batch's.
BESIDE_EVENTS = ""


@click.command(
    context_settings=CONTEXT, short_help="Detect sound events in recordings or whole folders."
)
@click.argument("inputs", metavar="INPUT...", nargs=-1, required=True)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(),
    help="One recording: the events file (with several --format, its name up to the "
    "first dot plus each format's suffix), or '-' for standard output. Several inputs, a "
    "folder or '-': a folder that receives one events file per recording, mirroring the "
    "input tree.",
)
@formats_option(
    "Events format; repeat for several: csv (ours), tsv (DCASE/sed_eval), "
    "audacity (label track), raven (selection table), json."
)
@selection_options
@postprocessing_options
@click.option(
    "--scores",
    "scores_path",
    is_flag=False,
    flag_value=BESIDE_EVENTS,
    default=None,
    metavar="[FILE.tsv]",
    help="Also write the score table: tab-separated onset, offset, one column per class, "
    "one line per hop-long frame (a frame-level head's 0.08 s frames; sed_scores_eval's "
    "layout, for `sed evaluate --scores`). "
    "One recording: to FILE.tsv, or beside the events file as NAME.scores.tsv; a batch: "
    "NAME.sed.scores.tsv per recording in the output folder (give no FILE).",
)
@glob_option
@parallel_options
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option(
    "--basenames",
    is_flag=True,
    help="A batch's all_events.tsv and durations.tsv name recordings by their file names "
    "alone, not by their paths relative to the input folder.",
)
@click.option(
    "--combine",
    is_flag=True,
    help="With --format raven, a batch also writes one selection table of every recording, "
    "all_events.selections.txt, the recording in its Begin File column.",
)
@head_option
@model_options
@batch_size_option
@overwrite_option
@reports_errors
def detect(
    inputs,
    output,
    formats,
    classes,
    label_map,
    scores_path,
    pattern,
    jobs,
    scheduler,
    quiet,
    basenames,
    combine,
    head_dir,
    weights,
    hop_seconds,
    resampler,
    backend,
    batch_size,
    overwrite,
    **options,
):
    """Detect sound events in recordings and write them as event tables.

    INPUT is an audio file, a folder (searched recursively) or '-' for a list of paths on
    standard input. With one file, -o is the events file ('-': standard output, the summary
    going to standard error). Otherwise -o is a folder that receives one events file per
    recording and format, all_events.csv and all_events.tsv (every event), durations.tsv,
    parameters.json and, if any recording failed, failures.csv; running the same command again
    skips the recordings already done.
    """
    from sed.events import format_paths
    from sed.outputs import Output, check_outputs
    from sed.postprocessing import save_config

    batch = _is_batch(inputs, output)
    formats = _checked_names(batch, output, formats, scores_path)
    scheduler = _scheduler_for(batch, scheduler, jobs)
    if batch and scores_path not in (None, BESIDE_EVENTS):
        raise ParameterError(
            "--scores takes no file in a batch: each recording's score table goes to the "
            "output folder as NAME.sed.scores.tsv"
        )
    if scores_path == BESIDE_EVENTS and not batch:
        if output == "-":
            raise ParameterError("with -o -, give --scores a file name")
        scores_path = scores_beside(output)
    check_outputs(
        [
            *(
                [Output(output, folder=True)]
                if batch
                else map(Output, format_paths(output, formats).values())
            ),
            Output(None if batch else scores_path, "--scores"),
            Output(options["save_config"], "--save-config"),
        ],
        overwrite=overwrite,
        inputs={
            "INPUT": inputs,
            "--label-map": label_map,
            "--config": options["config_path"],
            "--class-thresholds": options["class_thresholds"],
            "--head": head_dir,
            "--weights": weights,
        },
    )
    # Everything that can be checked without TensorFlow is checked before loading it.
    spec = detector_spec(options)
    config = cast("PostProcessing", spec.postprocessing)  # set: options were given
    if batch:
        if output == "-":
            raise ParameterError("-o - is for one recording; a batch writes into a folder")
        status = _detect_batch(
            inputs, output, spec, formats, pattern=pattern, jobs=jobs, quiet=quiet,
            basenames=basenames, scheduler=scheduler, scores=scores_path is not None,
            overwrite=overwrite, combine=combine,
        )  # fmt: skip
    else:
        if basenames:
            raise ParameterError("--basenames names the recordings of a batch's tables")
        if combine:
            raise ParameterError("--combine joins the Raven tables of a batch's recordings")
        if output == "-":
            status = _detect_to_stdout(inputs[0], formats, spec, scores_path)
        else:
            status = _detect_one(inputs[0], format_paths(output, formats), spec, scores_path)
    if options["save_config"]:
        save_config(config, options["save_config"])
        click.echo(f"configuration written to {options['save_config']}", err=output == "-")
    if status:
        sys.exit(status)


def scores_beside(output: str) -> str:
    """Where a bare ``--scores`` writes one recording's score table: ``NAME.scores.tsv`` beside
    the events file ``NAME.csv`` (its name up to the first dot)."""
    from sed.events import SCORES_SUFFIX

    folder, name = os.path.split(output)
    return os.path.join(folder, name.split(".", 1)[0] + SCORES_SUFFIX)


def _is_batch(inputs, output) -> bool:
    return len(inputs) > 1 or inputs[0] == "-" or os.path.isdir(inputs[0]) or os.path.isdir(output)


def _scheduler_for(batch: bool, scheduler: str | None, jobs: int) -> str | None:
    """The scheduler a batch runs on. ``$SED_SCHEDULER`` set for a whole session is ignored by
    a run of one recording; ``--scheduler`` given with one is refused."""
    if not scheduler:
        return None
    source = click.get_current_context().get_parameter_source("scheduler")
    if not batch:
        if source is click.core.ParameterSource.ENVIRONMENT:
            return None
        raise ParameterError(
            "--scheduler runs a batch (a folder, several inputs or '-' and a folder -o); one "
            "recording runs here"
        )
    refuse_jobs_on_a_cluster(jobs)
    return scheduler


def _detect_one(input_path, paths, spec: DetectorSpec, scores_path) -> int:
    from sed.audio import audio_info
    from sed.cli.printing import summarize
    from sed.events import write_events, write_score_table

    audio_info(input_path)
    # Without a score table the scores are not kept: memory stays flat however long the file.
    detection = spec.build().detect_file(input_path, keep_scores=bool(scores_path))
    durations = {detection.filename: detection.duration_seconds}
    for name, path in paths.items():
        write_events(detection.events, path, name, durations=durations)
    if scores_path and detection.score_grid is not None:
        write_score_table(detection.score_grid, scores_path)
    click.echo(summarize(detection.events, detection.duration_seconds))
    written = [f"events written to {', '.join(paths.values())}"]
    if scores_path and detection.score_grid is not None:
        grid = "frame " if detection.score_grid.frames_tile else ""
        written.append(f"{grid}scores to {scores_path}")
    click.echo(", ".join(written))
    return 0


def _detect_to_stdout(input_path, formats, spec: DetectorSpec, scores_path) -> int:
    """One recording's events on standard output, everything else on standard error."""
    from sed.audio import audio_info
    from sed.cli.printing import summarize
    from sed.events import format_events, write_score_table

    formats = list(dict.fromkeys(formats))
    if len(formats) > 1:
        raise ParameterError("-o - writes one format; give one --format")
    audio_info(input_path)
    detection = spec.build().detect_file(input_path, keep_scores=bool(scores_path))
    text = format_events(
        detection.events, formats[0], durations={detection.filename: detection.duration_seconds}
    )
    _echo_to_stdout(text)
    if scores_path and detection.score_grid is not None:
        write_score_table(detection.score_grid, scores_path)
    click.echo(summarize(detection.events, detection.duration_seconds), err=True)
    if scores_path:
        click.echo(f"scores written to {scores_path}", err=True)
    return 0


def _detect_batch(
    inputs,
    output,
    spec: DetectorSpec,
    formats,
    *,
    pattern,
    jobs,
    quiet,
    basenames,
    scheduler,
    scores,
    overwrite=False,
    combine=False,
) -> int:
    """Run a batch; returns the exit status (1 when any recording failed)."""
    if combine and "raven" not in formats:
        raise ParameterError("--combine joins Raven tables: give --format raven with it")
    from sed.audio import find_audio_files
    from sed.batch import run_batch
    from sed.batch_folder import FAILURES_FILE

    found = find_audio_files(inputs, pattern=pattern)
    if not found.files:
        raise ParameterError(f"no audio files found in {', '.join(inputs)}")
    note_duplicates(found.duplicates)
    with contextlib.ExitStack() as stack:
        runner = stack.enter_context(cluster_runner(scheduler)) if scheduler else None
        summary = run_batch(
            found.files,
            output,
            spec=spec,
            formats=list(dict.fromkeys(formats)),
            jobs=jobs,
            quiet=quiet,
            command=["sed", *sys.argv[1:]],
            basenames=basenames,
            runner=runner,
            scores=scores,
            overwrite=overwrite,
            combine=combine,
        )
    from sed.cli.printing import label_lines

    click.echo("\n".join([str(summary), *label_lines(summary.label_totals())]))
    failed = summary.count("failed")
    if failed:
        click.echo(
            f"sed detect: {failed} recording{'s' * (failed > 1)} failed: see "
            f"{os.path.join(output, FAILURES_FILE)}",
            err=True,
        )
    return 1 if failed else 0


def _checked_names(batch: bool, output: str, formats, scores_path) -> list[str]:
    """The formats to write, after the rules of names: without ``--format`` the suffix of ``-o``
    decides, a ``--format`` that contradicts it is refused (:func:`sed.events.output_formats`),
    and so are ``--scores`` named as another format and a batch's new ``-o`` named as a file."""
    from sed.events import check_scores_suffix, format_of_suffix, output_formats

    given = click.get_current_context().get_parameter_source("formats")
    if batch:
        named = format_of_suffix(output)
        if named is not None and not os.path.exists(output):
            raise ParameterError(
                f"-o {output} is named as a {named} file, and a batch writes into a folder: "
                "give a folder name (or create the folder first)"
            )
        return list(dict.fromkeys(formats))
    if scores_path:
        check_scores_suffix(scores_path)
    asked = None if given is click.core.ParameterSource.DEFAULT else formats
    return output_formats(output, asked)


def _echo_to_stdout(text: str) -> None:
    """Write ``text`` to standard output; a full disk or a closed pipe is one line, no
    traceback (and nothing is left buffered for Python to fail on again at exit)."""
    from sed.infra import write_error

    try:
        click.echo(text, nl=False)
        sys.stdout.flush()
    except OSError as error:
        with contextlib.suppress(OSError):  # what is left in the buffer goes nowhere
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        raise write_error(error, "standard output (-o -)") from None
