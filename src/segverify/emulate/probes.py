"""Choose the probes of an emulation run and turn them into bytes.

The probes cover, deterministically:

* every ordered pair of endpoints, each of TCP (SYN), UDP and ICMP: a packet the engine says is
  delivered when there is one (``HeaderSet.pick`` on the flows restricted to that protocol), and
  a plain one (tcp/80, udp/53, icmp) whatever the engine says;
* every line of every ACL in use: one packet that matches the line ("hit") and one that just misses
  it ("miss": another port, protocol or address), from each of a few sources that may send it;
* traffic to the devices' own addresses (routers and firewalls without VRFs, see
  :func:`device_receivers`): from a few senders, plain services and those of the device's
  policy lines, so acl_in and local policies meet the kernel's input hook;
* when a number of probes is asked for, seeded random pairs and services up to that number (or the
  systematic set cut down to it, evenly over its kinds).

Addresses the kernel treats by convention rather than by route (0/8, loopback, multicast, class E,
limited and directed broadcast) are never used: the model has no such notion, so a probe there
would measure the convention, not the model. Each probe carries its id in its payload (for SCTP in
the INIT tag), so receivers tell probes apart whatever NAT did to the headers.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from typing import Iterable, Iterator, Sequence

from ..headers import Bdd, HeaderSet, Packet
from ..model import PORTED_PROTOCOLS, Match, NatType, NodeKind, Topology
from ..network import Network
from ..pools import stands_for
from ..reach import Reachability

TCP, UDP, ICMP, SCTP, GRE = 6, 17, 1, 132, 47
# A GRE version 0 header without options, carrying an experimental EtherType (RFC 9542): the
# kernel's NAT drops GRE of an unknown version when it rewrites the destination, so the tag alone
# (which reads as version 7) would be lost where a real GRE packet passes.
GRE_HEADER = struct.pack("!HH", 0, 0x88B5)
ECHO_REQUEST = 8
MAGIC = b"SGVP"
DEFAULT_SPORT = 40000
PLAIN = ((TCP, 80), (UDP, 53), (ICMP, 0))
_MARTIAN = tuple(IPv4Network(n) for n in ("0.0.0.0/8", "127.0.0.0/8", "224.0.0.0/4", "240.0.0.0/4"))


@dataclass(frozen=True)
class Probe:
    id: int
    src_node: str
    packet: Packet
    reason: str  # why it was chosen, e.g. "pair", "fw acl 'in' line 3 hit"


class Addresses:
    """Which addresses a node may send from, and which addresses make sense as probe ends."""

    def __init__(self, topo: Topology, network: Network) -> None:
        self.topo = topo
        self.network = network
        self._origin: dict[str, Bdd] = {}
        self.internal = {a for n in topo.nodes.values() if n.kind is not NodeKind.EXTERNAL for a in n.addresses}
        self.broadcast = {i.address.network.broadcast_address for n in topo.nodes.values() for i in n.interfaces
                          if i.address is not None and i.address.network.prefixlen <= 30}

    def usable(self, addr: IPv4Address) -> bool:
        return not any(addr in n for n in _MARTIAN) and addr not in self.broadcast

    def can_send(self, node: str, src: IPv4Address) -> bool:
        """Whether the model lets ``node`` send from ``src``: asked of the engine itself, so probes
        follow its rule (own addresses; for an external node what it represents less the addresses
        used inside, NAT included, and less more specific external ranges)."""
        if node not in self._origin:
            self._origin[node] = self.network.space.without_origin_copies(self.network.origin_headers(node))
        space = self.network.space
        return (self._origin[node] & space.address("src", src)) != space.false

    def candidates(self, nets: Sequence[IPv4Network]) -> Iterator[IPv4Address]:
        """A few addresses of each network: first host, second, last host, middle."""
        for net in nets:
            size = net.num_addresses
            base = int(net.network_address)
            offsets = [0] if size == 1 else [1, 2, size - 2, size // 2, 0]
            for off in offsets:
                if 0 <= off < size:
                    yield IPv4Address(base + off)

    def sources(self, node: str, within: Sequence[IPv4Network] | None = None) -> list[IPv4Address]:
        """Addresses ``node`` may send from (inside ``within`` when given), most readable first."""
        n = self.topo.nodes[node]
        if n.kind is not NodeKind.EXTERNAL:
            pool: Iterable[IPv4Address] = n.addresses
        else:
            nets = list(n.represents)
            if within is not None:  # the overlap of the wanted ranges with what it represents
                nets = [a if a.subnet_of(b) else b for a in within for b in n.represents
                        if a.subnet_of(b) or b.subnet_of(a)]
            pool = list(self.candidates(nets)) + list(n.addresses)
            # Addresses nobody uses inside, chosen from outside the private ranges when possible.
            if any(net.prefixlen == 0 for net in nets):
                pool = [IPv4Address("198.51.100.7"), IPv4Address("203.0.113.77")] + list(pool)
        out = []
        for a in pool:
            if a in out or not self.usable(a) or not self.can_send(node, a):
                continue
            if within is not None and not any(a in w for w in within):
                continue
            out.append(a)
        return out

    def destinations(self, node: str) -> list[IPv4Address]:
        n = self.topo.nodes[node]
        out = [a for a in n.addresses if self.usable(a)]
        if n.kind is NodeKind.EXTERNAL:
            for a in self.candidates(n.represents):
                if self.usable(a) and a not in self.internal and a not in out:
                    out.append(a)
                    break
        if n.pool is not None:  # besides its interface address, the last address it stands for
            for a in reversed(list(self.candidates(stands_for(self.topo, n)))):
                if self.usable(a) and a not in out:
                    out.append(a)
                    break
        return out


def _ports(proto: int, sport: int, dport: int) -> tuple[int, int]:
    """The port fields of a probe: ICMP probes are echo requests (type 8 in dport, code 0 in sport),
    the one ICMP message a kernel tracks as a new flow (NAT sees nothing else)."""
    if proto == ICMP:
        return 0, ECHO_REQUEST
    return (sport, dport) if proto in PORTED_PROTOCOLS else (0, 0)


def _rule_packets(m: Match) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
    """(proto, sport, dport) choices that match the rule's services, and ones that just miss."""
    hits: list[tuple[int, int, int]] = []
    misses: list[tuple[int, int, int]] = []
    terms = m.services
    if terms is None:
        hits = [(TCP, DEFAULT_SPORT, 80), (UDP, DEFAULT_SPORT, 53), (ICMP, 0, ECHO_REQUEST)]
        return hits, []
    for t in terms:
        proto = t.protocol if t.protocol is not None else TCP
        if m.established and proto != TCP:
            continue
        sport = t.sports[0].low if t.sports else DEFAULT_SPORT
        dport = t.dports[0].low if t.dports else (80 if proto in PORTED_PROTOCOLS else 0)
        if proto in PORTED_PROTOCOLS:
            hits.append((proto, sport, dport))
            if t.dports:
                r = t.dports[-1]
                misses.append((proto, sport, r.high + 1 if r.high < 65535 else max(r.low - 1, 0)))
            if t.sports:
                r = t.sports[-1]
                misses.append((proto, r.high + 1 if r.high < 65535 else max(r.low - 1, 0), dport))
            misses.append((UDP if proto == TCP else TCP, sport, dport))
        else:
            if (t.sports and t.sports[0].low > 0) or (t.dports and t.dports[0].low > 0):
                continue  # a non-port protocol never matches a port range without 0
            hits.append((proto, 0, 0))
            misses.append((TCP if proto != TCP else UDP, DEFAULT_SPORT, 80))
    return hits, misses


