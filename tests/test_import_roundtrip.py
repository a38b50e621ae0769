"""Kernel round trip for netfilter: a random network is built in namespaces by the emulator, each
node dumped as a Linux host would be (``ip -j addr``, ``ip -j route``, ``nft -j list ruleset``,
``ip_forward``), the dumps imported as a snapshot, and the imported model's reachability between
endpoints compared with the original model's: the pairs that reach each other exactly, and for
each pair every header of a new flow (BDD equality). A policy line's own source NAT is in the dump
as the emulator renders it, a packet mark set by the line and a postrouting NAT rule on the mark:
the import must put the two back together.

The imported model is also held against the kernel itself: the emulator sends its probes through
the original's rendering and every arrival must be what the engine says on the IMPORTED model
(the emulator's own comparison, with the import as the judge).

Needs root, iproute2 and nftables (skips without them outside CI, fails under CI=true).
SEGVERIFY_ROUNDTRIP_SEEDS sets how many random networks (default 20), SEGVERIFY_ROUNDTRIP_KERNEL_SEEDS
how many of them are also probed in the kernel (default 5).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

import randomnet
import segverify
from conftest import require_environment
from segverify.emulate import emulate, format_text, netns
from segverify.emulate.plan import make_plan
from segverify.emulate.run import Lab
from segverify.errors import EnvironmentProblem
from segverify.importers import NoteKind, load_snapshot
from segverify.network import Network, space_for
from segverify.reach import Reachability

SEEDS = range(int(os.environ.get("SEGVERIFY_ROUNDTRIP_SEEDS", "20")))
KERNEL_SEEDS = range(int(os.environ.get("SEGVERIFY_ROUNDTRIP_KERNEL_SEEDS", "5")))
OVERLAY_KEYS = ("kind", "role", "sanitizer", "represents", "mfa", "removable_media", "epp", "edr", "allow")
# The emulator's own machinery, not part of the model: the guard that keeps nodes from sending
# anything but probes (meta mark != PROBE_MARK drop, left out of the import with a note).
EMULATOR_GUARD = "output_guard"


def _problem() -> str | None:
    try:
        netns.check_environment()
    except EnvironmentProblem as exc:
        return str(exc)
    return None


def _pairs(topology: segverify.Topology) -> set[tuple[str, str]]:
    net = Network(topology)
    reach = Reachability(net)
    # Devices only: pools of unowned addresses are named after their LAN, which an import names anew.
    ends = [e for e in reach.endpoints if topology.nodes[e].pool is None]
    return {(a, b) for a in ends for b in ends if a != b and reach.received([a], [b]) != net.space.false}


def _header_differences(original: segverify.Topology, imported: segverify.Topology) -> dict[tuple[str, str], str]:
    """Pairs whose new flows (every header as sent) differ between the two models: 'more' where
    the import lets more through, 'less' where fewer, 'both'."""
    space = space_for(original, imported)
    before, after = (Reachability(Network(t, shared_space=space)) for t in (original, imported))
    ends = [e for e in before.endpoints if original.nodes[e].pool is None]
    out = {}
    for a in ends:
        for b in ends:
            if a == b:
                continue
            x = before.sent_headers([a], [b]) & space.new_flow
            y = after.sent_headers([a], [b]) & space.new_flow
            if x != y:
                out[(a, b)] = "more" if x & ~y == space.false else "less" if y & ~x == space.false else "both"
    return out


def _dump(seed: int, root: Path) -> segverify.Topology:
    raw = randomnet.generate_dict(seed, vrfs=False)  # the host importer reads no VRF tables (ip rule) yet
    topology = segverify.loads(randomnet.dump(raw), name=f"random-{seed}.yaml")
    plan = make_plan(topology, netns.new_run_tag(), Reachability(Network(topology)).endpoints)
    lab = Lab(plan)
    devices = [p for p in plan.nodes.values() if topology.nodes[p.node].pool is None]  # pools are implicit
    try:
        lab.build()
        for p in devices:
            host = root / "hosts" / p.node
            host.mkdir(parents=True)
            for name, command in (("addr.json", ["ip", "-j", "addr"]), ("route.json", ["ip", "-j", "route"]),
                                  ("nft.json", ["nft", "-j", "list", "ruleset"]),
                                  ("ip_forward", ["cat", "/proc/sys/net/ipv4/ip_forward"])):
                done = subprocess.run(["ip", "netns", "exec", p.netns, *command], capture_output=True, text=True,
                                      check=True)
                (host / name).write_text(done.stdout)
    finally:
        lab.teardown()
    # The overlay: what a dump cannot say (zones, kinds, sanitizers, what external nodes stand for),
    # naming the kernel's interface names as an administrator's overlay names the configured ones.
    overlay = {k: raw[k] for k in ("zones", "networks", "services") if raw.get(k)}
    overlay.update({"segverify": 1, "name": f"round trip {seed}", "profile": raw["profile"], "nodes": {}})
    for p in devices:
        spec = {k: v for k, v in raw["nodes"][p.node].items() if k in OVERLAY_KEYS}
        spec["interfaces"] = {kernel: {"zone": raw["nodes"][p.node]["interfaces"][model]["zone"]}
                              for model, kernel in p.ifname.items()}
        overlay["nodes"][p.node] = spec
    (root / "segverify.yaml").write_text(yaml.safe_dump(overlay, allow_unicode=True))
    return topology


def _round_trip(seed: int, root: Path) -> tuple[segverify.Topology, segverify.Topology]:
    """Random network ``seed`` (needs the emulation environment), its kernel state dumped as a
    snapshot under ``root``, and the import of that snapshot."""
    problem = _problem()
    require_environment("emulation (root, ip, nft)", problem is None, problem or "")
    original = _dump(seed, root)
    return original, segverify.load(root)


@pytest.mark.parametrize("seed", SEEDS)
def test_dumped_kernel_state_imports_to_the_same_reachability(tmp_path: Path, seed: int) -> None:
    root = tmp_path / "snap"
    original, imported = _round_trip(seed, root)
    before, after = _pairs(original), _pairs(imported)
    notes = load_snapshot(root).notes.sorted()
    shown = [str(n) for n in notes if n.kind is not NoteKind.WARNING and EMULATOR_GUARD not in n.text]
    # Exactly the same pairs: an import that widens a rule the kernel holds exactly is a bug here,
    # even when it says so in a note (the notes are printed to show which line was widened).
    assert after == before, (f"lost {sorted(before - after)}, extra {sorted(after - before)}; notes:\n"
                             + "\n".join(shown))
    # Header-exact: the same headers for every pair, policy-line NAT included.
    differences = _header_differences(original, imported)
    assert not differences, f"headers differ: {differences}; notes:\n" + "\n".join(shown)
    assert not [n for n in notes if "packet mark" in n.message], "a policy line's mark-carried NAT was not followed"


@pytest.mark.parametrize("seed", KERNEL_SEEDS)
def test_the_kernel_agrees_with_the_imported_model(tmp_path: Path, seed: int) -> None:
    original, imported = _round_trip(seed, tmp_path / "snap")
    # The devices are compared (the pools of the original are not dumped; the import names its
    # own after the LANs it derives): the same scope as the comparison of the two models above.
    result = emulate(original, judge=imported)
    devices = {n for n, node in original.nodes.items() if node.pool is None}
    compared = [o for o in result.outcomes if o.probe.src_node in devices]
    assert compared and len(compared) == len(result.outcomes)
    assert not result.disagreements, format_text(result, verbose=True)
