"""The reachability engine: every source's new flows pushed through the network at once.

Each source endpoint injects all the headers it can send, tagged with its origin id. Header sets
flow along transfers; at each state only what is new is pushed on, so loops end when nothing new
arrives. What reaches a node's own addresses is *delivered* there. Because the origin id is never
rewritten, one propagation answers for every source: the flows from A to B are what B received with
A's origin id, read back as A sent them.
"""

from __future__ import annotations

from collections import deque
from typing import Iterable

from .headers import Bdd, HeaderSet, Packet
from .model import NatRule
from .network import LAN, ORIGIN, Network, State
from .progress import current


class Reachability:
    """All-sources reachability over a compiled :class:`Network`.

    ``blocked`` nodes take part in nothing: they neither send, forward nor receive. Waypoint rules use
    it: whatever still flows with the waypoints blocked went around them.
    """

    def __init__(self, network: Network, blocked: Iterable[str] = (), sources: Iterable[str] | None = None) -> None:
        self.network = network
        self.space = network.space
        self.blocked = frozenset(blocked)
        chosen = network.endpoints if sources is None else sorted(set(sources) & set(network.endpoints))
        self.sources = [s for s in chosen if s not in self.blocked and s in network.nodes]
        self.visited: dict[State, Bdd] = {}
        self.delivered: dict[str, Bdd] = {}
        self._senders: dict[str, Bdd] = {}
        self._propagate()

    @property
    def endpoints(self) -> list[str]:
        return [n for n in self.network.endpoints if n not in self.blocked and n in self.network.nodes]

    def _propagate(self) -> None:
        net, s = self.network, self.space
        false = s.false
        pending: dict[State, Bdd] = {}
        queue: deque[State] = deque()
        for name in self.sources:
            state = (name, ORIGIN)
            pending[state] = net.origin_headers(name)
            queue.append(state)
        progress = current()
        steps = 0
        while queue:
            steps += 1
            if steps % 256 == 0:
                progress.tick("engine: states processed", steps)
            state = queue.popleft()
            arriving = pending.pop(state)
            seen = self.visited.get(state, false)
            delta = arriving & ~seen
            if delta == false:
                continue
            self.visited[state] = seen | delta
            node, where = state
            twice: tuple[tuple[NatRule, Bdd], ...] = ()
            if node != LAN and where != ORIGIN:
                delta, twice = net.split_dnat(node, where, delta)
                arrived = delta
                for _rule, part in twice:
                    arrived |= part
                local = arrived & net.accepted_locally(node, where)
                if local != false:
                    self.delivered[node] = self.delivered.get(node, false) | local
            for transfer in net.transfers.get(state, ()):
                target = transfer.target
                if target[0] in self.blocked:
                    continue
                moved = net.apply_snat(transfer.snat, delta & transfer.filter) if delta != false else false
                for rule, part in twice:  # a twice rule's packets take its source, not the egress NAT
                    hit = part & transfer.filter
                    if hit != false:
                        moved |= net.translate_twice_source(rule, hit)
                if moved == false:
                    continue
                if target in pending:
                    pending[target] = pending[target] | moved
                else:
                    pending[target] = moved
                    queue.append(target)

    # -- questions ---------------------------------------------------------------------------------

    def senders(self, dst: str) -> Bdd:
        """The origin ids of everything ``dst`` received: a small set, for asking cheaply whether
        some sources reached it before taking the whole conjunction."""
        found = self._senders.get(dst)
        if found is None:
            got = self.delivered.get(dst)
            found = self._senders[dst] = self.space.false if got is None else self.space.origins_of(got)
        return found

    def received(self, sources: Iterable[str], destinations: Iterable[str]) -> Bdd:
        """Headers (live, with origin ids) that ``destinations`` receive from ``sources``."""
        s = self.space
        origins = self.network.sources_in(sources)
        result = s.false
        for dst in destinations:
            got = self.delivered.get(dst)
            if got is not None:
                result |= got & origins
        return result

    def sent_headers(self, sources: Iterable[str], destinations: Iterable[str]) -> Bdd:
        """Headers as the sources sent them that reach the destinations; origin ids dropped."""
        return self.space.flows_as_sent(self.received(sources, destinations))

    def flows(self, src: str, dst: str) -> HeaderSet:
        """Every header ``src`` can send that ``dst`` receives, as ``src`` sent it."""
        return HeaderSet(self.space, self.sent_headers([src], [dst]))

    def delivers(self, src: str, dst: str, packet: Packet) -> bool:
        return self.flows(src, dst).contains(packet)
