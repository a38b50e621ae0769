"""The program leaves without taking the interpreter apart, and loses nothing doing so.

The entry point (``python -m segverify``, the ``segverify`` script) ends the process once the command
is done; what a normal exit does that matters (exit handlers, flushed streams, the exit status, waiting
for threads) must still happen. Compared with the same command run by ``main()`` in a process that
exits the usual way.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from segverify.cli import cli
from segverify.leaving import exit_status

ROOT = Path(__file__).parent.parent
ALPHA = str(ROOT / "topologies" / "alpha.yaml")
SHADOWED = str(ROOT / "topologies" / "broken" / "shadowed-acl-line.yaml")


def program(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "segverify", *args], capture_output=True, text=True)


def usual_exit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from segverify.cli import main; main()", *args],
                          capture_output=True, text=True)


@pytest.mark.parametrize("args", [
    ["check", ALPHA, "--today", "2026-11-26", "--format", "json"],
    ["check", SHADOWED, "--today", "2026-11-26", "--format", "sarif"],
    ["check", ALPHA, "--today", "2026-11-26", "--lang", "en"],
    ["check", str(ROOT / "no-such-network.yaml")],
    ["check", ALPHA, "--format", "nonsense"],
])
def test_the_program_prints_and_exits_as_the_command_run_here(args: list[str]) -> None:
    usual, there = usual_exit(*args), program(*args)
    assert (there.returncode, there.stdout, there.stderr) == (usual.returncode, usual.stdout, usual.stderr)
    assert "Traceback" not in there.stderr


def test_a_report_written_to_a_file_is_complete(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    there = program("check", ALPHA, "--today", "2026-11-26", "--format", "json", "-o", str(out))
    here = CliRunner().invoke(cli, ["check", ALPHA, "--today", "2026-11-26", "--format", "json"])
    assert there.returncode == here.exit_code
    assert out.read_text() == here.stdout


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_exit_handlers_run_and_buffered_output_is_flushed() -> None:
    done = _python("import atexit\nfrom segverify.leaving import leave\n"
                   "atexit.register(lambda: print('handler', end=''))\nprint('buffered', end=' ')\nleave(5)")
    assert (done.returncode, done.stdout) == (5, "buffered handler")


def test_a_running_thread_is_waited_for(tmp_path: Path) -> None:
    mark = tmp_path / "thread-finished"
    done = _python("import threading, time\nfrom segverify.leaving import leave\n"
                   f"def work():\n    time.sleep(0.2)\n    open({str(mark)!r}, 'w').close()\n"
                   "threading.Thread(target=work).start()\nleave(3)")
    assert done.returncode == 3
    assert mark.exists()


def test_exit_status_is_what_sys_exit_gives(capsys: pytest.CaptureFixture[str]) -> None:
    assert [exit_status(None), exit_status(0), exit_status(2), exit_status(True)] == [0, 0, 2, 1]
    assert exit_status("stopped: no network") == 1
    assert capsys.readouterr().err == "stopped: no network\n"