class Chooser:
    def __init__(self, topo: Topology, reach: Reachability, seed: int = 0) -> None:
        self.topo = topo
        self.reach = reach
        self.space = reach.space
        self.addr = Addresses(topo, reach.network)
        self.endpoints = list(reach.endpoints)
        self.rng = random.Random(seed)
        self._flows: dict[tuple[str, str], HeaderSet] = {}
        self.probes: list[Probe] = []
        self._seen: set[tuple[str, Packet]] = set()
        bad = self.space.false
        for net in _MARTIAN:
            bad |= self.space.prefix("src", net) | self.space.prefix("dst", net)
        for b in self.addr.broadcast:
            bad |= self.space.address("src", b) | self.space.address("dst", b)
        self.sane = HeaderSet(self.space, ~bad)

    def flows(self, src: str, dst: str) -> HeaderSet:
        key = (src, dst)
        if key not in self._flows:
            self._flows[key] = self.reach.flows(src, dst)
        return self._flows[key]

    def add(self, src_node: str, p: Packet, reason: str) -> None:
        if p.proto == ICMP:  # an echo request (type 8) with the code asked for: see _ports
            p = Packet(p.src, p.dst, p.proto, p.sport if p.dport == ECHO_REQUEST else 0, ECHO_REQUEST, False)
        elif p.proto not in PORTED_PROTOCOLS:
            p = Packet(p.src, p.dst, p.proto, 0, 0, False)
        if not (self.addr.usable(p.src) and self.addr.usable(p.dst)) or p.established:
            return
        if not self.addr.can_send(src_node, p.src) or p.dst in self.topo.nodes[src_node].addresses:
            return
        key = (src_node, p)
        if key in self._seen:
            return
        self._seen.add(key)
        self.probes.append(Probe(len(self.probes) + 1, src_node, p, reason))

    # -- the systematic set ----------------------------------------------------------------------

    def pairs(self) -> None:
        for s in self.endpoints:
            srcs = self.addr.sources(s)
            if not srcs:
                continue
            for d in self.endpoints:
                if d == s:
                    continue
                dsts = self.addr.destinations(d)
                flows = self.flows(s, d) & self.sane
                for proto, dport in PLAIN:
                    only = HeaderSet(self.space, self.space.protocol(proto))
                    picked = (flows & only).pick()
                    if picked is not None:
                        self.add(s, picked, f"pair {s}->{d} (engine: delivered)")
                    for dst in dsts[:2]:
                        sport, dp = _ports(proto, DEFAULT_SPORT, dport)
                        self.add(s, Packet(srcs[0], dst, proto, sport, dp), f"pair {s}->{d}")

    def _senders(self, src: Sequence[IPv4Network] | None, limit: int = 3) -> list[tuple[str, IPv4Address]]:
        out: list[tuple[str, IPv4Address]] = []
        for e in self.endpoints:
            addrs = self.addr.sources(e, src)
            if addrs:
                out.append((e, addrs[0]))
        if len(out) > limit:
            step = len(out) / limit
            out = [out[int(i * step)] for i in range(limit)]
        return out

    def _targets(self, dst: Sequence[IPv4Network] | None, limit: int = 2) -> list[IPv4Address]:
        owned: list[IPv4Address] = []
        for e in self.endpoints:
            for a in self.addr.destinations(e):
                if dst is None or any(a in n for n in dst):
                    owned.append(a)
        for n in self.topo.nodes.values():
            for rule in n.nat:
                if dst is None or any(rule.translated in d for d in dst):
                    owned.append(rule.translated)
        if dst is not None:
            owned += [a for a in self.addr.candidates(dst) if self.addr.usable(a)]
        out = list(dict.fromkeys(owned))
        if len(out) > limit:
            step = len(out) / limit
            out = [out[int(i * step)] for i in range(limit)]
        return out

    def acl_lines(self) -> None:
        for node in sorted(self.topo.nodes.values(), key=lambda n: n.name):
            used = {i.acl_in for i in node.interfaces} | {i.acl_out for i in node.interfaces}
            lines = [(f"acl {acl_name!r}", rule) for acl_name, acl in sorted(node.acls.items()) if acl_name in used
                     for rule in acl.rules]
            if node.policy is not None:
                lines += [(line.rule.acl, line.rule) for line in (*node.policy.lines, *node.policy.local)]
            for what, rule in lines:
                where = f"{node.name} {what} line {rule.index} ({rule.action.value})"
                hits, misses = _rule_packets(rule.match)
                senders = self._senders(rule.match.src)
                targets = self._targets(rule.match.dst)
                for (s, sa) in senders:
                    for da in targets:
                        for proto, sp, dp in hits[:2]:
                            sp, dp = _ports(proto, sp, dp)
                            self.add(s, Packet(sa, da, proto, sp, dp), f"{where} hit")
                        for proto, sp, dp in misses[:2]:
                            sp, dp = _ports(proto, sp, dp)
                            self.add(s, Packet(sa, da, proto, sp, dp), f"{where} miss")
                # Miss by address: a sender outside the rule's source.
                if rule.match.src is not None and hits:
                    outside = [(e, a) for e in self.endpoints for a in self.addr.sources(e)[:1]
                               if not any(a in n for n in rule.match.src)]
                    for (s, sa) in outside[:1]:
                        for da in targets[:1]:
                            proto, sp, dp = hits[0]
                            sp, dp = _ports(proto, sp, dp)
                            self.add(s, Packet(sa, da, proto, sp, dp), f"{where} miss (source)")

    def nat(self) -> None:
        """Probes toward every static NAT outside address and destination NAT address (with the
        services the rule translates), from every endpoint."""
        for node in sorted(self.topo.nodes.values(), key=lambda n: n.name):
            for rule in node.nat:
                if rule.type in (NatType.DESTINATION, NatType.TWICE):
                    hits, _misses = _rule_packets(rule.match)
                    vips = [next(iter(self.addr.candidates((net,)))) for net in rule.public]
                    for s in self.endpoints:
                        srcs = self.addr.sources(s, rule.match.src)
                        for vip in vips:
                            for proto, sp, dp in hits[:2]:
                                sp, dp = _ports(proto, sp, dp)
                                if srcs:
                                    self.add(s, Packet(srcs[0], vip, proto, sp, dp),
                                             f"{node.name} {rule.type.value} NAT {vip} -> {rule.translated}")
                    continue
                if rule.inside is None:
                    continue
                for s in self.endpoints:
                    srcs = self.addr.sources(s)
                    if srcs:
                        self.add(s, Packet(srcs[0], rule.translated, TCP, DEFAULT_SPORT, 443),
                                 f"{node.name} static NAT {rule.translated}")

    def devices(self, receivers: Sequence[str]) -> None:
        """Probes to each address of each receiving device (:func:`device_receivers`), from a few
        senders: plain services, ssh and https (what management allows or refuses), and one hit of
        each policy line."""
        for name in receivers:
            node = self.topo.nodes[name]
            services = [(proto, DEFAULT_SPORT, dport) for proto, dport in (*PLAIN, (TCP, 22), (TCP, 443))]
            if node.policy is not None:
                for line in (*node.policy.lines, *node.policy.local):
                    services += _rule_packets(line.rule.match)[0][:1]
            services = list(dict.fromkeys(services))
            targets = [a for a in node.addresses if self.addr.usable(a)][:4]
            for s, sa in self._senders(None, limit=6):
                for da in targets:
                    for proto, sp, dp in services:
                        sp, dp = _ports(proto, sp, dp)
                        self.add(s, Packet(sa, da, proto, sp, dp), f"{name} own address {da}")

    def random_fill(self, count: int) -> None:
        services = [(TCP, 80), (TCP, 443), (TCP, 22), (TCP, 25), (TCP, 3389), (UDP, 53), (UDP, 123), (ICMP, 0)]
        senders = [(e, self.addr.sources(e)) for e in self.endpoints]
        senders = [(e, s) for e, s in senders if s]
        targets = [a for e in self.endpoints for a in self.addr.destinations(e)]
        if not senders or not targets:
            return
        attempts = 0
        while len(self.probes) < count and attempts < count * 20:
            attempts += 1
            s, srcs = self.rng.choice(senders)
            proto, dport = self.rng.choice(services)
            sp, dp = _ports(proto, self.rng.choice((DEFAULT_SPORT, 1024, 53, 65535)), dport)
            self.add(s, Packet(self.rng.choice(srcs), self.rng.choice(targets), proto, sp, dp), "random")


