"""The flow rules' one definition: which sources may not reach which destinations, with what.

A :class:`FlowCheck` is one question a flow rule asks (SEG001–SEG005, SEG010, SEG011): the places it
is about (sources and destinations, by segment or by node), what exempts a flow (declared services
or allow-lists, exceptions of the rule, pairs another rule owns) and, for waypoint rules, which nodes
must be on the way (a flow that still arrives with them taken out went around them).

The same object answers two ways. ``Context.flow_findings`` asks the symbolic engine for every
header at once; :meth:`FlowCheck.violated_by` asks it of one concrete packet, which is what
``pcap-audit`` does. The rules build their checks once (``rules.FLOW_CHECKS``), so the two cannot
drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..findings import Severity
from ..headers import Bdd, Packet
from ..model import Segment
from ..network import Network
from ..trace import trace
from .exceptions import Register


@dataclass(frozen=True)
class FlowCheck:
    rule: str
    sources: tuple[str, ...]  # endpoint nodes the rule asks about as senders
    destinations: tuple[str, ...]
    source_segments: frozenset[Segment]  # the side the sources are on (names their zone in findings)
    destination_segments: frozenset[Segment]
    title: str
    message: str
    severity: Severity = Severity.ERROR
    blocked: frozenset[str] = frozenset()  # waypoints: what still arrives without them went around them
    allowed: Bdd | None = None  # headers (as sent) a declaration allows: subtracted first
    exclude: Callable[[str, str], bool] | None = None  # (src, dst) pairs another rule owns
    subject: tuple[tuple[str, str], ...] = ()
    propagate_from: tuple[str, ...] | None = None  # waypoint questions: one propagation from these
    boundary: frozenset[Segment] | None = None  # the side whose entry the rule protects (default: destinations')
    uncovered: str = ""  # added to the title when no exception suppresses the finding fully
    _members: tuple[frozenset[str], frozenset[str]] = field(init=False, repr=False, compare=False)

    @property
    def protected(self) -> frozenset[Segment]:
        return self.boundary if self.boundary is not None else self.destination_segments

    def __post_init__(self) -> None:
        object.__setattr__(self, "_members", (frozenset(self.sources), frozenset(self.destinations)))

    def applies(self, src: str, dst: str) -> bool:
        """Whether a flow from ``src`` to ``dst`` is one this check is about."""
        senders, receivers = self._members
        return (src != dst and src in senders and dst in receivers
                and not (self.exclude is not None and self.exclude(src, dst)))

    def undeclared(self, headers: Bdd) -> Bdd:
        """``headers`` (as sent) less what a declaration allows; exceptions are the register's."""
        return headers if self.allowed is None else headers & ~self.allowed

    def violated_by(self, net: Network, register: Register, packet: Packet, src: str, dst: str) -> bool:
        """Whether ``src`` sending ``packet`` that the model delivers to ``dst`` breaks this check:
        the concrete form of what ``Context.flow_findings`` reports for every header at once."""
        if not self.applies(src, dst):
            return False
        s = net.space
        cube = s.packet(packet)
        if self.undeclared(cube) == s.false or register.covering(self.rule, cube):
            return False
        if self.blocked:  # a waypoint rule: does it still arrive with the waypoints taken out?
            return any(p.delivered and p.final_node == dst for p in trace(net, src, packet, self.blocked))
        return True
