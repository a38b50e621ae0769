"""Build the topology in namespaces, send the probes, and compare what arrived with the engine.

For every probe the engine's answer is the set of receivers ``e`` (endpoints, and the routers and
firewalls of :func:`probes.device_receivers` for traffic to their own addresses) with
``Reachability(Network(topo)).flows(src, e).contains(packet)``; the kernel's answer is the set of
receiving namespaces where the probe was delivered locally. They must be equal.

Arrivals are read from raw IP sockets, one per probed protocol in every receiving namespace: the
kernel hands those a copy of each datagram only after the input hook (the node's acl_in) let it
through and routing delivered it locally, which is exactly the model's "delivered". Sending goes
through raw sockets as well (``IP_HDRINCL``), so a probe takes the kernel's route lookup, the
output hook (acl_out) and source NAT like any locally generated packet. Every namespace drops what
its kernel generates itself (resets, ICMP errors and echo replies): answers would otherwise turn
later probes into "established" traffic for the stateful ACLs.

Equal-cost routes are multipath routes, and the kernel hashes each packet onto one path while the
engine takes them all. When the network has any and a probe arrived at fewer endpoints than the
engine says, the probe is sent again with each combination of single paths in turn (conntrack
flushed between them) and the union of arrivals counts.
"""

from __future__ import annotations

import itertools
import os
import select
import socket
import struct
import time
import zlib
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

from ..errors import ToolFailed
from ..escape import one_line
from ..headers import ICMP, HeaderSet
from ..model import PORTED_PROTOCOLS, NatType, NodeKind, Topology
from . import netns, probes as probes_mod
from .nftables import PROBE_MARK
from .plan import NEIGH_QUEUE, Plan, make_plan
from .probes import Probe

if TYPE_CHECKING:
    from ..network import Network

SO_MARK = 36
SO_RCVBUFFORCE = 33
# A round ends after QUIET seconds without arrivals while the engine still expects some, and after
# SETTLED seconds once every arrival it expects is in. Probes cross the namespaces within the
# sender's own system call (measured: the slowest round of 938 probes had its last arrival 4.8 ms
# after its first send). A probe that comes later still counts: arrivals are read by probe, in
# every later round's wait and in the last sweep after all rounds (LAST_SWEEP of quiet).
QUIET = 0.2
SETTLED = 0.05
LAST_SWEEP = 0.5
MAX_WAIT = 5.0
MAX_VARIANTS = 16


@dataclass(frozen=True)
class Outcome:
    probe: Probe
    expected: frozenset[str]
    observed: frozenset[str]
    note: str = ""
    # The probe leaves a source NAT with a choice of addresses or ports on its way: the kernel
    # takes one, while the engine says a receiver gets it when some translation gets through
    # (docs/format.md). Then the kernel may reach fewer receivers, never others.
    translation_chosen: bool = False

    @property
    def agrees(self) -> bool:
        if self.translation_chosen:
            return self.observed <= self.expected
        return self.expected == self.observed

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.probe.id,
            "src": self.probe.src_node,
            "packet": self.probe.packet.to_dict(),
            "reason": self.probe.reason,
            "engine": sorted(self.expected),
            "kernel": sorted(self.observed),
            "agrees": self.agrees,
            "note": self.note,
        }


@dataclass
class EmulationResult:
    topology: str
    outcomes: list[Outcome]
    zones: dict[str, tuple[str, str]] = field(default_factory=dict)  # probe id -> (source zone, destination zone)
    names: list[tuple[str, str, str]] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # namespaces left in place (keep=True)
    variants: int = 0  # equal-cost path combinations tried

    @property
    def agreements(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.agrees]

    @property
    def disagreements(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.agrees]

    @property
    def exit_code(self) -> int:
        return 1 if self.disagreements else 0

    def to_dict(self) -> dict[str, object]:
        return {
            "topology": self.topology,
            "probes": len(self.outcomes),
            "agreements": len(self.agreements),
            "disagreements": [o.to_dict() for o in self.disagreements],
            "kept": self.kept,
        }


