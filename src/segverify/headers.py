"""Header spaces as BDDs (CUDD through ``dd.cudd``).

A header is: destination and source IPv4 address, IP protocol, destination and source port, and
the TCP "established" flag (ACK without SYN). ICMP has no ports: its packets carry the ICMP type in
the destination-port bits and the code in the source-port bits (both 0-255); every other protocol
without ports carries zeros there. A service term with ports but no protocol reads the ports of a
portless packet (ICMP included) as 0. Two groups of extra variables serve the engine:

* the *origin id* — which source sent the packet. It is never rewritten, so one propagation can
  carry the flows of every source at once and still tell them apart, even through NAT or when two
  sources could use the same address;
* the *origin copies* of the fields NAT may rewrite (destination, source, both ports): set equal
  to the live fields when a packet is sent, left alone by NAT, so the packet as its sender sent it
  can be read back at the receiver.

Variables are ordered most significant bit first with each origin copy interleaved next to its live
bit: prefixes become single cubes and the "copy equals live" relation stays linear in size.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from typing import TYPE_CHECKING, Iterable, Iterator, Protocol, Sequence

from dd import cudd

from .model import PORTED_PROTOCOLS, PROTOCOL_NAMES, Match, PortRange, ServiceTerm, Wildcard

if TYPE_CHECKING:
    from .describe import HeaderGroup
    from .shadowing import Shadowed


class Bdd(Protocol):
    """A header set as CUDD holds it (``dd.cudd.Function``, which ships no type information): the
    operations segverify uses, so the type checker sees sets combined only with sets."""

    def __and__(self, other: Bdd, /) -> Bdd: ...
    def __or__(self, other: Bdd, /) -> Bdd: ...
    def __xor__(self, other: Bdd, /) -> Bdd: ...
    def __invert__(self) -> Bdd: ...
    def __le__(self, other: Bdd, /) -> bool: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __ne__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...
    def __int__(self) -> int: ...
    def implies(self, other: Bdd, /) -> Bdd: ...
    def count(self, nvars: int | None = None) -> float: ...

    @property
    def dag_size(self) -> int: ...
    @property
    def var(self) -> str: ...  # the top variable of a node (describe walks the diagram)
    @property
    def low(self) -> Bdd: ...
    @property
    def high(self) -> Bdd: ...
    @property
    def negated(self) -> bool: ...

TCP, UDP, ICMP = 6, 17, 1
EPHEMERAL = PortRange(1024, 65535)

# Widths of the header fields, in bits.
WIDTH = {"dst": 32, "src": 32, "proto": 8, "dport": 16, "sport": 16}
# Fields whose sender's value is kept in an origin copy (NAT may rewrite them; destination NAT
# with a port rewrites the destination port).
TRACKED = ("dst", "src", "dport", "sport")
_PREFIX = {"dst": "d", "src": "s", "proto": "p", "dport": "t", "sport": "u"}
# Variable names per (field, origin copy), most significant bit first: built once, used everywhere.
FIELD_VARS: dict[tuple[str, bool], tuple[str, ...]] = {
    (field, origin): tuple(f"{prefix.upper() if origin else prefix}{i}" for i in range(WIDTH[field]))
    for field, prefix in _PREFIX.items() for origin in (False, True)
}


@dataclass(frozen=True, order=True)
class Packet:
    """One concrete header."""

    src: IPv4Address
    dst: IPv4Address
    proto: int
    sport: int = 0
    dport: int = 0
    established: bool = False

    def __str__(self) -> str:
        name = PROTOCOL_NAMES.get(self.proto, f"proto {self.proto}")
        if self.proto in PORTED_PROTOCOLS:
            flag = " established" if self.established else ""
            return f"{name} {self.src}:{self.sport} -> {self.dst}:{self.dport}{flag}"
        if self.proto == ICMP:
            return f"{name} {self.src} -> {self.dst} type {self.dport} code {self.sport}"
        return f"{name} {self.src} -> {self.dst}"

    def to_dict(self) -> dict[str, object]:
        return {
            "src": str(self.src),
            "dst": str(self.dst),
            "proto": PROTOCOL_NAMES.get(self.proto, self.proto),
            "sport": self.sport,
            "dport": self.dport,
            "established": self.established,
        }


def range_to_prefixes(low: int, high: int, width: int) -> Iterator[tuple[int, int]]:
    """Split [low, high] into maximal aligned blocks: (value, prefix length) pairs."""
    while low <= high:
        size = low & -low if low else 1 << width
        while size > high - low + 1:
            size >>= 1
        yield low, width - size.bit_length() + 1
        low += size


class HeaderSpace:
    """The BDD manager and the vocabulary of header predicates over it."""

    def __init__(self, origin_bits: int = 0, track_origin: bool = False) -> None:
        self.bdd = cudd.BDD()
        self.origin_bits = origin_bits
        self.track_origin = track_origin
        # Source first, then the origin id: an origin's id determines its source address, so the id
        # right after the source bits keeps each source's branch small. With the id above the
        # addresses every source's branch repeated the whole destination structure of the ACLs
        # (measured: 9.4 M nodes and 28 s against 1.1 M and 1.1 s on a 500-device network).
        order: list[str] = []
        for field in ("src", "origin", "dst", "proto", "dport", "sport"):
            if field == "origin":
                order += [f"o{i}" for i in range(origin_bits)]
                continue
            for i in range(WIDTH[field]):
                order.append(self.var(field, i))
                if track_origin and field in TRACKED:
                    order.append(self.var(field, i, origin=True))
        order.append("est")
        self.bdd.declare(*order)
        self._cubes: dict[tuple[str, int, int, bool], Bdd] = {}
        self._literals: dict[tuple[str, ...], list[tuple[Bdd, Bdd]]] = {}  # per bit: (is 0, is 1)
        self._origin_vars = tuple(f"o{i}" for i in range(origin_bits))
        self._others: dict[tuple[tuple[str, ...], tuple[str, ...]], list[str]] = {}  # for only()
        self._origins: dict[int, Bdd] = {}
        self._last_packet: tuple[Packet, Bdd] | None = None
        self._sets: dict[tuple[str, tuple[object, ...], bool], Bdd] = {}
        self._below_sources: dict[tuple[tuple[IPv4Network, ...] | None, tuple[ServiceTerm, ...] | None], Bdd] = {}
        # Compiled ACLs by content, filled by the network compiler: (permitted, line matches).
        self.acl_cache: dict[object, tuple[Bdd, tuple[Bdd, ...]]] = {}
        # Answers that depend on a set alone, kept for the next question about the same set (two
        # versions of a network in one space ask most of them twice): descriptions by header set,
        # filled by describe.header_groups; shadowed lines by compiled ACL (by the id of its line
        # matches, a tuple acl_cache keeps alive), filled by the HYG001 rule.
        self.groups_cache: dict[Bdd, tuple[tuple[HeaderGroup, ...], bool]] = {}
        self.shadowed_cache: dict[int, tuple[tuple[Bdd, ...], tuple[Shadowed, ...]]] = {}
        # CUDD grows its tables without collecting dead nodes until they hold `loose_up_to` nodes,
        # and grows its cache while hits are frequent. A propagation leaves many intermediate sets
        # dead: collecting them early and capping the cache at 2^20 entries halved peak nodes and
        # took peak memory from 410 to 269 MiB on 1k/20k, at the same CPU time.
        self.bdd.configure(reordering=False, loose_up_to=200_000, max_cache_hard=2 ** 20)
        self.true: Bdd = self.bdd.true
        self.false: Bdd = self.bdd.false
        self._ported = self.protocols(PORTED_PROTOCOLS)
        self._icmp = self.protocol(ICMP)
        # Non-port protocols carry zero ports, so a set never holds meaningless port variants;
        # ICMP carries its type and code (0-255 each) there.
        self.well_formed: Bdd = self._ported | (
            self._icmp & self.port_range("sport", 0, 255) & self.port_range("dport", 0, 255)
        ) | (
            ~self._ported & ~self._icmp & self.port_range("sport", 0, 0) & self.port_range("dport", 0, 0)
        )
        self.new_flow: Bdd = self.well_formed & ~self.bdd.var("est")
        self._copy_equal = self._origin_equals_live() if track_origin else self.true
        self._live_tracked = [v for field in TRACKED for v in FIELD_VARS[(field, False)]]

    # -- variables -------------------------------------------------------------------------------

    @staticmethod
    def var(field: str, bit: int, origin: bool = False) -> str:
        prefix = _PREFIX[field]
        return f"{prefix.upper() if origin else prefix}{bit}"

    def field_vars(self, field: str, origin: bool = False) -> list[str]:
        return list(FIELD_VARS[(field, origin)])

    # -- building predicates ---------------------------------------------------------------------

    def value_prefix(self, field: str, value: int, length: int, origin: bool = False) -> Bdd:
        key = (field, value, length, origin)
        cube = self._cubes.get(key)
        if cube is None:
            cube = self._cubes[key] = self._cube(FIELD_VARS[(field, origin)], value, length)
        return cube

    def _cube(self, names: tuple[str, ...], value: int, length: int) -> Bdd:
        """The first ``length`` of the bits ``names`` (most significant first) set as in ``value``.
        From the last bit up, each literal lies above what is built so far, so each step makes one
        node: measured 3x faster than dd's cube() from a dict of all the bits."""
        literals = self._literals.get(names)
        if literals is None:
            literals = self._literals[names] = [(~self.bdd.var(name), self.bdd.var(name)) for name in names]
        shift = len(names) - 1
        cube = self.true
        for i in range(length - 1, -1, -1):
            cube = literals[i][(value >> (shift - i)) & 1] & cube
        return cube

    def prefix(self, field: str, net: IPv4Network, origin: bool = False) -> Bdd:
        return self.value_prefix(field, int(net.network_address), net.prefixlen, origin)

    def networks(self, field: str, nets: Iterable[IPv4Network] | None, origin: bool = False) -> Bdd:
        if nets is None:
            return self.true
        key = (field, nets if isinstance(nets, tuple) else tuple(nets), origin)
        cached = self._sets.get(key)
        if cached is None:
            cached = self.false
            for net in key[1]:
                cached |= self.prefix(field, net, origin)
            self._sets[key] = cached
        return cached

    def wildcard(self, field: str, w: Wildcard) -> Bdd:
        """One cube over the bits the mask cares about (no expansion into prefixes)."""
        names = FIELD_VARS[(field, False)]
        width = WIDTH[field]
        return self.bdd.cube({names[i]: bool((w.value >> (width - 1 - i)) & 1) for i in range(width)
                              if not (w.mask >> (width - 1 - i)) & 1})

    def address_field(self, field: str, nets: tuple[IPv4Network, ...] | None, wild: tuple[Wildcard, ...],
                      excluded: tuple[Wildcard, ...]) -> Bdd:
        """An address clause of a match: prefixes or wildcard terms, less the exclusions."""
        result = self.networks(field, nets)
        for w in wild:
            result |= self.wildcard(field, w)
        for w in excluded:
            result &= ~self.wildcard(field, w)
        return result

    def address(self, field: str, addr: IPv4Address, origin: bool = False) -> Bdd:
        return self.value_prefix(field, int(addr), 32, origin)

    def port_range(self, field: str, low: int, high: int) -> Bdd:
        result = self.false
        for value, length in range_to_prefixes(low, high, WIDTH[field]):
            result |= self.value_prefix(field, value, length)
        return result

    def ports(self, field: str, ranges: Sequence[PortRange] | None) -> Bdd:
        if ranges is None:
            return self.true
        result = self.false
        for r in ranges:
            result |= self.port_range(field, r.low, r.high)
        return result

    def protocol(self, number: int) -> Bdd:
        return self.value_prefix("proto", number, 8)

    def protocols(self, numbers: Iterable[int]) -> Bdd:
        result = self.false
        for n in numbers:
            result |= self.protocol(n)
        return result

    def service(self, term: ServiceTerm) -> Bdd:
        ports = self.ports("sport", term.sports) & self.ports("dport", term.dports)
        if term.protocol is not None:
            return self.protocol(term.protocol) & ports
        if term.sports is None and term.dports is None:
            return self.true
        # Any protocol with ports: a portless packet (ICMP too) reads its ports as 0.
        zero = all(r is None or any(p.low == 0 for p in r) for r in (term.sports, term.dports))
        return (self._ported & ports) | (~self._ported if zero else self.false)

    def services(self, terms: Sequence[ServiceTerm] | None) -> Bdd:
        if terms is None:
            return self.true
        key = ("services", tuple(terms), False)
        cached = self._sets.get(key)
        if cached is None:
            cached = self.false
            for term in key[1]:
                cached |= self.service(term)
            self._sets[key] = cached
        return cached

    def match(self, m: Match) -> Bdd:
        """The headers a rule's match clause selects (rules repeat named objects: sets are cached)."""
        if m.plain:
            # Bottom up: the destinations and services lie below the sources in the variable order, so
            # conjoining them first and the sources last walks each part once; ACLs repeat the
            # (destination, service) pair of their lines, which is kept (compile 1k/20k: 0.75x).
            key = (m.dst, m.services)
            below = self._below_sources.get(key)
            if below is None:
                below = self._below_sources[key] = self.networks("dst", m.dst) & self.services(m.services)
            result = self.networks("src", m.src) & below
        else:
            result = (self.address_field("src", m.src, m.src_wild, m.src_except)
                      & self.address_field("dst", m.dst, m.dst_wild, m.dst_except))
            result &= self.services(m.services)
        if m.established is True:
            result &= self.protocol(TCP) & self.bdd.var("est")
        elif m.established is False:
            result &= ~self.bdd.var("est")
        return result

    def origin(self, index: int) -> Bdd:
        cube = self._origins.get(index)
        if cube is None:
            cube = self._origins[index] = self._cube(self._origin_vars, index, self.origin_bits)
        return cube

    def origins(self, indexes: Iterable[int]) -> Bdd:
        """The set of these origin ids: one aligned block of ids at a time, so a run of consecutive
        ids costs a few cubes, not one each (a zone's sources have consecutive ids)."""
        result = self.false
        ordered = sorted(set(indexes))
        start = 0
        for i in range(1, len(ordered) + 1):
            if i == len(ordered) or ordered[i] != ordered[i - 1] + 1:
                for value, length in range_to_prefixes(ordered[start], ordered[i - 1], self.origin_bits):
                    result |= self._cube(self._origin_vars, value, length)
                start = i
        return result

    def packet(self, p: Packet) -> Bdd:
        # The last packet's cube is kept: one packet is usually asked about many sets in a row
        # (the emulation's expected receivers, a trace's hops), and building the cube is the cost.
        last = self._last_packet
        if last is not None and last[0] == p:
            return last[1]
        bits: dict[str, bool] = {"est": p.established}
        for field, value in (("dst", int(p.dst)), ("src", int(p.src)), ("proto", p.proto),
                             ("dport", p.dport), ("sport", p.sport)):
            width = WIDTH[field]
            text = format(value & ((1 << width) - 1), f"0{width}b")
            bits.update(zip(FIELD_VARS[(field, False)], map("1".__eq__, text)))
        cube = self.bdd.cube(bits)
        self._last_packet = (p, cube)
        return cube

    # -- sending and rewriting -------------------------------------------------------------------

    def _origin_equals_live(self) -> Bdd:
        result = self.true
        for field in reversed(TRACKED):
            for i in reversed(range(WIDTH[field])):
                live = self.bdd.var(self.var(field, i))
                copy = self.bdd.var(self.var(field, i, origin=True))
                result &= live.equiv(copy)
        return result

    def sent(self, headers: Bdd) -> Bdd:
        """Headers as a sender emits them: origin copies equal to the live fields."""
        return headers & self._copy_equal

    def set_field(self, headers: Bdd, field: str, value: Bdd) -> Bdd:
        """Replace ``field`` by any value in ``value`` (a predicate over that field only)."""
        return self.bdd.exist(self.field_vars(field), headers) & value

    def as_sent(self, headers: Bdd) -> Bdd:
        """The headers as the sender sent them, read from the origin copies."""
        if not self.track_origin:
            return headers
        live = [v for field in TRACKED for v in self.field_vars(field)]
        rename = {
            self.var(field, i, origin=True): self.var(field, i) for field in TRACKED for i in range(WIDTH[field])
        }
        return self.bdd.let(rename, self.bdd.exist(live, headers))

    def flows_as_sent(self, received: Bdd) -> Bdd:
        """Received headers (with origin ids) as their senders sent them, whoever sent them."""
        return self.as_sent(self.without_origin_id(received))

    def identities(self, headers: Bdd) -> Bdd:
        """Which sent packets ``headers`` (live, anywhere in the network) come from, as a predicate
        over what no step rewrites: the origin id, the origin copies, protocol and flag. Without
        origin copies nothing is ever rewritten, and a header is its own sent packet."""
        if not self.track_origin:
            return headers
        return self.bdd.exist(self._live_tracked, headers)

    def origins_of(self, headers: Bdd) -> Bdd:
        """The origin ids ``headers`` carries (a predicate on the origin bits alone: small)."""
        return self.only(headers, (), self._origin_vars)

    def and_exist(self, u: Bdd, v: Bdd, variables: list[str]) -> Bdd:
        """``u & v`` with ``variables`` quantified away, in one CUDD pass (the conjunction itself is
        never built)."""
        return cudd.and_exists(u, v, variables)

    def origin_copy_vars(self) -> list[str]:
        """The variables of the headers as sent, kept beside the live ones (none unless tracked)."""
        return [v for field in TRACKED for v in self.field_vars(field, origin=True)] if self.track_origin else []

    def origin_id_vars(self) -> list[str]:
        return list(self._origin_vars)

    def without_origin_copies(self, headers: Bdd) -> Bdd:
        if not self.track_origin:
            return headers
        return self.bdd.exist(self.origin_copy_vars(), headers)

    def without_origin_id(self, headers: Bdd) -> Bdd:
        if not self.origin_bits:
            return headers
        return self.bdd.exist(self.origin_id_vars(), headers)

    # -- reading back ----------------------------------------------------------------------------

    def only(self, headers: Bdd, fields: tuple[str, ...], variables: tuple[str, ...] = ()) -> Bdd:
        """``headers`` seen through the live bits of ``fields`` (and ``variables``) alone."""
        key = (fields, variables)
        others = self._others.get(key)
        if others is None:
            kept = set(variables).union(*(FIELD_VARS[(f, False)] for f in fields))
            others = self._others[key] = sorted(v for v in self.bdd.vars if v not in kept)
        return self.bdd.exist(others, headers)

    def contains(self, headers: Bdd, p: Packet) -> bool:
        return (headers & self.packet(p)) != self.false

    def min_value(self, headers: Bdd, field: str, origin: bool = False) -> tuple[int, Bdd]:
        """The smallest value ``field`` takes in a non-empty set, and the set restricted to it."""
        value = 0
        for i in range(WIDTH[field]):
            zero = headers & ~self.bdd.var(self.var(field, i, origin))
            if zero != self.false:
                headers = zero
            else:
                headers = headers & self.bdd.var(self.var(field, i, origin))
                value |= 1 << (WIDTH[field] - 1 - i)
        return value, headers


