"""Audit a packet capture against the model and the rules (``segverify pcap-audit``).

The capture is streamed twice at most, never held in memory: the first pass groups packets into
flows (a few counters per flow), the second, only when asked, copies the packets of violating flows
to a new file. Records come from scapy's raw readers (pcap and pcapng, chosen by the file's magic);
the IPv4 and port fields are decoded here with ``struct`` because dissecting every packet with
scapy costs tens of microseconds each, hours on a multi-gigabyte capture.

Each flow's first packet in the initiator's direction is the header the model is asked about:

* where it entered — the node that owns or represents its source address, or with ``at`` the
  capture point (it entered that node by that interface, or left it there);
* whether the model carries it: the same concrete walk through the compiled network as
  ``segverify trace`` (it agrees with the symbolic engine, a property test checks that);
* whether the policy forbids it: the sides of the rule catalogue (My Number, LGWAN side, Internet
  side), sanitizer declarations, exceptions and waypoints, applied to this one header.
"""

from __future__ import annotations

import datetime as _dt
import enum
import logging
import os
import struct
from contextlib import contextmanager
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Any, Callable, Iterator, NamedTuple, cast

from ..errors import InputError, QueryError
from ..escape import one_line
from ..i18n import joined, localize, m, text
from ..inputs import open_regular
from ..headers import Packet
from ..model import PORTED_PROTOCOLS, Node, NodeKind, Profile, Topology
from ..network import Network
from ..policy.catalogue import rules_for
from ..policy.context import Context
from ..policy.exceptions import Register
from ..places import address_owner
from ..policy.rules import FLOW_CHECKS
from ..trace import Path, trace
from ..words import display_width

TCP, UDP, ICMP = 6, 17, 1
SYN, ACK = 0x02, 0x10
ETHERTYPE_IPV4 = 0x0800
VLAN_TAGS = (0x8100, 0x88A8, 0x9100)
PROGRESS_EVERY = 4096  # packets between progress callbacks

Progress = Callable[[int, int], None]  # (bytes read so far, file size)


class Category(str, enum.Enum):
    ALLOWED = "allowed"
    # The model drops it and no answer was seen: an attempt the network stops, as the model says.
    BLOCKED = "blocked"
    IMPOSSIBLE = "impossible"  # it got there (answers seen) though the model says it cannot: model drift
    VIOLATION = "violation"  # the rules forbid it, whether or not the model carries it


class Start(str, enum.Enum):
    """How the initiator of a flow was found."""

    SYN = "syn"  # TCP opening seen
    SYN_ACK = "syn-ack"  # the SYN was missed; its answer gives the direction
    MIDSTREAM = "midstream"  # TCP without its opening: the first packet seen is taken as the initiator's
    FIRST = "first-packet"  # no handshake (UDP, ICMP, ...): the first packet's direction

    @property
    def captured(self) -> bool:
        return self in (Start.SYN, Start.FIRST)


# -- reading -----------------------------------------------------------------------------------------


class Record(NamedTuple):
    number: int  # 1-based position in the capture
    data: bytes
    linktype: int
    sec: int
    frac: int  # microseconds, or nanoseconds when the capture is nanosecond-stamped
    wirelen: int


class Header(NamedTuple):
    """The fields of an IPv4 packet a flow is made of (addresses as ints, to keep flows small).
    Tuples, not dataclasses: one is made per packet."""

    src: int
    dst: int
    proto: int
    sport: int
    dport: int
    tcp_flags: int = 0
    icmp_type: int = -1


@contextmanager
def _quiet_scapy() -> Iterator[None]:
    """scapy logs truncation as a warning and carries on; we report it as an error instead."""
    log = logging.getLogger("scapy.runtime")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


MAX_BLOCK = 64 * 1024 * 1024  # bytes of one record; real ones are at most 256 KiB


class _Bounded:
    """A capture file as scapy's readers see it: a read never asks for more than the file still
    holds, nor for more than MAX_BLOCK, so a length field of 4 GiB is an error, not an allocation."""

    def __init__(self, f: Any, path: str, size: int | None) -> None:
        self.f, self.path, self.size = f, path, size
        self.name = path

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = MAX_BLOCK + 1 if self.size is None else max(self.size - self.f.tell(), 0)
        if n > MAX_BLOCK:
            raise InputError(f"{self.path}: damaged: a block claims {n:,} bytes (at most {MAX_BLOCK:,} are read)")
        if self.size is not None:
            n = min(n, max(self.size - self.f.tell(), 0))
        return bytes(self.f.read(n))

    def tell(self) -> int:
        return int(self.f.tell())

    def seek(self, offset: int, whence: int = 0) -> int:
        return int(self.f.seek(offset, whence))

    def close(self) -> None:
        self.f.close()