class Lab:
    """The namespaces of one run and the sockets opened in them."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.created: list[str] = []
        self.receivers: dict[socket.socket, str] = {}
        self.senders: dict[str, socket.socket] = {}

    def ns(self, name: str) -> netns.Namespace:
        return netns.Namespace(name)

    def build(self) -> None:
        plan = self.plan
        names = plan.namespaces
        # Record before creating, so a failure half way still removes what exists.
        self.created = list(names)
        netns.run_ip([], batch=[line for line in plan.root_lines if line.startswith("netns add")])
        for p in plan.nodes.values():
            self.ns(p.netns).sysctl(p.sysctls)
            self.ns(p.netns).sysctl(plan_optional(), optional=True)
        for lp in plan.lans:
            if lp.netns:
                self.ns(lp.netns).sysctl([("net.ipv6.conf.all.disable_ipv6", "1"),
                                          ("net.ipv6.conf.default.disable_ipv6", "1")])
                self.ns(lp.netns).sysctl([("net.bridge.bridge-nf-call-iptables", "0"),
                                          ("net.bridge.bridge-nf-call-arptables", "0")], optional=True)
        netns.run_ip([], batch=[line for line in plan.root_lines if not line.startswith("netns add")])
        for p in plan.nodes.values():
            key, value = NEIGH_QUEUE
            self.ns(p.netns).sysctl([(f"net/ipv4/neigh/{k}/{key}", value) for k in p.ifname.values()])
        nft = netns.tool("nft") or "nft"
        for lp in plan.lans:
            if lp.netns:
                netns.run_ip([], batch=lp.ip_lines, netns=lp.netns)
                ruleset = plan.lan_rulesets.get(lp.netns)
                if ruleset:
                    done = self.ns(lp.netns).exec([nft, "-f", "-"], input=ruleset)
                    if done.returncode != 0:
                        raise ToolFailed(f"nft -f - in {lp.netns}", done.stderr, f"nft rejected the ruleset of LAN {lp.name}")
        for p in plan.nodes.values():
            netns.run_ip([], batch=p.ip_lines, netns=p.netns)
            done = self.ns(p.netns).exec([nft, "-f", "-"], input=p.ruleset)
            if done.returncode != 0:
                raise ToolFailed(f"nft -f - in {p.netns}", done.stderr, f"nft rejected the ruleset of {p.node}")

    def open_sockets(self, protocols: Iterable[int], sources: Iterable[str], receivers: Iterable[str]) -> None:
        wanted = set(receivers)
        for p in self.plan.nodes.values():
            if p.node not in wanted:
                continue
            with self.ns(p.netns).entered():
                for proto in sorted(set(protocols)):
                    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, proto)
                    s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 16 * 1024 * 1024)
                    s.setblocking(False)
                    self.receivers[s] = p.node
        for node in sorted(set(sources)):
            with self.ns(self.plan.nodes[node].netns).entered():
                s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
                s.setsockopt(socket.SOL_SOCKET, SO_MARK, PROBE_MARK)
                self.senders[node] = s

    def close(self) -> None:
        for s in list(self.receivers) + list(self.senders.values()):
            s.close()
        self.receivers.clear()
        self.senders.clear()

    def drain(self, run: int, arrivals: dict[int, set[str]], timeout: float) -> int:
        got = 0
        ready, _, _ = select.select(list(self.receivers), [], [], timeout)
        for s in ready:
            while True:
                try:
                    data = s.recv(65535)
                except BlockingIOError:
                    break
                decoded = probes_mod.decode(data)
                if decoded is not None and decoded[0] == run:
                    arrivals.setdefault(decoded[1], set()).add(self.receivers[s])
                    got += 1
        return got

    def send_round(self, run: int, batch: Sequence[tuple[Probe, bytes]], arrivals: dict[int, set[str]],
                   errors: dict[int, str], awaited: dict[int, frozenset[str]]) -> None:
        """Send ``batch`` and read arrivals until the round is quiet: for QUIET seconds, or for
        SETTLED seconds once every probe has reached all of ``awaited`` (its receivers by the
        engine, its sender left out)."""
        for k, (probe, data) in enumerate(batch):
            netns.check_interrupted()
            try:
                self.senders[probe.src_node].sendto(data, (str(probe.packet.dst), 0))
            except OSError as exc:
                # EPERM: the sender's own acl_out dropped it; ENETUNREACH: no route. Both are
                # "not delivered", which the comparison sees; keep the reason for the table.
                errors.setdefault(probe.id, os.strerror(exc.errno) if exc.errno else str(exc))
            if k % 64 == 63:
                self.drain(run, arrivals, 0)

        def settled() -> bool:
            return all(awaited[p.id] <= arrivals.get(p.id, set()) for p, _data in batch)

        self.wait_quiet(run, arrivals, settled)

    def wait_quiet(self, run: int, arrivals: dict[int, set[str]], settled: Callable[[], bool] | None = None,
                   quiet_for: float = QUIET) -> None:
        """Read arrivals until none came for ``quiet_for`` seconds (SETTLED once ``settled()``)."""
        start = time.monotonic()
        deadline = start + MAX_WAIT
        last = start
        while True:
            quiet = SETTLED if settled is not None and settled() else quiet_for
            now = time.monotonic()
            if now >= min(deadline, last + quiet):
                return
            netns.check_interrupted()
            if self.drain(run, arrivals, min(0.02, max(0.0, last + quiet - now))):
                last = time.monotonic()

    def flush_conntrack(self) -> None:
        for p in self.plan.nodes.values():
            netns.check_interrupted()
            with self.ns(p.netns).entered():
                _flush_conntrack()

    def apply(self, lines_by_ns: dict[str, list[str]]) -> None:
        for ns, lines in lines_by_ns.items():
            if lines:
                netns.run_ip([], batch=lines, netns=ns)

    def teardown(self) -> list[str]:
        self.close()
        with netns.signals_deferred():
            return netns.delete_namespaces(self.created)


def plan_optional() -> list[tuple[str, str]]:
    from .plan import OPTIONAL_SYSCTLS

    return list(OPTIONAL_SYSCTLS)


def _flush_conntrack() -> None:
    """Empty this namespace's conntrack table (ctnetlink IPCTNL_MSG_CT_DELETE without a tuple)."""
    try:
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)  # NETLINK_NETFILTER
    except OSError:
        return
    try:
        payload = struct.pack("=BBH", socket.AF_INET, 0, 0)
        header = struct.pack("=IHHII", 16 + len(payload), (1 << 8) | 2, 0x1 | 0x4, 1, 0)
        s.sendto(header + payload, (0, 0))
        s.settimeout(1.0)
        try:
            s.recv(4096)
        except OSError:
            pass
    finally:
        s.close()


