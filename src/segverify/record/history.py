"""The trend over the record: per run what was opened and fixed, per finding when it was first and
last seen and how long it took to fix, and the exceptions that expire soon.

A finding is open in a run when it counts there (not covered by an exception); it is identified by
its fingerprint (the rule and what it is about), so it keeps its identity across edits that move its
line. Runs are compared with the previous run of the same topology.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass

from .runs import RecordedException, RecordedFinding, RecordedRun


@dataclass(frozen=True)
class RunTrend:
    id: int
    date: str
    profile: str
    compliant: bool
    open: int  # findings that count in this run
    opened: int  # ... of which were not open in the previous run
    fixed: int  # open in the previous run, gone in this one
    git_revision: str | None


@dataclass(frozen=True)
class FindingTrend:
    fingerprint: str
    rule: str
    severity: str
    title: str
    first_seen: str
    last_seen: str
    fixed_on: str | None  # the date of the first run after last_seen, when it is no longer open
    days_to_fix: int | None
    runs_open: int


@dataclass(frozen=True)
class ExpiringException:
    id: str
    rule: str
    expires: str
    days_left: int
    owner: str
    ticket: str


@dataclass(frozen=True)
class Trend:
    topology: str
    today: str
    runs: tuple[RunTrend, ...]
    findings: tuple[FindingTrend, ...]
    expiring: tuple[ExpiringException, ...]
    horizon_days: int

    def to_dict(self) -> dict[str, object]:
        return {"topology": self.topology, "today": self.today, "horizon_days": self.horizon_days,
                "runs": [asdict(r) for r in self.runs], "findings": [asdict(f) for f in self.findings],
                "expiring_exceptions": [asdict(e) for e in self.expiring]}


def _days(start: str, end: str) -> int | None:
    try:
        return (_dt.date.fromisoformat(end) - _dt.date.fromisoformat(start)).days
    except ValueError:
        return None


def trends(runs: list[RecordedRun], findings: list[RecordedFinding], exceptions: list[RecordedException],
           today: _dt.date, horizon_days: int = 90) -> list[Trend]:
    """One trend per topology in the record, sorted by topology name."""
    by_topology: dict[str, list[RecordedRun]] = {}
    for run in runs:
        by_topology.setdefault(run.topology, []).append(run)
    open_in: dict[int, dict[str, RecordedFinding]] = {}
    for f in findings:
        if not f.suppressed:
            open_in.setdefault(f.run_id, {})[f.fingerprint] = f
    exceptions_of: dict[int, list[RecordedException]] = {}
    for e in exceptions:
        exceptions_of.setdefault(e.run_id, []).append(e)
    return [_trend(name, sorted(rs, key=lambda r: r.id), open_in, exceptions_of, today, horizon_days)
            for name, rs in sorted(by_topology.items())]


def _trend(topology: str, runs: list[RecordedRun], open_in: dict[int, dict[str, RecordedFinding]],
           exceptions_of: dict[int, list[RecordedException]], today: _dt.date, horizon: int) -> Trend:
    rows: list[RunTrend] = []
    previous: set[str] = set()
    first: dict[str, RecordedRun] = {}
    last: dict[str, RecordedRun] = {}
    count: dict[str, int] = {}
    latest: dict[str, RecordedFinding] = {}
    after_last: dict[str, RecordedRun] = {}  # the first run after a finding's last sighting
    for run in runs:
        now = open_in.get(run.id, {})
        current = set(now)
        for fp in previous - current:
            after_last[fp] = run
        for fp in current:
            first.setdefault(fp, run)
            last[fp] = run
            count[fp] = count.get(fp, 0) + 1
            latest[fp] = now[fp]
            after_last.pop(fp, None)
        rows.append(RunTrend(run.id, run.date, run.profile, run.compliant, len(current), len(current - previous),
                             len(previous - current), run.git_revision))
        previous = current
    finding_rows = []
    for fp in sorted(first, key=lambda k: (first[k].id, latest[k].rule, k)):
        fixed = after_last.get(fp)
        f = latest[fp]
        finding_rows.append(FindingTrend(fp, f.rule, f.severity, f.title, first[fp].date, last[fp].date,
                                         fixed.date if fixed else None,
                                         _days(first[fp].date, fixed.date) if fixed else None, count[fp]))
    expiring = []
    if runs:
        for e in exceptions_of.get(runs[-1].id, []):
            left = _days(today.isoformat(), e.expires) if e.expires else None
            if left is not None and 0 <= left <= horizon and e.status not in ("expired",):
                expiring.append(ExpiringException(e.id, e.rule, e.expires, left, e.owner, e.ticket))
    expiring.sort(key=lambda e: (e.expires, e.id))
    return Trend(topology, today.isoformat(), tuple(rows), tuple(finding_rows), tuple(expiring), horizon)
