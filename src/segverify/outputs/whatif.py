"""Renderers for `segverify whatif`."""

from __future__ import annotations

import dataclasses
from typing import Callable

from ..escape import for_terminal, one_line
from ..findings import Report
from ..failures import WhatIfReport
from ..words import plural
from .diff import derived_renderers


def render_whatif_text(w: WhatIfReport) -> str:
    out = [f"segverify whatif: {one_line(w.baseline.topology)}: {plural(len(w.results), 'scenario')}", ""]
    for r in w.dangerous:
        out.append(f"DANGEROUS  {r.scenario}")
        for f in r.opened:
            out.append(f"    {f.rule} {f.title}")
            out += [f"      {h}" for h in f.headers[:3]]
            if f.witness is not None:
                out.append(f"      e.g. {f.witness}")
            if f.path is not None:
                out.append("      path: " + " -> ".join(f.path.nodes))
    safe = [r for r in w.results if not r.opened]
    if safe:
        out.append(f"safe: {plural(len(safe), 'scenario')} {'leaves' if len(safe) == 1 else 'leave'} the segments intact")
        if len(safe) <= 20:
            out += [f"    {r.scenario}" for r in safe]
    out += ["", f"{len(w.dangerous)} of {plural(len(w.results), 'scenario')} {'opens' if len(w.dangerous) == 1 else 'open'} a forbidden path"]
    return for_terminal("\n".join(out) + "\n")


def opened_report(w: WhatIfReport) -> Report:
    """Every finding some failure opens, titled with the failure that opens it."""
    findings = [dataclasses.replace(f, title=f"{f.title} (if {r.scenario})",
                                    subject=f.subject + (("scenario", str(r.scenario)),))
                for r in w.dangerous for f in r.opened]
    return dataclasses.replace(w.baseline, findings=findings)


WHATIF_RENDERERS: dict[str, Callable[[WhatIfReport], str]] = derived_renderers(render_whatif_text, opened_report)
