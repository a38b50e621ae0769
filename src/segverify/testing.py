"""Assertions for your own pytest suites: keep the network's isolation properties under test.

    from segverify.testing import assert_isolated, assert_no_path, assert_reachable, assert_compliant

    def test_mynumber_is_cut_off():
        assert_isolated(segverify.load("network/"), "mynumber", "internet")

Each helper takes a topology or an :class:`segverify.analysis.Analysis` (``analyse(topology)``):
with an analysis, many assertions share one compiled network and one propagation.

``assert_isolated`` takes two SEGMENTS (mynumber, lgwan, internet, lgwan-backbone, security-cloud,
external-internet; ``segment:internet`` is accepted too). ``assert_no_path`` and
``assert_reachable`` take place terms: ``segment:NAME``, ``zone:NAME``, ``node:NAME``,
``pool:NAME``, ``lan:LAN``, addresses and prefixes, or a bare name that names one kind only (a name
that names several, like ``internet``, is an error listing the qualified candidates).
"""

from __future__ import annotations

from typing import Union

from .analysis import Analysis
from .errors import QueryError
from .model import Segment, Topology
from .network import Network
from .query import FlowAnswer, query, resolve_place
from .reach import Reachability

__all__ = ["assert_compliant", "assert_isolated", "assert_no_path", "assert_reachable"]

Subject = Union[Topology, Analysis]


def _engine(subject: Subject) -> tuple[Topology, Network, Reachability]:
    """The compiled network and its propagation: an :class:`Analysis`'s own, else computed once here."""
    if isinstance(subject, Analysis):
        return subject.topology, subject.network, subject.reach
    net = Network(subject)
    return subject, net, Reachability(net)


def _flows(engine: tuple[Topology, Network, Reachability], src: str, dst: str, proto: str | None,
           dport: int | str | None) -> list[FlowAnswer]:
    topology, net, reach = engine
    return query(net, reach, resolve_place(topology, net, src, sending=True), resolve_place(topology, net, dst),
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


def _segment(name: str) -> str:
    bare = name[len("segment:"):] if name.startswith("segment:") else name
    if bare not in {s.value for s in Segment}:
        raise QueryError(f"assert_isolated takes segments ({', '.join(s.value for s in Segment)}), not {name!r}; "
                         "use assert_no_path for zones, nodes, pools and addresses")
    return f"segment:{bare}"


def _fail_if_any(answers: list[FlowAnswer], message: str) -> None:
    __tracebackhide__ = True
    if answers:
        text = f"{message}:\n{_explain(answers)}"
        del answers  # BDDs must not live on in the traceback's frames (CUDD dislikes unordered teardown)
        raise AssertionError(text)


def assert_isolated(topology: Subject, a: str, b: str, *, both_ways: bool = True,
                    proto: str | None = None, dport: int | str | None = None) -> None:
    """Fail if any packet (of ``proto``/``dport`` if given) gets from segment ``a`` to segment ``b``
    (and back)."""
    __tracebackhide__ = True
    src, dst = _segment(a), _segment(b)
    engine = _engine(topology)
    answers = _flows(engine, src, dst, proto, dport)
    if both_ways:
        answers += _flows(engine, dst, src, proto, dport)
    _fail_if_any(answers, f"{a} and {b} are not isolated")


def assert_no_path(topology: Subject, src: str, dst: str, *, proto: str | None = None,
                   dport: int | str | None = None) -> None:
    """Fail if any packet (of ``proto``/``dport`` if given) gets from place ``src`` to place ``dst``."""
    __tracebackhide__ = True
    _fail_if_any(_flows(_engine(topology), src, dst, proto, dport), f"packets get from {src} to {dst}")


def assert_reachable(topology: Subject, a: str, b: str, *, proto: str | None = None,
                     dport: int | str | None = None) -> None:
    """Fail unless some packet (of ``proto``/``dport`` if given) gets from place ``a`` to place ``b``."""
    __tracebackhide__ = True
    if not _flows(_engine(topology), a, b, proto, dport):
        what = f" by {proto or 'any protocol'}{f'/{dport}' if dport is not None else ''}"
        raise AssertionError(f"nothing gets from {a} to {b}{what}")


def assert_compliant(topology: Subject, profile: str | None = None) -> None:
    """Fail with the findings' titles and locations unless the topology passes its profile.

    An :class:`Analysis` is used as it is when ``profile`` is not given or is the one it checked."""
    __tracebackhide__ = True
    from .analysis import analyse

    if isinstance(topology, Analysis) and profile in (None, topology.report.profile):
        report = topology.report
    else:
        subject = topology.topology if isinstance(topology, Analysis) else topology
        report = analyse(subject, profile=profile).report
    if not report.compliant:
        lines = [f"  {f.rule} {f.title} ({f.location})" for f in report.active if f.severity.value == "error"]
        raise AssertionError(f"{report.topology} is not compliant:\n" + "\n".join(lines))
