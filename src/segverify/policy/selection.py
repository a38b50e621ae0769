"""Which findings a run reports: ``--select``/``--ignore`` rule ids and a baseline of accepted fingerprints.

Both act on a finished :class:`Report`, so every rule still runs (SEG008 must see which exceptions the
other rules used) and the fingerprints are the same as without them.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import InputError, SegverifyError
from ..findings import Finding, Report
from .catalogue import CATALOGUE

BASELINE_FORMAT = "segverify-baseline"


class SelectionError(SegverifyError):
    """A ``--select``/``--ignore`` term names no rule."""


def parse_rule_terms(text: str | None, option: str) -> tuple[str, ...]:
    """``SEG001,HYG`` -> the terms; each is a rule id or a prefix of some (``HYG`` = every HYG rule)."""
    if not text:
        return ()
    terms = tuple(t.strip().upper() for t in text.split(",") if t.strip())
    for term in terms:
        if not any(rid.startswith(term) for rid in CATALOGUE):
            close = difflib.get_close_matches(term, sorted(CATALOGUE), n=3)
            hint = f"; did you mean {' or '.join(close)}?" if close else f"; rules are {', '.join(sorted(CATALOGUE))}"
            raise SelectionError(f"{option}: {term!r} is no rule id or prefix of one{hint}")
    return terms


def _chosen(rule: str, select: tuple[str, ...], ignore: tuple[str, ...]) -> bool:
    if select and not any(rule.startswith(t) for t in select):
        return False
    return not any(rule.startswith(t) for t in ignore)


def select_rules(report: Report, select: tuple[str, ...] = (), ignore: tuple[str, ...] = ()) -> Report:
    """The report restricted to the chosen rules (findings and the ``rules checked`` list)."""
    if not select and not ignore:
        return report
    return replace(report, rules_checked=tuple(r for r in report.rules_checked if _chosen(r, select, ignore)),
                   findings=[f for f in report.findings if _chosen(f.rule, select, ignore)])


@dataclass(frozen=True)
class Baselined:
    report: Report  # without the accepted findings
    accepted: int  # how many findings the baseline took out
    stale: int  # fingerprints in the baseline that no finding has any more (fixed since)


def read_baseline(path: str) -> frozenset[str]:
    """The fingerprints of a baseline file written by ``--write-baseline``."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such baseline file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a segverify baseline: {exc}") from None
    entries = data.get("findings") if isinstance(data, dict) and data.get("format") == BASELINE_FORMAT else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) and isinstance(e.get("fingerprint"), str)
                                                for e in entries):
        raise InputError(f"{path}: not a segverify baseline (write one with --write-baseline)")
    return frozenset(e["fingerprint"] for e in entries)


def apply_baseline(report: Report, fingerprints: frozenset[str]) -> Baselined:
    kept: list[Finding] = [f for f in report.findings if f.suppressed or f.fingerprint not in fingerprints]
    accepted = sum(1 for f in report.active if f.fingerprint in fingerprints)
    stale = len(fingerprints - {f.fingerprint for f in report.active})
    return Baselined(replace(report, findings=kept, baselined=report.baselined + accepted), accepted, stale)


def baseline_text(report: Report) -> str:
    """The baseline of every finding that counts now: fingerprint, rule and title (for a reviewer)."""
    entries = sorted(({"fingerprint": f.fingerprint, "rule": f.rule, "title": f.title} for f in report.active),
                     key=lambda e: (e["rule"], e["fingerprint"]))
    return json.dumps({"format": BASELINE_FORMAT, "version": 1, "topology": report.topology, "findings": entries},
                      ensure_ascii=False, indent=2) + "\n"
