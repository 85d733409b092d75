"""``sed evaluate``: sed_eval's segment- and event-based metrics of estimated events."""

from __future__ import annotations

import os

import click

from sed.annotations import DEFAULT_LABELS
from sed.cli.options import (
    CONTEXT,
    evaluation_options,
    label_column_option,
    label_map_option,
    matching_options,
    overwrite_option,
    reports_errors,
)
from sed.errors import ParameterError


@click.command(
    context_settings=CONTEXT, short_help="Score events against reference annotations (sed_eval)."
)
@click.option(
    "--reference",
    type=click.Path(),
    default=None,
    help="Reference annotations: a file, a folder of files (matched by name stem), or a "
    "table naming its recordings (filename, Begin File or Begin Path column).",
)
@click.option(
    "--estimated",
    type=click.Path(),
    default=None,
    help="Estimated events: a file, a folder, a table naming its recordings, or a "
    "`sed detect` output folder.",
)
@click.option(
    "--scores",
    "scores",
    type=click.Path(),
    default=None,
    help="Instead of --estimated: score tables (a `sed detect --scores` batch folder, or "
    "sed_scores_eval's one <recording>.tsv each); reports PSDS1, PSDS2, per-class PSD-ROC AUC "
    "and each class's best intersection-based F1 over all thresholds (sed_scores_eval).",
)
@click.option(
    "--file-list",
    type=click.Path(dir_okay=False),
    default=None,
    help="Instead of --reference/--estimated: sed_eval's file list, one "
    "'reference_file<TAB>estimated_file' pair per line.",
)
@click.option(
    "--audio",
    "audio_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder of the recordings: their true lengths are the evaluated lengths, and a "
    "recording found on one side only has no events on the other.",
)
@click.option(
    "--durations",
    type=click.Path(dir_okay=False),
    default=None,
    help="Instead of --audio: a table 'filename duration' (seconds) of the recordings.",
)
@click.option(
    "--labels",
    default=DEFAULT_LABELS,
    metavar="union|reference|LIST|FILE",
    help="Labels scored: both sides' (union), the reference's (sed_eval's evaluator, DCASE), "
    "a comma-separated list, or a file with one label per line. Events of other labels "
    "are left out and counted.",
)
@label_map_option(
    "CSV event_label,yamnet_display_names, as `sed detect --label-map` reads it: "
    "estimated events of the YAMNet classes listed take its labels before scoring.",
)
@click.option(
    "--glob",
    "reference_pattern",
    default=None,
    metavar="PATTERN",
    help="Only the files of the --reference folder matching PATTERN, e.g. '*.txt' (for "
    "folders holding several layouts of the same recordings).",
)
@label_column_option
@evaluation_options
@matching_options
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write every figure as JSON, each recording's too (undefined figures are null).",
)
@click.option(
    "--brief",
    is_flag=True,
    help="Print one line (overall segment and event F1 and error rate) instead of the report.",
)
@overwrite_option
@reports_errors
def evaluate(
    reference,
    estimated,
    scores,
    file_list,
    audio_dir,
    durations,
    labels,
    label_map,
    reference_pattern,
    label_column,
    time_resolution,
    t_collar,
    percentage_of_length,
    onset_only,
    offset_only,
    event_matching,
    empty_system_output,
    json_path,
    brief,
    overwrite,
):
    """Score estimated events against reference annotations with sed_eval, recording by
    recording; or, with --scores, score tables over every threshold (PSDS, sed_scores_eval)."""
    import json

    from sed.annotations import evaluate_files, evaluate_score_files, parse_labels
    from sed.infra import atomic_open
    from sed.outputs import Output, check_outputs

    if scores is not None:
        if estimated is not None or file_list is not None:
            raise ParameterError("--scores replaces --estimated and --file-list")
        if reference is None:
            raise ParameterError("--scores needs --reference")
        for given, option in ((label_map, "--label-map"), (brief, "--brief")):
            if given:
                raise ParameterError(f"{option} is for --estimated events, not --scores")
    if scores is None and file_list is None and (reference is None or estimated is None):
        raise ParameterError("give --reference and --estimated, or --file-list")
    if file_list is not None and (reference is not None or estimated is not None):
        raise ParameterError("--file-list replaces --reference and --estimated")
    if onset_only and offset_only:
        raise ParameterError("--onset-only and --offset-only exclude each other")
    check_outputs(
        [Output(json_path, "--json")],
        overwrite=overwrite,
        inputs={
            "--reference": reference,
            "--estimated": estimated,
            "--scores": scores,
            "--audio": audio_dir,
            "--file-list": file_list,
            "--durations": durations,
            "--labels": labels if labels and os.path.isfile(labels) else None,
            "--label-map": label_map,
        },
    )

    def warn(message: str) -> None:
        click.echo(f"sed evaluate: warning: {message}", err=True)

    if scores is not None:
        report = evaluate_score_files(
            scores,
            reference,
            reference_pattern=reference_pattern,
            audio=audio_dir,
            durations=durations,
            label_column=label_column,
            warn=warn,
        )
        text, results = report.report(), report.results()
    else:
        evaluation = evaluate_files(
            reference,
            estimated,
            file_list=file_list,
            audio=audio_dir,
            durations=durations,
            labels=parse_labels(labels),
            label_column=label_column,
            time_resolution_seconds=time_resolution,
            t_collar_seconds=t_collar,
            percentage_of_length=percentage_of_length,
            evaluate_onset=not offset_only,
            evaluate_offset=not onset_only,
            event_matching=event_matching,
            empty_system_output=empty_system_output,
            label_map=label_map,
            reference_pattern=reference_pattern,
            warn=warn,
        )
        text = evaluation.brief() if brief else evaluation.report()
        results = evaluation.results()
    click.echo(text)
    if json_path:
        with atomic_open(json_path, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=1)
            handle.write("\n")
        click.echo(f"results written to {json_path}")
