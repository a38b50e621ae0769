"""The validated topology: frozen dataclasses with no YAML left in them.

Every object keeps the :class:`~segverify.errors.Span` of the place that declared it, so findings can
point at file:line. Names are resolved, addresses parsed, references checked by the loader; code that
receives a :class:`Topology` may rely on all of that.
"""

from __future__ import annotations

import datetime as _dt
import enum
from dataclasses import dataclass, field
from functools import cached_property
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, summarize_address_range
from typing import Mapping, NamedTuple

from .errors import Span


class Segment(str, enum.Enum):
    """Which part of the three-layer model a zone belongs to."""

    MYNUMBER = "mynumber"
    LGWAN = "lgwan"
    INTERNET = "internet"
    LGWAN_BACKBONE = "lgwan-backbone"
    SECURITY_CLOUD = "security-cloud"
    EXTERNAL_INTERNET = "external-internet"

    @property
    def external(self) -> bool:
        return self in (Segment.LGWAN_BACKBONE, Segment.SECURITY_CLOUD, Segment.EXTERNAL_INTERNET)

    @property
    def label(self) -> str:
        return SEGMENT_LABELS[self]


SEGMENT_LABELS = {
    Segment.MYNUMBER: "My Number (マイナンバー利用事務系)",
    Segment.LGWAN: "LGWAN (LGWAN接続系)",
    Segment.INTERNET: "Internet (インターネット接続系)",
    Segment.LGWAN_BACKBONE: "LGWAN backbone",
    Segment.SECURITY_CLOUD: "security cloud (自治体情報セキュリティクラウド)",
    Segment.EXTERNAL_INTERNET: "outside Internet",
}


class Profile(str, enum.Enum):
    ALPHA = "alpha"
    ALPHA_PRIME = "alpha-prime"
    BETA = "beta"
    BETA_PRIME = "beta-prime"


class NodeKind(str, enum.Enum):
    TERMINAL = "terminal"
    SERVER = "server"
    HOST = "host"
    ROUTER = "router"
    L3SWITCH = "l3switch"
    FIREWALL = "firewall"
    GATEWAY = "gateway"
    SANITIZER = "sanitizer"
    PROXY = "proxy"
    EXTERNAL = "external"

    @property
    def forwards_by_default(self) -> bool:
        return self in (NodeKind.ROUTER, NodeKind.L3SWITCH, NodeKind.FIREWALL, NodeKind.GATEWAY)


class Role(str, enum.Enum):
    LGWAN_ACCESS_POINT = "lgwan-access-point"
    SECURITY_CLOUD = "security-cloud"
    BREAKOUT_PROXY = "breakout-proxy"
    BOUNDARY = "boundary"


class SanitizerType(str, enum.Enum):
    MAIL = "mail"
    FILE = "file"
    SCREEN = "screen"


class Action(str, enum.Enum):
    PERMIT = "permit"
    DENY = "deny"


# IP protocol numbers that have names in the format.
PROTOCOLS: Mapping[str, int] = {"icmp": 1, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "sctp": 132}
PROTOCOL_NAMES: Mapping[int, str] = {v: k for k, v in PROTOCOLS.items()}
PORTED_PROTOCOLS = frozenset({6, 17, 132})


def protocol_number(text: str) -> int | None:
    """A protocol written by a user: a name (tcp, udp, ...) or a number 0-255 in ASCII digits;
    None when it is neither ("262", "²", "８" are not protocols)."""
    text = text.strip().lower()
    if text.isascii() and text.isdigit():
        return int(text) if len(text) <= 3 and int(text) <= 255 else None
    return PROTOCOLS.get(text)


@dataclass(frozen=True)
class PortRange:
    low: int
    high: int

    def __str__(self) -> str:
        return str(self.low) if self.low == self.high else f"{self.low}-{self.high}"


@dataclass(frozen=True)
class ServiceTerm:
    """One protocol with optional port ranges; ``None`` means any.

    For ICMP the two port fields carry the message: ``dports`` the ICMP type and ``sports`` the
    code (the header space reuses the port bits the same way, see :mod:`segverify.headers`).
    """

    protocol: int | None = None
    sports: tuple[PortRange, ...] | None = None
    dports: tuple[PortRange, ...] | None = None


