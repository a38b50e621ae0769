"""What to create in the kernel for a topology: namespaces, links, addresses, routes, rulesets.

The plan is plain data computed from the model alone, so it can be printed and tested without
root. Kernel names are generated and short (IFNAMSIZ is 16 bytes with the terminator): node
namespaces ``<tag>n<k>``, LAN namespaces ``<tag>l<k>``, interfaces ``e<k>`` inside a node's
namespace and ``p<k>`` on a LAN bridge. :attr:`Plan.names` keeps the table back to the model.

Choices that make the kernel behave as the model says:

* a LAN with two members is a veth pair; with more, a bridge in its own namespace; an interface on
  no LAN (or alone on one) is a veth whose peer sits in a namespace where nothing answers, so its
  connected route exists and leads nowhere;
* rp_filter off, accept_local on (an external node may legitimately see its own address as a
  source), redirects off, IPv6 off, arp_ignore=1 (only the owner of an address answers ARP);
* a static route equal to a connected prefix is left out (connected wins); a drop route beside a
  forwarding route to the same prefix is left out (all equal routes are taken, and a drop adds
  nothing); several forwarding routes become one multipath route; a route whose next hop no
  interface reaches becomes a blackhole (the model drops there);
* an external node delivers locally every destination it stands for (its ``represents`` less the
  addresses used inside and less the more specific ranges of other external nodes, as the engine
  has it): ``local`` and ``throw`` routes in a table consulted only for packets arriving on its
  interfaces (``ip rule iif``), so what it sends itself is still routed out. On a bridged LAN
  it also takes a copy of frames for a neighbour's address it stands for (the model delivers
  those to the owner *and* to such external nodes). It answers ARP only for addresses nobody else on the LAN owns,
  that no neighbour uses as a next hop, and that no more specific external node there represents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import Callable, Iterable

from ..errors import EnvironmentProblem
from ..pools import stands_for
from ..model import DEFAULT_VRF, Node, NodeKind, Route, Topology, nat_answers
from ..network import nat_rules, uplinks
from . import nftables
from . import vrf as vrf_tables

LOCAL_TABLE = 100
COMMON_SYSCTLS = (
    ("net.ipv6.conf.all.disable_ipv6", "1"),
    ("net.ipv6.conf.default.disable_ipv6", "1"),
    ("net.ipv4.conf.all.rp_filter", "0"),
    ("net.ipv4.conf.default.rp_filter", "0"),
    ("net.ipv4.conf.all.accept_local", "1"),
    ("net.ipv4.conf.default.accept_local", "1"),
    ("net.ipv4.conf.all.send_redirects", "0"),
    ("net.ipv4.conf.default.send_redirects", "0"),
    ("net.ipv4.conf.all.accept_redirects", "0"),
    ("net.ipv4.conf.default.accept_redirects", "0"),
    ("net.ipv4.conf.all.arp_announce", "2"),
    ("net.ipv4.conf.default.arp_announce", "2"),
)
# A burst of probes waits for ARP at each hop: let the queue hold all of them (per interface:
# a namespace other than the first has no neigh/default to inherit from).
NEIGH_QUEUE = ("unres_qlen_bytes", str(16 * 1024 * 1024))
OPTIONAL_SYSCTLS = (
    ("net.netfilter.nf_conntrack_tcp_loose", "0"),
)


@dataclass
class NodePlan:
    node: str
    netns: str
    ifname: dict[str, str]  # model interface -> kernel name
    endpoint: bool
    forwarding: bool
    sysctls: list[tuple[str, str]]
    ip_lines: list[str]
    ruleset: str
    multipath: list[tuple[str, list[str]]] = field(default_factory=list)  # (prefix, route variants)


@dataclass
class LanPlan:
    name: str
    netns: str | None  # None for a veth pair or a lone interface
    ip_lines: list[str]


@dataclass
class Plan:
    tag: str
    nodes: dict[str, NodePlan]
    lans: list[LanPlan]
    root_lines: list[str]  # `ip -batch` lines run in the caller's namespace (create namespaces, links)
    names: list[tuple[str, str, str]] = field(default_factory=list)  # (model name, namespace, interface)
    lan_rulesets: dict[str, str] = field(default_factory=dict)  # LAN namespace -> nft ruleset

    @property
    def namespaces(self) -> list[str]:
        return [p.netns for p in self.nodes.values()] + [lp.netns for lp in self.lans if lp.netns]


def _owners(topo: Topology) -> dict[IPv4Address, tuple[str, str]]:
    return {ip: (n.name, i.name) for n in topo.nodes.values() for i in n.interfaces for ip in i.ips}


def _lan_of(topo: Topology) -> dict[tuple[str, str], tuple[tuple[str, str], ...]]:
    return {ep: lan.endpoints for lan in topo.lans for ep in lan.endpoints}


def egress_for(topo: Topology, node: Node, via: IPv4Address,
               lan_of: dict[tuple[str, str], tuple[tuple[str, str], ...]],
               owners: dict[IPv4Address, tuple[str, str]], vrf: str | None = None) -> str | None:
    """The interface a next hop is reached by (among the interfaces of ``vrf`` when given): the
    one sharing a LAN with its owner, else the one whose prefix holds it."""
    owner = owners.get(via)
    candidates = [i for i in node.interfaces if vrf is None or i.vrf == vrf]
    for iface in candidates:
        peers = lan_of.get((node.name, iface.name), ())
        if owner is not None and owner != (node.name, iface.name) and owner in peers:
            return iface.name
    for iface in candidates:
        if iface.on_subnet(via):
            return iface.name
    return None


def route_lines(topo: Topology, node: Node, ifname: dict[str, str],
                lan_of: dict[tuple[str, str], tuple[tuple[str, str], ...]],
                owners: dict[IPv4Address, tuple[str, str]],
                vrf: str = DEFAULT_VRF) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """``ip route`` lines for the static routes of one of the node's VRFs (in its table), and the
    multipath ones with one line per single next hop (used to try each path of an equal-cost group
    in turn). A leak route is a ``throw`` route (see :mod:`.vrf`)."""
    table = vrf_tables.table_of(node, vrf)
    in_table = "" if table == vrf_tables.MAIN_TABLE else f" table {table}"
    connected = {a.network for i in node.interfaces_in(vrf) for a in i.all_addresses}
    # Per prefix, only the live routes of the lowest administrative distance count, as in the engine
    # (a floating route with a higher distance waits until the primary's link is down).
    live: dict[IPv4Network, list[tuple[int, IPv4Address | None, bool, str | None]]] = {}
    for r in node.routes_in(vrf):
        if r.leak:
            continue
        hop_vrf = r.next_vrf if r.next_vrf is not None else vrf
        egress = None if r.drop or r.via is None else egress_for(topo, node, r.via, lan_of, owners, hop_vrf)
        if r.drop or egress is not None:
            live.setdefault(r.prefix, []).append((r.distance, r.via, r.drop, egress))
    leaks = {r.prefix for r in vrf_tables.chosen_leaks(node, vrf, _alive(topo, node, lan_of, owners))}
    lines: list[str] = [f"route add throw {prefix}{in_table}" for prefix in sorted(
        leaks, key=lambda p: (p.prefixlen, int(p.network_address)))]
    multipath: list[tuple[str, list[str]]] = []
    for prefix in sorted(live, key=lambda p: (p.prefixlen, int(p.network_address))):
        if prefix in connected or prefix in leaks:
            continue
        best = min(d for d, *_ in live[prefix])
        hops: list[str] = []
        for distance, via, drop, egress in live[prefix]:
            if distance == best and not drop and egress is not None:
                hops.append(f"via {via} dev {ifname[egress]} onlink")
        hops = sorted(set(hops))
        if not hops:
            lines.append(f"route add blackhole {prefix}{in_table}")
        elif len(hops) == 1:
            lines.append(f"route add {prefix}{in_table} {hops[0]}")
        else:
            lines.append(f"route add {prefix}{in_table} " + " ".join(f"nexthop {h}" for h in hops))
            multipath.append((f"{prefix}{in_table}", [f"route replace {prefix}{in_table} {h}" for h in hops]))
    return lines, multipath


def _alive(topo: Topology, node: Node, lan_of: dict[tuple[str, str], tuple[tuple[str, str], ...]],
           owners: dict[IPv4Address, tuple[str, str]]) -> Callable[[Route], bool]:
    """Is a route with a next hop a candidate: is the next hop on an interface (of its VRF)?"""
    def alive(route: Route) -> bool:
        hop_vrf = route.next_vrf if route.next_vrf is not None else route.vrf
        return route.via is not None and egress_for(topo, node, route.via, lan_of, owners, hop_vrf) is not None
    return alive


def _implicit_default(topo: Topology, node: Node, ifname: dict[str, str],
                      lan_of: dict[tuple[str, str], tuple[tuple[str, str], ...]]) -> list[str]:
    """An external node without routes sends everything to the one addressed neighbour of its
    first interface that has exactly one (its uplink), as the engine assumes."""
    for iface in node.interfaces:
        if iface.address is None or (node.name, iface.name) not in lan_of:
            continue
        present = uplinks(topo, (node.name, iface.name), lan_of[(node.name, iface.name)])
        if len(present) == 1:
            return [f"route add default via {present[0]} dev {ifname[iface.name]} onlink"]
    return []


def _arp_silenced(topo: Topology, node: Node, lan_of: dict[tuple[str, str], tuple[tuple[str, str], ...]],
                  owners: dict[IPv4Address, tuple[str, str]]) -> list[IPv4Address]:
    """Addresses an external node must not claim by ARP on its LANs (it claims the rest of its
    represents through its local routes)."""
    out: set[IPv4Address] = set()
    for iface in node.interfaces:
        peers = [ep for ep in lan_of.get((node.name, iface.name), ()) if ep[0] != node.name]
        for pn, pi in peers:
            peer = topo.nodes[pn]
            out.update(peer.interface(pi).ips)
            for r in peer.routes:
                if r.via is not None and r.via not in owners:
                    out.add(r.via)
    return sorted(a for a in out if any(a in net for net in node.represents) and a not in node.addresses)


def excluded_from(topo: Topology, node: Node) -> list[IPv4Network]:
    """What an external node does not stand for, inside its represents: addresses used inside
    (interfaces and NAT of other nodes) and the more specific represents of other external nodes.
    The engine neither sends from nor delivers to these at the node."""
    out: set[IPv4Network] = set()
    for other in topo.nodes.values():
        if other.kind is not NodeKind.EXTERNAL:
            out.update(IPv4Network(a) for a in other.addresses)
            out.update(net for r in nat_rules(other) for net in r.public)
        elif other.name != node.name:
            for net in other.represents:
                if any(net != mine and net.subnet_of(mine) for mine in node.represents):
                    out.add(net)
        if other.pool is not None:  # the hosts of a LAN subnet are there, not outside
            out.update(stands_for(topo, other))
    return sorted(n for n in out if any(n.subnet_of(mine) for mine in node.represents))


def in_external_space(topo: Topology, node: Node, addr: IPv4Address) -> bool:
    return any(addr in n for n in node.represents) and not any(addr in n for n in excluded_from(topo, node))


def _more_specific_elsewhere(topo: Topology, node: Node,
                             lan_of: dict[tuple[str, str], tuple[tuple[str, str], ...]]) -> list[IPv4Network]:
    """Represents of other external nodes on the same LANs nested inside this node's ones."""
    out: set[IPv4Network] = set()
    for iface in node.interfaces:
        for pn, _pi in lan_of.get((node.name, iface.name), ()):
            peer = topo.nodes[pn]
            if pn == node.name or peer.kind is not NodeKind.EXTERNAL:
                continue
            for net in peer.represents:
                if any(net != mine and net.subnet_of(mine) for mine in node.represents):
                    out.add(net)
    return sorted(out)