class Capture:
    """A pcap or pcapng file, read record by record with scapy's raw readers."""

    def __init__(self, path: str) -> None:
        self.path = path
        with open_regular(path, path, "capture") as f:  # a FIFO or device would hang or never end
            self.size = os.fstat(f.fileno()).st_size
        self.nano = False
        self.format = "pcap"

    def records(self, progress: Progress | None = None) -> Iterator[Record]:
        from scapy.error import Scapy_Exception
        from scapy.utils import RawPcapNgReader, RawPcapReader

        with _quiet_scapy():
            raw = _Bounded(open_regular(self.path, self.path, "capture"), self.path, self.size)
            try:
                reader = RawPcapReader(raw)  # type: ignore[arg-type]  # a file object, which scapy reads
            except (Scapy_Exception, EOFError, struct.error) as exc:
                raw.close()
                raise InputError(f"{self.path}: not a pcap or pcapng capture ({exc})") from None
            except OSError as exc:
                raw.close()
                raise InputError(f"{self.path}: cannot read the capture: {exc.strerror or exc}") from None
            except BaseException:
                raw.close()
                raise
            ng = isinstance(reader, RawPcapNgReader)
            self.format = "pcapng" if ng else "pcap"
            self.nano = bool(getattr(reader, "nano", False))
            plain = not hasattr(reader.f, "fileobj")  # a gzip stream has no useful position
            if not plain:  # bound the decompressed reads too
                reader.f = _Bounded(reader.f, self.path, None)  # type: ignore[assignment]  # duck-typed stream
            index = 0
            tell = reader.f.tell if plain else (lambda: self.size)
            try:
                while True:
                    before = tell()  # a record cut inside its header reads as a clean end otherwise
                    try:
                        data, meta = reader._read_packet()
                    except EOFError:
                        if before < self.size and not (ng and self._blocks_end_cleanly(before, reader.endian)):
                            raise InputError(f"{self.path}: truncated or damaged after packet {index} "
                                             f"(byte {before} of {self.size})") from None
                        break
                    except (Scapy_Exception, struct.error) as exc:
                        raise InputError(f"{self.path}: damaged after packet {index}: {exc}") from None
                    index += 1
                    if ng:
                        meta = cast(Any, meta)  # pcapng metadata: scapy's annotation names the pcap kind
                        ts = ((meta.tshigh or 0) << 32) | (meta.tslow or 0)
                        resol = meta.tsresol or 1_000_000
                        sec, frac = divmod(ts, resol)
                        record = Record(index, data, meta.linktype, sec, frac * 1_000_000 // resol, meta.wirelen)
                    else:
                        if len(data) < min(meta.caplen, 65535):
                            raise InputError(f"{self.path}: truncated: packet {index} is cut off "
                                             f"({len(data)} of {meta.caplen} bytes)")
                        record = Record(index, data, reader.linktype, meta.sec, meta.usec, meta.wirelen)
                    yield record
                    if progress is not None and index % PROGRESS_EVERY == 0 and plain:
                        progress(reader.f.tell(), self.size)
                if progress is not None:
                    progress(self.size, self.size)
            finally:
                reader.close()
                raw.close()

    def _blocks_end_cleanly(self, offset: int, endian: str) -> bool:
        """Whether the pcapng file from ``offset`` on is whole blocks (statistics and the like, which
        the reader consumes together with the end of the file)."""
        with open_regular(self.path, self.path, "capture") as f:
            while offset < self.size:
                f.seek(offset)
                head = f.read(8)
                if len(head) < 8:
                    return False
                length = struct.unpack(endian + "I", head[4:])[0]
                if length < 12 or offset + length > self.size:
                    return False
                offset += length
        return True


def decode(record: Record) -> Header | str:
    """The IPv4 header of a record, or why it has none (a reason counted as skipped)."""
    data, lt = record.data, record.linktype
    if lt == 1:  # Ethernet, with any 802.1Q / QinQ tags
        offset, etype = 14, struct.unpack_from("!H", data, 12)[0] if len(data) >= 14 else -1
        while etype in VLAN_TAGS and len(data) >= offset + 4:
            etype = struct.unpack_from("!H", data, offset + 2)[0]
            offset += 4
        if etype != ETHERTYPE_IPV4:
            return "not IPv4"
    elif lt in (101, 228, 12, 14):  # raw IP
        offset = 0
    elif lt == 113:  # Linux cooked
        if len(data) < 16 or struct.unpack_from("!H", data, 14)[0] != ETHERTYPE_IPV4:
            return "not IPv4"
        offset = 16
    elif lt == 276:  # Linux cooked v2
        if len(data) < 20 or struct.unpack_from("!H", data, 0)[0] != ETHERTYPE_IPV4:
            return "not IPv4"
        offset = 20
    elif lt in (0, 108):  # BSD loopback: address family first
        if len(data) < 4 or 2 not in (data[0], data[3]):
            return "not IPv4"
        offset = 4
    else:
        return f"link type {lt} not supported"
    if len(data) < offset + 20 or data[offset] >> 4 != 4:
        return "not IPv4"
    ihl = (data[offset] & 0x0F) * 4
    proto = data[offset + 9]
    frag = struct.unpack_from("!H", data, offset + 6)[0] & 0x1FFF
    src, dst = struct.unpack_from("!II", data, offset + 12)
    if frag:
        return "IP fragment (not the first)"
    l4 = offset + ihl
    if proto in PORTED_PROTOCOLS:
        if len(data) < l4 + 4:
            return "IP header cut short"
        sport, dport = struct.unpack_from("!HH", data, l4)
        flags = data[l4 + 13] if proto == TCP and len(data) > l4 + 13 else 0
        return Header(src, dst, proto, sport, dport, flags)
    icmp_type = data[l4] if proto == ICMP and len(data) > l4 else -1
    return Header(src, dst, proto, 0, 0, 0, icmp_type)


def _not_unicast(h: Header, broadcasts: frozenset[int]) -> bool:
    return h.dst >> 28 == 14 or h.dst == 0xFFFFFFFF or h.src == 0 or h.dst in broadcasts


# -- flows -------------------------------------------------------------------------------------------

FlowKey = tuple[int, int, int, int, int]  # proto, address a, port a, address b, port b (a <= b)


@dataclass
class _Flow:
    first: int  # index of the first packet
    forward: bool  # the initiator is endpoint a
    start: Start
    packets: int = 0
    octets: int = 0
    a_to_b: int = 0  # packets from endpoint a: with ``forward``, tells requests from replies

    @property
    def replies(self) -> int:
        return self.packets - self.a_to_b if self.forward else self.a_to_b


def flow_key(h: Header) -> tuple[FlowKey, bool]:
    """The direction-free key of a packet's flow, and whether the packet goes from a to b."""
    if (h.src, h.sport) <= (h.dst, h.dport):
        return (h.proto, h.src, h.sport, h.dst, h.dport), True
    return (h.proto, h.dst, h.dport, h.src, h.sport), False


def _opening(h: Header) -> tuple[bool, Start]:
    """Whether the packet travels in the initiator's direction, and how we know."""
    if h.proto == TCP:
        if h.tcp_flags & SYN and not h.tcp_flags & ACK:
            return True, Start.SYN
        if h.tcp_flags & SYN:
            return False, Start.SYN_ACK
        return True, Start.MIDSTREAM
    if h.proto == ICMP and h.icmp_type in (0, 14, 16, 18):  # replies: the request went the other way
        return False, Start.FIRST
    return True, Start.FIRST


# -- judging -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleHit:
    rule: str
    reason: str
    severity: str = "error"  # a warning (a relay's attack surface) does not make a flow a violation

    def to_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "reason": self.reason, "severity": self.severity}