def _rounds(batch: Sequence[tuple[Probe, bytes]], nat: bool = False) -> list[list[tuple[Probe, bytes]]]:
    """Split probes so that no two in one round can meet in conntrack.

    Conntrack would take a probe's mirror image for the answer to it (for protocols without ports,
    any packet back between the same two addresses is), and a stateful ACL would let it in as
    "established". Where the network translates addresses (``nat``), two probes of a protocol
    without ports (GRE, ESP, ...) can also leave a NAT with one and the same tuple: the kernel has no
    port to make the second unique and drops it, although each on its own is delivered (the
    engine's question). So a round then holds at most one probe of each such protocol. Conntrack is
    flushed between rounds.
    """
    rounds: list[tuple[set[tuple[object, ...]], list[tuple[Probe, bytes]]]] = []
    for item in batch:
        p = item[0].packet
        key: tuple[object, ...] = (p.proto, p.src, p.sport, p.dst, p.dport)
        mirror: tuple[object, ...] = (p.proto, p.dst, p.dport, p.src, p.sport)
        portless = nat and p.proto not in PORTED_PROTOCOLS and p.proto != ICMP
        for keys, members in rounds:
            if mirror not in keys and not (portless and ("portless", p.proto) in keys):
                break
        else:
            keys, members = set(), []
            rounds.append((keys, members))
        keys.add(key)
        if portless:
            keys.add(("portless", p.proto))
        members.append(item)
    return [members for _keys, members in rounds]