def mac(node_index: int, iface_index: int) -> str:
    """A fixed, locally administered MAC per interface, so rules can name it."""
    return f"02:53:56:{node_index >> 8 & 0xFF:02x}:{node_index & 0xFF:02x}:{iface_index & 0xFF:02x}"


def _copy_rules(topo: Topology, eps: list[tuple[str, str]], macs: dict[tuple[str, str], str],
                port: dict[tuple[str, str], str]) -> tuple[list[str], dict[tuple[str, str], list[str]]]:
    """Layer-2 copies for a bridged LAN: the model delivers a frame for an address on the LAN to its
    owner *and* to every external node there whose represents holds it, while a switch delivers it
    once. The bridge namespace duplicates such frames to the external node's port (netdev ``dup``),
    and the external node takes the copy as its own (``pkttype set host``)."""
    bridge: list[str] = []
    accept: dict[tuple[str, str], list[str]] = {}
    for x in eps:
        xn = topo.nodes[x[0]]
        if xn.kind is not NodeKind.EXTERNAL:
            continue
        for o in eps:
            if o[0] == x[0]:
                continue
            ips = [ip for ip in topo.nodes[o[0]].interface(o[1]).ips if in_external_space(topo, xn, ip)]
            if not ips:
                continue
            for ip in ips:
                for src in eps:
                    if src[0] in (x[0], o[0]):
                        continue
                    bridge.append(f'{port[src]}|ether daddr {macs[o]} ip daddr {ip} dup to "{port[x]}"')
            accept.setdefault(x, []).append(macs[o])
    return bridge, accept