PREFERRED_PROTOCOLS = (TCP, UDP, ICMP)
PREFERRED_PORTS = (443, 80, 25, 22, 445, 3389, 53, 139, 21, 23, 110, 143, 587, 993, 8080, 8443, 1494, 5900)


class HeaderSet:
    """An immutable set of headers with set algebra, tied to one :class:`HeaderSpace`."""

    __slots__ = ("space", "bdd")

    def __init__(self, space: HeaderSpace, bdd: Bdd) -> None:
        self.space = space
        self.bdd = bdd

    def _wrap(self, bdd: Bdd) -> "HeaderSet":
        return HeaderSet(self.space, bdd)

    def __and__(self, other: "HeaderSet") -> "HeaderSet":
        return self._wrap(self.bdd & other.bdd)

    def __or__(self, other: "HeaderSet") -> "HeaderSet":
        return self._wrap(self.bdd | other.bdd)

    def __sub__(self, other: "HeaderSet") -> "HeaderSet":
        return self._wrap(self.bdd & ~other.bdd)

    def __le__(self, other: "HeaderSet") -> bool:
        # dd's `<=` builds `other | ~self`, the size of `other`; an empty difference is built from
        # nothing but the constant false, so the usual yes costs no new node.
        return (self.bdd & ~other.bdd) == self.space.false

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HeaderSet) and self.bdd == other.bdd

    def __hash__(self) -> int:
        return hash(int(self.bdd))

    def __bool__(self) -> bool:
        return self.bdd != self.space.false

    def is_empty(self) -> bool:
        return not self

    def issubset(self, other: "HeaderSet") -> bool:
        return self <= other

    def contains(self, p: Packet) -> bool:
        return self.space.contains(self.bdd, p)

    def pick(self) -> Packet | None:
        """A readable member: well-known protocol and port, first host of a prefix."""
        return pick_packet(self.space, self.bdd)

    def describe(self, limit: int = 8) -> list[str]:
        from .describe import describe_headers

        return describe_headers(self.space, self.bdd, limit)

    def groups(self) -> list[dict[str, object]]:
        """The description as data: per group protocols, src/dst prefixes and port ranges, and its text."""
        from .describe import header_groups

        return [g.to_dict() for g in header_groups(self.space, self.bdd)[0]]

    def __repr__(self) -> str:
        return f"HeaderSet({'; '.join(self.describe(3)) or 'empty'})"


