"""Progress shows on a terminal only; the library and CI logs stay silent."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

from segverify.progress import Progress

ALPHA = str(Path(__file__).parent.parent / "topologies" / "alpha.yaml")


def test_enabled_progress_writes_stages_and_ticks() -> None:
    stream = io.StringIO()
    progress = Progress(enabled=True, stream=stream, interval=0)
    with progress.stage("engine"):
        progress.tick("states", 5, 10)
    text = stream.getvalue()
    assert "engine …" in text and "[###############...............] 5/10" in text and "engine done in" in text


def test_disabled_progress_is_silent() -> None:
    stream = io.StringIO()
    progress = Progress(enabled=False, stream=stream)
    with progress.stage("engine"):
        progress.tick("states", 5)
    assert stream.getvalue() == ""


def test_cli_is_silent_when_stderr_is_not_a_terminal() -> None:
    run = subprocess.run([sys.executable, "-m", "segverify", "check", ALPHA], capture_output=True, text=True)
    assert run.returncode == 0 and run.stderr == ""


def test_counter_shows_an_eta_and_inner_work_stays_quiet() -> None:
    import time

    from segverify import progress as module

    stream = io.StringIO()
    outer = Progress(enabled=True, stream=stream, interval=0)
    saved = module.current()
    module._CURRENT = outer
    try:
        with module.silenced() as counter:
            assert counter is outer and not module.current().enabled  # what runs inside is silent
            with module.current().stage("inner verification"):
                pass
            counter.tick("scenarios", 1, 4)
            time.sleep(0.01)
            counter.tick("scenarios", 2, 4)
        assert module.current() is outer
    finally:
        module._CURRENT = saved
    text = stream.getvalue()
    assert "inner verification" not in text
    assert "scenarios [###############...............] 2/4, ETA 0:00" in text


def test_fan_out_counts_every_job_in_the_calling_process() -> None:
    import operator

    from segverify.fanout import fan_out

    for jobs in (1, 2):
        seen: list[int] = []
        assert fan_out(operator.add, 10, list(range(7)), jobs=jobs, done=seen.append) == list(range(10, 17))
        assert seen == list(range(1, 8))


class _Ticking:
    """A clock that advances one second per reading: ETAs without waiting."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_whatif_counts_scenarios_with_an_eta_on_one_line() -> None:
    import segverify
    from segverify import progress as module
    from segverify.failures import failure_candidates, whatif

    topology = segverify.load(ALPHA)
    stream = io.StringIO()
    saved = module.current()
    module._CURRENT = Progress(enabled=True, stream=stream, interval=0, clock=_Ticking())
    try:
        result = whatif(topology, k_failures=1)
    finally:
        module._CURRENT = saved
    total = len(failure_candidates(topology))
    assert len(result.results) == total
    text = stream.getvalue()
    counter = text[text.index("what-if scenarios"):]
    lines = [part.rstrip() for part in counter.replace("\n", "\r").split("\r") if part.strip()]
    assert lines[-1] == f"what-if scenarios [{'#' * 30}] {total}/{total}" and counter.endswith("\n")
    assert all(line.startswith("what-if scenarios [") for line in lines)  # the verifications inside stay quiet
    assert "what-if scenarios [#.............................] 1/" in lines[0] or ", ETA " in lines[1]
    assert all(re.search(r", ETA \d+:\d\d$", line) for line in lines[1:-1])
    assert [int(line.split("] ")[1].split("/")[0]) for line in lines] == list(range(1, total + 1))


STATUS = re.compile(r"([a-z][\w ./:-]*?)"
                    r"( …| done in \d+\.\d s| \[[#.]{30}\] [\d,]+/[\d,]+(, ETA \d+:\d\d)?| [\d,]+)")


def test_parallel_whatif_on_a_terminal_draws_one_counter(tmp_path: Path) -> None:
    """Two worker processes, stderr a pseudo-terminal: every piece between carriage returns is one
    whole status line of the parent (no worker's bar mixed into another's) and the counter only
    goes up."""
    import os
    import pty

    parent, child = pty.openpty()
    out = tmp_path / "stdout"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parent.parent / "src"))
    env.pop("SEGVERIFY_PROGRESS", None)
    with out.open("w") as stdout:
        run = subprocess.Popen([sys.executable, "-m", "segverify", "whatif", ALPHA, "--k-failures", "1", "-j", "2"],
                               stdout=stdout, stderr=child, stdin=subprocess.DEVNULL, env=env)
    os.close(child)
    chunks = []
    while True:
        try:
            chunk = os.read(parent, 4096)
        except OSError:  # EIO: the terminal's last writer is gone
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(parent)
    assert run.wait() == 0
    shown = b"".join(chunks).decode()
    pieces = [p.rstrip() for p in shown.replace("\r\n", "\n").replace("\n", "\r").split("\r") if p.strip()]
    assert pieces, shown
    for piece in pieces:
        assert STATUS.fullmatch(piece), piece
    counts = [int(p.split("] ")[1].split("/")[0]) for p in pieces if p.startswith("what-if scenarios [")]
    assert counts and counts == sorted(counts) and pieces[-1].startswith("what-if scenarios [")
    total = int(pieces[-1].split("/")[1])
    assert counts[-1] == total and f" of {total} scenarios " in out.read_text()


def test_forced_progress_without_a_terminal() -> None:
    from segverify.progress import wanted

    assert wanted(environ={"SEGVERIFY_PROGRESS": "1"}, stream=io.StringIO())
    assert not wanted(quiet=True, environ={"SEGVERIFY_PROGRESS": "1"})
    assert not wanted(environ={"SEGVERIFY_PROGRESS": "0"}, stream=io.StringIO())
    assert not wanted(environ={}, stream=io.StringIO())
    import os

    run = subprocess.run([sys.executable, "-m", "segverify", "check", ALPHA], capture_output=True, text=True,
                         env=dict(os.environ, SEGVERIFY_PROGRESS="1",
                                  PYTHONPATH=str(Path(__file__).parent.parent / "src")))
    assert run.returncode == 0 and "checking rules done in" in run.stderr
