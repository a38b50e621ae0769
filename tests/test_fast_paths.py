"""The fast paths give byte-identical answers to the reference paths, on every network we have.

Each fast path (one analysis shared by every output, the matrix's cheap tests on origin ids, ...)
is compared with the plain way of computing the same thing: a fresh compile and propagation, and
the straightforward computation written out here, in JSON, byte for byte. The networks are every
reference topology, every broken one that loads, and generated prefectures of each model.

The two-core path (a forked worker parses half of a directory's files and runs part of the rules,
segverify.forked) is compared with the one-process path the same way, in every format.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import segverify
from segverify.analysis import analyse
from segverify.findings import Report
from segverify.generate import generate
from segverify.matrix import Cell, Crossing, Matrix, services_text
from segverify.model import NodeKind, Segment, Topology
from segverify.network import Network
from segverify.outputs import RENDERERS
from segverify.outputs.json import dumps
from segverify.reach import Reachability

ROOT = Path(__file__).parent.parent
TOPOLOGIES = ROOT / "topologies"
FILES = sorted(TOPOLOGIES.glob("*.yaml")) + sorted((TOPOLOGIES / "broken").glob("*.yaml")) + sorted(
    (ROOT / "tests" / "data").glob("*.yaml"))
TODAY = _dt.date(2026, 11, 26)
GENERATED = [("alpha", 1, 0), ("alpha-prime", 2, 5), ("beta", 3, 9), ("beta-prime", 4, 9)]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, _dt.date]]:
    out = {}
    for model, seed, inject in GENERATED:
        net = generate(2, 40, 30, model, seed=seed, inject=inject, out=tmp_path_factory.mktemp(model))
        out[model] = (str(net.main), _dt.date.fromisoformat(net.manifest["check_date"]))
    return out


def reference_matrix(topology: Topology, report: Report) -> Matrix:
    """The matrix the plain way: its own compile and propagation, every cell's flows by their own union."""
    network = Network(topology)
    reach = Reachability(network)
    false = network.space.false
    order = list(Segment)
    zones = tuple(sorted(topology.zones, key=lambda z: (order.index(topology.zones[z].segment), z)))
    members = {z: [n for n in reach.endpoints if any(i.zone == z for i in topology.nodes[n].interfaces)]
               for z in zones}
    sanitizers = {n for n, node in topology.nodes.items() if node.kind is NodeKind.SANITIZER}
    by_pair: dict[tuple[str, str], list] = {}
    for finding in report.findings:
        subject = dict(finding.subject)
        if "from_zone" in subject:
            by_pair.setdefault((subject["from_zone"], subject["to_zone"]), []).append(finding)
    cells = {}
    for a in zones:
        for b in zones:
            received = reach.received(members[a], members[b])
            found = by_pair.get((a, b), [])
            plain = reach.received([n for n in members[a] if n not in sanitizers],
                                   [n for n in members[b] if n not in sanitizers])
            touches_sanitizer = bool(set(members[a]) & sanitizers or set(members[b]) & sanitizers)
            if received == false:
                crossing = Crossing.NONE
            elif any(not f.suppressed for f in found):
                crossing = Crossing.VIOLATION
            elif found:
                crossing = Crossing.EXCEPTION
            elif a != b and plain == false and touches_sanitizer:
                crossing = Crossing.SANITIZED
            else:
                crossing = Crossing.ALLOWED
            services = services_text(network.space, received) if crossing is not Crossing.NONE else ()
            cells[(a, b)] = Cell(a, b, crossing, services, tuple(sorted({f.rule for f in found})))
    return Matrix(zones, {z: topology.zones[z].segment.value for z in zones}, cells)


def _same_answers(topology: Topology, today: _dt.date) -> None:
    found = analyse(topology, today=today)
    fresh = segverify.verify(topology, today=today)  # compiles and propagates on its own
    assert RENDERERS["json"](found.report) == RENDERERS["json"](fresh)
    assert dumps(found.matrix.to_dict()) == dumps(reference_matrix(topology, found.report).to_dict())
    assert [(k, c.crossing) for k, c in found.matrix.cells.items()] == [
        (k, c.crossing) for k, c in reference_matrix(topology, found.report).cells.items()]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_file_networks(path: Path) -> None:
    _same_answers(segverify.load(str(path)), TODAY)  # every one of them loads: their faults are semantic


@pytest.mark.parametrize("model", [m for m, _, _ in GENERATED])
def test_generated_networks(generated: dict[str, tuple[str, _dt.date]], model: str) -> None:
    path, today = generated[model]
    _same_answers(segverify.load(path), today)


def _two_core_answers(networks: list[tuple[str, _dt.date]]) -> dict[str, dict]:
    """Each network read and checked in one process and with a worker (``twocores.py``, in a fresh
    process: one with a thread running, as a test session that has started Dask, never forks)."""
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "twocores.py"), "same-reports",
                           *(f"{path}={day.isoformat()}" for path, day in networks)],
                          capture_output=True, text=True, env={**os.environ, "SEGVERIFY_JOBS": ""}, check=True)
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def test_two_cores_give_the_one_process_reports_on_every_file() -> None:
    answers = _two_core_answers([(str(path), TODAY) for path in FILES])
    assert len(answers) == len(FILES)
    for path, answer in answers.items():
        for shown in ("json", "text", "sarif", "document", "matrix"):
            assert answer["parallel"][shown] == answer["serial"][shown], (path, shown)
        assert answer["children"] >= 1, path  # the rules' worker ran (every profile has HYG001)


def test_two_cores_give_the_one_process_reports_on_generated_networks(
        generated: dict[str, tuple[str, _dt.date]]) -> None:
    answers = _two_core_answers(list(generated.values()))
    for path, answer in answers.items():
        for shown in ("json", "text", "sarif", "document", "matrix"):
            assert answer["parallel"][shown] == answer["serial"][shown], (path, shown)
        assert answer["children"] == 3, path  # both reads of the municipalities/ directory, and the rules
