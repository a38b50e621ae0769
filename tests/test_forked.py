"""The forked worker (segverify.forked): its result, or the same result computed here when it fails.

What forks runs in a fresh process (``twocores.py``): a process with a thread running never forks,
and a test session that has started a Dask cluster keeps one of its threads. Byte-identical reports
on every network are in test_fast_paths.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from segverify import forked
from segverify.errors import EnvironmentProblem
from segverify.generate import generate

ROOT = Path(__file__).parent.parent
DRIVER = ROOT / "tests" / "twocores.py"


def _fresh(*args: str) -> tuple[Any, str, str]:
    """``twocores.py ARGS`` in a process of its own: its JSON answer, then what else it printed."""
    done = subprocess.run([sys.executable, str(DRIVER), *args], capture_output=True, text=True,
                          env={**os.environ, "SEGVERIFY_JOBS": ""}, check=True)
    lines = done.stdout.splitlines()
    return json.loads(lines[-1]), "\n".join(lines[:-1]), done.stderr


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A generated network: network.yaml including a directory of two municipality files."""
    net = generate(2, 40, 30, "alpha", seed=4, inject=4, out=tmp_path_factory.mktemp("net"))
    return str(net.main), net.manifest["check_date"]


def test_the_result_comes_from_the_child_and_the_child_is_waited_for() -> None:
    answer, _, _ = _fresh("forked", "plain")
    assert answer == {"started": True, "from_child": True, "ran_in_child": True, "here": False, "zombies": []}


@pytest.mark.parametrize("how", ["exception", "signal", "exit", "unpicklable"])
def test_a_failed_child_means_the_work_is_done_here(how: str) -> None:
    answer, _, _ = _fresh("forked", how)
    assert answer == {"started": True, "from_child": False, "ran_in_child": False, "here": True, "zombies": []}


def test_the_child_writes_nothing_to_stdout_or_stderr() -> None:
    answer, before, stderr = _fresh("forked", "noise")
    assert answer["from_child"] and not answer["zombies"]
    assert "child on" not in before and "child on" not in stderr


def test_a_child_whose_result_is_not_wanted_is_stopped_and_waited_for() -> None:
    answer, _, _ = _fresh("abandoned")  # the child sleeps 600 s: it returns at once only if killed
    assert answer == {"started": True, "zombies": []}


def test_one_child_at_a_time_and_none_of_its_own() -> None:
    answer, _, _ = _fresh("nested")
    assert answer == {"grandchild_started": False, "second_started": False, "from_child": True, "zombies": []}


@pytest.mark.parametrize("how", ["exception", "signal", "exit", "noise"])
def test_rules_whose_worker_fails_give_the_serial_report(network: tuple[str, str], how: str) -> None:
    path, day = network
    answer, before, stderr = _fresh("failing-rules", how, path, day)
    assert answer["parallel"] == answer["serial"]
    assert answer["children"] == (1 if how == "noise" else 0)  # the fallback really ran
    assert answer["zombies"] == [] and "child on" not in before + stderr


@pytest.mark.parametrize("how", ["exception", "signal", "exit"])
def test_a_read_whose_worker_fails_gives_the_serial_document(network: tuple[str, str], how: str) -> None:
    answer, _, _ = _fresh("failing-read", how, network[0])
    assert answer == {"same": True, "files": 3, "children": 0, "zombies": []}


@pytest.mark.parametrize("how", ["exception", "signal", "exit"])
def test_a_worker_that_stops_after_one_file_leaves_the_rest_to_this_process(tmp_path: Path, how: str) -> None:
    main = _directory(tmp_path, {})  # four files, the worker's two sent one by one
    answer, _, _ = _fresh("failing-read", f"midway-{how}", str(main))
    assert answer == {"same": True, "files": 5, "children": 1, "zombies": []}


def _directory(tmp_path: Path, broken: dict[int, str]) -> Path:
    """network.yaml including parts/ with four files of equal size (two for the worker); ``broken``
    replaces some of them (by number) with the text given."""
    main = tmp_path / "network.yaml"
    main.write_text("name: split\nprofile: alpha\ninclude: [parts]\n")
    (tmp_path / "parts").mkdir()
    for i in range(1, 5):
        text = broken.get(i, f"zones:\n  z{i}: {{segment: internet}}\n")
        (tmp_path / "parts" / f"p{i}.yaml").write_text(text + "#" * (200 - len(text)) + "\n")
    return main


@pytest.mark.parametrize("broken", [{3: "zones: [unclosed"}, {2: "zones: {z1: {segment: internet}}", 4: "zones: ["},
                                    {4: "nodes: {x: {kind: router, interfaces: []}}\nnodes: {}"}],
                         ids=["worker's file", "first error wins", "duplicate key"])
