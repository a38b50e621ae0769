"""Failures before they happen: take nodes and links down, or let a firewall fail open, reroute, and
report which failures would open a forbidden path."""

from __future__ import annotations

import datetime as _dt
import difflib
import itertools
import re
from dataclasses import dataclass
from typing import Any

from .analysis import analyse, compile_network
from .errors import QueryError
from .fanout import fan_out
from .i18n import Message, joined, m
from .findings import Finding, Report
from .model import Lan, NodeKind, Profile, Topology
from .network import Network
from .policy.catalogue import rules_for
from .policy.check import verify
from .policy.context import Context
from .policy.exceptions import Register
from .policy.rules import FLOW_CHECKS
from .progress import counter, silenced


@dataclass(frozen=True, order=True)
class Scenario:
    down: tuple[str, ...] = ()
    fail_open: tuple[str, ...] = ()

    def __str__(self) -> str:
        return str(self.message())

    def message(self) -> Message:
        """``down a, b; fail-open fw`` (``as built`` when nothing fails), in any language."""
        parts = [m("whatif.down", names=joined(self.down))] if self.down else []
        if self.fail_open:
            parts.append(m("whatif.fail_open", names=joined(self.fail_open)))
        return m("whatif.scenario", parts=joined(parts, "whatif.and")) if parts else m("whatif.as_built")


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


def link_label(lan: Lan) -> str:
    """How a link is named to the user: an unnamed point-to-point link by its ends (``fw:eth1--rt:ge0``)."""
    if len(lan.endpoints) == 2 and re.fullmatch(r"link-\d+", lan.name):
        return "--".join(f"{n}:{i}" for n, i in lan.endpoints)
    return lan.name


def _link_names(topology: Topology) -> dict[str, str | None]:
    """Every spelling of a link -> its name in the model (None: the spelling is ambiguous).
    A link is its label, its name, its ends in either order, or its two nodes (``fw--rt``) if only one
    link joins them."""
    names: dict[str, str | None] = {}
    pairs: dict[str, list[str]] = {}
    for lan in topology.lans:
        names[lan.name] = names[link_label(lan)] = lan.name
        if len(lan.endpoints) == 2:
            (a, ai), (b, bi) = lan.endpoints
            names[f"{b}:{bi}--{a}:{ai}"] = lan.name
            for pair in (f"{a}--{b}", f"{b}--{a}"):
                pairs.setdefault(pair, []).append(lan.name)
    for pair, lans in pairs.items():
        names.setdefault(pair, lans[0] if len(set(lans)) == 1 else None)
    return names


def failure_candidates(topology: Topology) -> list[str]:
    """What can fail: every link and LAN, and every forwarding device (endpoints failing open nothing)."""
    lans = [link_label(lan) for lan in topology.lans]
    devices = [n.name for n in topology.nodes.values() if n.forwarding and n.kind is not NodeKind.EXTERNAL]
    return sorted(lans) + sorted(devices)


def _check_names(topology: Topology, names: tuple[str, ...], what: str, allowed: list[str],
                 aliases: dict[str, str | None] | None = None) -> tuple[str, ...]:
    """The names as the user should read them; a wrong one is an error listing the valid ones."""
    aliases = aliases or {}
    labels = {lan.name: link_label(lan) for lan in topology.lans}
    result = []
    for name in names:
        if name in allowed:
            result.append(name)
            continue
        if name in aliases:
            real = aliases[name]
            if real is None:
                raise QueryError(f"{name!r}: more than one link joins these nodes; name one by its ends "
                                 f"(node:interface--node:interface)")
            result.append(labels[real])
            continue
        close = difflib.get_close_matches(name, allowed + list(aliases), n=3)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        shown = ", ".join(allowed[:40]) + (f", ... ({len(allowed) - 40} more)" if len(allowed) > 40 else "")
        raise QueryError(f"{name!r} is not {what} of {topology.name}{hint}\nvalid: {shown}")
    return tuple(result)


@dataclass(frozen=True)
class _AsBuilt:
    """What every scenario needs, sent to each worker once: the topology, the options, and the
    fingerprints of the findings the network has as built (a scenario reports only new ones)."""

    topology: Topology
    profile: str | None
    today: _dt.date | None
    fingerprints: frozenset[str]


# The network as built, compiled once per process and shared by its scenarios, with the context of
# its verification: its propagations are where each scenario's start (a compiled network holds BDDs
# and does not travel to workers; each worker compiles it on its first scenario, and propagates what
# a scenario first asks for).
_compiled: tuple[_AsBuilt, Network, Context] | None = None


def _day(as_built: _AsBuilt) -> _dt.date:
    return as_built.today or _dt.date.today()


def _context(topology: Topology, net: Network, day: _dt.date, **options: Any) -> Context:
    return Context(topology, net, Register(net.space, topology.exceptions, day), day, **options)


