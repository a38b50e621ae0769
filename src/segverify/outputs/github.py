"""GitHub Actions workflow commands: one annotation per finding, on the topology file and line."""

from __future__ import annotations

from ..escape import github_data, github_property
from ..findings import Finding, Report, Severity
from ..words import plural


_data, _prop = github_data, github_property


def annotation(f: Finding) -> str:
    level = "error" if f.severity is Severity.ERROR else "warning"
    body = f.message
    if f.headers:
        body += "\nFlows: " + "; ".join(f.headers)
    if f.witness is not None:
        body += f"\nWitness: {f.witness}"
    return (f"::{level} file={_prop(f.location.file)},line={f.location.line},col={f.location.column},"
            f"title={_prop(f'{f.rule} {f.title}')}::{_data(body)}")


def render_github(report: Report) -> str:
    lines = [annotation(f) for f in report.active]
    lines.append(f"segverify: {_data(report.topology)}: {plural(report.errors, 'error')}, {plural(report.warnings, 'warning')}, "
                 f"{len(report.suppressed)} suppressed by exceptions")
    return "\n".join(lines) + "\n"
