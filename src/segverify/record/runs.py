"""One run of the check as the record keeps it: what was checked, the verdict, every finding by
fingerprint and the exception register with its status; written in one transaction."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..findings import Report
from ..i18n import Message, from_data, to_data
from .store import Store


@dataclass(frozen=True)
class GitState:
    revision: str
    dirty: bool  # the checked files differ from the revision


@dataclass(frozen=True)
class RecordedRun:
    id: int
    date: str
    topology: str
    source: str
    profile: str
    compliant: bool
    errors: int
    warnings: int
    suppressed: int
    git_revision: str | None
    git_dirty: bool | None
    version: str


@dataclass(frozen=True)
class RecordedFinding:
    run_id: int
    fingerprint: str
    rule: str
    severity: str
    title: str
    location: str
    suppressed: bool


@dataclass(frozen=True)
class RecordedException:
    run_id: int
    id: str
    rule: str
    status: str
    expires: str
    owner: str
    ticket: str


def git_state(files: list[str]) -> GitState | None:
    """The commit the files are checked out at, when they are inside a git work tree."""
    if not files:
        return None
    where = Path(files[0]).resolve().parent
    try:
        head = subprocess.run(["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=20)
        if head.returncode != 0:
            return None
        status = subprocess.run(["git", "-C", str(where), "status", "--porcelain", "--",
                                 *[str(Path(f).resolve()) for f in files]],
                                capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return GitState(head.stdout.strip(), bool(status.stdout.strip()) or status.returncode != 0)


def record_run(store: Store, report: Report, source: str, git: GitState | None) -> int:
    """Store ``report`` (checked from ``source``) as a new run; returns its id."""
    from .. import __version__

    with store.transaction(write=True) as tx:
        rows = tx.run(
            "INSERT INTO segverify_runs (run_date, topology, source, profile, compliant, errors, warnings, "
            "suppressed, git_revision, git_dirty, segverify_version) VALUES (:date, :topology, :source, :profile, "
            ":compliant, :errors, :warnings, :suppressed, :rev, :dirty, :version) RETURNING id",
            {"date": report.today, "topology": report.topology, "source": source, "profile": report.profile,
             "compliant": int(report.compliant), "errors": report.errors, "warnings": report.warnings,
             "suppressed": len(report.suppressed), "rev": git.revision if git else None,
             "dirty": None if git is None else int(git.dirty), "version": __version__})
        run_id = int(rows[0][0])
        for path, digest in report.files:
            tx.run("INSERT INTO segverify_files (run_id, path, sha256) VALUES (:run, :path, :sha)",
                   {"run": run_id, "path": path, "sha": digest})
        for f in report.findings:
            tx.run("INSERT INTO segverify_findings (run_id, fingerprint, rule, severity, title, location, suppressed, "
                   "title_message) VALUES (:run, :fp, :rule, :severity, :title, :location, :suppressed, :message)",
                   {"run": run_id, "fp": f.fingerprint, "rule": f.rule, "severity": f.severity.value,
                    "title": str(f.title), "location": str(f.location), "suppressed": int(f.suppressed),
                    "message": json.dumps(to_data(f.title), ensure_ascii=False, sort_keys=True)
                    if isinstance(f.title, Message) else None})
        for e in report.exceptions:
            tx.run("INSERT INTO segverify_exceptions (run_id, exception_id, rule, status, expires, owner, ticket) "
                   "VALUES (:run, :id, :rule, :status, :expires, :owner, :ticket)",
                   {"run": run_id, "id": e.id, "rule": e.rule, "status": e.status, "expires": e.expires,
                    "owner": e.owner, "ticket": e.ticket})
    return run_id


def _title(stored: str, message: str | None) -> str:
    """The title as recorded: a Message (renders in any language) when the run kept one that renders
    to the same English text, else the stored text (older runs, a message this version changed)."""
    if message is None:
        return stored
    try:
        title = from_data(json.loads(message))
    except (ValueError, KeyError, TypeError, IndexError):  # damaged, or fields this version does not have
        return stored
    return title if isinstance(title, Message) and title == stored else stored


def load_runs(store: Store, topology: str | None = None
              ) -> tuple[list[RecordedRun], list[RecordedFinding], list[RecordedException]]:
    """Every run (of one topology, when given) in the order recorded, with its findings and exceptions."""
    where = " WHERE r.topology = :topology" if topology is not None else ""
    params = {"topology": topology} if topology is not None else {}
    with store.transaction(write=False) as tx:
        runs = [RecordedRun(int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), bool(r[5]), int(r[6]), int(r[7]),
                            int(r[8]), r[9], None if r[10] is None else bool(r[10]), str(r[11]))
                for r in tx.run("SELECT r.id, r.run_date, r.topology, r.source, r.profile, r.compliant, r.errors, "
                                "r.warnings, r.suppressed, r.git_revision, r.git_dirty, r.segverify_version "
                                f"FROM segverify_runs r{where} ORDER BY r.id", params)]
        findings = [RecordedFinding(int(r[0]), str(r[1]), str(r[2]), str(r[3]), _title(str(r[4]), r[7]), str(r[5]),
                                    bool(r[6]))
                    for r in tx.run("SELECT f.run_id, f.fingerprint, f.rule, f.severity, f.title, f.location, "
                                    "f.suppressed, f.title_message FROM segverify_findings f "
                                    "JOIN segverify_runs r ON r.id = f.run_id"
                                    f"{where} ORDER BY f.run_id, f.rule, f.fingerprint", params)]
        exceptions = [RecordedException(int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5]), str(r[6]))
                      for r in tx.run("SELECT e.run_id, e.exception_id, e.rule, e.status, e.expires, e.owner, e.ticket "
                                      "FROM segverify_exceptions e JOIN segverify_runs r ON r.id = e.run_id"
                                      f"{where} ORDER BY e.run_id, e.exception_id", params)]
    return runs, findings, exceptions