def _as_built_network(as_built: _AsBuilt) -> tuple[Network, Context]:
    global _compiled
    if _compiled is None or _compiled[0] is not as_built:
        net = Network(as_built.topology)
        _compiled = (as_built, net, _context(as_built.topology, net, _day(as_built)))
    return _compiled[1], _compiled[2]


def _verify_scenario(as_built: _AsBuilt, net: Network, scenario: Scenario, before: Context) -> ScenarioResult:
    """The flow rules of the profile over the failed network, asked only for findings the network
    as built does not have (the other rules report no flows; a known finding's witness is not
    needed). The same findings, in the same order, as ``verify`` would give. Each propagation is
    the network as built's answer (``before``), updated for the packets whose way the failure meets."""
    topology = as_built.topology
    chosen = Profile(as_built.profile) if as_built.profile is not None else topology.profile
    ctx = _context(topology, net, _day(as_built), only_new=as_built.fingerprints, previous=before, ask_previous=True)
    selected = rules_for(chosen)
    found = [f for rule, flows in FLOW_CHECKS.items() if rule in selected for f in ctx.all_flow_findings(flows(ctx))]
    found.sort(key=Finding.sort_key)  # as a Report orders them
    return ScenarioResult(scenario, tuple(f for f in found if f.witness is not None))


def _failed(as_built: _AsBuilt, scenario: Scenario) -> tuple[frozenset[str], frozenset[str]]:
    model_names = {link_label(lan): lan.name for lan in as_built.topology.lans}
    return frozenset(model_names.get(name, name) for name in scenario.down), frozenset(scenario.fail_open)


def _run(as_built: _AsBuilt, scenario: Scenario) -> ScenarioResult:
    """One scenario, compiled into the space of the network as built (its ACLs, address sets and
    pools are not compiled again), asked only for what it opens."""
    base, before = _as_built_network(as_built)
    down, fail_open = _failed(as_built, scenario)
    net = Network(as_built.topology, down=down, fail_open=fail_open, shared_space=base.space, as_built=base)
    return _verify_scenario(as_built, net, scenario, before)


def _run_alone(as_built: _AsBuilt, scenario: Scenario) -> ScenarioResult:
    """The reference :func:`_run` must equal: the scenario compiled on its own and verified in full."""
    down, fail_open = _failed(as_built, scenario)
    net = Network(as_built.topology, down=down, fail_open=fail_open)
    report = verify(as_built.topology, profile=as_built.profile, today=as_built.today, network=net)
    opened = tuple(f for f in report.active if f.witness is not None and f.fingerprint not in as_built.fingerprints)
    return ScenarioResult(scenario, opened)


def whatif(topology: Topology, fail: tuple[str, ...] = (), fail_open: tuple[str, ...] = (), k_failures: int = 0,
           jobs: int = 1, profile: str | None = None, today: _dt.date | None = None,
           scheduler: str | None = None) -> WhatIfReport:
    """Play out the given failures, or every combination of ``k_failures`` failures.

    ``jobs`` worker processes, or the Dask cluster at ``scheduler``, share the scenarios
    (see :mod:`segverify.fanout`); the result does not depend on how they were spread."""
    links = sorted(link_label(lan) for lan in topology.lans)
    devices = sorted(n for n, node in topology.nodes.items() if node.pool is None)  # a pool is addresses, not a box
    fail = _check_names(topology, fail, "a node, link or LAN", links + devices, _link_names(topology))
    firewalls = sorted(n.name for n in topology.nodes.values() if n.acls or n.policy is not None)
    fail_open = _check_names(topology, fail_open, "a node with ACLs or policies", firewalls)
    global _compiled
    as_built_network = compile_network(topology)
    analysis = analyse(topology, profile, today, network=as_built_network)
    baseline = analysis.report
    base = frozenset(f.fingerprint for f in baseline.active)
    scenarios: list[Scenario] = []
    if fail or fail_open:
        scenarios.append(Scenario(tuple(sorted(fail)), tuple(sorted(fail_open))))
    if k_failures:
        candidates = failure_candidates(topology)
        scenarios += [Scenario(combo) for combo in itertools.combinations(candidates, k_failures)]
    if not scenarios:
        raise QueryError("nothing to play out: give --fail, --fail-open or --k-failures")
    as_built = _AsBuilt(topology, profile, today, base)
    _compiled = (as_built, as_built_network, analysis.context)  # scenarios run here start from the baseline's
    done = counter("what-if scenarios", len(scenarios))  # drawn here, on the outer line
    with silenced():  # one line, the scenario counter, not a line per scenario's verification
        try:
            results = fan_out(_run, as_built, scenarios, jobs=jobs, scheduler=scheduler, done=done)
        finally:
            _compiled = None
    return WhatIfReport(baseline, sorted(results, key=lambda r: r.scenario))
