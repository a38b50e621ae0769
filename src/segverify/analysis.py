"""One analysis per run: the compiled network, the engine's answers and the exception register.

``analyse`` compiles a topology once, runs every rule, and keeps what it computed on the way: the
propagations the rules asked for (all sources, and the waypoint questions), the register of
exceptions as used. ``matrix``, ``report``, ``draw``, ``query``, ``diff`` and the testing helpers
take an :class:`Analysis` and read from it instead of compiling and propagating again.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .model import Profile, Topology
from .network import Network
from .progress import current
from .reach import Reachability

if TYPE_CHECKING:
    from .findings import Report
    from .matrix import Matrix
    from .policy.context import Context


@dataclass
class Analysis:
    """Everything one run learnt about one topology; cheap questions on top of it need no recompute."""

    topology: Topology
    network: Network
    context: Context
    report: Report
    _matrix: Matrix | None = None

    @property
    def reach(self) -> Reachability:
        """All sources' propagation through the unmodified network (the one the rules used)."""
        return self.context.reach()

    @property
    def matrix(self) -> Matrix:
        """The zone × zone matrix, computed once from this analysis' propagation and findings."""
        if self._matrix is None:
            from .matrix import zone_matrix

            self._matrix = zone_matrix(self.topology, self.network, self.reach, self.report)
        return self._matrix


def compile_network(topology: Topology) -> Network:
    with current().stage("compiling the network"):
        return Network(topology)


def analyse(topology: Topology, profile: str | Profile | None = None, today: _dt.date | None = None,
            network: Network | None = None, strict: bool = False, jobs: int | None = None,
            previous: Analysis | None = None) -> Analysis:
    """Compile (unless ``network`` is given) and verify ``topology``, keeping what was computed.

    ``strict``: model-completeness warnings are errors (see :func:`segverify.policy.check.verify`);
    ``jobs``: 1 keeps the rules in this process, None lets the network's size decide
    (:func:`segverify.policy.check.run_rules`). ``previous``: the analysis of another version
    compiled into the same header space (``diff``): its propagations are updated rather than
    redone, with the same answers."""
    from .policy.check import run_rules

    net = network if network is not None else compile_network(topology)
    context, report = run_rules(topology, net, profile, today, strict, jobs,
                                previous.context if previous is not None else None)
    return Analysis(topology, net, context, report)