@dataclass(frozen=True)
class FlowVerdict:
    packet: Packet  # the initiator's header, as captured
    start: Start
    first_packet: int
    packets: int
    octets: int
    replies: int  # packets seen in the answering direction
    source: str | None  # the node the source address belongs to in the model
    destinations: tuple[str, ...]  # where the model delivers it, else whom the address belongs to
    from_zone: str
    to_zone: str
    category: Category
    possible: bool  # the model carries it to a destination
    model: str  # what the model does with it, in words
    rules: tuple[RuleHit, ...]
    key: FlowKey
    # Other nodes that may put this source address on the wire (a host may send with any address of
    # its subnet) and for which the model delivers it: the rules are judged for them too.
    spoofers: tuple[str, ...] = ()

    @property
    def drift(self) -> bool:
        """Answers were seen although the model does not carry it: model drift, whatever the rules say."""
        return not self.possible and self.replies > 0

    def to_dict(self) -> dict[str, object]:
        return {"packet": self.packet.to_dict(), "start": self.start.value, "start_captured": self.start.captured,
                "first_packet": self.first_packet, "packets": self.packets, "replies": self.replies,
                "bytes": self.octets,
                "source": self.source, "destinations": list(self.destinations), "from_zone": self.from_zone,
                "to_zone": self.to_zone, "category": self.category.value, "possible": self.possible,
                "model": self.model, "drift": self.drift, "rules": [r.to_dict() for r in self.rules],
                "spoofers": list(self.spoofers)}


@dataclass(frozen=True)
class ZonePair:
    from_zone: str
    to_zone: str
    flows: int
    allowed: int
    impossible: int
    violation: int
    packets: int
    blocked: int = 0

    def to_dict(self) -> dict[str, object]:
        return {"from_zone": self.from_zone, "to_zone": self.to_zone, "flows": self.flows, "allowed": self.allowed,
                "blocked": self.blocked, "impossible": self.impossible, "violation": self.violation,
                "packets": self.packets}


