"""Failures before they happen: take nodes and links down, or let a firewall fail open, reroute, and
report which failures would open a forbidden path."""

from __future__ import annotations

import datetime as _dt
import itertools
import multiprocessing
from dataclasses import dataclass

from .errors import QueryError
from .findings import Finding, Report
from .model import NodeKind, Topology
from .network import Network
from .policy.check import verify


@dataclass(frozen=True, order=True)
class Scenario:
    down: tuple[str, ...] = ()
    fail_open: tuple[str, ...] = ()

    def __str__(self) -> str:
        parts = [f"down {', '.join(self.down)}"] if self.down else []
        if self.fail_open:
            parts.append(f"fail-open {', '.join(self.fail_open)}")
        return "; ".join(parts) or "as built"


@dataclass(frozen=True)
class ScenarioResult:
    scenario: Scenario
    opened: tuple[Finding, ...]  # flow findings this failure adds to the network as built


@dataclass
class WhatIfReport:
    baseline: Report
    results: list[ScenarioResult]

    @property
    def dangerous(self) -> list[ScenarioResult]:
        return [r for r in self.results if r.opened]

    @property
    def exit_code(self) -> int:
        return 1 if self.dangerous else 0

    def to_dict(self) -> dict[str, object]:
        return {
            "topology": self.baseline.topology,
            "scenarios": len(self.results),
            "dangerous": [{"down": list(r.scenario.down), "fail_open": list(r.scenario.fail_open),
                           "opened": [f.to_dict() for f in r.opened]} for r in self.dangerous],
            "safe": [{"down": list(r.scenario.down), "fail_open": list(r.scenario.fail_open)}
                     for r in self.results if not r.opened],
        }


def failure_candidates(topology: Topology) -> list[str]:
    """What can fail: every link and LAN, and every forwarding device (endpoints failing open nothing)."""
    lans = [lan.name for lan in topology.lans]
    devices = [n.name for n in topology.nodes.values() if n.forwarding and n.kind is not NodeKind.EXTERNAL]
    return sorted(lans) + sorted(devices)


def _check_names(topology: Topology, names: tuple[str, ...], what: str, allowed: set[str]) -> None:
    for name in names:
        if name not in allowed:
            raise QueryError(f"{name!r} is not {what} of {topology.name}")


_TOPOLOGY: Topology | None = None
_PROFILE: str | None = None
_TODAY: _dt.date | None = None
_BASELINE: frozenset[str] = frozenset()


def _init(topology: Topology, profile: str | None, today: _dt.date | None, baseline: frozenset[str]) -> None:
    global _TOPOLOGY, _PROFILE, _TODAY, _BASELINE
    _TOPOLOGY, _PROFILE, _TODAY, _BASELINE = topology, profile, today, baseline


def _run(scenario: Scenario) -> ScenarioResult:
    assert _TOPOLOGY is not None
    net = Network(_TOPOLOGY, down=frozenset(scenario.down), fail_open=frozenset(scenario.fail_open))
    report = verify(_TOPOLOGY, profile=_PROFILE, today=_TODAY, network=net)
    opened = tuple(f for f in report.active if f.witness is not None and f.fingerprint not in _BASELINE)
    return ScenarioResult(scenario, opened)


def whatif(topology: Topology, fail: tuple[str, ...] = (), fail_open: tuple[str, ...] = (), k_failures: int = 0,
           jobs: int = 1, profile: str | None = None, today: _dt.date | None = None) -> WhatIfReport:
    """Play out the given failures, or every combination of ``k_failures`` failures."""
    lans = {lan.name for lan in topology.lans}
    _check_names(topology, fail, "a node, link or LAN", lans | set(topology.nodes))
    firewalls = {n.name for n in topology.nodes.values() if n.acls}
    _check_names(topology, fail_open, "a node with ACLs", firewalls)
    baseline = verify(topology, profile=profile, today=today)
    base = frozenset(f.fingerprint for f in baseline.active)
    scenarios: list[Scenario] = []
    if fail or fail_open:
        scenarios.append(Scenario(tuple(sorted(fail)), tuple(sorted(fail_open))))
    if k_failures:
        candidates = failure_candidates(topology)
        scenarios += [Scenario(combo) for combo in itertools.combinations(candidates, k_failures)]
    if not scenarios:
        raise QueryError("nothing to play out: give --fail, --fail-open or --k-failures")
    if jobs > 1 and len(scenarios) > 1:
        context = multiprocessing.get_context("fork")
        with context.Pool(jobs, initializer=_init, initargs=(topology, profile, today, base)) as pool:
            results = pool.map(_run, scenarios, chunksize=max(1, len(scenarios) // (jobs * 4)))
    else:
        _init(topology, profile, today, base)
        results = [_run(s) for s in scenarios]
    return WhatIfReport(baseline, sorted(results, key=lambda r: r.scenario))
