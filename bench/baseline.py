"""A plain reachability baseline: enumerate paths, evaluate header sets along each path.

This is the straightforward way to answer "which headers get from A to B": for every ordered pair
of endpoints, list the simple paths between them in the device graph (networkx), and push A's
headers hop by hop along each path with the *same* compiled pieces the engine uses (ACL, route
and NAT BDDs of :class:`segverify.network.Network`). The union over paths is what B receives from
A. Nothing is sabotaged: the graph is restricted to forwarding nodes between the two ends (a flow
cannot pass through a node that does not forward), and each pair stops early when A sends nothing.
What it lacks is the engine's sharing: one propagation for every source at once.

``all_pairs(network, deadline)`` returns the delivered header sets per pair, or stops at the
deadline and says how far it got.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import networkx as nx

from segverify.headers import Bdd
from segverify.network import LAN, ORIGIN, Network, State


@dataclass
class BaselineResult:
    pairs_total: int
    pairs_done: int = 0
    paths: int = 0
    finished: bool = False
    seconds: float = 0.0
    delivered: dict[tuple[str, str], Bdd] = field(default_factory=dict)


def directed_graph(net: Network) -> nx.DiGraph:
    """Node u -> node v when some transfer of u reaches an interface of v (directly or over a LAN)."""
    g = nx.DiGraph()
    g.add_nodes_from(net.nodes)
    for (node, _where), transfers in net.transfers.items():
        if node == LAN:
            continue
        for t in transfers:
            if t.target[0] == LAN:
                for member in net.transfers.get(t.target, ()):
                    if member.target[0] != node:
                        g.add_edge(node, member.target[0])
            elif t.target[0] != node:
                g.add_edge(node, t.target[0])
    return g


def _step(net: Network, state: State, headers: Bdd, nxt: str) -> list[tuple[State, Bdd]]:
    """Headers leaving ``state`` that arrive at an interface of node ``nxt`` (one hop)."""
    s = net.space
    out: list[tuple[State, Bdd]] = []
    for t in net.transfers.get(state, ()):
        moved = headers & t.filter
        if moved == s.false:
            continue
        moved = net.apply_snat(t.snat, moved)
        if t.target[0] == LAN:
            for member in net.transfers.get(t.target, ()):
                if member.target[0] != nxt:
                    continue
                arrived = moved & member.filter
                if arrived != s.false:
                    out.append((member.target, arrived))
        elif t.target[0] == nxt:
            out.append((t.target, moved))
    return out


def evaluate_path(net: Network, path: list[str]) -> Bdd:
    """Headers the first node of ``path`` sends that the last node receives along exactly this path."""
    s = net.space
    frontier: list[tuple[State, Bdd]] = [((path[0], ORIGIN), net.origin_headers(path[0]))]
    for nxt in path[1:]:
        arrived: list[tuple[State, Bdd]] = []
        for state, headers in frontier:
            for (node, iface), h in _step(net, state, headers, nxt):
                arrived.append(((node, iface), net.apply_dnat(node, iface, h)))
        if not arrived:
            return s.false
        frontier = arrived
    result = s.false
    last = path[-1]
    compiled = net.nodes[last]
    for (node, iface), headers in frontier:
        acl_in = compiled.node.interface(iface).acl_in
        result |= headers & compiled.own & net.acl_permits(node, acl_in)
    return result


def all_pairs(net: Network, deadline: float | None = None, cutoff: int | None = None) -> BaselineResult:
    """Flows between every ordered pair of endpoints, path by path."""
    start = time.perf_counter()
    g = directed_graph(net)
    forwarding = [n for n in net.nodes if n not in net.origin_ids]
    endpoints = sorted(net.origin_ids)
    result = BaselineResult(pairs_total=len(endpoints) * (len(endpoints) - 1))
    s = net.space
    for src in endpoints:
        for dst in endpoints:
            if src == dst:
                continue
            if deadline is not None and time.perf_counter() > deadline:
                result.seconds = time.perf_counter() - start
                return result
            sub = g.subgraph(forwarding + [src, dst])
            got = s.false
            for path in nx.all_simple_paths(sub, src, dst, cutoff=cutoff):
                result.paths += 1
                got |= evaluate_path(net, path)
            if got != s.false:
                result.delivered[(src, dst)] = got
            result.pairs_done += 1
    result.finished = True
    result.seconds = time.perf_counter() - start
    return result
