"""``segverify import``: a snapshot in, the derived topology out, annotated with vendor file:line."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import InputError
from .notes import Notes


def summary(snapshot: str, notes: Notes) -> str:
    items = set(notes.items)
    if not items:
        return f"{snapshot}: every line understood"
    counts: dict[str, int] = {}
    for n in items:
        counts[n.kind.value] = counts.get(n.kind.value, 0) + 1
    text = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    return (f"{snapshot}: {len(items)} line(s) not fully understood ({text}); "
            f"'segverify import {snapshot} --report-unsupported' lists them")


@click.command("import")
@click.argument("snapshot", type=click.Path(file_okay=False))
@click.option("--overlay", type=click.Path(dir_okay=False), metavar="FILE",
              help="The overlay (zones, external nodes, exceptions); default: segverify.yaml in SNAPSHOT.")
@click.option("--fib", "fibs", multiple=True, type=click.Path(dir_okay=False), metavar="FILE",
              help="A forwarding table to use as routes (repeatable); fib/ in SNAPSHOT is read anyway.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the topology here instead of stdout.")
@click.option("--report-unsupported", is_flag=True, help="List every line not fully understood, with file:line.")
def import_command(snapshot: str, overlay: str | None, fibs: tuple[str, ...], output: str | None,
                   report_unsupported: bool) -> None:
    """Read a snapshot of device configurations and write the topology segverify derives from it."""
    from ..build import build
    from ..reader import validate_document
    from .snapshot import is_snapshot, load_snapshot
    from .writer import report_unsupported as unsupported_text
    from .writer import write_topology

    root = Path(snapshot)
    if not is_snapshot(root):
        raise InputError(f"{snapshot} is not a snapshot: it needs configs/ or hosts/ (see docs/import.md)")
    imported = load_snapshot(root, Path(overlay) if overlay else None, tuple(Path(f) for f in fibs))
    validate_document(imported.doc)
    topology = build(imported.doc)
    if output is not None:
        target = Path(output).resolve()
        if any(Path(f.path).resolve() == target for f in topology.files):
            raise InputError(f"{output} is one of the snapshot's own files; it is never overwritten")
    header = (f"Derived by segverify import from {snapshot}: {len(imported.devices)} devices, "
              f"{imported.vendor_lines} configuration lines.\nEach comment names the vendor line an object "
              "comes from.")
    text = write_topology(imported.doc, imported.notes, header)
    if output is not None:
        Path(output).write_text(text, encoding="utf-8")
    if report_unsupported:
        click.echo(unsupported_text(imported.notes), nl=False, err=output is None)
    if output is None:
        click.echo(text, nl=False)
    click.echo(summary(snapshot, imported.notes), err=True)
