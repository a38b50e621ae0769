"""Renderers for `segverify diff`: text for people; JSON; SARIF, JUnit and GitHub on the findings a
change introduces (what CI should stop on)."""

from __future__ import annotations

import dataclasses
from typing import Callable, TypeVar

from ..escape import for_terminal, one_line
from ..changes import DiffReport, FlowChange
from ..findings import Report
from ..words import plural
from .github import render_github
from .json import dumps
from .junit import render_junit
from .sarif import render_sarif
from .text import finding_lines

T = TypeVar("T")


def _change_lines(c: FlowChange) -> list[str]:
    arrow = f"{c.source_zone} -> {c.destination_zone}"
    lines = [f"  {arrow} ({c.source_segment} -> {c.destination_segment})"]
    lines += [f"      {h}" for h in c.headers]
    if c.witness is not None:
        lines.append(f"      e.g. {c.witness}")
    if c.path is not None:
        lines += [f"        {i}. {hop.describe()}" for i, hop in enumerate(c.path.hops, 1)]
    return lines


def render_diff_text(d: DiffReport) -> str:
    out = [f"segverify diff: {one_line(d.old.topology)} -> {one_line(d.new.topology)}", ""]
    for title, changes in (("newly allowed", d.allowed), ("newly blocked", d.blocked)):
        out.append(f"{title}: {len(changes) or 'nothing'}")
        for c in changes:
            out += _change_lines(c)
        out.append("")
    out.append(f"findings introduced: {len(d.introduced) or 'none'}")
    for f in d.introduced:
        out += ["  " + line for line in finding_lines(f)]
    out.append(f"findings resolved: {len(d.resolved) or 'none'}")
    out += [f"  {f.rule} {f.title}" for f in d.resolved]
    cross = sum(1 for c in d.allowed if c.cross_segment)
    out += ["", f"{plural(len(d.introduced), 'finding')} introduced, {len(d.resolved)} resolved; "
                f"{plural(len(d.allowed), 'zone pair')} newly allowed ({cross} across segments), {len(d.blocked)} newly blocked"]
    return for_terminal("\n".join(out) + "\n")


def introduced_report(d: DiffReport) -> Report:
    """The new version's report, narrowed to what the change introduced."""
    return dataclasses.replace(d.new, findings=list(d.introduced))


def derived_renderers(text: Callable[[T], str], narrowed: Callable[[T], Report]) -> dict[str, Callable[[T], str]]:
    """Renderers for a result that has its own text and JSON, and whose CI formats are those of
    the check report ``narrowed`` makes from it."""
    return {
        "text": text,
        "json": lambda r: dumps(r.to_dict()),
        "sarif": lambda r: render_sarif(narrowed(r)),
        "junit": lambda r: render_junit(narrowed(r)),
        "github": lambda r: render_github(narrowed(r)),
    }


DIFF_RENDERERS = derived_renderers(render_diff_text, introduced_report)
