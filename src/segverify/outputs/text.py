"""Plain text for people at a terminal or reading a CI log."""

from __future__ import annotations

from ..escape import for_terminal, one_line
from ..findings import Finding, Report, Severity
from ..policy.catalogue import CATALOGUE
from ..policy.completeness import gap_summary
from ..words import plural


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


def verdict(report: Report) -> str:
    """The last line; it says plainly when gaps in the model could hide a path."""
    gaps = gap_summary(report.active)
    if report.compliant and gaps:
        return f"COMPLIANT only for the modelled links: {gaps} ({plural(report.warnings, 'warning')})"
    if report.compliant and not report.warnings:
        return "COMPLIANT: no findings" + (f" beyond the baseline ({report.baselined} accepted)" if report.baselined else "")
    if report.compliant:
        return f"COMPLIANT with {plural(report.warnings, 'warning')}"
    rules = ", ".join(r for r in report.rule_ids() if r in CATALOGUE)
    text = f"NOT COMPLIANT: {plural(report.errors, 'error')}, {plural(report.warnings, 'warning')} [{rules}]"
    return text + (f"; the model has gaps that could hide more: {gaps}" if gaps else "")


def rule_counts(report: Report) -> list[str]:
    """One line per rule with findings, errors before warnings, most first: what to look at first."""
    counts: dict[tuple[str, str], int] = {}
    for f in report.active:
        counts[(f.severity.value, f.rule)] = counts.get((f.severity.value, f.rule), 0) + 1
    order = sorted(counts, key=lambda k: (k[0] != Severity.ERROR.value, -counts[k], k[1]))
    width = max((len(str(n)) for n in counts.values()), default=1)
    return [f"  {counts[k]:>{width}}  {k[1]}  {k[0]:<7}  {CATALOGUE[k[1]].name if k[1] in CATALOGUE else ''}".rstrip()
            for k in order]


def render_text(report: Report) -> str:
    out = [f"segverify: {one_line(report.topology)} (profile {report.profile}, {report.today})",
           f"rules checked: {' '.join(report.rules_checked)}"]
    counts = rule_counts(report)
    if counts:
        out.append("findings by rule:")
        out.extend(counts)
    out.append("")
    for problem in report.problems:  # findings with one culprit together, under one heading
        if len(problem.findings) > 1:
            out.append(f"== one cause, {problem.summary()}")
            out.append("")
        for f in problem.findings:
            out.extend(finding_lines(f))
            out.append("")
    if report.baselined:
        out.append(f"{plural(report.baselined, 'finding')} accepted by the baseline (not shown)")
        out.append("")
    if report.suppressed:
        out.append("suppressed by exceptions:")
        for f in report.suppressed:
            out.append(f"  {f.rule} {f.title} — {', '.join(f.suppressed_by)}")
        out.append("")
    out.append(verdict(report))
    return for_terminal("\n".join(out) + "\n")
