"""whatif's scenarios share the compiled network as built and ask only for what a failure opens;
each scenario's propagations are the network as built's, updated for the packets whose way the
failure meets. The answer is byte for byte the one of compiling and verifying every scenario on its
own, and each updated propagation is, set by set, a full one of the failed network."""

from __future__ import annotations

import datetime as _dt
import random
import sys
from pathlib import Path

import pytest
from hypothesis import given

import segverify
from segverify import failures
from segverify.failures import WhatIfReport, whatif
from segverify.generate import generate
from segverify.model import Topology
from segverify.outputs.whatif import WHATIF_RENDERERS, render_whatif_text
from segverify.network import Network
from segverify.policy.check import verify
from segverify.reach import Reachability

sys.path.insert(0, str(Path(__file__).parent))
import randomnet  # noqa: E402
from test_diff_incremental import SEEDS, SETTINGS, assert_same_propagation  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = sorted((ROOT / "topologies").glob("*.yaml")) + [ROOT / "tests" / "data" / "whatif-backup-link.yaml"]
TODAY = _dt.date(2026, 11, 26)


def _alone(topology: Topology, fast: WhatIfReport, today: _dt.date) -> WhatIfReport:
    """The same scenarios, each compiled into its own network and verified with every rule."""
    baseline = verify(topology, today=today)
    as_built = failures._AsBuilt(topology, None, today, frozenset(f.fingerprint for f in baseline.active))
    return WhatIfReport(baseline, [failures._run_alone(as_built, r.scenario) for r in fast.results])


def _same(fast: WhatIfReport, alone: WhatIfReport) -> None:
    for fmt, render in WHATIF_RENDERERS.items():
        assert render(fast) == render(alone), fmt
    for lang in ("en", "ja"):
        assert render_whatif_text(fast, lang) == render_whatif_text(alone, lang)


def _firewalls(topology: Topology) -> list[str]:
    return sorted(n.name for n in topology.nodes.values() if n.acls or n.policy is not None)


@pytest.mark.parametrize("path", REFERENCE, ids=lambda p: p.stem)
def test_every_single_failure_of_a_reference_network_as_alone(path: Path) -> None:
    topology = segverify.load(str(path))
    fast = whatif(topology, k_failures=1, today=TODAY)
    assert len(fast.results) == len(failures.failure_candidates(topology))
    _same(fast, _alone(topology, fast, TODAY))


@pytest.mark.parametrize("path", REFERENCE, ids=lambda p: p.stem)
def test_a_firewall_failing_open_as_alone(path: Path) -> None:
    topology = segverify.load(str(path))
    fast = whatif(topology, fail_open=tuple(_firewalls(topology)[:1]), today=TODAY)
    _same(fast, _alone(topology, fast, TODAY))


def test_two_failures_at_once_open_the_backup_link_as_alone() -> None:
    topology = segverify.load(str(REFERENCE[-1]))
    fast = whatif(topology, k_failures=2, today=TODAY)
    assert fast.dangerous, "with the firewall down the backup link opens a forbidden path"
    _same(fast, _alone(topology, fast, TODAY))


def test_a_generated_prefecture_as_alone(tmp_path: Path) -> None:
    made = generate(2, 20, 10, "alpha", 2026, 3, tmp_path / "net")
    topology = segverify.load(str(tmp_path / "net"))
    today = _dt.date.fromisoformat(made.manifest["check_date"])
    fast = whatif(topology, k_failures=1, today=today)
    _same(fast, _alone(topology, fast, today))
    opened = whatif(topology, fail_open=tuple(_firewalls(topology)), today=today)
    assert opened.dangerous, "every firewall failing open lets the planted flows through"
    _same(opened, _alone(topology, opened, today))


def test_the_compiled_network_is_not_kept_after_the_run() -> None:
    whatif(segverify.load(str(REFERENCE[-1])), k_failures=1, today=TODAY)
    assert failures._compiled is None


def test_a_scenario_network_takes_untouched_nodes_from_the_network_as_built() -> None:
    topology = segverify.load(str(REFERENCE[-1]))
    from segverify.network import Network

    base = Network(topology)
    link = next(lan for lan in topology.lans if len(lan.endpoints) == 2)
    failed = Network(topology, down=frozenset({link.name}), shared_space=base.space, as_built=base)
    alone = Network(topology, down=frozenset({link.name}), shared_space=base.space)
    ends = {n for n, _ in link.endpoints}
    assert failed.transfers == alone.transfers
    assert all(failed.nodes[n] is base.nodes[n] for n in failed.nodes if n not in ends)
    assert all(failed.nodes[n] is not base.nodes[n] for n in ends)
    with pytest.raises(ValueError):
        Network(topology, down=frozenset({link.name}), as_built=base)  # not in the shared space


@SETTINGS
@given(seed=SEEDS, choice=SEEDS)
def test_a_scenario_propagation_updated_from_the_network_as_built_is_the_full_one(seed: int, choice: int) -> None:
    """Random networks (tests/randomnet.py), a random failure: one or two devices or LANs down, or a
    firewall failing open; all sources, and a waypoint question (some nodes blocked, some sources)."""
    topology = segverify.loads(randomnet.generate(seed), name=f"random-{seed}.yaml")
    rng = random.Random(choice)
    candidates = failures.failure_candidates(topology)
    firewalls = _firewalls(topology)
    as_built = Network(topology)
    if firewalls and rng.random() < 0.25:
        down, fail_open = frozenset(), frozenset(rng.sample(firewalls, 1))
    else:
        names = {failures.link_label(lan): lan.name for lan in topology.lans}
        down = frozenset(names.get(c, c) for c in rng.sample(candidates, min(len(candidates), rng.choice((1, 2)))))
        fail_open = frozenset()
    failed = Network(topology, down=down, fail_open=fail_open, shared_space=as_built.space, as_built=as_built)
    nodes = sorted(failed.nodes)
    blocked = frozenset(rng.sample(nodes, min(len(nodes) - 1, rng.randrange(3))))
    chosen = rng.sample(failed.endpoints, max(1, len(failed.endpoints) // 2))
    context = f"random network seed {seed}, down {sorted(down)}, failing open {sorted(fail_open)}"
    for question in ({}, {"blocked": blocked, "sources": chosen}):
        before = Reachability(as_built, **question)  # type: ignore[arg-type]
        full = Reachability(failed, **question)  # type: ignore[arg-type]
        updated = Reachability(failed, previous=before, **question)  # type: ignore[arg-type]
        assert updated.repropagated is not None, f"{context}: not updated"
        assert_same_propagation(full, updated, f"{context}, {question or 'all sources'}")