@dataclass(frozen=True, order=True)
class Wildcard:
    """A Cisco-style address with a wildcard mask: the bits set in ``mask`` are not compared.

    ``128.12.0.1 0.0.255.0`` holds every address ``128.12.x.1``. A contiguous mask is a prefix;
    the builder turns those into :class:`IPv4Network` so only the non-contiguous ones remain.
    """

    value: int  # the address with the don't-care bits cleared
    mask: int  # wildcard bits: 1 = any value

    def __contains__(self, addr: object) -> bool:
        return isinstance(addr, IPv4Address) and (int(addr) & ~self.mask & 0xFFFFFFFF) == self.value

    def __str__(self) -> str:
        return f"{IPv4Address(self.value)} {IPv4Address(self.mask)}"


@dataclass(frozen=True)
class Match:
    """A header predicate as written in a rule, exception or sanitizer declaration.

    ``None`` for a field means "any". ``services`` is a disjunction of terms. An address field is
    the union of its prefixes (``src``) and its wildcard-mask terms (``src_wild``, only when
    ``src`` is not None), less everything in ``src_except`` (applied also to "any").
    """

    src: tuple[IPv4Network, ...] | None = None
    dst: tuple[IPv4Network, ...] | None = None
    services: tuple[ServiceTerm, ...] | None = None
    established: bool | None = None
    src_wild: tuple[Wildcard, ...] = ()
    dst_wild: tuple[Wildcard, ...] = ()
    src_except: tuple[Wildcard, ...] = ()
    dst_except: tuple[Wildcard, ...] = ()

    @property
    def plain(self) -> bool:
        """Only prefixes: no wildcard masks and no exclusions."""
        return not (self.src_wild or self.dst_wild or self.src_except or self.dst_except)


@dataclass(frozen=True)
class Rule:
    acl: str
    index: int  # 1-based position in its ACL
    action: Action
    match: Match
    span: Span
    description: str = ""
    text: str = ""  # the rule as the user wrote it, flattened to one line


@dataclass(frozen=True)
class Acl:
    node: str
    name: str
    default: Action
    stateful: bool
    rules: tuple[Rule, ...]
    span: Span
    default_span: Span


@dataclass(frozen=True)
class PolicyLine:
    """One line of a node's zone-pair / interface-pair policy.

    ``ingress`` and ``egress`` are the interfaces of the node the line applies to (resolved from the
    interface and zone names written), ``None`` for any. ``rule`` is the line as an ACL line (its
    match, action, span and text), numbered by its place in the policy.
    """

    rule: Rule
    ingress: frozenset[str] | None
    egress: frozenset[str] | None
    ingress_text: str = "any"
    egress_text: str = "any"
    snat: "NatRule | None" = None  # source NAT of the packets this line permits (FortiOS nat + ippool)

    def applies(self, ingress: str | None, egress: str | None) -> bool:
        """Does the line apply to a packet entering by ``ingress`` and leaving by ``egress``?
        ``None`` stands for the device itself (a local line has no side there to test)."""
        return ((ingress is None or self.ingress is None or ingress in self.ingress)
                and (egress is None or self.egress is None or egress in self.egress))


@dataclass(frozen=True)
class Policy:
    """A node's ordered policy (first match wins) with an explicit default.

    ``lines`` decide forwarded traffic by (ingress, egress) interface pair, the egress being the one
    the route chose. ``local`` lines decide traffic to the device (lines without ``to``) and from it
    (lines without ``from``), with ``local_default`` after them; ``None`` when not given (no filter).
    With ``local_by_rules`` (``local: rules``, PAN-OS) the ``lines`` themselves decide traffic to the
    device, the interface holding the destination address standing as the egress, and what the
    device sends is not filtered.
    """

    node: str
    default: Action
    stateful: bool
    lines: tuple[PolicyLine, ...]
    span: Span
    default_span: Span
    local: tuple[PolicyLine, ...] = ()
    local_default: Action | None = None
    local_span: Span | None = None
    local_by_rules: bool = False

    def acl_for(self, ingress: str, egress: str) -> Acl:
        """The lines that apply to one interface pair, as an ACL (first match, then the default)."""
        rules = tuple(line.rule for line in self.lines if line.applies(ingress, egress))
        return Acl(self.node, "policy", self.default, self.stateful, rules, self.span, self.default_span)

    def local_acl(self, ingress: str | None, egress: str | None) -> Acl | None:
        """Traffic to the device (``egress`` None) or from it (``ingress`` None). Under
        ``local_by_rules``, traffic to an address no interface holds meets the lines without ``to``;
        to an interface's address it meets :meth:`acl_for` with that interface as the egress."""
        if self.local_by_rules:
            if ingress is None:
                return None
            rules = tuple(line.rule for line in self.lines if line.egress is None and line.applies(ingress, None))
            return Acl(self.node, "policy", self.default, self.stateful, rules, self.span, self.default_span)
        if self.local_default is None:
            return None
        rules = tuple(line.rule for line in self.local
                      if (line.egress is None if egress is None else line.ingress is None)
                      and line.applies(ingress, egress))
        assert self.local_span is not None
        return Acl(self.node, "local", self.local_default, self.stateful, rules, self.local_span, self.local_span)