def device_receivers(topo: Topology, reach: Reachability) -> list[str]:
    """Forwarding devices whose own addresses the kernel is asked about. Devices with VRFs are not:
    the emulation renders VRFs as policy routing, whose local table every VRF shares (a VRF device
    keeps its own), so the kernel would deliver another VRF's address the model does not."""
    return sorted(n.name for n in topo.nodes.values()
                  if n.forwarding and n.kind is not NodeKind.EXTERNAL and not n.vrfs
                  and n.name in reach.network.nodes and n.name not in reach.blocked)


def choose(topo: Topology, reach: Reachability, count: int | None = None, seed: int = 0) -> list[Probe]:
    """The probes for a run: the systematic set, cut to or filled up to ``count`` when given."""
    c = Chooser(topo, reach, seed)
    c.pairs()
    c.acl_lines()
    c.nat()
    c.devices(device_receivers(topo, reach))
    probes = c.probes
    if count is not None:
        if len(probes) > count:
            # Keep an even spread over the list (pairs first, then ACL lines, then NAT).
            step = len(probes) / count
            probes = [probes[int(i * step)] for i in range(count)]
        else:
            c.random_fill(count)
            probes = c.probes
    return [Probe(i + 1, p.src_node, p.packet, p.reason) for i, p in enumerate(probes)]