def test_a_broken_file_gives_the_serial_message(tmp_path: Path, broken: dict[int, str]) -> None:
    answer, _, _ = _fresh("read-errors", str(_directory(tmp_path, broken)))
    assert answer["2"] == answer["1"] and answer["1"].startswith(str(tmp_path / "parts"))


def test_a_file_outside_the_tree_gives_the_serial_message(tmp_path: Path) -> None:
    (tmp_path / "net").mkdir()
    main = _directory(tmp_path / "net", {})
    (tmp_path / "elsewhere.yaml").write_text("zones: {far: {segment: internet}}\n")
    (main.parent / "parts" / "p5.yaml").symlink_to(tmp_path / "elsewhere.yaml")
    answer, _, _ = _fresh("read-errors", str(main))
    assert answer["2"] == answer["1"] and "outside" in answer["1"]


def test_jobs_decide_before_the_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(forked.JOBS_VARIABLE, raising=False)
    assert forked.wanted(True, jobs=1) is False and forked.wanted(False, jobs=2) is True
    monkeypatch.setattr(forked, "cores", lambda: 2)
    assert forked.wanted(True) is True and forked.wanted(False) is False
    monkeypatch.setenv(forked.JOBS_VARIABLE, "1")
    assert forked.wanted(True) is False
    forked.use_jobs(2)  # the command line's --jobs wins over the variable
    try:
        assert forked.wanted(False) is True
    finally:
        forked.use_jobs(None)
    monkeypatch.setattr(forked, "cores", lambda: 1)
    monkeypatch.delenv(forked.JOBS_VARIABLE)
    assert forked.wanted(True) is False  # one core: a worker would only take turns with this process


@pytest.mark.parametrize("value", ["two", "0", "-1", "1.5"])
def test_a_wrong_jobs_variable_is_an_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(forked.JOBS_VARIABLE, value)
    with pytest.raises(EnvironmentProblem, match="SEGVERIFY_JOBS must be a whole number"):
        forked.wanted(True)


def _check(*args: str, jobs: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "segverify", "-q", "check", *args], capture_output=True, text=True,
                          env={**os.environ, "SEGVERIFY_JOBS": jobs})


def test_check_prints_the_same_with_one_process_and_with_two(network: tuple[str, str]) -> None:
    path, day = network
    one = _check(path, "--today", day, "--jobs", "1")
    two = _check(path, "--today", day, "--jobs", "2")
    default = _check(path, "--today", day)
    assert one.returncode == two.returncode == default.returncode == 1  # the injected faults
    assert one.stdout == two.stdout == default.stdout and one.stdout
    assert _check(path, "--today", day, jobs="2").stdout == one.stdout


def test_check_says_what_is_wrong_with_the_variable(network: tuple[str, str]) -> None:
    done = _check(network[0], jobs="many")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == "segverify: SEGVERIFY_JOBS must be a whole number of processes, 1 or more (not 'many')\n"


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A network the pictures draw as an atlas: more than 150 devices in four files."""
    net = generate(3, 60, 20, "alpha", seed=2026, inject=3, out=tmp_path_factory.mktemp("large"))
    return str(net.main), net.manifest["check_date"]


@pytest.mark.parametrize("how", ["plain", "failing-exception", "failing-signal"])
def test_atlas_and_report_pictures_are_the_same_bytes_on_two_cores(large: tuple[str, str], tmp_path: Path,
                                                                   how: str) -> None:
    for jobs in ("jobs1", "jobs2"):
        (tmp_path / jobs).mkdir()
    answer, _, _ = _fresh("pictures", how, *large, str(tmp_path))
    one, two = answer["1"], answer["2"]
    assert len(one["pages"]) == 5 and one["names"] == two["names"]
    assert one["pages"] == two["pages"] and one["report"] == two["report"]
    assert one["children"] == 0
    # The atlas and the report each shared their pictures with one child; failing, it drew none of
    # them, and what it took was drawn here: the same bytes.
    if how == "plain":
        assert two["children"] == 2
    assert answer["zombies"] == []


@pytest.mark.parametrize("how", ["plain", "exception", "signal"])
def test_shared_jobs_are_taken_by_whichever_process_is_free(how: str) -> None:
    answer, _, _ = _fresh("shared", how)
    assert answer["values"] == [i * i for i in range(16)]
    assert answer["zombies"] == []
    if how == "plain":  # both took some, and the child's came back
        assert answer["children"] == 1 and 0 < len(answer["here"]) < 16
    else:  # the child took a job and failed in it: that job is made here too
        assert answer["children"] == 0 and answer["here"] == list(range(16))
