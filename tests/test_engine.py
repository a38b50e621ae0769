"""The engine's semantics, one behaviour at a time, on small hand-written networks."""

from __future__ import annotations

import textwrap
from ipaddress import IPv4Address as A

import pytest

import segverify
from segverify.headers import Packet
from segverify.network import Network
from segverify.reach import Reachability
from segverify.trace import Outcome, trace

HEAD = """
segverify: 1
name: t
profile: alpha
zones:
  in: {segment: lgwan}
  out: {segment: internet}
  world: {segment: external-internet}
"""


def build(body: str, **network_options: object) -> tuple[Network, Reachability]:
    topo = segverify.loads(HEAD + textwrap.dedent(body), "t.yaml")
    net = Network(topo, **network_options)  # type: ignore[arg-type]
    return net, Reachability(net)


def tcp(src: str, dst: str, dport: int, sport: int = 40000) -> Packet:
    return Packet(A(src), A(dst), 6, sport, dport)


TWO_HOSTS_FW = """
nodes:
  a: {kind: server, interfaces: {eth0: {zone: in, address: 10.0.1.10/24, gateway: 10.0.1.1}}}
  b: {kind: server, interfaces: {eth0: {zone: out, address: 10.0.2.10/24, gateway: 10.0.2.1}}}
  fw:
    kind: firewall
    interfaces:
      eth0: {zone: in, address: 10.0.1.1/24}
      eth1: {zone: out, address: 10.0.2.1/24, acl_in: from-out}
    acls:
      from-out:
        default: deny
        stateful: false
        rules:
          - {action: permit, proto: tcp, sport: 443, dst: 10.0.1.0/24%s}
links:
  - [a:eth0, fw:eth0]
  - [b:eth0, fw:eth1]
"""


def test_stateless_return_rule_without_established_lets_new_connections_in() -> None:
    net, reach = build(TWO_HOSTS_FW % "")
    assert reach.delivers("b", "a", tcp("10.0.2.10", "10.0.1.10", 22, sport=443))
    assert not reach.delivers("b", "a", tcp("10.0.2.10", "10.0.1.10", 22, sport=444))


def test_established_return_rule_admits_no_new_connection() -> None:
    net, reach = build(TWO_HOSTS_FW % ", established: true")
    assert reach.flows("b", "a").is_empty()
    assert not reach.flows("a", "b").is_empty()


NAT = """
nodes:
  web: {kind: server, interfaces: {eth0: {zone: out, address: 10.0.2.80/24, gateway: 10.0.2.1}}}
  fw:
    kind: firewall
    interfaces:
      eth0: {zone: out, address: 10.0.2.1/24}
      eth1: {zone: world, address: 198.51.100.2/30, acl_in: wan-in}
    routes:
      - {to: default, via: 198.51.100.1}
    acls:
      wan-in:
        default: deny
        rules:
          - {action: permit, dst: web, proto: tcp, dport: 443}
    nat:
      - {type: static, out: eth1, inside: 10.0.2.80, outside: 203.0.113.80}
  internet:
    kind: external
    represents: [any]
    interfaces: {eth0: {zone: world, address: 198.51.100.1/30}}
links:
  - [web:eth0, fw:eth0]
  - [fw:eth1, internet:eth0]
"""


def test_static_nat_publishes_the_inside_server() -> None:
    net, reach = build(NAT)
    flows = reach.flows("internet", "web")
    # As sent, the outside client addresses the public address; the ACL sees the inside one.
    assert flows.contains(tcp("192.0.2.7", "203.0.113.80", 443))
    assert not flows.contains(tcp("192.0.2.7", "203.0.113.80", 80))
    # The provider's router could also send to the inside address itself: the firewall routes it.
    assert flows.contains(tcp("192.0.2.7", "10.0.2.80", 443))
    (path,) = trace(net, "internet", tcp("192.0.2.7", "203.0.113.80", 443))
    assert path.delivered and path.final_node == "web"
    assert any("static dst" in n for h in path.hops for n in h.nat)


def test_static_nat_rewrites_the_source_outbound_and_flows_read_as_sent() -> None:
    net, reach = build(NAT)
    flows = reach.flows("web", "internet")
    assert flows.contains(tcp("10.0.2.80", "192.0.2.7", 443))
    live = reach.received(["web"], ["internet"])
    assert net.space.contains(net.space.without_origin_copies(live), tcp("203.0.113.80", "192.0.2.7", 443))
    assert not net.space.contains(net.space.without_origin_copies(live), tcp("10.0.2.80", "192.0.2.7", 443))


ROUTERS = """
nodes:
  a: {kind: host, interfaces: {eth0: {zone: in, address: 10.0.1.10/24, gateway: 10.0.1.1}}}
  b: {kind: host, interfaces: {eth0: {zone: in, address: 10.0.9.10/24, gateway: 10.0.9.1}}}
  r1:
    kind: router
    interfaces:
      eth0: {zone: in, address: 10.0.1.1/24}
      eth1: {zone: in, address: 10.1.0.1/30}
      eth2: {zone: in, address: 10.2.0.1/30}
    routes: %(r1)s
  r2:
    kind: router
    interfaces:
      eth0: {zone: in, address: 10.1.0.2/30}
      eth1: {zone: in, address: 10.3.0.1/30}
    routes: [{to: default, via: 10.1.0.1}, {to: 10.0.9.0/24, via: 10.3.0.2}]
  fw:
    kind: firewall
    interfaces:
      eth0: {zone: in, address: 10.2.0.2/30, acl_in: deny-all}
      eth1: {zone: in, address: 10.4.0.1/30}
    acls: {deny-all: {default: deny, rules: []}}
    routes: [{to: default, via: 10.2.0.1}, {to: 10.0.9.0/24, via: 10.4.0.2}]
  r3:
    kind: router
    interfaces:
      eth0: {zone: in, address: 10.3.0.2/30}
      eth1: {zone: in, address: 10.4.0.2/30}
      eth2: {zone: in, address: 10.0.9.1/24}
    routes: [{to: default, via: 10.3.0.1}]
links:
  - [a:eth0, r1:eth0]
  - [r1:eth1, r2:eth0]
  - [r1:eth2, fw:eth0]
  - [r2:eth1, r3:eth0]
  - {name: fw-r3, endpoints: [fw:eth1, r3:eth1]}
  - [b:eth0, r3:eth2]
"""


