"""A throw-away PostgreSQL server for the record's tests: initdb + pg_ctl on a Unix socket in a
temporary directory, trust authentication, no TCP port. Run as the ``postgres`` user when the tests
run as root (the server refuses root).

CI starts one server for the whole run (``.ci/run`` exports SEGVERIFY_TEST_POSTGRES); elsewhere the
tests start their own when the server binaries are installed.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def server_binaries() -> Path | None:
    """The directory holding initdb and pg_ctl, if any."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).parent
    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(bindir) / "pg_ctl").exists() and (Path(bindir) / "initdb").exists():
            return Path(bindir)
    return None


@dataclass
class Server:
    url: str
    root: Path
    bindir: Path
    user: str | None  # the system user the server runs as, when not ourselves

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start(bindir: Path) -> Server:
    root = Path(tempfile.mkdtemp(prefix="segverify-pg-"))
    root.chmod(0o755)
    user = None
    if os.geteuid() == 0:
        user = "postgres"
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    server = Server(f"postgresql://postgres@/postgres?host={root}&port=5432", root, bindir, user)
    try:
        server._run("initdb", "-D", str(root / "data"), "-A", "trust", "-U", "postgres", "--no-sync",
                    "-E", "UTF8", "--locale=C")
        server._run("pg_ctl", "-D", str(root / "data"), "-l", str(root / "log"), "-w", "-o",
                    f"-k {root} -c listen_addresses='' -p 5432 -c fsync=off", "start")
    except subprocess.CalledProcessError as exc:
        log = (root / "log").read_text(errors="replace") if (root / "log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"could not start PostgreSQL: {exc.stderr}\n{log}") from exc
    return server
