"""Keeping one checked run in the record: what ``segverify record`` and ``check --record`` share."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from ..escape import one_line
from ..findings import Report
from ..i18n import text
from .history import RunTrend, Trend, trends
from .runs import git_state, load_runs, record_run
from .store import Store, default_location, open_store


@dataclass(frozen=True)
class Kept:
    run_id: int
    location: str  # the record, as it may be shown (a URL without its password)
    row: RunTrend  # the run in the trend: open, opened and fixed since the previous run


def open_record(db: str | None) -> Store:
    """The record to write to; opened before the check runs, so a damaged or foreign record
    stops the command before any work is done."""
    return open_store(db or default_location())


def keep(store: Store, report: Report, source: str, files: list[str]) -> Kept:
    """Store the run of ``report`` (checked from ``source``, read from ``files``)."""
    run_id = record_run(store, report, source, git_state(files))
    runs, findings, exceptions = load_runs(store, report.topology)
    trend = trends(runs, findings, exceptions, _dt.date.fromisoformat(report.today))[0]
    return Kept(run_id, store.location, next(r for r in trend.runs if r.id == run_id))


def kept_line(kept: Kept, report: Report, lang: str = "en") -> str:
    verdict = text(lang, "record.compliant" if report.compliant else "record.not_compliant")
    return text(lang, "record.kept", run=kept.run_id, topology=one_line(report.topology), db=kept.location,
                verdict=verdict, errors=report.errors, warnings=report.warnings, open=kept.row.open,
                opened=kept.row.opened, fixed=kept.row.fixed)


def kept_dict(kept: Kept, report: Report) -> dict[str, object]:
    return {"run": kept.run_id, "db": kept.location, "topology": report.topology, "compliant": report.compliant,
            "open": kept.row.open, "opened": kept.row.opened, "fixed": kept.row.fixed}


def trend_of(store: Store, topology: str, today: _dt.date, days: int = 90) -> Trend | None:
    """The trend of one network (by its name) in the record, as of ``today``; None if it holds no run of it."""
    runs, findings, exceptions = load_runs(store, topology)
    found = trends(runs, findings, exceptions, today, days)
    return found[0] if found else None