# -- bytes on the wire -----------------------------------------------------------------------------


def _checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of ``data``."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _with_checksum(data: bytes, offset: int, checksum: int) -> bytes:
    """``data`` with the 16-bit checksum field at ``offset`` (packed as zero) set."""
    return data[:offset] + struct.pack("!H", checksum) + data[offset + 2:]


def _ipv4(p: Packet, ident: int, payload: bytes) -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0, 64, p.proto, 0,
                         p.src.packed, p.dst.packed)
    return _with_checksum(header, 10, _checksum(header)) + payload


def _transport_checksum(p: Packet, segment: bytes) -> int:
    pseudo = p.src.packed + p.dst.packed + struct.pack("!BBH", 0, p.proto, len(segment))
    return _checksum(pseudo + segment)


def encode(probe: Probe, run: int) -> bytes:
    """The probe as an IPv4 datagram, checksums included.

    TCP SYNs, UDP datagrams, ICMP echo requests and bare payloads are packed here, byte for byte
    what scapy builds for them (tests/test_emulate.py compares the two): scapy took a millisecond a
    probe, half of a reference network's emulation. SCTP and the other ICMP types are scapy's.
    """
    p = probe.packet
    tag = MAGIC + struct.pack("!II", run, probe.id)
    ident = probe.id & 0xFFFF
    if p.proto == TCP:
        segment = struct.pack("!HHIIBBHHH", p.sport, p.dport, probe.id, 0, 5 << 4, 0x02, 8192, 0, 0) + tag
        return _ipv4(p, ident, _with_checksum(segment, 16, _transport_checksum(p, segment)))
    if p.proto == UDP:
        segment = struct.pack("!HHHH", p.sport, p.dport, 8 + len(tag), 0) + tag
        # A UDP checksum that computes to zero is sent as all ones (zero means "none").
        return _ipv4(p, ident, _with_checksum(segment, 6, _transport_checksum(p, segment) or 0xFFFF))
    if p.proto == ICMP and p.dport == ECHO_REQUEST and p.sport == 0:
        message = struct.pack("!BBHHH", ECHO_REQUEST, 0, 0, ident, 1) + tag
        return _ipv4(p, ident, _with_checksum(message, 2, _checksum(message)))
    if p.proto not in (ICMP, SCTP):
        return _ipv4(p, ident, (GRE_HEADER if p.proto == GRE else b"") + tag)
    return encode_with_scapy(probe, run)


