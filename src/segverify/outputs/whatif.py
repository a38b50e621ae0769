"""Renderers for `segverify whatif`."""

from __future__ import annotations

import dataclasses
from typing import Callable

from ..escape import for_terminal, one_line
from ..findings import Report
from ..failures import WhatIfReport
from ..i18n import localize, m, text
from .diff import derived_renderers


def _count(lang: str, key: str, n: int) -> str:
    return text(lang, f"{key}_1") if n == 1 else text(lang, f"{key}_n", n=n)


def render_whatif_text(w: WhatIfReport, lang: str = "en") -> str:
    scenarios = _count(lang, "whatif.scenario", len(w.results))
    out = [text(lang, "whatif.header", topology=one_line(w.baseline.topology), scenarios=scenarios), ""]
    for r in w.dangerous:
        out.append(text(lang, "whatif.dangerous", scenario=r.scenario.message().render(lang)))
        for f in r.opened:
            out.append(f"    {f.rule} {localize(f.title, lang)}")
            out += [f"      {h}" for h in f.headers[:3]]
            if f.witness is not None:
                out.append("      " + text(lang, "whatif.example", witness=f.witness))
            if f.path is not None:
                out.append("      " + text(lang, "whatif.path", nodes=" -> ".join(f.path.nodes)))
    safe = [r for r in w.results if not r.opened]
    if safe:
        out.append(_count(lang, "whatif.safe", len(safe)))
        if len(safe) <= 20:
            out += [f"    {r.scenario.message().render(lang)}" for r in safe]
    total = "whatif.total_1" if len(w.dangerous) == 1 else "whatif.total_n"
    out += ["", text(lang, total, dangerous=len(w.dangerous), scenarios=scenarios)]
    return for_terminal("\n".join(out) + "\n")


def opened_report(w: WhatIfReport) -> Report:
    """Every finding some failure opens, titled with the failure that opens it."""
    findings = [dataclasses.replace(f, title=m("whatif.if", title=f.title, scenario=r.scenario.message()),
                                    subject=f.subject + (("scenario", str(r.scenario)),))
                for r in w.dangerous for f in r.opened]
    return dataclasses.replace(w.baseline, findings=findings)


WHATIF_RENDERERS: dict[str, Callable[[WhatIfReport], str]] = derived_renderers(render_whatif_text, opened_report)