@dataclass
class AuditResult:
    topology: str
    capture: str
    format: str
    at: str | None
    packets: int
    ipv4_packets: int
    skipped: dict[str, int]
    flows: list[FlowVerdict]
    _capture: Capture = field(repr=False)

    @property
    def violations(self) -> list[FlowVerdict]:
        return [f for f in self.flows if f.category is Category.VIOLATION]

    @property
    def impossible(self) -> list[FlowVerdict]:
        """Every flow the model says cannot happen but did: violations among them too."""
        return [f for f in self.flows if f.drift]

    @property
    def exit_code(self) -> int:
        return 1 if any(f.category in (Category.IMPOSSIBLE, Category.VIOLATION) for f in self.flows) else 0

    def zone_pairs(self) -> list[ZonePair]:
        table: dict[tuple[str, str], list[int]] = {}
        for f in self.flows:
            row = table.setdefault((f.from_zone, f.to_zone), [0, 0, 0, 0, 0, 0])
            row[0] += 1
            if f.category is not Category.IMPOSSIBLE:  # counted below, with the violations that are drift too
                row[1 + [Category.ALLOWED, None, Category.VIOLATION, None, Category.BLOCKED].index(f.category)] += 1
            row[2] += f.drift
            row[4] += f.packets
        return [ZonePair(a, b, *row) for (a, b), row in sorted(table.items())]

    def counts(self) -> dict[str, int]:
        """Flows per verdict. A violation the model also says is impossible counts as both."""
        counts = {c.value: sum(1 for f in self.flows if f.category is c) for c in Category}
        counts[Category.IMPOSSIBLE.value] = len(self.impossible)
        return counts

    def to_dict(self) -> dict[str, object]:
        return {"topology": self.topology, "capture": self.capture, "format": self.format, "at": self.at,
                "packets": self.packets, "ipv4_packets": self.ipv4_packets, "skipped": dict(sorted(self.skipped.items())),
                "counts": self.counts(), "zone_pairs": [z.to_dict() for z in self.zone_pairs()],
                "flows": [f.to_dict() for f in self.flows], "exit_code": self.exit_code}

    def write_violations(self, path: str) -> int:
        """Copy exactly the packets of violating flows, bytes and timestamps unchanged, to a pcap
        file (a second pass over the capture). Returns how many packets were written."""
        from scapy.utils import RawPcapWriter

        wanted = {f.key for f in self.violations}
        written = 0
        writer = None
        try:
            for record in self._capture.records():
                header = decode(record)
                if isinstance(header, str) or flow_key(header)[0] not in wanted:
                    continue
                if writer is None:
                    writer = RawPcapWriter(path, linktype=record.linktype, nano=self._capture.nano, sync=False)
                    writer.write_header(None)
                elif record.linktype != writer.linktype:
                    raise InputError(f"{self._capture.path}: violating packets of link types {writer.linktype} and "
                                     f"{record.linktype} cannot share one pcap file")
                writer.write_packet(record.data, sec=record.sec, usec=record.frac, caplen=len(record.data),
                                    wirelen=record.wirelen)
                written += 1
            if writer is None:  # no violation: still leave a valid, empty capture behind
                writer = RawPcapWriter(path, linktype=1, sync=False)
                writer.write_header(None)
        finally:
            if writer is not None:
                writer.close()
        return written


def _plain_host(net: Network, node: Node) -> tuple[object, ...] | None:
    """What a host with no filters, translation or forwarding of its own does with a packet it sends
    depends on only this (its LANs, zones, gateways and routes); None for any other node, and for
    a node a rule asks about by itself (a sanitizer's declaration, a proxy's allow-list, a role)."""
    if (node.acls or node.nat or node.policy is not None or node.forwarding or node.kind is NodeKind.EXTERNAL
            or node.sanitizer is not None or node.allow or node.roles or node.vrfs):
        return None
    return (node.kind, node.roles, tuple(route.prefix for route in node.routes),
            tuple((route.via, route.drop, route.distance) for route in node.routes),
            tuple((i.zone, i.gateway, net.lan_of.get((node.name, i.name)), tuple(a.network for a in i.all_addresses))
                  for i in node.interfaces))