@dataclass(frozen=True)
class Interface:
    node: str
    name: str
    zone: str
    address: IPv4Interface | None
    gateway: IPv4Address | None
    acl_in: str | None
    acl_out: str | None
    span: Span
    description: str = ""
    secondary: tuple[IPv4Interface, ...] = ()  # further addresses, each with its connected subnet
    virtual: tuple[IPv4Address, ...] = ()  # VRRP/HSRP addresses this (active) member holds
    vrf: str = "default"  # the routing context (VRF / virtual router) the interface is bound to

    @property
    def ref(self) -> str:
        return f"{self.node}:{self.name}"

    # Computed once: a model is never changed after it is built, and the rules ask again and again
    # (at 10,000 devices millions of times).
    @cached_property
    def all_addresses(self) -> tuple[IPv4Interface, ...]:
        """The primary address first, then the secondary ones (each gives a connected route)."""
        return ((self.address,) if self.address is not None else ()) + self.secondary

    @cached_property
    def ips(self) -> tuple[IPv4Address, ...]:
        """Every address the interface answers for: primary, secondary, virtual."""
        return tuple(a.ip for a in self.all_addresses) + self.virtual

    def on_subnet(self, addr: IPv4Address) -> bool:
        return any(addr in a.network for a in self.all_addresses)


@dataclass(frozen=True)
class Route:
    prefix: IPv4Network
    via: IPv4Address | None  # None with drop=True: a null route
    drop: bool
    span: Span
    distance: int = 1  # administrative distance: a higher one is a floating (backup) route
    source: str = "static"  # "static" (configured) or "fib" (read from the device's forwarding table)
    protocol: str = ""  # for FIB routes: the protocol that installed it (ospf, bgp, ...), kept for the record
    vrf: str = "default"  # the routing table (VRF) the route is in
    # Route leaking: without ``via``, the destination is looked up again in this VRF (PAN-OS next-vr,
    # Linux ``dev VRF``); with ``via``, the next hop is resolved in this VRF (IOS ``... global``).
    next_vrf: str | None = None

    @property
    def leak(self) -> bool:
        """A route that hands the lookup to another VRF (no next hop of its own)."""
        return self.next_vrf is not None and self.via is None and not self.drop


class NatType(str, enum.Enum):
    SOURCE = "source"  # source translation to an address or a pool (overload / masquerade / ippool)
    STATIC = "static"  # one-to-one, both directions
    DESTINATION = "destination"  # destination translation on ingress, with a port (VIP / port forward)
    TWICE = "twice"  # source and destination of one address pair together (ASA twice NAT); one rule per direction


