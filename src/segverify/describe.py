"""Header sets in readable terms: ``tcp/139,445 from 10.1.0.0/24 to 172.16.5.10``.

The BDD is walked path by path; each path is a cube that fixes some bits of each field. Because bits
are ordered most significant first, addresses and ports come out as prefixes; cubes that differ only
in ports are merged into port lists. Origin ids and origin copies are ignored: callers describe sets
as the sender sent them.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, collapse_addresses
from typing import Iterator

from .headers import FIELD_VARS, WIDTH, Bdd, HeaderSpace
from .model import PORTED_PROTOCOLS, PROTOCOL_NAMES

MAX_CUBES = 4000


def _cubes(space: HeaderSpace, u: Bdd) -> Iterator[dict[str, bool]]:
    """Disjoint cubes of ``u`` as partial assignments of the live header variables."""
    stack: list[tuple[Bdd, dict[str, bool]]] = [(u, {})]
    false, true = space.false, space.true
    while stack:
        node, assignment = stack.pop()
        if node == false:
            continue
        if node == true:
            yield assignment
            continue
        var = node.var
        low = ~node.low if node.negated else node.low
        high = ~node.high if node.negated else node.high
        # Push high first so low (smaller values) comes out first: deterministic, ascending.
        stack.append((high, {**assignment, var: True}))
        stack.append((low, {**assignment, var: False}))


def _field_pattern(assignment: dict[str, bool], field: str) -> tuple[int, int]:
    """(value, mask) of a field in a cube; mask bits set where the cube fixes the bit."""
    width = WIDTH[field]
    value = mask = 0
    for i, name in enumerate(FIELD_VARS[(field, False)]):
        bit = assignment.get(name)
        if bit is not None:
            mask |= 1 << (width - 1 - i)
            if bit:
                value |= 1 << (width - 1 - i)
    return value, mask


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


def _union_text(addresses: list[str]) -> str:
    """A union of address texts; a large union reads better as "any except" its complement."""
    if len(addresses) <= 3 or any("&" in a for a in addresses) or "any" in addresses:
        return ", ".join(addresses) if "any" not in addresses else "any"
    nets = list(collapse_addresses(IPv4Network(a) for a in addresses))
    missing = [IPv4Network("0.0.0.0/0")]
    for net in nets:
        missing = [rest for m in missing for rest in ([m] if not m.overlaps(net) else
                                                      (m.address_exclude(net) if net.subnet_of(m) else []))]
    missing = list(collapse_addresses(missing))
    if len(missing) < len(nets):
        return "any except " + ", ".join(str(m.network_address) if m.prefixlen == 32 else str(m) for m in missing)
    return ", ".join(str(n.network_address) if n.prefixlen == 32 else str(n) for n in nets)


def _protocols_text(ranges: list[tuple[int, int]]) -> str:
    merged = _merged(ranges)
    if merged == [[0, 255]]:
        return "any protocol"
    parts = []
    for low, high in merged:
        names = [PROTOCOL_NAMES.get(p) for p in range(low, high + 1)]
        if high - low < 3 and all(names):
            parts.extend(n for n in names if n)
        else:
            parts.append(f"proto {low}" if low == high else f"proto {low}-{high}")
    return ",".join(parts)


def describe_headers(space: HeaderSpace, u: Bdd, limit: int = 8) -> list[str]:
    """At most ``limit`` lines describing ``u``; a last line says how much was left out."""
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
        proto = _range(*_field_pattern(cube, "proto"), 8) or (0, 255)
        src = _address_text(*_field_pattern(cube, "src"))
        dst = _address_text(*_field_pattern(cube, "dst"))
        sport = _range(*_field_pattern(cube, "sport"), 16) or (0, 65535)
        dport = _range(*_field_pattern(cube, "dport"), 16) or (0, 65535)
        sport_text = "" if sport == (0, 65535) else _ranges_text([sport])
        by_ports.setdefault((proto, src, dst, sport_text), []).append(dport)
    by_proto: dict[tuple[str, str, str, str], list[tuple[int, int]]] = {}
    for (proto, src, dst, sport_text), dports in by_ports.items():
        dport_text = "" if (0, 65535) in dports else _ranges_text(dports)
        by_proto.setdefault((src, dst, sport_text, dport_text), []).append(proto)
    by_destination: dict[tuple[str, str, str], list[str]] = {}
    for (src, dst, sport_text, dport_text), protos in by_proto.items():
        service = _protocols_text(protos) + (f"/{dport_text}" if dport_text else "")
        by_destination.setdefault((service, src, sport_text), []).append(dst)
    by_source: dict[tuple[str, str, str], list[str]] = {}
    for (service, src, sport_text), dsts in by_destination.items():
        by_source.setdefault((service, _union_text(dsts), sport_text), []).append(src)
    lines = []
    for (service, dst, sport_text), srcs in by_source.items():
        source = _union_text(srcs) + (f" port {sport_text}" if sport_text else "")
        lines.append(f"{service} from {source} to {dst}")
    if len(lines) > limit or truncated:
        rest = len(lines) - limit
        lines = lines[:limit]
        lines.append("... and more header groups" if truncated else f"... and {rest} more header groups")
    return lines