class Judge:
    """Applies the model and the rules of the topology's profile to one header at a time."""

    def __init__(self, topology: Topology, net: Network, today: _dt.date, profile: Profile | None = None) -> None:
        self.topology = topology
        self.net = net
        self.space = net.space
        self.rules = frozenset(rules_for(profile or topology.profile))
        self.register = Register(net.space, topology.exceptions, today)
        self.ctx = Context(topology, net, self.register, today)
        self.checks = [c for rule in sorted(self.rules & FLOW_CHECKS.keys()) for c in FLOW_CHECKS[rule](self.ctx)]
        # An address that stands for one host on the other side of a translation: a static rule's
        # outside address, a twice rule's new source when its real source is one address.
        self.static_nat = {rule.translated: rule.inside for node in topology.nodes.values() for rule in node.nat
                           if rule.inside is not None}
        for node in topology.nodes.values():
            for rule in node.nat:
                real = rule.match.src
                if (rule.source_to is not None and real is not None and len(real) == 1 and real[0].prefixlen == 32
                        and not rule.match.src_except):
                    self.static_nat.setdefault(rule.source_to, real[0].network_address)
        self._externals = sorted((n for n in topology.nodes.values() if n.kind is NodeKind.EXTERNAL),
                                 key=lambda n: (-max((r.prefixlen for r in n.represents), default=-1), n.name))
        self._lans = sorted({(i.address.network, i.zone) for n in topology.nodes.values()
                             if n.kind is not NodeKind.EXTERNAL for i in n.interfaces if i.address is not None},
                            key=lambda pz: (-pz[0].prefixlen, int(pz[0].network_address), pz[1]))
        self._where: dict[IPv4Address, tuple[str | None, str]] = {}
        self._senders: dict[IPv4Address, tuple[str | None, tuple[str, ...]]] = {}

    # -- where addresses belong ---------------------------------------------------------------------

    def locate(self, addr: IPv4Address) -> tuple[str | None, str]:
        """(node, zone) an address belongs to: an interface's owner, a static NAT's inside host, an
        unknown host on a LAN of the model (node None), or the most specific external node that
        represents it. A LAN's prefix beats an external ``any``: the outside Internet does not live
        on the office LAN, a host the topology forgot does."""
        if addr not in self._where:
            self._where[addr] = self._locate(addr)
        return self._where[addr]

    def _locate(self, addr: IPv4Address) -> tuple[str | None, str]:
        nodes = self.topology.nodes
        for candidate in (addr, self.static_nat.get(addr)):
            found = self.net.owner.get(candidate) if candidate is not None else None
            if found is not None:
                return found[0], nodes[found[0]].interface(found[1]).zone
        # An address no interface owns belongs to the pool of its LAN subnet (a host the file does
        # not list) or to the external node that stands for it: the engine's own owners.
        owner = address_owner(self.net, addr)
        if owner is not None:
            ifaces = nodes[owner].interfaces
            return owner, ifaces[0].zone if ifaces else "-"
        for prefix, zone in self._lans:
            if addr in prefix:
                return None, zone
        for node in self._externals:
            if any(addr in r for r in node.represents):
                return node.name, node.interfaces[0].zone if node.interfaces else "-"
        return None, "-"

    def senders(self, addr: IPv4Address) -> tuple[str | None, tuple[str, ...]]:
        """(the node the address belongs to, the other nodes that may send from it): the engine's
        spoofing rule lets every node attached to the address's subnet use it, and an external node
        whatever it stands for. Plain hosts alike in all but their addresses send such a packet
        alike, so one of each kind stands for the others (250 office PCs are one candidate)."""
        if addr not in self._senders:
            owner = self.locate(addr)[0]
            kinds: dict[object, str] = {}
            for n in sorted(self.topology.nodes.values(), key=lambda n: n.name):
                if n.name == owner or not (any(addr in a.network for i in n.interfaces for a in i.all_addresses)
                                           or any(addr in r for r in n.represents)):
                    continue
                if self.can_send_from(n.name, addr):
                    kinds.setdefault(_plain_host(self.net, n) or n.name, n.name)
            self._senders[addr] = owner, tuple(kinds.values())
        return self._senders[addr]

    def can_send_from(self, node: str, addr: IPv4Address) -> bool:
        """The engine's rule: own addresses, any address of an attached subnet, what it stands for."""
        if node not in self.net.nodes:
            return False
        return (self.net.sendable(node) & self.space.address("src", addr)) != self.space.false

    # -- the model -----------------------------------------------------------------------------------

    def _routes_toward(self, node: str, addr: IPv4Address, iface: str | None = None) -> set[str | None]:
        """Egress interfaces of the routes toward ``addr`` (in the VRF of ``iface``)."""
        cube = self.space.address("dst", addr)
        return {e.egress for e in self.net.fib_for(node, iface) if (e.match & cube) != self.space.false}

    def paths(self, packet: Packet, at: tuple[str, str] | None,
              source: str | None = None) -> tuple[str | None, list[Path], str | None]:
        """(sending node, paths the model gives the packet, why none if the model has no sender).
        ``source``: the sender to assume; by default the node the source address belongs to."""
        if source is None:
            source = self.locate(packet.src)[0]
        if at is not None:
            node, iface = at
            if node not in self.net.nodes:
                return source, [], m("pcap.why.down", node=node)
            own = packet.src in self.topology.nodes[node].addresses
            leaving = own or bool(self._routes_toward(node, packet.src, iface) - {iface})
            if not leaving:  # it came from behind the capture interface: it entered there
                return source, trace(self.net, node, packet, entering=iface), None
            paths, why = self._from_source(source, packet)
            passing = [p for p in paths if any(h.node == node and h.out_iface == iface for h in p.hops)]
            if paths and not passing:
                return source, [], m("pcap.why.not_out", at=f"{node}:{iface}")
            return source, passing, why
        paths, why = self._from_source(source, packet)
        return source, paths, why

    def _from_source(self, source: str | None, packet: Packet) -> tuple[list[Path], str | None]:
        if source is None:
            zone = self.locate(packet.src)[1]
            if zone != "-":
                return [], m("pcap.why.unknown_zone", address=str(packet.src), zone=zone)
            return [], m("pcap.why.unknown", address=str(packet.src))
        if not self.can_send_from(source, packet.src):
            return [], m("pcap.why.not_from", source=source, address=str(packet.src))
        return trace(self.net, source, packet), None

    @staticmethod
    def describe(paths: list[Path], why: str | None) -> tuple[bool, str, tuple[str, ...]]:
        """(possible, what the model does in words, nodes it is delivered to)."""
        delivered = sorted({p.final_node for p in paths if p.delivered and p.final_node is not None})
        if delivered:
            return True, m("pcap.model.delivered", nodes=joined(delivered)), tuple(delivered)
        if why is not None or not paths:
            return False, why or m("pcap.model.no_path"), ()
        p = paths[0]
        outcome, node = m(f"outcome.{p.outcome.value}"), p.final_node or "?"
        last = p.hops[-1] if p.hops else None
        decision = None
        if last is not None:
            decision = {"denied out": last.acl_out, "denied by policy": last.policy}.get(p.outcome.value, last.acl_in)
        if decision is None:
            return False, m("pcap.model.stopped", outcome=outcome, node=node), ()
        which = m("hop.line", n=decision.rule_index) if decision.rule_index is not None else m("hop.default")
        said = m("hop.decision", action=decision.action.value, acl=decision.acl, which=which, span=str(decision.span))
        return False, m("pcap.model.stopped_by", outcome=outcome, node=node, decision=said), ()

    # -- the rules -----------------------------------------------------------------------------------

    def judge(self, packet: Packet, src: str | None, dst: str | None) -> tuple[RuleHit, ...]:
        """The rules ``packet`` breaks going from ``src`` to ``dst``: the flow rules' own checks
        (policy.flows.FlowCheck), asked of this one packet."""
        if src is None or dst is None:
            return ()
        hits: list[RuleHit] = []
        for check in self.checks:
            if check.violated_by(self.net, self.register, packet, src, dst):
                reason = m("flow.with", what=check.title, more=check.uncovered) if check.uncovered else check.title
                hit = RuleHit(check.rule, reason, check.severity.value)
                if hit not in hits:
                    hits.append(hit)
        return tuple(hits)


