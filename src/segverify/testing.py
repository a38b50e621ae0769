"""Assertions for your own pytest suites: keep the network's isolation properties under test.

    from segverify.testing import assert_isolated, assert_reachable, assert_compliant

    def test_mynumber_is_cut_off():
        assert_isolated(segverify.load("network/"), "mynumber", "internet")

Places are zone names, segment names (mynumber, lgwan, internet, ...), node names or addresses.
"""

from __future__ import annotations

from .model import Topology
from .network import Network
from .query import FlowAnswer, query, resolve_place
from .reach import Reachability

__all__ = ["assert_compliant", "assert_isolated", "assert_reachable"]


def _flows(topology: Topology, src: str, dst: str, proto: str | None, dport: int | None) -> list[FlowAnswer]:
    net = Network(topology)
    return query(net, Reachability(net), resolve_place(topology, net, src), resolve_place(topology, net, dst),
                 proto, dport)


def _explain(answers: list[FlowAnswer], limit: int = 3) -> str:
    lines = []
    for a in answers[:limit]:
        lines.append(f"  {a.source} -> {a.destination}: {'; '.join(a.headers.describe(3))}")
        lines.append(f"    e.g. {a.witness}")
        if a.path is not None:
            lines.extend(f"      {hop.describe()}" for hop in a.path.hops)
    if len(answers) > limit:
        lines.append(f"  ... and {len(answers) - limit} more pairs")
    return "\n".join(lines)


def assert_isolated(topology: Topology, a: str, b: str, *, both_ways: bool = True,
                    proto: str | None = None, dport: int | None = None) -> None:
    """Fail if any packet (of ``proto``/``dport`` if given) gets from ``a`` to ``b`` (and back)."""
    __tracebackhide__ = True
    answers = _flows(topology, a, b, proto, dport)
    if both_ways:
        answers += _flows(topology, b, a, proto, dport)
    if answers:
        message = f"{a} and {b} are not isolated:\n{_explain(answers)}"
        del answers  # BDDs must not live on in the traceback's frames (CUDD dislikes unordered teardown)
        raise AssertionError(message)


def assert_reachable(topology: Topology, a: str, b: str, *, proto: str | None = None,
                     dport: int | None = None) -> None:
    """Fail unless some packet (of ``proto``/``dport`` if given) gets from ``a`` to ``b``."""
    __tracebackhide__ = True
    if not _flows(topology, a, b, proto, dport):
        what = f" by {proto or 'any protocol'}{f'/{dport}' if dport is not None else ''}"
        raise AssertionError(f"nothing gets from {a} to {b}{what}")


def assert_compliant(topology: Topology, profile: str | None = None) -> None:
    """Fail with the findings' titles and locations unless the topology passes its profile."""
    __tracebackhide__ = True
    from .policy.check import verify

    report = verify(topology, profile=profile)
    if not report.compliant:
        lines = [f"  {f.rule} {f.title} ({f.location})" for f in report.active if f.severity.value == "error"]
        raise AssertionError(f"{topology.name} is not compliant:\n" + "\n".join(lines))
