"""``sed evaluate``: sed_eval's segment- and event-based metrics of estimated events."""

from __future__ import annotations

import click

from sed.cli.options import CONTEXT, evaluation_options, reports_errors


@click.command(context_settings=CONTEXT)
@click.option(
    "--reference",
    required=True,
    type=click.Path(),
    help="Reference annotations: a file or a folder (files matched by name stem).",
)
@click.option(
    "--estimated",
    required=True,
    type=click.Path(),
    help="Estimated events: a file or a folder (csv, tsv, Audacity, Raven or json).",
)
@click.option(
    "--audio",
    "audio_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder of the recordings: their true lengths are the evaluated lengths.",
)
@evaluation_options
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write every figure as JSON.",
)
@reports_errors
def evaluate(
    reference,
    estimated,
    audio_dir,
    time_resolution,
    t_collar,
    percentage_of_length,
    onset_only,
    json_path,
):
    """Score estimated events against reference annotations with sed_eval."""
    import json

    from sed.infra import atomic_open
    from sed.outputs import Output, check_outputs
    from sed.pipeline import evaluate_files

    check_outputs(
        [Output(json_path, "--json")],
        inputs={"--reference": reference, "--estimated": estimated, "--audio": audio_dir},
    )
    evaluation = evaluate_files(
        reference,
        estimated,
        audio=audio_dir,
        time_resolution_seconds=time_resolution,
        t_collar_seconds=t_collar,
        percentage_of_length=percentage_of_length,
        evaluate_offset=not onset_only,
        warn=lambda message: click.echo(f"sed evaluate: warning: {message}", err=True),
    )
    click.echo(evaluation.report())
    if json_path:
        with atomic_open(json_path, "w", encoding="utf-8") as handle:
            json.dump(evaluation.results(), handle, indent=1)
            handle.write("\n")
        click.echo(f"results written to {json_path}")