# -- the audit ---------------------------------------------------------------------------------------


def parse_at(topology: Topology, text: str) -> tuple[str, str]:
    node, sep, iface = text.rpartition(":")
    if not sep or not node or not iface:
        raise QueryError(f"--at {text!r}: give NODE:IFACE, e.g. fw-lg:port3")
    if node not in topology.nodes:
        raise QueryError(f"--at {text!r}: {topology.name} has no node {node}")
    if iface not in {i.name for i in topology.nodes[node].interfaces}:
        names = ", ".join(i.name for i in topology.nodes[node].interfaces)
        raise QueryError(f"--at {text!r}: {node} has no interface {iface} (it has {names})")
    return node, iface


def read_capture(capture: str, broadcasts: frozenset[int] = frozenset(),
                 progress: Progress | None = None) -> tuple[Capture, dict[FlowKey, _Flow], int, int, dict[str, int]]:
    """One streaming pass: (capture, flows by key, packets, IPv4 unicast packets, skipped by reason)."""
    cap = Capture(capture)
    flows: dict[FlowKey, _Flow] = {}
    skipped: dict[str, int] = {}
    total = ipv4 = 0
    for record in cap.records(progress):
        total += 1
        header = decode(record)
        if isinstance(header, str):
            skipped[header] = skipped.get(header, 0) + 1
            continue
        if _not_unicast(header, broadcasts):
            skipped["broadcast or multicast"] = skipped.get("broadcast or multicast", 0) + 1
            continue
        ipv4 += 1
        key, a_to_b = flow_key(header)
        initiator_dir, start = _opening(header)
        flow = flows.get(key)
        if flow is None:
            flow = flows[key] = _Flow(record.number, a_to_b == initiator_dir, start)
        elif start is Start.SYN and not flow.start.captured:  # the opening turns up late: trust it
            flow.forward, flow.start = a_to_b, Start.SYN
        flow.packets += 1
        flow.a_to_b += a_to_b
        flow.octets += record.wirelen
    return cap, flows, total, ipv4, skipped


