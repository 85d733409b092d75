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
@click.option(
    "--children",
    metavar="NAME",
    default=None,
    help="Instead, every class below NAME (a display name or mid) in the AudioSet ontology, "
    "with its depth; index is empty for ontology classes YAMNet does not score.",
)
@reports_errors
def classes(search, children):
    """List YAMNet's 521 AudioSet classes as CSV: index,mid,display_name."""
    from sed.classes import class_children, load_class_map

    class_map = load_class_map()
    if children is not None:
        if search:
            raise click.UsageError("give --search or --children, not both")
        below = class_children(children, class_map)  # an unknown name fails before any output
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["index", "mid", "display_name", "depth"])
        for entry in below:
            index = "" if entry.index is None else entry.index
            writer.writerow([index, entry.mid, entry.display_name, entry.depth])
        if not below:
            click.echo(f"sed classes: note: {children!r} has no children in the ontology", err=True)
        return
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
