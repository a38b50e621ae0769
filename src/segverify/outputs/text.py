"""Plain text for people at a terminal or reading a CI log."""

from __future__ import annotations

from ..findings import Finding, Report
from ..policy.catalogue import CATALOGUE


def finding_lines(f: Finding) -> list[str]:
    lines = [f"{f.location}: {f.severity.value}: {f.rule} {f.title}"]
    lines.append(f"  {f.message}")
    for h in f.headers:
        lines.append(f"  flows:   {h}")
    if f.relaxed_by:
        lines.append(f"  (after exceptions {', '.join(f.relaxed_by)})")
    if f.witness is not None:
        lines.append(f"  witness: {f.witness}")
    if f.path is not None:
        lines.append("  path:")
        for i, hop in enumerate(f.path.hops, 1):
            lines.append(f"    {i}. {hop.describe()}")
        lines.append(f"    => {f.path.outcome.value} at {f.path.final_node}")
    return lines


def render_text(report: Report) -> str:
    out = [f"segverify: {report.topology} (profile {report.profile}, {report.today})",
           f"rules checked: {' '.join(report.rules_checked)}", ""]
    for f in report.active:
        out.extend(finding_lines(f))
        out.append("")
    if report.suppressed:
        out.append("suppressed by exceptions:")
        for f in report.suppressed:
            out.append(f"  {f.rule} {f.title} — {', '.join(f.suppressed_by)}")
        out.append("")
    if report.compliant and not report.warnings:
        verdict = "COMPLIANT: no findings"
    elif report.compliant:
        verdict = f"COMPLIANT with {report.warnings} warning(s)"
    else:
        rules = ", ".join(r for r in report.rule_ids() if r in CATALOGUE)
        verdict = f"NOT COMPLIANT: {report.errors} error(s), {report.warnings} warning(s) [{rules}]"
    out.append(verdict)
    return "\n".join(out) + "\n"
