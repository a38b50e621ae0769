"""Plain text for people at a terminal or reading a CI log."""

from __future__ import annotations

from ..escape import for_terminal, one_line
from ..findings import Finding, Report, Severity
from ..i18n import localize, text
from ..model import ImportScope
from ..policy.catalogue import CATALOGUE
from ..policy.completeness import gap_summary
from ..trace import AclDecision, Hop
from ..words import display_width, plural


def _decision(d: AclDecision, lang: str) -> str:
    which = text(lang, "hop.line", n=d.rule_index) if d.rule_index is not None else text(lang, "hop.default")
    return text(lang, "hop.decision", action=d.action.value, acl=d.acl, which=which, span=d.span)


def describe_hop(hop: Hop, lang: str = "en") -> str:
    """One hop in words; in English exactly :meth:`Hop.describe`."""
    if lang == "en":
        return hop.describe()
    parts = [hop.node + " " + (text(lang, "hop.in", iface=hop.in_iface) if hop.in_iface else text(lang, "hop.sends"))]
    if hop.acl_in:
        parts.append(text(lang, "hop.acl_in", decision=_decision(hop.acl_in, lang)))
    if hop.route:
        via = (text(lang, "hop.via", next=hop.route.next_hop) if hop.route.next_hop else text(lang, "hop.connected"))
        parts.append(text(lang, "hop.route", prefix=hop.route.prefix, via=via,
                          where=f" ({hop.route_span})" if hop.route_span else ""))
    if hop.acl_out:
        parts.append(text(lang, "hop.acl_out", decision=_decision(hop.acl_out, lang)))
    if hop.nat:
        parts.append(text(lang, "hop.nat", nat="; ".join(hop.nat)))
    if hop.out_iface:
        parts.append(text(lang, "hop.out", iface=hop.out_iface))
    return ", ".join(parts)


def _label(lang: str, key: str) -> str:
    return f"{text(lang, key):<8} "


def count(n: int, word: str, lang: str = "en") -> str:
    """``2 errors`` in English (words.plural), ``エラー 2 件`` in Japanese."""
    if lang == "en":
        return plural(n, word)
    return text(lang, f"text.{word}_1") if n == 1 else text(lang, f"text.{word}_n", n=n)


def finding_lines(f: Finding, lang: str = "en") -> list[str]:
    severity = f.severity.value if lang == "en" else text(lang, f"severity.{f.severity.value}")
    lines = [f"{f.location}: {severity}: {f.rule} {localize(f.title, lang)}"]
    lines.append(f"  {localize(f.message, lang)}")
    for h in f.headers:
        lines.append(f"  {_label(lang, 'text.flows')}{h}")
    if f.relaxed_by:
        lines.append("  " + text(lang, "text.after", ids=", ".join(f.relaxed_by)))
    if f.witness is not None:
        lines.append(f"  {_label(lang, 'text.witness')}{f.witness}")
    if f.path is not None:
        lines.append("  " + text(lang, "text.path"))
        for i, hop in enumerate(f.path.hops, 1):
            lines.append(f"    {i}. {describe_hop(hop, lang)}")
        outcome = f.path.outcome.value if lang == "en" else text(lang, f"outcome.{f.path.outcome.value}")
        lines.append("    " + text(lang, "text.outcome", outcome=outcome, node=f.path.final_node))
    return lines


def verdict(report: Report, lang: str = "en") -> str:
    """The last line; it says plainly when gaps in the model could hide a path."""
    gaps = gap_summary(report.active, lang)
    warnings = count(report.warnings, "warning", lang)
    if report.compliant and gaps:
        return text(lang, "text.compliant_gaps", gaps=gaps, warnings=warnings)
    if report.compliant and not report.warnings:
        return text(lang, "text.compliant") + (text(lang, "text.beyond_baseline", n=report.baselined)
                                               if report.baselined else "")
    if report.compliant:
        return text(lang, "text.compliant_warn", warnings=warnings)
    rules = ", ".join(r for r in report.rule_ids() if r in CATALOGUE)
    line = text(lang, "text.not_compliant", errors=count(report.errors, "error", lang), warnings=warnings,
                rules=rules)
    return line + (text(lang, "text.gaps", gaps=gaps) if gaps else "")


def rule_counts(report: Report, lang: str = "en") -> list[str]:
    """One line per rule with findings, errors before warnings, most first: what to look at first."""
    counts: dict[tuple[str, str], int] = {}
    for f in report.active:
        counts[(f.severity.value, f.rule)] = counts.get((f.severity.value, f.rule), 0) + 1
    order = sorted(counts, key=lambda k: (k[0] != Severity.ERROR.value, -counts[k], k[1]))
    width = max((len(str(n)) for n in counts.values()), default=1)
    words = {k[0]: k[0] if lang == "en" else text(lang, f"severity.{k[0]}") for k in order}
    column = max((display_width(w) for w in words.values()), default=7)
    return [f"  {counts[k]:>{width}}  {k[1]}  {words[k[0]]}{' ' * (max(7, column) - display_width(words[k[0]]))}  "
            f"{CATALOGUE[k[1]].name if k[1] in CATALOGUE else ''}".rstrip()
            for k in order]


def scope_lines(scope: ImportScope, lang: str = "en") -> list[str]:
    """A snapshot's import in the scope of the proof: the lines not verified, each with its place,
    and how many were over-approximated (``import --report-unsupported`` lists those)."""
    n, over = len(scope.not_verified), scope.over_approximated
    if not n and not over:
        return [text(lang, "text.scope_all")]
    out = [text(lang, "text.scope", n=n, over=over)]
    if n:
        out.append("  " + text(lang, "text.scope_list"))
        for span, message, written in scope.not_verified:
            out.append(f"    {span}: {one_line(message)}" + (f"  | {one_line(written)}" if written else ""))
    return out


def render_text(report: Report, lang: str = "en") -> str:
    out = [text(lang, "text.header", topology=one_line(report.topology), profile=report.profile, date=report.today),
           text(lang, "text.rules_checked", rules=" ".join(report.rules_checked))]
    counts = rule_counts(report, lang)
    if counts:
        out.append(text(lang, "text.by_rule"))
        out.extend(counts)
    out.append("")
    for problem in report.problems:  # findings with one culprit together, under one heading
        if len(problem.findings) > 1:
            out.append(problem.heading(lang))
            out.append("")
        for f in problem.findings:
            out.extend(finding_lines(f, lang))
            out.append("")
    if report.baselined:
        out.append(text(lang, "text.baselined", findings=count(report.baselined, "finding", lang)))
        out.append("")
    if report.suppressed:
        out.append(text(lang, "text.suppressed"))
        for f in report.suppressed:
            out.append(f"  {f.rule} {localize(f.title, lang)} — {', '.join(f.suppressed_by)}")
        out.append("")
    if report.import_scope is not None:
        out.extend(scope_lines(report.import_scope, lang))
        out.append("")
    out.append(verdict(report, lang))
    return for_terminal("\n".join(out) + "\n")