def _translates(topology: Topology) -> bool:
    """Whether any node rewrites addresses (interface NAT or a policy line's source NAT)."""
    return any(n.nat or (n.policy is not None and any(line.snat for line in n.policy.lines))
               for n in topology.nodes.values())


def _variants(plan: Plan) -> list[dict[str, list[str]]]:
    """Route changes that pin every equal-cost group to one path, one dict per combination."""
    groups = [(p.netns, options) for p in plan.nodes.values() for _prefix, options in p.multipath]
    if not groups:
        return []
    sizes = [len(options) for _ns, options in groups]
    total = 1
    for n in sizes:
        total *= n
    if total <= MAX_VARIANTS:
        combos: Iterable[tuple[int, ...]] = itertools.product(*(range(n) for n in sizes))
    else:
        # Too many for all: every pair of groups in every combination of their paths (a packet
        # seldom crosses more than two groups: a pool's choice of gateway and one more), the rest on
        # one path each; tried only while some probe still misses a receiver.
        diagonal = [tuple(v % n for n in sizes) for v in range(max(sizes))]
        pairs = []
        for i, j in itertools.combinations(range(len(sizes)), 2):
            for a, b in itertools.product(range(sizes[i]), range(sizes[j])):
                pinned = [0] * len(sizes)
                pinned[i], pinned[j] = a, b
                pairs.append(tuple(pinned))
        combos = list(dict.fromkeys(diagonal + pairs))
    out = []
    for combo in combos:
        lines: dict[str, list[str]] = {}
        for (ns, options), choice in zip(groups, combo):
            lines.setdefault(ns, []).append(options[choice])
        out.append(lines)
    return out


def _restore(plan: Plan) -> dict[str, list[str]]:
    lines: dict[str, list[str]] = {}
    for p in plan.nodes.values():
        for prefix, options in p.multipath:
            hops = " ".join("nexthop " + o.split(f"route replace {prefix} ", 1)[1] for o in options)
            lines.setdefault(p.netns, []).append(f"route replace {prefix} {hops}")
    return lines


def expected_receivers(reach: object, endpoints: Sequence[str], probe: Probe,
                       cache: dict[tuple[str, str], HeaderSet]) -> frozenset[str]:
    got = set()
    for e in endpoints:
        key = (probe.src_node, e)
        flows = cache.get(key)
        if flows is None:
            flows = cache[key] = reach.flows(probe.src_node, e)  # type: ignore[attr-defined]
        if flows.contains(probe.packet):
            got.add(e)
    return frozenset(got)


