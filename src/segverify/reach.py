"""The reachability engine: every source's new flows pushed through the network at once.

Each source endpoint injects all the headers it can send, tagged with its origin id. Header sets
flow along transfers; at each state only what is new is pushed on, so loops end when nothing new
arrives. What reaches a node's own addresses is *delivered* there. Because the origin id is never
rewritten, one propagation answers for every source: the flows from A to B are what B received with
A's origin id, read back as A sent them.
"""

from __future__ import annotations

from collections import deque
from typing import Hashable, Iterable, TypeVar

from .headers import Bdd, HeaderSet, Packet
from .model import NatRule
from .network import LAN, ORIGIN, Network, State
from .progress import current

K = TypeVar("K", bound=Hashable)


class Reachability:
    """All-sources reachability over a compiled :class:`Network`.

    ``blocked`` nodes take part in nothing: they neither send, forward nor receive. Waypoint rules use
    it: whatever still flows with the waypoints blocked went around them.

    ``previous``: the same question answered over another version of the network compiled into the
    same header space (``diff``), or over the network as built (a ``whatif`` scenario, whose failed
    devices no longer send). Only the packets whose trajectory there met a state that differs here
    are propagated again (see :meth:`_update`); the answer is the one a full propagation gives.
    """

    def __init__(self, network: Network, blocked: Iterable[str] = (), sources: Iterable[str] | None = None,
                 previous: Reachability | None = None) -> None:
        self.network = network
        self.space = network.space
        self.blocked = frozenset(blocked)
        chosen = network.endpoints if sources is None else sorted(set(sources) & set(network.endpoints))
        self.sources = [s for s in chosen if s not in self.blocked and s in network.nodes]
        self._visited: dict[State, Bdd] = {}
        # After an update, the visited sets are merged only when asked for (diff never does):
        # (the previous ones, the packets kept from them).
        self._visited_before: tuple[dict[State, Bdd], Bdd] | None = None
        self.delivered: dict[str, Bdd] = {}
        self._senders: dict[str, Bdd] = {}
        self.repropagated: Bdd | None = None  # after an update: the packets propagated again
        if previous is None or not self._update(previous):
            self._propagate({(name, ORIGIN): net_origin for name, net_origin in self._origins()})

    @property
    def visited(self) -> dict[State, Bdd]:
        """Per state, every header that arrives there."""
        if self._visited_before is not None:
            before, kept = self._visited_before
            self._visited = _merged(before, kept, self._visited, self.space.false)
            self._visited_before = None
        return self._visited

    @property
    def endpoints(self) -> list[str]:
        return [n for n in self.network.endpoints if n not in self.blocked and n in self.network.nodes]

    def _origins(self) -> list[tuple[str, Bdd]]:
        return [(name, self.network.origin_headers(name)) for name in self.sources]

    # -- incremental update (APKeep's idea: keep the old result, redo what the change touches) ---------

    def _update(self, previous: Reachability) -> bool:
        """Take ``previous`` over, propagating again only what the change can affect; False when
        the two versions cannot be compared that way (then the caller propagates everything).

        Exact because a sent packet's trajectory depends on nothing but the packet: every step maps
        each header to headers by itself (filters, NAT, routing), so the visited sets are the union
        of the packets' trajectories, and a packet is known by what no step rewrites (its origin id,
        the origin copies of the fields NAT may rewrite, protocol and flag). A packet whose old
        trajectory meets only states that behave alike in both versions has the same trajectory
        here; the others (and everything a source sends differently) are propagated again."""
        old, net, s = previous.network, self.network, self.space
        # Sources down here (whatif) send nothing: their origin states have no transfers here, so
        # what they sent is among the packets touched below.
        gone = set(previous.sources) - set(self.sources)
        if (previous.space is not s or previous.blocked != self.blocked or old.origin_ids != net.origin_ids
                or len(previous.sources) - len(gone) != len(self.sources)):
            return False
        touched = s.false  # identities of the packets to propagate again
        for state, seen in previous.visited.items():
            if not _behaves_alike(old, net, state):
                touched |= s.identities(seen)
        for name in self.sources:
            if old.origin_headers(name) != net.origin_headers(name):
                touched |= s.origin(net.origin_ids[name])
        self.repropagated = touched
        if touched == s.false:
            self._visited, self.delivered = dict(previous.visited), dict(previous.delivered)
            self._senders = dict(previous._senders)
            return True
        # The origin ids are a small set, so which sources and which nodes' senders the packets
        # propagated again concern is asked cheaply before any conjunction with them.
        origins = s.origins_of(touched)
        again_from = [name for name in self.sources if s.origin(net.origin_ids[name]) & origins != s.false]
        self._propagate({(name, ORIGIN): net.origin_headers(name) & touched for name in again_from})
        kept = ~touched
        self._visited_before = (previous.visited, kept)
        # A node none of whose senders sent a packet propagated again keeps what it received.
        again = self.delivered
        self.delivered = {}
        for node in previous.delivered.keys() | again.keys():
            got = previous.delivered.get(node)
            if got is not None and previous.senders(node) & origins != s.false:
                got = got & kept
            if node in again:
                got = again[node] if got is None else got | again[node]
            if got is not None and got != s.false:
                self.delivered[node] = got
                if got == previous.delivered.get(node):  # one header space: equal sets, one node
                    self._senders[node] = previous.senders(node)
        return True

    def _propagate(self, seeds: dict[State, Bdd]) -> None:
        net, s = self.network, self.space
        false = s.false
        visited = self._visited
        pending: dict[State, Bdd] = {}
        queue: deque[State] = deque()
        for state, sent in seeds.items():
            if sent == false:
                continue
            pending[state] = sent
            queue.append(state)
        progress = current()
        steps = 0
        while queue:
            steps += 1
            if steps % 256 == 0:
                progress.tick("engine: states processed", steps)
            state = queue.popleft()
            arriving = pending.pop(state)
            seen = visited.get(state, false)
            delta = arriving & ~seen
            if delta == false:
                continue
            visited[state] = seen | delta
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


