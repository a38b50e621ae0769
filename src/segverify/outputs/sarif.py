"""SARIF 2.1.0 for code scanning: catalogue ids as rules, topology file:line as locations, exceptions
as suppressions, and fingerprints that stay put across runs so alerts are not duplicated."""

from __future__ import annotations

from pathlib import PurePath

from .. import __version__
from ..errors import Span
from ..findings import Finding, Problem, Report, Severity
from ..model import ImportScope
from ..policy.catalogue import CATALOGUE
from .json import dumps

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _uri(path: str) -> str:
    return PurePath(path).as_posix()


def _location(span: Span, message: str | None = None) -> dict[str, object]:
    loc: dict[str, object] = {"physicalLocation": {
        "artifactLocation": {"uri": _uri(span.file)},
        "region": {"startLine": span.line, "startColumn": span.column},
    }}
    if message:
        loc["message"] = {"text": message}
    return loc


def _rules(rule_ids: list[str]) -> list[dict[str, object]]:
    rules: list[dict[str, object]] = []
    for rid in rule_ids:
        info = CATALOGUE[rid]
        rules.append({
            "id": rid,
            "name": info.name,
            "shortDescription": {"text": info.summary},
            "fullDescription": {"text": f"{info.summary} ({info.clause})"},
            "help": {"text": f"{info.summary}\nPolicy: {info.clause}.\nSee docs/rules.md for how it is checked."},
            "defaultConfiguration": {"level": "warning" if rid.startswith("HYG") else "error"},
            "properties": {"clause": info.clause},
        })
    return rules


def _result(f: Finding, rule_index: dict[str, int], exceptions: dict[str, str],
            problems: dict[Span, Problem]) -> dict[str, object]:
    text = f"{f.title}. {f.message}"
    if f.headers:
        text += " Flows: " + "; ".join(f.headers)
    if f.witness is not None:
        text += f". Witness: {f.witness}"
    result: dict[str, object] = {
        "ruleId": f.rule,
        "ruleIndex": rule_index[f.rule],
        "level": "error" if f.severity is Severity.ERROR else "warning",
        "message": {"text": text},
        "locations": [_location(f.location)],
        "partialFingerprints": {"segverifyFinding/v1": f.fingerprint},
    }
    if f.related:
        result["relatedLocations"] = [{"id": i, **_location(s)} for i, s in enumerate(f.related)]
    if f.path is not None and f.path.hops:
        steps = []
        for hop in f.path.hops:
            span = next((d.span for d in hop.decisions()), hop.route_span)
            step: dict[str, object] = {"location": _location(span, hop.describe()) if span else
                                       {"message": {"text": hop.describe()}}}
            steps.append(step)
        result["codeFlows"] = [{"threadFlows": [{"locations": steps}]}]
    if f.suppressed_by:
        result["suppressions"] = [{"kind": "external", "status": "accepted",
                                   "justification": f"{eid}: {exceptions.get(eid, '')}"} for eid in f.suppressed_by]
    props: dict[str, object] = {"subject": dict(f.subject)}
    if f.cause:
        props["cause"] = f.cause
    problem = problems.get(f.location)
    if problem is not None and f in problem.findings:  # one culprit, several results: say how many
        props["rootCause"] = {"location": str(problem.location), "cause": problem.cause,
                              "findings": len(problem.findings), "rules": problem.rules}
    if f.witness is not None:
        props["witness"] = f.witness.to_dict()
    if f.headers:
        props["headers"] = list(f.headers)
    result["properties"] = props
    return result


NOT_VERIFIED = "segverify/import-not-verified"


def _invocation(scope: ImportScope) -> dict[str, object]:
    """The run's invocation with a snapshot's vendor lines outside the proof, one notification
    each: the place SARIF gives for what the tool could not analyse (so readers know the results
    may be incomplete there). Level ``warning``: the proof holds for what was read, not for these
    lines; ``error`` would say the run itself failed."""
    notes = [{"descriptor": {"id": NOT_VERIFIED}, "level": "warning",
              "message": {"text": f"not verified: {line.reason}"},
              "locations": [_location(line.span)],
              **({"properties": {"vendorLine": line.text}} if line.text else {})}
             for line in scope.not_verified]
    return {"executionSuccessful": True, "toolExecutionNotifications": notes}


def render_sarif(report: Report) -> str:
    rule_ids = sorted(set(report.rules_checked) | {f.rule for f in report.findings})
    rule_index = {rid: i for i, rid in enumerate(rule_ids)}
    exceptions = {e.id: e.justification for e in report.exceptions}
    problems = {p.location: p for p in report.problems if len(p.findings) > 1}
    properties: dict[str, object] = {"topology": report.topology, "profile": report.profile, "date": report.today}
    scope = report.import_scope
    if scope is not None:
        properties["importScope"] = {"notVerified": len(scope.not_verified),
                                     "overApproximated": scope.over_approximated}
    run: dict[str, object] = {
        "tool": {"driver": {"name": "segverify", "version": __version__, "semanticVersion": __version__,
                            "rules": _rules(rule_ids)}},
        "artifacts": [{"location": {"uri": _uri(p)}, "hashes": {"sha-256": h}} for p, h in report.files],
        "results": [_result(f, rule_index, exceptions, problems) for f in report.findings],
        "properties": properties,
    }
    if scope is not None:
        run["invocations"] = [_invocation(scope)]
    return dumps({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]})