def emulate(topology: Topology, probes: int | None = None, keep: bool = False, seed: int = 0,
            judge: Topology | None = None) -> EmulationResult:
    """Replay ``topology`` in network namespaces and compare every probe with the engine.

    ``probes``: how many probes to send (the systematic set is cut down or filled up with seeded
    random ones); None sends the systematic set. ``keep`` leaves the namespaces in place for
    inspection (``ip netns list``); remove them later with :func:`cleanup`.

    ``judge``: another model of the same network (say, the import of this one's dumped rule sets)
    whose engine answers instead of ``topology``'s: the kernel still runs ``topology``, and the
    probes are both models' systematic sets (the judge's tests its own lines). Only the endpoints
    both models name alike are compared: probes from the others are not sent and arrivals there
    are left out of both sides.
    """
    from ..network import Network
    from ..reach import Reachability

    netns.check_environment()
    reach = Reachability(Network(topology))
    endpoints = list(reach.endpoints)
    receivers = endpoints + probes_mod.device_receivers(topology, reach)
    chosen = probes_mod.choose(topology, reach, probes, seed)
    engine, compared = reach, list(receivers)
    if judge is not None:
        engine = Reachability(Network(judge))
        theirs = set(engine.endpoints) | set(probes_mod.device_receivers(judge, engine))
        compared = [e for e in receivers if e in theirs]
        own = [replace(p, reason=f"{p.reason} (judge)") for p in probes_mod.choose(judge, engine, probes, seed)]
        merged: list[Probe] = []
        seen: set[tuple[str, object]] = set()
        for p in chosen + own:
            if p.src_node in compared and (p.src_node, p.packet) not in seen:
                seen.add((p.src_node, p.packet))
                merged.append(replace(p, id=len(merged) + 1))
        chosen = merged
    cache: dict[tuple[str, str], HeaderSet] = {}
    expected = {p.id: expected_receivers(engine, compared, p, cache) for p in chosen}
    awaited = {p.id: frozenset(expected[p.id] - {p.src_node}) for p in chosen}
    tag = netns.new_run_tag()
    plan = make_plan(topology, tag, endpoints)
    run = zlib.crc32(tag.encode())
    encoded = [(p, probes_mod.encode(p, run)) for p in chosen]
    arrivals: dict[int, set[str]] = {}
    errors: dict[int, str] = {}
    lab = Lab(plan)
    kept: list[str] = []
    variants_tried = 0
    with netns.signals_flagged():
        try:
            lab.build()
            lab.open_sockets({p.packet.proto for p in chosen} or {1}, {p.src_node for p in chosen}, compared)
            nat = _translates(topology)
            for k, batch in enumerate(_rounds(encoded, nat)):
                if k:
                    lab.flush_conntrack()
                lab.send_round(run, batch, arrivals, errors, awaited)
            missing = [(p, b) for p, b in encoded if not awaited[p.id] <= arrivals.get(p.id, set())]
            if missing:
                for lines in _variants(plan):
                    lab.apply(lines)
                    for batch in _rounds(missing, nat):
                        lab.flush_conntrack()
                        lab.send_round(run, batch, arrivals, errors, awaited)
                    variants_tried += 1
                    missing = [(p, b) for p, b in missing if not awaited[p.id] <= arrivals.get(p.id, set())]
                    if not missing:
                        break
                if variants_tried:
                    lab.apply(_restore(plan))
            lab.wait_quiet(run, arrivals, quiet_for=LAST_SWEEP)  # anything late is still read
        finally:
            if keep:
                lab.close()
                kept = list(lab.created)
            else:
                lab.teardown()
    outcomes = []
    for p in chosen:
        # A packet for the sender itself never leaves it (the model's rule, and the kernel's
        # loopback): that is no flow between two endpoints, so the sender is left out of both sides.
        got = set(arrivals.get(p.id, ())) & set(compared)
        note = "stays at the sender" if p.src_node in got else ""
        observed = frozenset(got - {p.src_node})
        if not observed and not note:
            note = errors.get(p.id, "")
        wanted = awaited[p.id]
        picked = observed < wanted and _chooses_translation(engine.network, p)
        if picked:
            note = "the kernel chose one source translation; the engine: some translation gets through"
        outcomes.append(Outcome(p, wanted, observed, note, picked))
    zones = {str(p.id): _zone_of_packet(topology, p) for p in chosen}
    return EmulationResult(topology.name, outcomes, zones, plan.names, kept, variants_tried)