def encode_with_scapy(probe: Probe, run: int) -> bytes:
    """The probe as an IPv4 datagram built by scapy, checksums included."""
    from scapy.layers.inet import ICMP as S_ICMP
    from scapy.layers.inet import IP, TCP as S_TCP, UDP as S_UDP
    from scapy.packet import Raw

    p = probe.packet
    tag = MAGIC + struct.pack("!II", run, probe.id)
    ip = IP(src=str(p.src), dst=str(p.dst), ttl=64, id=probe.id & 0xFFFF)
    if p.proto == TCP:
        pkt = ip / S_TCP(sport=p.sport, dport=p.dport, flags="S", seq=probe.id) / Raw(tag)
    elif p.proto == UDP:
        pkt = ip / S_UDP(sport=p.sport, dport=p.dport) / Raw(tag)
    elif p.proto == ICMP:
        pkt = ip / S_ICMP(type=p.dport, code=p.sport, id=probe.id & 0xFFFF, seq=1) / Raw(tag)
    elif p.proto == SCTP:
        from scapy.layers.sctp import SCTP as S_SCTP, SCTPChunkInit

        # An INIT is what conntrack accepts as a new association; the id rides in its tag.
        pkt = ip / S_SCTP(sport=p.sport, dport=p.dport, tag=0) / SCTPChunkInit(
            init_tag=probe.id, a_rwnd=run & 0xFFFFFFFF, n_out_streams=1, n_in_streams=1, init_tsn=1)
    else:
        pkt = ip / Raw((GRE_HEADER if p.proto == GRE else b"") + tag)
        pkt[IP].proto = p.proto
    return bytes(pkt)


def decode(data: bytes) -> tuple[int, int] | None:
    """(run, probe id) of a received datagram, or None when it is not a probe.

    The id must sit exactly where the probe put it, so an ICMP error quoting a probe never counts.
    """
    if len(data) < 20 or data[0] >> 4 != 4:
        return None
    ihl = (data[0] & 0x0F) * 4
    proto = data[9]
    body = data[ihl:]
    if proto == TCP:
        if len(body) < 20:
            return None
        off = (body[12] >> 4) * 4
    elif proto == UDP:
        off = 8
    elif proto == ICMP:
        if not body or body[0] != 8:
            return None
        off = 8
    elif proto == SCTP:
        if len(body) < 28 or body[12] != 1:
            return None
        tag, rwnd = struct.unpack("!II", body[16:24])
        return rwnd, tag
    elif proto == GRE:
        if body[:4] != GRE_HEADER:
            return None
        off = 4
    else:
        off = 0
    chunk = body[off:off + 12]
    if len(chunk) < 12 or chunk[:4] != MAGIC:
        return None
    run, pid = struct.unpack("!II", chunk[4:12])
    return run, pid