def _prefer(space: HeaderSpace, headers: Bdd, choices: Iterable[Bdd]) -> Bdd:
    for choice in choices:
        narrowed = headers & choice
        if narrowed != space.false:
            return narrowed
    return headers


def _readable_address(space: HeaderSpace, headers: Bdd, field: str) -> tuple[int, Bdd]:
    view = space.only(headers, (field,))
    view = _prefer(space, view, [~space.value_prefix(field, 0, 8)])  # 0.0.0.0/8 reads as a mistake
    value, _ = space.min_value(view, field)
    # The lowest member of a prefix is its network address; its first host reads better.
    if value & 0xFF == 0 and view & space.address(field, IPv4Address(value + 1)) != space.false:
        value += 1
    return value, headers & space.address(field, IPv4Address(value))


def pick_packet(space: HeaderSpace, headers: Bdd) -> Packet | None:
    """Fields are chosen a few at a time on the set seen through those fields alone (every other
    variable quantified away), which is small; the whole set is restricted once per choice. Every
    preference names only the fields being chosen, so the choices are those made on the whole set."""
    if headers == space.false:
        return None
    view = space.only(headers, ("proto", "dport", "sport"))
    view = _prefer(space, view, [space.protocol(p) for p in PREFERRED_PROTOCOLS])
    proto, view = space.min_value(view, "proto")
    if proto in PORTED_PROTOCOLS:
        view = _prefer(space, view, [space.port_range("dport", p, p) for p in PREFERRED_PORTS])
        dport, view = space.min_value(view, "dport")
        view = _prefer(space, view, [space.port_range("sport", 49152, 65535), space.port_range("sport", 1024, 65535)])
        sport, view = space.min_value(view, "sport")
    else:
        if proto == ICMP:  # an echo request reads best (and is what a kernel tracks as new)
            view = _prefer(space, view, [space.port_range("dport", 8, 8) & space.port_range("sport", 0, 0)])
        dport, view = space.min_value(view, "dport")
        sport, view = space.min_value(view, "sport")
    headers = headers & view
    established = (space.only(headers, (), ("est",)) & ~space.bdd.var("est")) == space.false
    headers = headers & (space.bdd.var("est") if established else ~space.bdd.var("est"))
    src, headers = _readable_address(space, headers, "src")
    dst, headers = _readable_address(space, headers, "dst")
    return Packet(IPv4Address(src), IPv4Address(dst), proto, sport, dport, established)