def _netdev_table(rules_by_dev: dict[str, list[str]]) -> str:
    if not rules_by_dev:
        return ""
    out = [f"table netdev {nftables.TABLE} {{"]
    for k, (dev, rules) in enumerate(sorted(rules_by_dev.items())):
        out += [f"  chain ingress_{k} {{", f'    type filter hook ingress device "{dev}" priority 0; policy accept;']
        out += [f"    {r}" for r in rules]
        out.append("  }")
    out.append("}")
    return "\n".join(out) + "\n"


def make_plan(topo: Topology, tag: str, endpoints: Iterable[str]) -> Plan:
    endpoint_set = set(endpoints)
    owners = _owners(topo)
    lan_of = _lan_of(topo)
    names: list[tuple[str, str, str]] = []
    nodes: dict[str, NodePlan] = {}
    for k, (name, node) in enumerate(sorted(topo.nodes.items())):
        ns = f"{tag}n{k}"
        ifname = {i.name: f"e{j}" for j, i in enumerate(node.interfaces)}
        names.append((name, ns, ""))
        names.extend((f"{name}:{i}", ns, kn) for i, kn in ifname.items())
        nodes[name] = NodePlan(name, ns, ifname, name in endpoint_set, node.forwarding, [], [], "")
    index = {name: k for k, name in enumerate(sorted(topo.nodes))}
    macs = {(n.name, i.name): mac(index[n.name], j) for n in topo.nodes.values() for j, i in enumerate(n.interfaces)}
    accept_copies: dict[tuple[str, str], list[str]] = {}
    lan_rulesets: dict[str, str] = {}
    root: list[str] = [f"netns add {p.netns}" for p in nodes.values()]
    lans: list[LanPlan] = []
    placed: set[tuple[str, str]] = set()
    for j, lan in enumerate(topo.lans):
        eps = list(lan.endpoints)
        if len(eps) == 2:
            (an, ai), (bn, bi) = eps
            a, b = nodes[an], nodes[bn]
            root.append(f"link add {a.ifname[ai]} netns {a.netns} type veth peer name {b.ifname[bi]} netns {b.netns}")
            placed.update(eps)
            lans.append(LanPlan(lan.name, None, []))
        elif len(eps) > 2:
            lns = f"{tag}l{j}"
            root.append(f"netns add {lns}")
            root.append(f"link add br0 netns {lns} type bridge stp_state 0 forward_delay 0")
            lines = ["link set lo up"]
            for m, (n, i) in enumerate(eps):
                p = nodes[n]
                root.append(f"link add {p.ifname[i]} netns {p.netns} type veth peer name p{m} netns {lns}")
                lines += [f"link set p{m} master br0", f"link set p{m} up"]
                names.append((f"lan {lan.name}:{n}:{i}", lns, f"p{m}"))
            lines.append("link set br0 up")
            names.append((f"lan {lan.name}", lns, "br0"))
            port = {ep: f"p{m}" for m, ep in enumerate(eps)}
            copies, accept = _copy_rules(topo, eps, macs, port)
            by_dev: dict[str, list[str]] = {}
            for c in copies:
                dev, rule = c.split("|", 1)
                by_dev.setdefault(dev, []).append(rule)
            if by_dev:
                lan_rulesets[lns] = _netdev_table(by_dev)
            for x, m_list in accept.items():
                accept_copies.setdefault(x, []).extend(m_list)
            placed.update(eps)
            lans.append(LanPlan(lan.name, lns, lines))
    lone = [(name, i.name) for name, node in sorted(topo.nodes.items()) for i in node.interfaces
            if (name, i.name) not in placed]
    if lone:
        # Interfaces on no LAN lead into a namespace where nothing answers (dummy devices would
        # need a kernel module that is not always there).
        void = f"{tag}void"
        root.append(f"netns add {void}")
        void_lines = ["link set lo up"]
        for m, (name, iname) in enumerate(lone):
            p = nodes[name]
            root.append(f"link add {p.ifname[iname]} netns {p.netns} type veth peer name v{m} netns {void}")
            void_lines.append(f"link set v{m} up")
            names.append((f"nowhere {name}:{iname}", void, f"v{m}"))
        lans.append(LanPlan("(no LAN)", void, void_lines))
    for name, node in sorted(topo.nodes.items()):
        p = nodes[name]
        external = node.kind is NodeKind.EXTERNAL
        forwarding = node.forwarding and not external
        pool = node.pool is not None
        p.forwarding = forwarding
        p.sysctls = list(COMMON_SYSCTLS) + [
            ("net.ipv4.ip_forward", "1" if forwarding else "0"),
            # External nodes and pools answer ARP for what they stand for (local routes, not addresses).
            ("net.ipv4.conf.all.arp_ignore", "0" if external or pool else "1"),
            ("net.ipv4.conf.default.arp_ignore", "0" if external or pool else "1"),
        ]
        lines = ["link set lo up"]
        for iface in node.interfaces:
            kn = p.ifname[iface.name]
            table = vrf_tables.table_of(node, iface.vrf)
            for extra in iface.all_addresses:
                if table == vrf_tables.MAIN_TABLE:
                    lines.append(f"addr add {extra.with_prefixlen} dev {kn}")
                else:  # the connected route goes into the VRF's table, not main
                    lines.append(f"addr add {extra.with_prefixlen} dev {kn} noprefixroute")
            for vip in iface.virtual:  # a VRRP address: the active member holds it as one more address
                lines.append(f"addr add {vip}/32 dev {kn}")
            lines.append(f"link set {kn} address {macs[(name, iface.name)]}")
            lines.append(f"link set {kn} up")
            if table != vrf_tables.MAIN_TABLE:
                for subnet in dict.fromkeys(a.network for a in iface.all_addresses):
                    src = next(a.ip for a in iface.all_addresses if a.network == subnet)
                    lines.append(f"route add {subnet} dev {kn} table {table} proto kernel scope link src {src}")
        routes, multipath = route_lines(topo, node, p.ifname, lan_of, owners)
        for vrf in node.vrf_names[1:]:
            more, more_multipath = route_lines(topo, node, p.ifname, lan_of, owners, vrf)
            routes += more
            multipath += more_multipath
        routes += vrf_tables.rule_lines(node, p.ifname, _alive(topo, node, lan_of, owners))
        if external and not node.routes:
            routes += _implicit_default(topo, node, p.ifname, lan_of)
        lines += routes
        p.multipath = multipath
        silenced: list[IPv4Network] = []
        if external:
            for net in node.represents:
                lines.append(f"route add local {net} dev lo table {LOCAL_TABLE}")
            for net in excluded_from(topo, node):
                # Not this node's: fall back to the main table (not local, and no ARP answer).
                lines.append(f"route add throw {net} table {LOCAL_TABLE}")
            for iface in node.interfaces:
                lines.append(f"rule add iif {p.ifname[iface.name]} lookup {LOCAL_TABLE} pref 100")
            # What it sends to an address it stands for never leaves it (output lookups are iif lo).
            lines.append(f"rule add iif lo lookup {LOCAL_TABLE} pref 100")
            # ARP for nested ranges is left to the more specific external node: one answer each.
            silenced = [IPv4Network(a) for a in _arp_silenced(topo, node, lan_of, owners)]
            silenced += _more_specific_elsewhere(topo, node, lan_of)
        if pool:
            # Every address the pool stands for is a host of its own there: local, answered by ARP.
            for net in stands_for(topo, node):
                lines.append(f"route add local {net} dev lo table {LOCAL_TABLE}")
            for iface in node.interfaces:
                lines.append(f"rule add iif {p.ifname[iface.name]} lookup {LOCAL_TABLE} pref 100")
            lines.append(f"rule add iif lo lookup {LOCAL_TABLE} pref 100")
        p.ip_lines = lines
        p.ruleset = nftables.render(node, p.ifname, arp_ignore=silenced)
        take = {p.ifname[i]: [f"ether daddr {{ {', '.join(sorted(set(m)))} }} meta pkttype set host"]
                for (n, i), m in accept_copies.items() if n == name}
        p.ruleset += _netdev_table(take)
    for name, node in sorted(topo.nodes.items()):
        for j, iface in enumerate(node.interfaces):
            peers = [ep for ep in lan_of.get((name, iface.name), ()) if ep[0] != name]
            for addr in nat_arp_addresses(node, iface.name):
                for pn, pi in peers:
                    nodes[pn].ip_lines.append(f"neigh replace {addr} lladdr {macs[(name, iface.name)]} "
                                              f"dev {nodes[pn].ifname[pi]} nud permanent")
    return Plan(tag, nodes, lans, root, names, lan_rulesets)


NAT_ARP_LIMIT = 1024


def nat_arp_addresses(node: Node, iface: str) -> list[IPv4Address]:
    """NAT addresses the node answers ARP for on ``iface`` (as the engine has it): its neighbours
    get permanent entries, since a Linux kernel does not answer for addresses it does not hold."""
    subnets = [a.network for a in node.interface(iface).all_addresses]
    out: set[IPv4Address] = set()
    for _rule, inner in nat_answers(node, iface):
        if inner.num_addresses > NAT_ARP_LIMIT:
            raise EnvironmentProblem(f"{node.name}: the NAT addresses {inner} are too many to emulate "
                                     f"(at most {NAT_ARP_LIMIT} per interface)")
        sub = next(sub for sub in subnets if inner.subnet_of(sub))
        out.update(a for a in inner if a not in (sub.network_address, sub.broadcast_address) or sub.prefixlen >= 31)
    return sorted(out)