@dataclass(frozen=True)
class NatRule:
    """One translation. ``interface`` is where it works: the egress interface for SOURCE and the
    outside interface for STATIC (both directions), the ingress interface for DESTINATION and TWICE;
    a rule of a policy line (``policy_line`` set) works on whatever egress that line's packets take.

    A TWICE rule is a DESTINATION rule whose matched packets also get the source ``source_to`` as
    they leave the node (by whatever interface), instead of any other source NAT: the pair is
    translated only for packets that matched on entry. A bidirectional twice rule is two of them,
    one per direction (the second on the other interface, its match the mirror pair)."""

    node: str
    index: int
    type: NatType
    interface: str
    match: Match  # SOURCE, DESTINATION, TWICE: which packets; STATIC: unused (any)
    # SOURCE: the (first) new source; STATIC: the outside address; DESTINATION, TWICE: the new destination
    translated: IPv4Address
    inside: IPv4Address | None  # STATIC only
    span: Span
    pool_last: IPv4Address | None = None  # SOURCE: last address of the pool translated..pool_last
    # SOURCE: the source-port pool of ported protocols (None: ports kept);
    # DESTINATION, TWICE: the new destination port (low == high; None: kept).
    ports: PortRange | None = PortRange(1024, 65535)
    policy_line: int | None = None  # the policy line this rule belongs to
    source_to: IPv4Address | None = None  # TWICE only: the new source
    reverse: bool = False  # TWICE only: the rule of the other direction of a bidirectional rule

    @property
    def pool(self) -> tuple[IPv4Address, IPv4Address]:
        return self.translated, self.pool_last or self.translated

    @property
    def public(self) -> tuple[IPv4Network, ...]:
        """The addresses this rule makes the node answer for from outside (never an external
        node's): a source pool, a static outside address, the destinations a DNAT rule takes."""
        if self.type in (NatType.DESTINATION, NatType.TWICE):
            return self.match.dst or ()
        first, last = self.pool
        return tuple(summarize_address_range(first, last))


@dataclass(frozen=True)
class DeclaredFlow:
    """A flow a sanitizer or proxy declares: the peer addresses and the services."""

    peer: tuple[IPv4Network, ...]
    peer_text: str
    services: tuple[ServiceTerm, ...]
    services_text: str
    span: Span


@dataclass(frozen=True)
class Sanitizer:
    type: SanitizerType
    inbound: tuple[DeclaredFlow, ...]
    outbound: tuple[DeclaredFlow, ...]
    span: Span


@dataclass(frozen=True)
class Pool:
    """Hosts on one LAN subnet that no interface in the file stands for.

    Declared in ``pools:`` (a DHCP range of terminals, named ``pool:NAME``) or implicit: one per
    LAN subnet for "any other address on this subnet" (``lan:NAME``), so that every address of every
    connected subnet can send. A pool becomes a :class:`Node` of its own (one interface on the LAN);
    the addresses it stands for are ``range`` less what interfaces, NAT, declared pools and the LAN's
    external nodes take (the network computes that set).
    """

    name: str  # the node name: "pool:NAME" or "lan:LAN" (neither can clash with a node name)
    lan: str
    subnet: IPv4Network
    range: tuple[IPv4Network, ...]  # as declared, inside ``subnet``; implicit: (subnet,)
    implicit: bool
    span: Span

    @property
    def label(self) -> str:
        return f"{self.name} (unowned addresses)" if self.implicit else self.name


DEFAULT_VRF = "default"


@dataclass(frozen=True)
class Vrf:
    """A routing context of a node other than its default one: a VRF, virtual router or VDOM."""

    name: str
    span: Span
    description: str = ""


@dataclass(frozen=True)
class Node:
    name: str
    kind: NodeKind
    roles: frozenset[Role]
    interfaces: tuple[Interface, ...]
    routes: tuple[Route, ...]
    acls: Mapping[str, Acl]
    nat: tuple[NatRule, ...]
    forwarding: bool
    span: Span
    description: str = ""
    mfa: bool | None = None
    removable_media_blocked: bool | None = None
    epp: bool | None = None
    edr: bool | None = None
    represents: tuple[IPv4Network, ...] = ()
    sanitizer: Sanitizer | None = None
    allow: tuple[DeclaredFlow, ...] = ()  # breakout proxy allow-list
    policy: Policy | None = None  # zone-pair / interface-pair policy (forwarded and local traffic)
    pool: Pool | None = None  # set on the node that stands for a pool of addresses
    vrfs: Mapping[str, Vrf] = field(default_factory=dict)  # declared VRFs, besides the default one

    @property
    def vrf_names(self) -> tuple[str, ...]:
        """Every routing context of the node: the default one first."""
        return (DEFAULT_VRF, *sorted(self.vrfs))

    def routes_in(self, vrf: str) -> tuple[Route, ...]:
        return tuple(r for r in self.routes if r.vrf == vrf)

    def interfaces_in(self, vrf: str) -> tuple[Interface, ...]:
        return tuple(i for i in self.interfaces if i.vrf == vrf)

    def interface(self, name: str) -> Interface:
        for iface in self.interfaces:
            if iface.name == name:
                return iface
        raise KeyError(name)

    @cached_property
    def addresses(self) -> tuple[IPv4Address, ...]:
        return tuple(ip for i in self.interfaces for ip in i.ips)


