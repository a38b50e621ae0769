"""Zone-pair policies follow the routes: whatif, diff and trace see which line applies."""

from __future__ import annotations

import datetime as dt
from ipaddress import IPv4Address
from pathlib import Path

import pytest

import segverify
from segverify.headers import Packet
from segverify.network import Network
from segverify.reach import Reachability
from segverify.trace import trace

DATA = Path(__file__).parent / "data"
TODAY = dt.date(2026, 11, 26)
HTTPS = Packet(IPv4Address("10.20.1.10"), IPv4Address("192.0.2.6"), 6, 49152, 443)


def _topology() -> segverify.Topology:
    return segverify.load(DATA / "policy-follows-routes.yaml")


def test_a_failed_uplink_moves_traffic_to_another_policy_line() -> None:
    topo = _topology()
    assert segverify.verify(topo, today=TODAY).errors == 0
    (before,) = [p for p in trace(Network(topo), "pc", HTTPS)]
    fw = next(h for h in before.hops if h.node == "fw")
    assert not before.delivered and fw.out_iface == "wan1" and fw.policy is not None and fw.policy.rule_index == 1
    (after,) = trace(Network(topo, down=frozenset({"uplink1"})), "pc", HTTPS)
    fw = next(h for h in after.hops if h.node == "fw")
    assert after.delivered and fw.out_iface == "wan2" and fw.policy is not None and fw.policy.rule_index == 2
    assert str(fw.policy.span).endswith("policy-follows-routes.yaml:26:11")
    report = segverify.whatif(topo, fail=("uplink1",), today=TODAY)
    (result,) = report.dangerous
    assert {f.rule for f in result.opened} == {"SEG003"}


def test_a_firewall_with_policies_can_fail_open() -> None:
    report = segverify.whatif(_topology(), fail_open=("fw",), today=TODAY)
    assert {f.rule for r in report.dangerous for f in r.opened} == {"SEG003"}


def test_diff_sees_a_policy_line_change() -> None:
    old = _topology()
    text = (DATA / "policy-follows-routes.yaml").read_text(encoding="utf-8")
    new = segverify.loads(text.replace("- {from: lan, to: wan1, action: deny}",
                                       "- {from: lan, to: wan1, service: tcp/443, action: permit}"),
                          name="policy-follows-routes.yaml")
    d = segverify.diff(old, new, today=TODAY)
    assert d.allowed and not d.blocked
    assert {(c.source_zone, c.destination_zone) for c in d.allowed} == {("lg", "world")}
    assert all(c.headers and all(h.startswith("tcp/443 ") for h in c.headers) for c in d.allowed)
    assert {f.rule for f in d.introduced} == {"SEG003"}


# -- the reference networks written as zone-pair policies ---------------------------------------------

REFERENCE_NETWORKS = sorted((Path(__file__).parent.parent / "topologies").glob("*.yaml"))


def reference_as_policies(path: Path, local: str = "copy") -> tuple[segverify.Topology, list[str]]:
    import yaml

    import policyform

    data, rewritten = policyform.as_policies(yaml.safe_load(path.read_text(encoding="utf-8")), local)
    return segverify.loads(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), name=path.name), rewritten


@pytest.mark.parametrize("local", ["copy", "rules"])
@pytest.mark.parametrize("path", REFERENCE_NETWORKS, ids=[p.stem for p in REFERENCE_NETWORKS])
def test_reference_network_as_policies_is_the_same_network(path: Path, local: str) -> None:
    """Every boundary firewall whose ingress ACLs agree on statefulness (all but the My Number one,
    whose outbound ACL is stateful and inbound one not) rewritten as zone-pair policies, traffic to
    the device decided by a copy of the lines or by the lines themselves (local: rules): every
    endpoint receives exactly the same headers from the same senders, and the verdict stays."""
    from segverify.network import space_for

    acl_form = segverify.load(path)
    policy_form, rewritten = reference_as_policies(path, local)
    assert rewritten and all(policy_form.nodes[n].policy is not None for n in rewritten)
    space = space_for(acl_form, policy_form)
    before = Reachability(Network(acl_form, shared_space=space))
    after = Reachability(Network(policy_form, shared_space=space))
    assert set(before.delivered) == set(after.delivered)
    different = [d for d in before.delivered if before.delivered[d] != after.delivered[d]]
    assert not different
    today = dt.date(2026, 11, 26)
    assert [f.fingerprint for f in segverify.verify(policy_form, today=today).active] == \
        [f.fingerprint for f in segverify.verify(acl_form, today=today).active]


# -- local: rules (PAN-OS) ------------------------------------------------------------------------------


@pytest.mark.parametrize("dst, dport, index, line", [
    ("10.20.1.1", 443, 2, 35),    # to: lan, the interface holding the address
    ("10.20.2.1", 443, 2, 35),    # lan's secondary address
    ("10.9.1.1", 80, 4, 37),      # to: wan: the firewall's wan address, reached from the LAN
    ("10.20.1.1", 22, None, 31),  # no line: the policy's default
    ("10.30.1.1", 443, None, 31),  # mgmt's address: no line from lan to mgmt
])
def test_trace_names_the_policy_line_for_traffic_to_the_device(dst: str, dport: int, index: int | None,
                                                               line: int) -> None:
    topo = segverify.load(DATA / "policy-local-rules.yaml")
    (path,) = trace(Network(topo), "pc", Packet(IPv4Address("10.20.1.10"), IPv4Address(dst), 6, 49152, dport))
    last = path.hops[-1]
    assert last.node == "fw" and last.out_iface is None and last.policy is not None
    assert last.policy.rule_index == index and last.policy.span.line == line
    assert path.delivered == (index is not None)


def test_local_rules_leave_what_the_device_sends_alone_and_need_no_local_copy() -> None:
    """The policy under local: rules has no separate local lines, and the engine delivers to the
    firewall what its lines permit there: nothing more from the LAN than https to the LAN address
    and http to the wan address."""
    topo = segverify.load(DATA / "policy-local-rules.yaml")
    policy = topo.nodes["fw"].policy
    assert policy is not None and policy.local_by_rules and policy.local == () and policy.local_default is None
    assert policy.local_acl(None, "wan") is None  # sent by the device: not filtered
    r = Reachability(Network(topo))
    got = r.flows("pc", "fw")
    for dst, dport, want in (("10.20.1.1", 443, True), ("10.20.1.1", 80, False), ("10.9.1.1", 80, True),
                             ("10.9.1.1", 443, False), ("10.30.1.1", 443, False)):
        assert got.contains(Packet(IPv4Address("10.20.1.10"), IPv4Address(dst), 6, 49152, dport)) is want, (dst, dport)
