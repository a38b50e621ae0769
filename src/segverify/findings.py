"""Findings and the report that owns them, their counts and the exit code."""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass, field

from .errors import Span
from .headers import Packet
from .model import ImportScope
from .trace import Path


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"


def fingerprint_of(rule: str, subject: tuple[tuple[str, str], ...]) -> str:
    """A finding's fingerprint, from its rule and subject alone (see :attr:`Finding.fingerprint`)."""
    text = json.dumps([rule, list(subject)], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    title: str  # one line: what is wrong, where
    message: str  # plain words: why it matters
    location: Span  # the place to fix first
    subject: tuple[tuple[str, str], ...] = ()  # stable identity: what the finding is about
    headers: tuple[str, ...] = ()  # the offending header set, readable
    witness: Packet | None = None
    path: Path | None = None
    related: tuple[Span, ...] = ()
    suppressed_by: tuple[str, ...] = ()  # exception ids that fully cover it
    relaxed_by: tuple[str, ...] = ()  # exception ids that cover part of it
    cause: str = ""  # the culprit at ``location`` in words ("fw-lg ACL lg-outbound line 3", "node lg-file")

    @property
    def suppressed(self) -> bool:
        return bool(self.suppressed_by)

    @property
    def fingerprint(self) -> str:
        """Stable across runs and across unrelated edits: the rule and what it is about."""
        return fingerprint_of(self.rule, self.subject)

    def sort_key(self) -> tuple[object, ...]:
        return (self.rule, self.location, self.subject, self.title)

    def to_dict(self) -> dict[str, object]:
        result: dict[str, object] = {
            "rule": self.rule,
            "severity": self.severity.value,
            "title": self.title,
            "message": self.message,
            "location": {"file": self.location.file, "line": self.location.line, "column": self.location.column},
            "subject": dict(self.subject),
            "fingerprint": self.fingerprint,
        }
        if self.headers:
            result["headers"] = list(self.headers)
        if self.witness is not None:
            result["witness"] = self.witness.to_dict()
        if self.path is not None:
            result["path"] = [h.to_dict() for h in self.path.hops]
            result["rule_locations"] = [str(d.span) for d in self.path.permits()]
        if self.cause:
            result["cause"] = self.cause
        if self.related:
            result["related"] = [str(s) for s in self.related]
        if self.suppressed_by:
            result["suppressed_by"] = list(self.suppressed_by)
        if self.relaxed_by:
            result["relaxed_by"] = list(self.relaxed_by)
        return result


@dataclass(frozen=True)
class Problem:
    """Findings that share one culprit (the same node, ACL line or route): one thing to change,
    reported once with its symptoms. Each finding keeps its own fingerprint."""

    location: Span
    cause: str  # the culprit in words, "" when no finding names it
    findings: tuple[Finding, ...]

    @property
    def rules(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for f in self.findings:
            counts[f.rule] = counts.get(f.rule, 0) + 1
        return dict(sorted(counts.items()))

    def summary(self) -> str:
        """``node lg-file (file:line:col): 6 findings (SEG003 ×5, SEG006)``"""
        return self.heading("en").removeprefix("== one cause, ")

    def heading(self, lang: str = "en") -> str:
        """The line over the findings of one cause, in ``lang``."""
        from .i18n import localize, text

        rules = text(lang, "list.sep").join(r if n == 1 else f"{r} ×{n}" for r, n in self.rules.items())
        what = f"{localize(self.cause, lang)} ({self.location})" if self.cause else str(self.location)
        return text(lang, "text.one_cause", what=what, count=len(self.findings), rules=rules)

    def to_dict(self) -> dict[str, object]:
        return {"location": str(self.location), "cause": self.cause, "count": len(self.findings),
                "rules": self.rules, "fingerprints": [f.fingerprint for f in self.findings]}


def group_by_cause(findings: list[Finding]) -> list[Problem]:
    """Findings grouped by their primary location, in the order of each group's first finding."""
    groups: dict[Span, list[Finding]] = {}
    for f in findings:
        groups.setdefault(f.location, []).append(f)
    return [Problem(span, next((f.cause for f in members if f.cause), ""), tuple(members))
            for span, members in groups.items()]


@dataclass(frozen=True)
class ExceptionStatus:
    id: str
    rule: str
    status: str  # active | expired | unused | incomplete
    owner: str
    justification: str
    expires: str
    ticket: str
    scope: str
    location: Span


@dataclass
class Report:
    topology: str
    profile: str
    files: tuple[tuple[str, str], ...]  # (path, sha256)
    rules_checked: tuple[str, ...]
    findings: list[Finding] = field(default_factory=list)
    exceptions: list[ExceptionStatus] = field(default_factory=list)
    today: str = ""
    zones: tuple[tuple[str, str], ...] = ()  # (zone, segment), for outputs that list every zone pair
    baselined: int = 0  # findings left out because a baseline file accepted them (--baseline)
    import_scope: ImportScope | None = None  # a snapshot's vendor lines outside the proof

    def __post_init__(self) -> None:
        self.findings.sort(key=Finding.sort_key)

    @property
    def active(self) -> list[Finding]:
        return [f for f in self.findings if not f.suppressed]

    @property
    def suppressed(self) -> list[Finding]:
        return [f for f in self.findings if f.suppressed]

    @property
    def errors(self) -> int:
        return sum(1 for f in self.active if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.active if f.severity is Severity.WARNING)

    @property
    def compliant(self) -> bool:
        return self.errors == 0

    @property
    def exit_code(self) -> int:
        """1 when an error counts; warnings alone do not fail (``exit_code_for("warning")`` makes them)."""
        return self.exit_code_for("error")

    def exit_code_for(self, fail_on: str) -> int:
        """``fail_on`` is the lowest severity that fails: ``error`` (default) or ``warning``."""
        if fail_on == "error":
            return 0 if self.compliant else 1
        return 0 if not self.active else 1

    @property
    def problems(self) -> list[Problem]:
        """The active findings by root cause (see :class:`Problem`); most have one finding each."""
        return group_by_cause(self.active)

    def rule_ids(self) -> list[str]:
        """Distinct rule ids of the findings that count (errors and warnings), sorted."""
        return sorted({f.rule for f in self.active})

    def to_dict(self) -> dict[str, object]:
        return {
            "topology": self.topology,
            "profile": self.profile,
            "date": self.today,
            "files": [{"path": p, "sha256": h} for p, h in self.files],
            "rules_checked": list(self.rules_checked),
            "compliant": self.compliant,
            "summary": {"errors": self.errors, "warnings": self.warnings, "suppressed": len(self.suppressed),
                        "baselined": self.baselined},
            "findings": [f.to_dict() for f in self.active],
            "problems": [p.to_dict() for p in self.problems if len(p.findings) > 1],
            "suppressed": [f.to_dict() for f in self.suppressed],
            "exceptions": [
                {"id": e.id, "rule": e.rule, "status": e.status, "owner": e.owner,
                 "justification": e.justification, "expires": e.expires, "ticket": e.ticket,
                 "scope": e.scope, "location": str(e.location)}
                for e in self.exceptions
            ],
            # read from a snapshot: its vendor lines outside the proof (null for a topology file)
            "import_scope": None if self.import_scope is None else self.import_scope.to_dict(),
        }
