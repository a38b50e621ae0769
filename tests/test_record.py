"""The self-inspection record: record and history on SQLite and on a real PostgreSQL server,
migration, two concurrent writers, and damaged or foreign databases (exit 2, left untouched)."""

from __future__ import annotations

import datetime as _dt
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Iterator

import pytest

import pgserver
from conftest import require_environment
from segverify.errors import RecordError, Span
from segverify.findings import ExceptionStatus, Finding, Report, Severity
from segverify.record import SCHEMA_VERSION, load_runs, open_store, record_run, trends

ROOT = Path(__file__).parent.parent
ALPHA = ROOT / "topologies" / "alpha.yaml"
BROKEN = ROOT / "topologies" / "broken" / "dual-homed-server-lgwan-internet.yaml"
NAME = "record-test city"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    env.pop("SEGVERIFY_RECORD", None)
    return subprocess.run([sys.executable, "-m", "segverify", *args], capture_output=True, text=True, env=env,
                          cwd=cwd)


def renamed(source: Path, target: Path) -> Path:
    """The topology with its name set to NAME, so two versions of it are one series in the record."""
    lines = source.read_text(encoding="utf-8").splitlines()
    target.write_text("\n".join(f"name: {NAME}" if line.startswith("name:") else line for line in lines) + "\n",
                      encoding="utf-8")
    return target


def spring_then_autumn(tmp_path: Path, db: str) -> None:
    """A network with six findings in the spring self-inspection, fixed by the autumn one."""
    net = tmp_path / "net.yaml"
    renamed(BROKEN, net)
    first = run("record", str(net), "--db", db, "--today", "2026-04-01")
    assert first.returncode == 0, first.stderr
    assert "recorded run 1" in first.stdout and "NOT COMPLIANT, 6 error(s)" in first.stdout, first.stdout
    renamed(ALPHA, net)
    second = run("record", str(net), "--db", db, "--today", "2026-10-01", "--format", "json")
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["fixed"] == 6 and json.loads(second.stdout)["open"] == 0


def check_history(db: str) -> None:
    result = run("history", "--db", db, "--today", "2029-02-01", "--format", "json")
    assert result.returncode == 0, result.stderr
    (trend,) = json.loads(result.stdout)
    assert trend["topology"] == NAME
    assert [(r["date"], r["open"], r["opened"], r["fixed"], r["compliant"]) for r in trend["runs"]] == [
        ("2026-04-01", 6, 6, 0, False), ("2026-10-01", 0, 0, 6, True)]
    assert len(trend["findings"]) == 6
    assert {(f["rule"], f["first_seen"], f["last_seen"], f["fixed_on"], f["days_to_fix"]) for f in trend["findings"]} \
        == {(rule, "2026-04-01", "2026-04-01", "2026-10-01", 183) for rule in ("SEG003", "SEG006")}
    # alpha's EX-2025-001 expires 2029-03-31: 58 days after 2029-02-01; EX-2025-002 (2030) is beyond 90 days.
    assert [(e["id"], e["days_left"]) for e in trend["expiring_exceptions"]] == [("EX-2025-001", 58)]
    text = run("history", "--db", db, "--today", "2029-02-01")
    assert text.returncode == 0
    assert "6 seen, 6 fixed, 0 still open" in text.stdout and "EX-2025-001" in text.stdout, text.stdout


def test_record_and_history_on_sqlite(tmp_path: Path) -> None:
    db = str(tmp_path / "record.sqlite")
    spring_then_autumn(tmp_path, db)
    check_history(db)
    with sqlite3.connect(db) as connection:
        (sha,) = connection.execute("SELECT sha256 FROM segverify_files WHERE run_id = 2").fetchone()
        version = connection.execute("SELECT value FROM segverify_meta WHERE key = 'schema_version'").fetchone()
    assert len(sha) == 64 and version == (str(SCHEMA_VERSION),)


