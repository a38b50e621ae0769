"""Routing contexts (VRFs) in the kernel, as Linux policy routing ("VRF-lite").

A node's VRFs become routing tables chosen by ``ip rule iif``: the default VRF keeps the main table,
each other VRF gets a table of its own (``VRF_TABLE_BASE`` + its place). Its interfaces carry their
addresses with ``noprefixroute`` and their connected routes go into the VRF's table, so no other
VRF sees them. Interfaces stay plain interfaces, so the nftables rules (``iifname``/``oifname``) and
NAT work on them as on any other.

VRF devices (``ip link add NAME type vrf``) would do the same with l3mdev, but many kernels are built
without them (``CONFIG_NET_VRF``), while rules and tables are always there. A leak route (a route with
``next_vrf`` and no next hop) is a ``throw`` route in its VRF's table: the kernel's longest-prefix
match picks it as the model does, then the rule walk goes on. After each VRF's lookup rule come, most
specific first, one rule per leak of that VRF (``to PREFIX lookup TARGET``), the target's own leaks
nested under it, and a ``blackhole`` rule for the prefix, so what the target does not route stops
there; a leak back into a VRF already on the way (a cycle) is a ``blackhole`` rule too. Each
interface's rules end in a ``blackhole``: no lookup falls through to another table.

Two addresses of one node may not be equal across its VRFs (the loader refuses shared addresses
anyway): conntrack would merge their flows unless zones split them.
"""

from __future__ import annotations

from ipaddress import IPv4Network
from typing import Callable

from ..errors import EnvironmentProblem
from ..model import DEFAULT_VRF, Node, Route

VRF_TABLE_BASE = 1000
MAIN_TABLE = "main"
RULE_PREF_BASE = 1000  # after the local table (0), before main (32766)


def table_of(node: Node, vrf: str) -> str:
    """The routing table of one of the node's VRFs."""
    if vrf == DEFAULT_VRF:
        return MAIN_TABLE
    return str(VRF_TABLE_BASE + sorted(node.vrfs).index(vrf) + 1)


def chosen_leaks(node: Node, vrf: str, alive: Callable[[Route], bool] = lambda r: True) -> list[Route]:
    """The leak routes of a VRF that win their prefix (lowest distance among the routes ``alive``
    says are candidates), most specific first.

    A leak that ties with a route of another kind, or with a leak into another VRF, for the same
    prefix is equal-cost across tables, which policy routing cannot express: refused."""
    connected = {a.network for i in node.interfaces_in(vrf) for a in i.all_addresses}
    by_prefix: dict[IPv4Network, list[Route]] = {}
    for route in node.routes_in(vrf):
        if route.leak or route.drop or alive(route):
            by_prefix.setdefault(route.prefix, []).append(route)
    out: list[Route] = []
    for prefix, routes in by_prefix.items():
        if prefix in connected:
            continue  # the connected route wins
        best = min(r.distance for r in routes)
        winners = [r for r in routes if r.distance == best]
        leaks = [r for r in winners if r.leak]
        if not leaks:
            continue
        if len(leaks) != len(winners) or len({r.next_vrf for r in leaks}) > 1:
            raise EnvironmentProblem(f"{node.name}: the routes to {prefix} in VRF {vrf!r} are equal-cost across "
                                     f"VRFs ({leaks[0].span}); the emulator cannot render that")
        out.append(leaks[0])
    return sorted(out, key=lambda r: (-r.prefix.prefixlen, int(r.prefix.network_address)))


def _overlap(a: IPv4Network, b: IPv4Network) -> IPv4Network | None:
    if a.subnet_of(b):
        return a
    if b.subnet_of(a):
        return b
    return None


def _chain(node: Node, vrf: str, within: IPv4Network, visited: tuple[str, ...], iif: str,
           alive: Callable[[Route], bool]) -> list[str]:
    """Rules that continue a lookup in ``vrf`` after one of its throw routes, for packets to ``within``."""
    rules: list[str] = []
    for leak in chosen_leaks(node, vrf, alive):
        where = _overlap(leak.prefix, within)
        if where is None:
            continue
        target = leak.next_vrf
        assert target is not None
        if target in visited:
            rules.append(f"iif {iif} to {where} blackhole")  # a leak cycle: nothing comes out of it
            continue
        rules.append(f"iif {iif} to {where} lookup {table_of(node, target)}")
        rules += _chain(node, target, where, visited + (target,), iif, alive)
        rules.append(f"iif {iif} to {where} blackhole")
    return rules


def rule_lines(node: Node, ifname: dict[str, str], alive: Callable[[Route], bool] = lambda r: True) -> list[str]:
    """``ip rule`` lines choosing each interface's table (none for a node without VRFs)."""
    if not node.vrfs:
        return []
    lines: list[str] = []
    pref = RULE_PREF_BASE
    for iface in node.interfaces:
        kn = ifname[iface.name]
        rules = [f"iif {kn} lookup {table_of(node, iface.vrf)}"]
        rules += _chain(node, iface.vrf, IPv4Network("0.0.0.0/0"), (iface.vrf,), kn, alive)
        rules.append(f"iif {kn} blackhole")
        for rule in rules:
            lines.append(f"rule add pref {pref} {rule}")
            pref += 1
    return lines
