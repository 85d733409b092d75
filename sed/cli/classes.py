"""``sed classes``: YAMNet's 521 AudioSet classes as CSV."""

from __future__ import annotations

import csv
import sys

import click

from sed.cli.options import CONTEXT, reports_errors


@click.command(
    context_settings=CONTEXT, short_help="List YAMNet's 521 classes (index, mid, display name)."
)
@click.option(
    "--search",
    multiple=True,
    help="Only classes whose name or mid contains every word of TEXT, in any order "
    "(case-insensitive); repeat to add words.",
)
@reports_errors
def classes(search):
    """List YAMNet's 521 AudioSet classes as CSV: index,mid,display_name."""
    from sed.classes import load_class_map

    class_map = load_class_map()
    indices = class_map.search(" ".join(search)) if search else range(len(class_map))
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["index", "mid", "display_name"])
    for i in indices:
        writer.writerow([i, class_map.mids[i], class_map.display_names[i]])
    if search and not len(indices):  # a header alone would look like a listing gone wrong
        click.echo(
            f"sed classes: note: no class name or mid contains every word of "
            f"{' '.join(search)!r}; try fewer or shorter words",
            err=True,
        )