def test_record_keeps_git_revision_inside_a_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    renamed(ALPHA, repo / "net.yaml")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(git + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "net.yaml"], check=True)
    subprocess.run(git + ["commit", "-q", "-m", "net"], check=True)
    head = subprocess.run(git + ["rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    db = tmp_path / "r.sqlite"
    assert run("record", str(repo / "net.yaml"), "--db", str(db), "--today", "2026-04-01").returncode == 0
    (repo / "net.yaml").write_text((repo / "net.yaml").read_text() + "# edited\n")
    assert run("record", str(repo / "net.yaml"), "--db", str(db), "--today", "2026-04-02").returncode == 0
    runs, _, _ = load_runs(open_store(str(db), create=False))
    assert [(r.git_revision, r.git_dirty) for r in runs] == [(head, False), (head, True)]
    outside = tmp_path / "plain"
    outside.mkdir()
    renamed(ALPHA, outside / "net.yaml")
    assert run("record", str(outside / "net.yaml"), "--db", str(db), "--today", "2026-04-03").returncode == 0
    assert load_runs(open_store(str(db), create=False))[0][-1].git_revision is None


def test_history_of_a_missing_record_is_an_error(tmp_path: Path) -> None:
    result = run("history", "--db", str(tmp_path / "none.sqlite"))
    assert result.returncode == 2 and "no such record" in result.stderr
    assert not (tmp_path / "none.sqlite").exists()


@pytest.mark.parametrize("content", [
    b"name: not a database\n",  # a YAML file given by mistake
    b"SQLite format 3\x00" + b"\xff" * 4000,  # a header and garbage after it
], ids=["text", "garbage"])
def test_damaged_database_is_exit_2_and_untouched(tmp_path: Path, content: bytes) -> None:
    db = tmp_path / "record.sqlite"
    db.write_bytes(content)
    for args in (("record", str(ALPHA), "--db", str(db)), ("history", "--db", str(db))):
        result = run(*args)
        assert result.returncode == 2, result.stdout + result.stderr
        assert result.stderr.startswith(f"segverify: {db}: ") and "Traceback" not in result.stderr, result.stderr
        assert "untouched" in result.stderr or "not a usable" in result.stderr
    assert db.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["record.sqlite"]  # no journal left behind


def test_truncated_record_is_exit_2_and_untouched(tmp_path: Path) -> None:
    db = tmp_path / "record.sqlite"
    spring_then_autumn(tmp_path, str(db))
    damaged = db.read_bytes()[: 3 * 4096 + 100]
    db.write_bytes(damaged)
    result = run("record", str(ALPHA), "--db", str(db))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert db.read_bytes() == damaged


def test_foreign_sqlite_database_is_exit_2_and_untouched(tmp_path: Path) -> None:
    db = tmp_path / "inventory.sqlite"
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE assets (id INTEGER PRIMARY KEY, name TEXT)")
        connection.execute("INSERT INTO assets (name) VALUES ('fw-01')")
    before = db.read_bytes()
    result = run("record", str(ALPHA), "--db", str(db))
    assert result.returncode == 2
    assert "not a segverify record (it holds tables assets)" in result.stderr, result.stderr
    assert db.read_bytes() == before


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    open_store(str(db))
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE segverify_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(RecordError, match="newer segverify"):
        open_store(str(db))


def _report(n: int, fingerprints: list[str], today: str = "2026-04-01") -> Report:
    findings = [Finding("SEG003", Severity.ERROR, f"path {fp}", "why", Span("net.yaml", 10 + i),
                        subject=(("case", fp),)) for i, fp in enumerate(fingerprints)]
    exceptions = [ExceptionStatus("EX-1", "SEG002", "active", "情報政策課", "eLTAX", "2026-06-30", "T-1", "scope",
                                  Span("net.yaml", 99))]
    return Report(NAME, "alpha", (("net.yaml", f"{n:064x}"),), ("SEG003",), findings, exceptions, today)


def test_migration_from_schema_1_keeps_runs(tmp_path: Path) -> None:
    db = str(tmp_path / "r.sqlite")
    store = open_store(db, migrate_to=1)
    with store.transaction(write=True) as tx:  # a run as schema 1 stored it: no exception table yet
        tx.run("INSERT INTO segverify_runs (run_date, topology, source, profile, compliant, errors, warnings, "
               "suppressed, segverify_version) VALUES ('2026-01-10', :t, 'net.yaml', 'alpha', 0, 1, 0, 0, '0.0')",
               {"t": NAME})
        tx.run("INSERT INTO segverify_findings VALUES (1, 'fp-a', 'SEG003', 'error', 'path a', 'net.yaml:1:1', 0)")
    store = open_store(db)
    record_run(store, _report(2, []), "net.yaml", None)
    runs, findings, exceptions = load_runs(store)
    (trend,) = trends(runs, findings, exceptions, _dt.date(2026, 4, 1))
    assert [(r.open, r.fixed) for r in trend.runs] == [(1, 0), (0, 1)]
    assert [(f.fingerprint, f.fixed_on, f.days_to_fix) for f in trend.findings] == [("fp-a", "2026-04-01", 81)]
    assert [(e.id, e.days_left) for e in trend.expiring] == [("EX-1", 90)]


WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[3])
    import test_record
    from segverify.record import open_store, record_run
    go = Path(sys.argv[2])
    while not go.exists():
        time.sleep(0.01)
    for i in range(int(sys.argv[4])):
        store = open_store(sys.argv[1])
        record_run(store, test_record._report(i, [f"w{sys.argv[5]}-{i}-{k}" for k in range(20)]), "net.yaml", None)
""")


def concurrent_writers(location: str, tmp_path: Path, runs_each: int = 8) -> None:
    """Two processes start together on a record that does not exist yet (both race to create the
    schema) and each stores ``runs_each`` runs of 20 findings; every run must arrive whole."""
    go = tmp_path / "go"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, location, str(go), str(ROOT / "tests"),
                                 str(runs_each), str(w)], env=env, stderr=subprocess.PIPE, text=True)
               for w in (1, 2)]
    go.touch()
    for w in writers:
        _, err = w.communicate(timeout=300)
        assert w.returncode == 0, err
    runs, findings, _ = load_runs(open_store(location, create=False))
    assert len(runs) == 2 * runs_each and len({r.id for r in runs}) == 2 * runs_each
    per_run: dict[int, set[str]] = {}
    for f in findings:
        per_run.setdefault(f.run_id, set()).add(f.title.removeprefix("path "))
    for r in runs:  # 20 findings, all from the one writer and loop step that wrote the run
        prefixes = {case.rsplit("-", 1)[0] for case in per_run[r.id]}
        assert len(per_run[r.id]) == 20 and len(prefixes) == 1, (r.id, sorted(per_run[r.id]))


def test_two_concurrent_writers_on_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "shared.sqlite"
    concurrent_writers(str(db), tmp_path)
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


# -- a real PostgreSQL server --------------------------------------------------------------------


def _has_sqlalchemy() -> bool:
    try:
        import sqlalchemy  # noqa: F401
        import psycopg  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[str]:
    """The server CI started (SEGVERIFY_TEST_POSTGRES), else one of our own from the installed binaries."""
    require_environment("segverify[postgres]", _has_sqlalchemy(), "pip install -e '.[postgres]'")
    url = os.environ.get("SEGVERIFY_TEST_POSTGRES")
    if url:
        yield url
        return
    bindir = pgserver.server_binaries()
    require_environment("PostgreSQL server", bindir is not None, "apt-get install postgresql (initdb, pg_ctl)")
    assert bindir is not None
    server = pgserver.start(bindir)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def postgres(postgres_server: str) -> str:
    """A database of its own for each test, on the shared server."""
    import sqlalchemy

    name = f"segverify_test_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(postgres_server.replace("postgresql://", "postgresql+psycopg://", 1),
                                     isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = sqlalchemy.make_url(postgres_server).set(database=name)
    return url.render_as_string(hide_password=False)


def test_record_and_history_on_postgres(tmp_path: Path, postgres: str) -> None:
    spring_then_autumn(tmp_path, postgres)
    check_history(postgres)


def test_two_concurrent_writers_on_postgres(tmp_path: Path, postgres: str) -> None:
    concurrent_writers(postgres, tmp_path)


def test_foreign_tables_on_postgres_are_refused(postgres: str) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(postgres.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:  # another program's table named like ours, no segverify_meta
        connection.execute(sqlalchemy.text("CREATE TABLE segverify_runs (x INTEGER)"))
    engine.dispose()
    result = run("record", str(ALPHA), "--db", postgres)
    assert result.returncode == 2 and "not a segverify record (it holds tables segverify_runs)" in result.stderr


def test_unreachable_postgres_is_exit_2(tmp_path: Path) -> None:
    require_environment("SQLAlchemy", _has_sqlalchemy(), "pip install 'segverify[postgres]'")
    result = run("history", "--db", f"postgresql://nobody:secret@/none?host={tmp_path}&port=1")
    assert result.returncode == 2 and "cannot connect" in result.stderr and "secret" not in result.stderr


def test_check_record_keeps_the_run_like_record_does(tmp_path: Path) -> None:
    """`check --record` prints the report as `check` does (and exits with its verdict), and keeps the
    same run `record` would: the two records hold the same findings, dates and verdicts."""
    net = tmp_path / "net.yaml"
    by_check, by_record = str(tmp_path / "check.sqlite"), str(tmp_path / "record.sqlite")
    for source, day, code in ((BROKEN, "2026-04-01", 1), (ALPHA, "2026-10-01", 0)):
        renamed(source, net)
        checked = run("check", str(net), "--record", "--db", by_check, "--today", day)
        plain = run("check", str(net), "--today", day)
        assert checked.returncode == plain.returncode == code, checked.stderr
        assert checked.stdout == plain.stdout  # the report itself is unchanged
        assert checked.stderr.startswith("recorded run ") and f" in {by_check}: " in checked.stderr
        assert run("record", str(net), "--db", by_record, "--today", day).returncode == 0
    runs = [load_runs(open_store(db, create=False), NAME) for db in (by_check, by_record)]
    for (check_runs, check_findings, check_exceptions), (record_runs, record_findings, record_exceptions) \
            in [tuple(runs)]:
        assert [(r.date, r.compliant, r.errors, r.source) for r in check_runs] \
            == [(r.date, r.compliant, r.errors, r.source) for r in record_runs] \
            == [("2026-04-01", False, 6, str(net)), ("2026-10-01", True, 0, str(net))]
        assert [(f.run_id, f.fingerprint) for f in check_findings] == [(f.run_id, f.fingerprint) for f in record_findings]
        assert sum(not f.suppressed for f in check_findings) == 6 and check_exceptions == record_exceptions


def test_check_record_refuses_a_damaged_record_before_checking(tmp_path: Path) -> None:
    db = tmp_path / "record.sqlite"
    db.write_bytes(b"not a database at all\n" * 10)
    before = db.read_bytes()
    result = run("check", str(ALPHA), "--record", "--db", str(db))
    assert result.returncode == 2 and result.stdout == "" and "record.sqlite" in result.stderr
    assert "Traceback" not in result.stderr and db.read_bytes() == before


def test_check_db_without_record_and_record_of_several_networks_are_usage_errors(tmp_path: Path) -> None:
    db = str(tmp_path / "record.sqlite")
    alone = run("check", str(ALPHA), "--db", db)
    assert alone.returncode == 2 and "give --record too" in alone.stderr
    several = run("check", str(ALPHA), str(BROKEN), "--record", "--db", db)
    assert several.returncode == 2 and "--record keeps one network" in several.stderr
    assert not Path(db).exists()