def audit(topology: Topology, capture: str, at: str | None = None, today: _dt.date | None = None,
          progress: Progress | None = None, network: Network | None = None) -> AuditResult:
    """Classify every flow of ``capture`` against ``topology``: allowed, impossible, or a violation."""
    net = network or Network(topology)
    judge = Judge(topology, net, today or _dt.date.today())
    point = parse_at(topology, at) if at is not None else None
    broadcasts = frozenset(int(i.address.network.broadcast_address) for n in topology.nodes.values()
                           for i in n.interfaces if i.address is not None and i.address.network.prefixlen < 31)
    cap, flows, total, ipv4, skipped = read_capture(capture, broadcasts, progress)
    verdicts: list[FlowVerdict] = []
    cache: dict[Packet, tuple[str | None, list[Path], str | None, tuple[str, ...], tuple[RuleHit, ...]]] = {}
    for key, flow in sorted(flows.items(), key=lambda kv: kv[1].first):
        proto, a, pa, b, pb = key
        src, sport, dst, dport = (a, pa, b, pb) if flow.forward else (b, pb, a, pa)
        ported = proto in PORTED_PROTOCOLS
        packet = Packet(IPv4Address(src), IPv4Address(dst), proto, sport if ported else 0, dport if ported else 0)
        if packet not in cache:
            cache[packet] = _judged(judge, packet, point)
        source, paths, why, spoofers, hits = cache[packet]
        possible, model, delivered = judge.describe(paths, why)
        if delivered:
            targets = delivered
            to_zone = _arrival_zone(topology, next(p for p in paths if p.delivered))
        else:
            owner, to_zone = judge.locate(packet.dst)
            targets = (owner,) if owner is not None else ()
        from_zone = judge.locate(packet.src)[1]
        if point is not None and from_zone == "-":
            from_zone = topology.nodes[point[0]].interface(point[1]).zone
        if not possible and not flow.replies:
            # An unanswered attempt the model drops: the network stops it, as predicted. The rules it
            # would break stay listed, because someone tried.
            category = Category.BLOCKED
        elif any(h.severity == "error" for h in hits):  # warnings (a relay's attack surface) do not make one
            category = Category.VIOLATION
        else:  # answered although the model drops it: the model and the network disagree
            category = Category.ALLOWED if possible else Category.IMPOSSIBLE
        verdicts.append(FlowVerdict(packet, flow.start, flow.first, flow.packets, flow.octets, flow.replies, source, targets,
                                    from_zone, to_zone, category, possible, model, hits, key, spoofers))
    return AuditResult(topology.name, capture, cap.format, at, total, ipv4, skipped, verdicts, cap)


def _judged(judge: Judge, packet: Packet, point: tuple[str, str] | None,
            ) -> tuple[str | None, list[Path], str | None, tuple[str, ...], tuple[RuleHit, ...]]:
    """The packet as the address's owner sends it, and as every other node that may send from that
    address (spoofing) does: (owner, the owner's paths, why none, the spoofers that add a rule, every
    rule broken). The owner's rules are those of its delivered paths, or, when the model drops the
    packet, of the attempt on the destination address's owner. A capture cannot tell who sent a
    packet, so a packet is a violation when it is one for any possible sender. Whether the model
    carries the packet at all (model drift) stays the owner's question: a router on the subnet
    could forge almost anything, which explains no captured flow."""
    source, paths, why = judge.paths(packet, point)
    targets = _delivered_to(paths) or [t for t in (judge.locate(packet.dst)[0],) if t is not None]
    hits = _hits(judge, packet, source, targets)
    spoofers: list[str] = []
    for other in judge.senders(packet.src)[1]:
        more = [h for h in _hits(judge, packet, other, _delivered_to(judge.paths(packet, point, other)[1]))
                if h not in hits]
        if more:
            spoofers.append(other)
            hits += tuple(more)
    return source, paths, why, tuple(spoofers), hits


def _delivered_to(paths: list[Path]) -> list[str]:
    return sorted({p.final_node for p in paths if p.delivered and p.final_node is not None})


def _hits(judge: Judge, packet: Packet, sender: str | None, targets: list[str]) -> tuple[RuleHit, ...]:
    hits: list[RuleHit] = []
    for target in targets:
        for hit in judge.judge(packet, sender, target):
            if hit not in hits:
                hits.append(hit)
    return tuple(hits)


