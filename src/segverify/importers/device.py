"""The vendor-independent shape every importer produces: devices with interfaces, ports, ACLs,
routes and NAT, each carrying the span of the vendor line that declared it.

This is one step before the topology format: interfaces do not have zones yet (the overlay gives
them) and links are not known yet (the topology derivation finds them from cabling or subnets).
Rules, routes and NAT are already written as the topology format's plain data, so the model's
builder checks their meaning and every error it raises points into the vendor file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface
from typing import Any

from ..errors import Span

ALL_VLANS = frozenset(range(1, 4095))


@dataclass
class Port:
    """How a physical port carries frames: routed (its own L3 interface), access or trunk."""

    name: str
    span: Span
    mode: str = "routed"  # routed | access | trunk
    access_vlan: int = 1
    trunk_vlans: frozenset[int] = ALL_VLANS
    native_vlan: int = 1


@dataclass
class L3Interface:
    name: str
    span: Span
    address: IPv4Interface | None = None
    address_span: Span | None = None
    secondary: list[tuple[IPv4Interface, Span]] = field(default_factory=list)
    virtual: list[tuple[IPv4Address, int, Span]] = field(default_factory=list)  # (address, priority, span)
    gateway: IPv4Address | None = None
    gateway_span: Span | None = None
    acl_in: tuple[str, Span] | None = None
    acl_out: tuple[str, Span] | None = None
    description: str = ""
    physical: str | None = None  # the port a subinterface rides on
    vlan_tag: int | None = None  # 802.1Q tag of a subinterface (None: untagged)
    svi_vlan: int | None = None  # the VLAN an SVI (interface VlanN) routes for
    vrf: str | None = None
    vrf_span: Span | None = None
    nat_side: str | None = None  # inside | outside
    loopback: bool = False


@dataclass
class AclData:
    """An ACL as topology-format data (rules are dicts) with the span of each rule."""

    name: str
    span: Span
    default: str = "deny"
    stateful: bool = False
    rules: list[dict[str, Any]] = field(default_factory=list)
    rule_spans: list[Span] = field(default_factory=list)
    default_span: Span | None = None
    pending_remark: str = ""  # a remark line describes the entry after it


@dataclass
class RouteData:
    data: dict[str, Any]
    span: Span
    vrf: str | None = None
    interface: str | None = None  # an interface route without a next hop, resolved after cabling


@dataclass
class NatData:
    data: dict[str, Any]
    span: Span


@dataclass
class PolicyData:
    """A node's ``policies`` (interface-pair filtering, and ``local`` for the device itself)."""

    span: Span
    default: str
    stateful: bool = True
    rules: list[dict[str, Any]] = field(default_factory=list)
    rule_spans: list[Span] = field(default_factory=list)
    local_default: str = "permit"
    local_rules: list[dict[str, Any]] = field(default_factory=list)
    local_spans: list[Span] = field(default_factory=list)
    local_by_rules: bool = False  # ``local: rules``: the rules decide traffic to the device (PAN-OS)


@dataclass
class Device:
    name: str
    vendor: str
    file: str
    span: Span
    kind: str = "router"
    forwarding: bool = True
    forwarding_span: Span | None = None
    interfaces: dict[str, L3Interface] = field(default_factory=dict)
    ports: dict[str, Port] = field(default_factory=dict)
    omitted: dict[str, Span] = field(default_factory=dict)  # interfaces known but not modelled (shut down)
    acls: dict[str, AclData] = field(default_factory=dict)
    routes: list[RouteData] = field(default_factory=list)
    nat: list[NatData] = field(default_factory=list)
    dynamic_routing: tuple[str, Span] | None = None  # e.g. ("router ospf 1", span): needs a FIB
    vrfs: dict[str, Span] = field(default_factory=dict)
    policies: PolicyData | None = None
