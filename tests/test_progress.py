"""Progress shows on a terminal only; the library and CI logs stay silent."""

from __future__ import annotations

import io
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