def _arrival_zone(topology: Topology, path: Path) -> str:
    last = path.hops[-1] if path.hops else None
    if last is None or last.in_iface is None:
        return "-"
    return topology.nodes[last.node].interface(last.in_iface).zone


# -- text ----------------------------------------------------------------------------------------------

LIST_LIMIT = 50


def _flow_line(f: FlowVerdict, lang: str = "en") -> str:
    sep = text(lang, "list.sep")
    where = f"{f.source or '?'} → {sep.join(f.destinations) or '?'}"
    if f.spoofers:
        where += text(lang, "pcap.spoofers", senders=sep.join(f.spoofers))
    start = ""
    if not f.start.captured:
        how = f.start.value if lang == "en" else text(lang, f"pcap.start.{f.start.value}")
        start = text(lang, "pcap.start", how=how)
    return text(lang, "pcap.flow", packet=f.packet, where=where, from_zone=f.from_zone, to_zone=f.to_zone,
                packets=f.packets, first=f.first_packet, start=start)


def format_text(result: AuditResult, lang: str = "en") -> str:
    counts = result.counts()
    lines = [text(lang, "pcap.header", topology=one_line(result.topology), capture=one_line(result.capture),
                  format=result.format, at=text(lang, "pcap.at", at=result.at) if result.at else "")]
    skipped = text(lang, "list.sep").join(text(lang, "pcap.skip", n=n, why=why)
                                          for why, n in sorted(result.skipped.items()))
    lines.append(text(lang, "pcap.counts", packets=result.packets, ipv4=result.ipv4_packets, flows=len(result.flows),
                      skipped=text(lang, "pcap.skipped", skipped=skipped) if skipped else ""))
    both = sum(1 for f in result.violations if f.drift)
    lines.append(text(lang, "pcap.flows", allowed=counts["allowed"], blocked=counts["blocked"],
                      impossible=counts["impossible"], violation=counts["violation"],
                      both=text(lang, "pcap.both", n=both) if both else ""))
    pairs = result.zone_pairs()
    if pairs:
        heads = [text(lang, f"pcap.col.{c}") for c in
                 ("from", "to", "flows", "allowed", "blocked", "impossible", "violation", "packets")]
        w1 = max(display_width(heads[0]), *(display_width(p.from_zone) for p in pairs))
        w2 = max(display_width(heads[1]), *(display_width(p.to_zone) for p in pairs))
        widths = [w1, w2] + [max(display_width(h), 5) if k == 0 else display_width(h) for k, h in enumerate(heads[2:])]
        lines.append("")
        lines.append("  " + "  ".join(_pad(h, widths[k]) if k < 2 else _right(h, widths[k])
                                      for k, h in enumerate(heads)))
        for p in pairs:
            cells = [p.from_zone, p.to_zone] + [str(v) for v in (p.flows, p.allowed, p.blocked, p.impossible,
                                                                 p.violation, p.packets)]
            lines.append("  " + "  ".join(_pad(c, widths[k]) if k < 2 else _right(c, widths[k])
                                          for k, c in enumerate(cells)))
    attempts = [f for f in result.flows if f.category is Category.BLOCKED and f.rules]
    surface = [f for f in result.flows if f.category in (Category.ALLOWED, Category.IMPOSSIBLE) and f.rules]
    for key, flows in (("violations", result.violations), ("impossible", result.impossible),
                       ("attempts", attempts), ("surface", surface)):
        if not flows:
            continue
        lines.append("")
        lines.append(f"{text(lang, 'pcap.s.' + key)}:")
        for f in flows[:LIST_LIMIT]:
            lines.append(f"  {_flow_line(f, lang)}")
            for hit in f.rules:
                warning = "" if hit.severity == "error" else text(lang, "pcap.warning")
                lines.append(f"      {hit.rule}{warning}: {localize(hit.reason, lang)}")
            unanswered = "" if f.possible or f.replies else text(lang, "pcap.unanswered")
            lines.append("      " + text(lang, "pcap.model", model=localize(f.model, lang), unanswered=unanswered))
            if f.drift and f.category is Category.VIOLATION:
                lines.append("      " + text(lang, "pcap.drift_violation"))
        if len(flows) > LIST_LIMIT:
            lines.append("  " + text(lang, "pcap.more", n=len(flows) - LIST_LIMIT))
    return "\n".join(lines) + "\n"


def _pad(cell: str, width: int) -> str:
    return cell + " " * (width - display_width(cell))


def _right(cell: str, width: int) -> str:
    return " " * (width - display_width(cell)) + cell


__all__ = ["AuditResult", "Capture", "Category", "FlowVerdict", "Judge", "Start", "audit", "decode", "flow_key",
           "format_text", "parse_at", "read_capture"]