def _chooses_translation(net: Network, probe: Probe) -> bool:
    """Whether the probe, on some path the engine has for it, leaves a source NAT that picks one of
    several addresses or ports (a pool), where the kernel's pick is one of the engine's many."""
    from ..trace import source_nat_rule, trace

    for path in trace(net, probe.src_node, probe.packet):
        for hop in path.hops:
            if hop.out_iface is None:
                continue
            rule = source_nat_rule(net, hop.node, hop.in_iface, hop.out_iface, hop.packet)
            if rule is not None and rule.type is NatType.SOURCE and (
                    rule.ports is not None or rule.pool[0] != rule.pool[1]):
                return True
    return False


def cleanup(force: bool = False) -> list[str]:
    """Remove namespaces left by earlier runs (segverify's prefix only); return their names."""
    return netns.cleanup(force)


# -- text ------------------------------------------------------------------------------------------


def _set(names: Iterable[str]) -> str:
    names = sorted(names)
    return ", ".join(names) if names else "-"


def _zone_of_packet(topo: Topology, probe: Probe) -> tuple[str, str]:
    src = topo.nodes[probe.src_node]
    src_zone = src.interfaces[0].zone if src.interfaces else "-"
    dst_zone = "-"
    best = -1
    for n in topo.nodes.values():
        for i in n.interfaces:
            if i.address is not None and i.address.ip == probe.packet.dst:
                return src_zone, i.zone
        if n.kind is NodeKind.EXTERNAL and n.interfaces:
            for net in n.represents:
                if probe.packet.dst in net and net.prefixlen > best:
                    best, dst_zone = net.prefixlen, n.interfaces[0].zone
    for n in topo.nodes.values():
        for rule in n.nat:
            if rule.inside is not None and rule.translated == probe.packet.dst:
                return src_zone, f"{n.interface(rule.interface).zone} (NAT)"
    return src_zone, dst_zone


def zone_table(result: EmulationResult) -> str:
    """Probes per ordered pair of zones (source node's zone, zone of the destination address)."""
    counts: dict[tuple[str, str], list[int]] = {}
    for o in result.outcomes:
        key = result.zones.get(str(o.probe.id), ("-", "-"))
        c = counts.setdefault(key, [0, 0, 0])
        c[0] += 1
        c[1 if o.agrees else 2] += 1
    rows = [("from zone", "to zone", "probes", "agree", "disagree")]
    rows += [(a, b, str(c[0]), str(c[1]), str(c[2])) for (a, b), c in sorted(counts.items())]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  " + "  ".join(c.rjust(w) if k >= 2 else c.ljust(w) for k, (c, w) in
                                        enumerate(zip(r, widths))).rstrip() for r in rows)


def format_text(result: EmulationResult, verbose: bool = False) -> str:
    """The agreement/disagreement table: one line per disagreement (per probe with ``verbose``)."""
    lines = [f"emulate {one_line(result.topology)}: {len(result.outcomes)} probes, "
             f"{len(result.agreements)} agree, {len(result.disagreements)} disagree"]
    shown = result.outcomes if verbose else result.disagreements
    if shown:
        rows = [("id", "verdict", "from", "packet", "engine delivers to", "kernel delivered to", "why probed")]
        for o in shown:
            verdict = "agree" if o.agrees else "DISAGREE"
            kernel = _set(o.observed) + (f" ({o.note})" if o.note else "")
            rows.append((str(o.probe.id), verdict, o.probe.src_node, str(o.probe.packet), _set(o.expected),
                         kernel, o.probe.reason))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
        for r in rows:
            lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1])
    lines.append("")
    lines.append(zone_table(result))
    if result.variants:
        lines.append(f"equal-cost paths: {result.variants} path combinations tried")
    if result.kept:
        lines.append("kept namespaces (remove with: segverify emulate --cleanup): " + " ".join(result.kept))
    if result.disagreements:
        lines.append("a disagreement means the engine or the kernel rendering is wrong; either is a bug.")
    return "\n".join(lines) + "\n"
