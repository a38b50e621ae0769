"""The cycle collector around one command's work (segverify.cycles): paused while a phase builds,
what a phase leaves alive set aside from the collector until the command ends, and everything back
to normal collection afterwards, so a caller that goes on (a test session, the Python API) leaks
nothing."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest

from segverify import cli
from segverify.cycles import paused, survivors_set_aside

TINY = Path(__file__).parent / "data" / "tiny.yaml"


def test_a_phase_survivors_are_set_aside_only_inside_and_only_at_the_outermost_pause() -> None:
    assert gc.get_freeze_count() == 0
    with survivors_set_aside():
        with paused():
            kept = [[i] for i in range(1000)]
            with paused():
                assert not gc.isenabled()
            assert gc.get_freeze_count() == 0  # an inner pause sets nothing aside
        assert gc.isenabled() and gc.get_freeze_count() >= len(kept)
    assert gc.get_freeze_count() == 0  # rejoined the oldest generation
    with paused():
        more = [[i] for i in range(1000)]
    assert gc.get_freeze_count() == 0 and len(more) == 1000  # outside, a pause only pauses


def test_a_cycle_left_by_a_command_is_collected_afterwards() -> None:
    class Node:
        other: object = None

    with survivors_set_aside():
        with paused():
            a, b = Node(), Node()
            a.other, b.other = b, a
    gone: list[bool] = []
    weakref.finalize(a, gone.append, True)
    del a, b
    gc.collect()
    assert gone == [True]


@pytest.mark.parametrize("command", [["check", str(TINY)], ["matrix", str(TINY)]])
def test_check_and_matrix_leave_the_collector_as_they_found_it(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    try:
        cli.main(command)
    except SystemExit:  # check exits with its verdict
        pass
    assert capsys.readouterr().out  # the command did its work
    assert gc.isenabled() and gc.get_freeze_count() == 0