def nat_rules(node: Node) -> tuple[NatRule, ...]:
    """The node's NAT rules and those of its policy lines."""
    lines = node.policy.lines if node.policy is not None else ()
    return node.nat + tuple(line.snat for line in lines if line.snat is not None)


def nat_answers(node: Node, iface: str) -> tuple[tuple[NatRule, IPv4Network], ...]:
    """The NAT addresses ``node`` answers ARP for on ``iface`` (FortiOS VIP arp-reply, IOS NAT
    alias), each with its rule: the public addresses of the rules working there that lie on its
    subnets; a policy line's pool wherever it lies on a subnet of the node. The engine, the
    emulator and the loader's conflict check all read this."""
    subnets = [a.network for a in node.interface(iface).all_addresses]
    out: list[tuple[NatRule, IPv4Network]] = []
    for rule in nat_rules(node):
        if rule.policy_line is None and rule.interface != iface:
            continue
        for net in rule.public:
            for sub in subnets:
                if net.overlaps(sub):
                    out.append((rule, net if net.subnet_of(sub) else sub))
    return tuple(out)


@dataclass(frozen=True)
class Zone:
    name: str
    segment: Segment
    span: Span
    description: str = ""


@dataclass(frozen=True)
class Lan:
    """A layer-2 segment: a point-to-point link or a switched LAN joining interfaces."""

    name: str
    endpoints: tuple[tuple[str, str], ...]  # (node, interface)
    span: Span
    description: str = ""
    named: bool = True  # False: a link without a name, called link-N by its place in the file


@dataclass(frozen=True)
class ExceptionDecl:
    id: str
    rule: str
    scope: Match
    scope_text: str
    owner: str
    justification: str
    expires: _dt.date | None
    ticket: str
    span: Span


@dataclass(frozen=True)
class SourceFile:
    path: str
    sha256: str


class NotVerifiedLine(NamedTuple):
    """A vendor line whose effect is outside what segverify models."""

    span: Span
    reason: str
    text: str  # the line as written ("" when the note is about no one line)


@dataclass(frozen=True)
class ImportScope:
    """What the import of a snapshot left outside the proof, for the report's scope: every vendor
    line "not verified" (its file:line, why, the line as written) and how many were over-approximated.
    Every output (text, HTML, JSON, SARIF, JUnit) shows this one list."""

    not_verified: tuple[NotVerifiedLine, ...] = ()
    over_approximated: int = 0

    def to_dict(self) -> dict[str, object]:
        return {"not_verified": [{"location": str(line.span), "file": line.span.file, "line": line.span.line,
                                  "column": line.span.column, "reason": line.reason, "text": line.text}
                                 for line in self.not_verified],
                "over_approximated": self.over_approximated}


@dataclass(frozen=True)
class Topology:
    name: str
    profile: Profile
    zones: Mapping[str, Zone]
    nodes: Mapping[str, Node]
    lans: tuple[Lan, ...]
    exceptions: tuple[ExceptionDecl, ...]
    files: tuple[SourceFile, ...]
    span: Span
    description: str = ""
    networks: Mapping[str, tuple[IPv4Network, ...]] = field(default_factory=dict)
    import_scope: ImportScope | None = None  # read from a snapshot: what its import did not verify

    def zone_of(self, node: str, iface: str) -> Zone:
        return self.zones[self.nodes[node].interface(iface).zone]

    def segments_of(self, node: str) -> frozenset[Segment]:
        return self._segments[node]

    @cached_property
    def _segments(self) -> dict[str, frozenset[Segment]]:
        return {name: frozenset(self.zones[i.zone].segment for i in n.interfaces) for name, n in self.nodes.items()}