def _merged(before: dict[K, Bdd], kept: Bdd, again: dict[K, Bdd], false: Bdd) -> dict[K, Bdd]:
    """Per key: what ``before`` holds of the packets ``kept``, with what was propagated ``again``."""
    out: dict[K, Bdd] = {}
    for key in before.keys() | again.keys():
        value = before[key] & kept if key in before else false
        if key in again:
            value |= again[key]
        if value != false:
            out[key] = value
    return out


def _behaves_alike(old: Network, new: Network, state: State) -> bool:
    """Whether every header arriving at ``state`` is handled alike in both networks (the same
    transfers with the same filters and source NAT; at a node's interface the same destination NAT
    and the same headers kept for itself). Both networks share one header space, so equal sets are
    one BDD node and the comparison is by identity."""
    node, where = state
    before_out, after_out = old.transfers.get(state, ()), new.transfers.get(state, ())
    if before_out is after_out and (node == LAN or old.nodes.get(node) is new.nodes.get(node) is not None):
        return True  # taken as compiled from the network as built (whatif): the same objects
    if node != LAN and where != ORIGIN:
        if node not in old.nodes or node not in new.nodes \
                or not any(i.name == where for i in new.nodes[node].node.interfaces):
            return False
        before, after = old.nodes[node].dnat.get(where, ()), new.nodes[node].dnat.get(where, ())
        if not _same_nat(before, after) or old.accepted_locally(node, where) != new.accepted_locally(node, where):
            return False
    return len(before_out) == len(after_out) and all(
        a.target == b.target and a.filter == b.filter and _same_nat(a.snat, b.snat)
        for a, b in zip(before_out, after_out))


def _same_nat(before: tuple[tuple[NatRule, Bdd], ...], after: tuple[tuple[NatRule, Bdd], ...]) -> bool:
    return len(before) == len(after) and all(
        ma == mb and Network.translation_of(ra) == Network.translation_of(rb)
        for (ra, ma), (rb, mb) in zip(before, after))
