"""Header sets in readable terms: ``tcp/139,445 from 10.1.0.0/24 to 172.16.5.10``.

The BDD is walked path by path; each path is a cube that fixes some bits of each field. Because bits
are ordered most significant first, addresses and ports come out as prefixes; cubes that differ only
in ports are merged into port lists. Origin ids and origin copies are ignored: callers describe sets
as the sender sent them.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, collapse_addresses
from typing import Iterator

from .headers import FIELD_VARS, WIDTH, Bdd, HeaderSpace, range_to_prefixes
from .model import PORTED_PROTOCOLS, PROTOCOL_NAMES

MAX_CUBES = 4000


_FIELDS = ("proto", "src", "dst", "sport", "dport")
# Each live header variable: (index of its field in a pattern, the bit it sets there).
_VAR_BITS: dict[str, tuple[int, int]] = {
    name: (index, 1 << (WIDTH[field] - 1 - bit))
    for index, field in enumerate(_FIELDS) for bit, name in enumerate(FIELD_VARS[(field, False)])
}
Pattern = tuple[tuple[int, int], ...]  # per field of _FIELDS: (value, mask), mask bits where fixed


def _cubes(space: HeaderSpace, u: Bdd) -> Iterator[Pattern]:
    """Disjoint cubes of ``u``, each as the (value, mask) of every live header field; variables of
    no live field (origin ids and copies) are not fixed by them."""
    unfixed: Pattern = ((0, 0),) * len(_FIELDS)
    stack: list[tuple[Bdd, Pattern]] = [(u, unfixed)]
    false, true = space.false, space.true
    while stack:
        node, pattern = stack.pop()
        if node == false:
            continue
        if node == true:
            yield pattern
            continue
        low = ~node.low if node.negated else node.low
        high = ~node.high if node.negated else node.high
        where = _VAR_BITS.get(node.var)
        if where is None:
            stack.append((high, pattern))
            stack.append((low, pattern))
            continue
        index, bit = where
        value, mask = pattern[index]
        before, after = pattern[:index], pattern[index + 1:]
        # Push high first so low (smaller values) comes out first: deterministic, ascending.
        stack.append((high, before + ((value | bit, mask | bit),) + after))
        stack.append((low, before + ((value, mask | bit),) + after))


def _is_prefix_mask(mask: int, width: int) -> int | None:
    full = (1 << width) - 1
    inverted = ~mask & full
    if inverted & (inverted + 1) == 0:
        return width - inverted.bit_length()
    return None


def _address_text(value: int, mask: int) -> str:
    length = _is_prefix_mask(mask, 32)
    if length is None:
        return f"{IPv4Address(value)}&{IPv4Address(mask)}"
    if length == 0:
        return "any"
    if length == 32:
        return str(IPv4Address(value))
    return f"{IPv4Address(value)}/{length}"


def _range(value: int, mask: int, width: int) -> tuple[int, int] | None:
    length = _is_prefix_mask(mask, width)
    if length is None:
        return None
    return value, value | ((1 << (width - length)) - 1)


def _merged(ranges: list[tuple[int, int]]) -> list[list[int]]:
    """Sorted ranges with touching or overlapping ones joined."""
    merged: list[list[int]] = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    return merged


def _ranges_text(ranges: list[tuple[int, int]]) -> str:
    return ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in _merged(ranges))


def _net_text(net: IPv4Network) -> str:
    return str(net.network_address) if net.prefixlen == 32 else str(net)


def _union_text(addresses: list[str]) -> str:
    """A union of address texts; a large union reads better as its covering prefix "except" the
    complement (``any except 10.0.0.0/8``, ``10.20.1.0/24 except 10.20.1.5``)."""
    if len(addresses) <= 3 or any("&" in a for a in addresses) or "any" in addresses:
        return ", ".join(addresses) if "any" not in addresses else "any"
    nets = list(collapse_addresses(IPv4Network(a) for a in addresses))
    cover = nets[0]
    while not all(n.subnet_of(cover) for n in nets):
        cover = cover.supernet()
    missing = _gaps(cover, nets)
    if len(missing) < len(nets):
        whole = "any" if cover.prefixlen == 0 else _net_text(cover)
        return f"{whole} except " + ", ".join(_net_text(m) for m in missing)
    return ", ".join(_net_text(n) for n in nets)


def _gaps(cover: IPv4Network, nets: list[IPv4Network]) -> list[IPv4Network]:
    """The fewest prefixes that hold exactly what of ``cover`` the sorted, collapsed ``nets`` leave
    out: each gap between them split into its aligned blocks (one pass, no set algebra)."""
    gaps: list[IPv4Network] = []
    low = int(cover.network_address)
    for net in [*nets, None]:
        high = int(net.network_address) - 1 if net is not None else int(cover.broadcast_address)
        gaps += [IPv4Network((value, length)) for value, length in range_to_prefixes(low, high, 32)]
        if net is not None:
            low = int(net.broadcast_address) + 1
    return gaps


def _prefixes(addresses: list[str]) -> list[str]:
    """Address texts as a sorted list of prefixes, for scripts (``any`` is 0.0.0.0/0)."""
    if "any" in addresses:
        return ["0.0.0.0/0"]
    if any("&" in a for a in addresses):
        return sorted(addresses)
    return [str(n) for n in collapse_addresses(IPv4Network(a) for a in addresses)]


@dataclass(frozen=True)
class HeaderGroup:
    """One line of a description, as data: what ``query --format json`` gives scripts."""

    text: str
    protocols: tuple[tuple[int, int], ...]  # protocol number ranges; ((0, 255),) is any
    src: tuple[str, ...]  # prefixes (a wildcard pattern as value&mask)
    dst: tuple[str, ...]
    src_ports: tuple[tuple[int, int], ...] | None  # None: any (or a protocol without ports)
    dst_ports: tuple[tuple[int, int], ...] | None

    def to_dict(self) -> dict[str, object]:
        def ranges(r: tuple[tuple[int, int], ...] | None) -> list[dict[str, int]] | None:
            return None if r is None else [{"low": lo, "high": hi} for lo, hi in r]

        return {"text": self.text,
                "protocols": [{"low": lo, "high": hi, "name": PROTOCOL_NAMES.get(lo) if lo == hi else None}
                              for lo, hi in self.protocols],
                "src": list(self.src), "dst": list(self.dst),
                "src_ports": ranges(self.src_ports), "dst_ports": ranges(self.dst_ports)}


def _protocols_text(ranges: list[tuple[int, int]]) -> str:
    merged = _merged(ranges)
    if merged == [[0, 255]]:
        return "any protocol"
    parts: list[str] = []
    for low, high in merged:
        names = [PROTOCOL_NAMES.get(p) for p in range(low, high + 1)]
        if high - low < 3 and all(names):
            parts.extend(n for n in names if n)
        else:
            parts.append(f"proto {low}" if low == high else f"proto {low}-{high}")
    return ",".join(parts)


def describe_headers(space: HeaderSpace, u: Bdd, limit: int = 8) -> list[str]:
    """At most ``limit`` lines describing ``u``; a last line says how much was left out."""
    groups, truncated = header_groups(space, u)
    lines = [g.text for g in groups]
    if len(lines) > limit or truncated:
        rest = len(lines) - limit
        lines = lines[:limit]
        lines.append("... and more header groups" if truncated else f"... and {rest} more header groups")
    return lines


def header_groups(space: HeaderSpace, u: Bdd) -> tuple[list[HeaderGroup], bool]:
    """``u`` as groups (the lines of :func:`describe_headers`), and whether the walk was cut short.

    A function of the set alone: kept in the space for the next question about the same set."""
    known = space.groups_cache.get(u)
    if known is None:
        groups, truncated = _header_groups(space, u)
        known = space.groups_cache[u] = (tuple(groups), truncated)
    return list(known[0]), known[1]


def _header_groups(space: HeaderSpace, u: Bdd) -> tuple[list[HeaderGroup], bool]:
    u = space.bdd.exist(["est"], space.without_origin_copies(space.without_origin_id(u)))
    # Non-port protocols carry zero ports; forget them so they read as plain protocols.
    ported = space.protocols(PORTED_PROTOCOLS)
    ports = space.field_vars("sport") + space.field_vars("dport")
    u = (u & ported) | (space.bdd.exist(ports, u & ~ported) & ~ported)
    by_ports: dict[tuple[tuple[int, int], str, str, str], list[tuple[int, int]]] = {}
    truncated = False
    for count, cube in enumerate(_cubes(space, u)):
        if count >= MAX_CUBES:
            truncated = True
            break
        proto_bits, src_bits, dst_bits, sport_bits, dport_bits = cube
        proto = _range(*proto_bits, 8) or (0, 255)
        src = _address_text(*src_bits)
        dst = _address_text(*dst_bits)
        sport = _range(*sport_bits, 16) or (0, 65535)
        dport = _range(*dport_bits, 16) or (0, 65535)
        sport_text = "" if sport == (0, 65535) else _ranges_text([sport])
        by_ports.setdefault((proto, src, dst, sport_text), []).append(dport)
    by_proto: dict[tuple[str, str, str, str], list[tuple[int, int]]] = {}
    for (proto, src, dst, sport_text), dports in by_ports.items():
        dport_text = "" if (0, 65535) in dports else _ranges_text(dports)
        by_proto.setdefault((src, dst, sport_text, dport_text), []).append(proto)
    by_destination: dict[tuple[str, str, str], list[str]] = {}
    services: dict[str, tuple[tuple[tuple[int, int], ...], str]] = {}
    for (src, dst, sport_text, dport_text), protos in by_proto.items():
        service = _protocols_text(protos) + (f"/{dport_text}" if dport_text else "")
        services[service] = (tuple((lo, hi) for lo, hi in _merged(protos)), dport_text)
        by_destination.setdefault((service, src, sport_text), []).append(dst)
    by_source: dict[tuple[str, str, str], list[str]] = {}
    dst_sets: dict[tuple[str, str, str], list[str]] = {}
    for (service, src, sport_text), dsts in by_destination.items():
        key = (service, _union_text(dsts), sport_text)
        by_source.setdefault(key, []).append(src)
        dst_sets[key] = dsts
    groups = []
    for key, srcs in by_source.items():
        service, dst, sport_text = key
        source = _union_text(srcs) + (f" port {sport_text}" if sport_text else "")
        service_protos, dport_text = services[service]
        all_ported = all(lo in PORTED_PROTOCOLS and hi in PORTED_PROTOCOLS for lo, hi in service_protos)
        groups.append(HeaderGroup(
            f"{service} from {source} to {dst}", service_protos, tuple(_prefixes(srcs)),
            tuple(_prefixes(dst_sets[key])), _parse_ranges(sport_text) if all_ported else None,
            _parse_ranges(dport_text) if all_ported else None))
    return groups, truncated


def _parse_ranges(text: str) -> tuple[tuple[int, int], ...] | None:
    if not text:
        return None
    return tuple((int(a), int(b or a)) for a, _, b in (part.partition("-") for part in text.split(",")))
