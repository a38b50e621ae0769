"""JUnit XML: a test case per rule and zone pair, so a CI dashboard shows which isolation property broke."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ..escape import for_xml
from ..findings import Finding, Report
from ..policy.catalogue import CATALOGUE
from .text import scope_lines


def _cases(report: Report) -> list[tuple[str, str, list[Finding]]]:
    """(class name, case name, findings that fail it) for every case, in a stable order."""
    by_segment: dict[str, list[str]] = {}
    for zone, segment in report.zones:
        by_segment.setdefault(segment, []).append(zone)
    cases: list[tuple[str, str, list[Finding]]] = []
    for rid in report.rules_checked:
        info = CATALOGUE[rid]
        mine = [f for f in report.active if f.rule == rid]
        if info.sides is None:
            if not mine:
                cases.append((rid, info.name, []))
            for f in mine:
                cases.append((rid, f.title, [f]))
            continue
        side_a = [z for s in sorted(info.sides[0]) for z in by_segment.get(s.value, [])]
        side_b = [z for s in sorted(info.sides[1]) for z in by_segment.get(s.value, [])]
        pairs = [(a, b) for a in side_a for b in side_b] + [(b, a) for a in side_a for b in side_b]
        listed = set()
        for a, b in pairs:
            if (a, b) in listed:
                continue
            listed.add((a, b))
            failing = [f for f in mine if dict(f.subject).get("from_zone") == a and dict(f.subject).get("to_zone") == b]
            cases.append((rid, f"{a} -> {b}", failing))
        if not pairs:
            cases.append((rid, f"{info.name} (no zones on one side)", []))
        for f in mine:  # findings about a sanitizer or an exception rather than a zone pair
            subject = dict(f.subject)
            if (subject.get("from_zone"), subject.get("to_zone")) not in listed:
                cases.append((rid, f.title, [f]))
    return cases


def render_junit(report: Report) -> str:
    """Every attribute and text passes :func:`for_xml`: a control character in a name or a message
    would make the file invalid XML 1.0 and the CI dashboard would drop the whole report."""
    x = for_xml
    cases = _cases(report)
    failures = sum(1 for *_, failing in cases if failing)
    suite = ET.Element("testsuite", name=x(f"segverify {report.topology}"), tests=str(len(cases)),
                       failures=str(failures), errors="0", skipped="0")
    scope = report.import_scope
    if scope is not None:  # a snapshot: its vendor lines outside the proof, as the text output lists them
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="segverify.import.not_verified", value=str(len(scope.not_verified)))
        ET.SubElement(props, "property", name="segverify.import.over_approximated", value=str(scope.over_approximated))
    for rid, name, failing in cases:
        case = ET.SubElement(suite, "testcase", classname=x(f"segverify.{rid}"), name=x(name))
        for f in failing:
            failure = ET.SubElement(case, "failure", type=x(f.rule), message=x(f"{f.title} ({f.location})"))
            lines = [f.message, *(f"flows: {h}" for h in f.headers)]
            if f.witness is not None:
                lines.append(f"witness: {f.witness}")
            if f.path is not None:
                lines.extend(f"  {hop.describe()}" for hop in f.path.hops)
            failure.text = x("\n".join(lines))
    if scope is not None:
        ET.SubElement(suite, "system-out").text = x("\n".join(scope_lines(scope)))
    root = ET.Element("testsuites", name="segverify", tests=str(len(cases)), failures=str(failures))
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