def test_equal_cost_routes_take_every_branch() -> None:
    net, reach = build(ROUTERS % {"r1": "[{to: 10.0.9.0/24, via: 10.1.0.2}, {to: 10.0.9.0/24, via: 10.2.0.2}]"})
    packet = tcp("10.0.1.10", "10.0.9.10", 80)
    assert reach.delivers("a", "b", packet)
    outcomes = sorted(p.outcome.value for p in trace(net, "a", packet))
    assert outcomes == [Outcome.DELIVERED.value, Outcome.DENIED_IN.value]


def test_longest_prefix_wins_and_null_routes_drop() -> None:
    net, reach = build(ROUTERS % {"r1": "[{to: 10.0.0.0/8, via: 10.1.0.2}, {to: 10.0.9.0/24, drop: true}]"})
    assert reach.flows("a", "b").is_empty()
    (path,) = trace(net, "a", tcp("10.0.1.10", "10.0.9.10", 80))
    assert path.outcome is Outcome.NULL_ROUTE


def test_routing_loops_terminate() -> None:
    # r1 sends 10.0.9.0/24 to r2, r2 sends its default back to r1 when r3 is down.
    net, reach = build(ROUTERS % {"r1": "[{to: 10.0.9.0/24, via: 10.1.0.2}]"}, down=frozenset({"r3"}))
    assert reach.flows("a", "b").is_empty()
    outcomes = {p.outcome for p in trace(net, "a", tcp("10.0.1.10", "10.0.9.10", 80))}
    assert outcomes == {Outcome.NO_NEIGHBOUR} or outcomes == {Outcome.LOOP}


def test_a_failed_link_reroutes_over_what_remains() -> None:
    routes = "[{to: 10.0.9.0/24, via: 10.1.0.2}, {to: 10.0.0.0/8, via: 10.2.0.2}]"
    net, reach = build(ROUTERS % {"r1": routes}, down=frozenset({"link-2"}))
    assert reach.flows("a", "b").is_empty()  # falls back to the firewall, which denies
    net, reach = build(ROUTERS % {"r1": routes}, down=frozenset({"link-2"}), fail_open=frozenset({"fw"}))
    assert not reach.flows("a", "b").is_empty()


def test_blocked_nodes_take_part_in_nothing() -> None:
    net = Network(segverify.loads(HEAD + textwrap.dedent(ROUTERS % {"r1": "[{to: 10.0.9.0/24, via: 10.1.0.2}]"})))
    assert not Reachability(net).flows("a", "b").is_empty()
    assert Reachability(net, blocked={"r2"}).flows("a", "b").is_empty()


def test_hosts_do_not_forward() -> None:
    body = """
    nodes:
      a: {kind: host, interfaces: {eth0: {zone: in, address: 10.0.1.10/24, gateway: 10.0.1.20}}}
      dual:
        kind: server
        interfaces:
          eth0: {zone: in, address: 10.0.1.20/24}
          eth1: {zone: out, address: 10.0.2.20/24}
      b: {kind: host, interfaces: {eth0: {zone: out, address: 10.0.2.10/24, gateway: 10.0.2.20}}}
    lans:
      l1: [a:eth0, dual:eth0]
      l2: [b:eth0, dual:eth1]
    """
    net, reach = build(body)
    assert reach.flows("a", "b").is_empty()
    assert not reach.flows("a", "dual").is_empty()
    (path,) = trace(net, "a", tcp("10.0.1.10", "10.0.2.10", 80))
    assert path.outcome is Outcome.NOT_FORWARDING


def test_external_sources_do_not_use_inside_addresses() -> None:
    net, reach = build(NAT)
    flows = reach.flows("internet", "web")
    assert not flows.contains(tcp("10.0.2.80", "203.0.113.80", 443))
    assert not flows.contains(tcp("10.0.2.1", "203.0.113.80", 443))


def test_acl_in_guards_the_device_itself() -> None:
    net, reach = build(NAT)
    # The firewall is not an endpoint, but what reaches it is still filtered.
    assert "fw" not in net.endpoints
    (path,) = trace(net, "internet", tcp("192.0.2.7", "198.51.100.2", 22))
    assert path.outcome is Outcome.DENIED_IN


@pytest.mark.parametrize("pair", [("a", "b"), ("b", "a")])
def test_every_flow_has_a_delivering_trace(pair: tuple[str, str]) -> None:
    net, reach = build(TWO_HOSTS_FW % "")
    flows = reach.flows(*pair)
    packet = flows.pick()
    assert packet is not None
    assert any(p.delivered and p.final_node == pair[1] for p in trace(net, pair[0], packet))
