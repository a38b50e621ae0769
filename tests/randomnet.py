"""Seeded small random networks, as YAML text, for testing the engine against the oracle.

Every network is tiny on purpose: 3-8 nodes, addresses inside 10.0.0.0/25 cut into /29 and /28
segments, ports from a handful of well-known ones. Small spaces make collisions between rules,
routes and addresses likely, which is where forwarding semantics get subtle: overlapping ACL lines,
routing loops, drop routes, equal-cost routes, a static route shadowed by a connected one, NAT,
external nodes whose ranges nest. The same seed always gives the same bytes.

Also here: the small packet universe the tests enumerate, and helpers that reorder or mutate a
generated network for the property tests.
"""

from __future__ import annotations

import copy
import random
from ipaddress import IPv4Address, IPv4Network
from typing import Any, Iterator

import yaml

from segverify.model import PORTED_PROTOCOLS, NodeKind, Topology

PORTS = (22, 25, 53, 80, 443, 3389)
UNLISTED_PORT = 8080  # appears in no generated rule
EPHEMERAL_SAMPLE = 40000  # a typical client port, inside 1024-65535
TCP, UDP, ICMP, GRE = 6, 17, 1, 47

INTERNAL = IPv4Network("10.0.0.0/25")
NAT_SPACE = IPv4Network("203.0.113.0/24")
# What external nodes may stand for. No network appears in two options, so two external nodes
# never claim the same prefix (which of them would send from it is not defined), but they nest.
REPRESENTS = (
    ("any",),
    ("10.0.0.128/25",),
    ("172.16.0.0/24", "10.0.0.192/26"),
    ("10.0.0.0/24",),
    ("192.168.1.0/24",),
)
# Addresses outside the internal space that the universe probes.
OUTSIDE_PROBES = ("10.0.0.130", "10.0.0.200", "172.16.0.9", "192.168.1.1", "198.51.100.7", "203.0.113.99")

ROUTER_KINDS = ("router", "router", "firewall", "l3switch", "gateway")
HOST_KINDS = ("terminal", "server", "host", "proxy")
INTERNAL_ZONES = {"z-mn": "mynumber", "z-lg": "lgwan", "z-inet": "internet"}
EXTERNAL_ZONES = {"z-world": "external-internet", "z-wan": "lgwan-backbone", "z-cloud": "security-cloud"}


class _Segments:
    """Allocates /29 and /28 blocks of the internal space without overlap."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.free = list(INTERNAL.subnets(new_prefix=29))

    def take(self, members: int = 2) -> IPv4Network:
        if members > 6 or self.rng.random() < 0.4:
            pairs = [n for n in INTERNAL.subnets(new_prefix=28)
                     if all(h in self.free for h in n.subnets(new_prefix=29))]
            if pairs:
                block = self.rng.choice(pairs)
                for half in block.subnets(new_prefix=29):
                    self.free.remove(half)
                return block
        block = self.rng.choice(self.free)
        self.free.remove(block)
        return block


class _Builder:
    def __init__(self, seed: int, vrfs: bool = True) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.with_vrfs = vrfs
        self.nodes: dict[str, dict[str, Any]] = {}
        self.kind: dict[str, str] = {}
        # layer-2 segments: name -> (prefix, [(node, iface, address)], zone, is_link)
        self.segments: dict[str, tuple[IPv4Network, list[tuple[str, str, str]], str, bool]] = {}
        self.alloc = _Segments(self.rng)
        self.networks: dict[str, list[str]] = {}
        self.nat_next = 1
        self.secondary_addresses: list[str] = []
        self.vips: list[str] = []

    # -- structure ---------------------------------------------------------------------------------

    def add_node(self, name: str, kind: str) -> None:
        self.nodes[name] = {"kind": kind, "interfaces": {}}
        self.kind[name] = kind

    def new_iface(self, node: str) -> str:
        return f"eth{len(self.nodes[node]['interfaces'])}"

    def add_segment(self, name: str, members: list[str], zone: str, link: bool) -> None:
        prefix = self.alloc.take(len(members))
        hosts = list(prefix.hosts())
        addrs = self.rng.sample(hosts, len(members))
        entries = []
        for node, addr in zip(members, addrs):
            iface = self.new_iface(node)
            self.nodes[node]["interfaces"][iface] = {"zone": zone, "address": f"{addr}/{prefix.prefixlen}"}
            entries.append((node, iface, str(addr)))
        self.segments[name] = (prefix, entries, zone, link)

    def build(self) -> dict[str, Any]:
        rng = self.rng
        total = rng.randint(3, 8)
        n_routers = rng.randint(1, min(3, total - 2))
        n_ext = min(rng.choice((0, 1, 1, 2)), total - n_routers - 1)
        n_san = 1 if total - n_routers - n_ext >= 2 and rng.random() < 0.3 else 0
        n_hosts = total - n_routers - n_ext - n_san
        routers = [f"r{i + 1}" for i in range(n_routers)]
        hosts = [f"h{i + 1}" for i in range(n_hosts)]
        sanitizers = [f"s{i + 1}" for i in range(n_san)]
        externals = [f"x{i + 1}" for i in range(n_ext)]
        for r in routers:
            self.add_node(r, rng.choice(ROUTER_KINDS))
        for h in hosts:
            self.add_node(h, rng.choice(HOST_KINDS))
        for s in sanitizers:
            self.add_node(s, "sanitizer")
            self.nodes[s]["sanitizer"] = {
                "type": "file",
                "inbound": [{"from": "any", "service": "tcp/443"}],
                "outbound": [{"to": "any", "service": ["tcp/443"]}],
            }
        reps = rng.sample(REPRESENTS, n_ext)
        for x, rep in zip(externals, reps):
            self.add_node(x, "external")
            self.nodes[x]["represents"] = list(rep) if len(rep) > 1 or rng.random() < 0.5 else rep[0]

        # Router backbone: a random tree, sometimes one extra link that closes a cycle.
        pairs: list[tuple[str, str]] = []
        for i in range(1, n_routers):
            pairs.append((routers[rng.randrange(i)], routers[i]))
        if n_routers >= 3 and rng.random() < 0.5:
            a, b = rng.sample(routers, 2)
            if (a, b) not in pairs and (b, a) not in pairs:
                pairs.append((a, b))
        for k, (a, b) in enumerate(pairs):
            self.add_segment(f"bb{k + 1}", [a, b], rng.choice(list(INTERNAL_ZONES)), link=True)

        # Access LANs, each with one router (sometimes two) and some hosts.
        n_lans = rng.randint(1, n_routers + 1)
        lan_members: list[list[str]] = []
        for k in range(n_lans):
            members = [rng.choice(routers)]
            if n_routers >= 2 and rng.random() < 0.5:  # two routers: equal-cost next hops
                other = rng.choice(routers)
                if other not in members:
                    members.append(other)
            lan_members.append(members)
        for h in hosts:
            first = rng.randrange(n_lans)
            lan_members[first].append(h)
            if n_lans >= 2 and rng.random() < 0.15:  # dual-homed host
                second = rng.choice([k for k in range(n_lans) if k != first])
                lan_members[second].append(h)
        for s in sanitizers:
            picks = rng.sample(range(n_lans), min(2, n_lans))
            for k in picks:
                lan_members[k].append(s)
        ext_on_lan: list[str] = []
        for x in externals:
            if rng.random() < 0.3:
                lan_members[rng.randrange(n_lans)].append(x)
                ext_on_lan.append(x)
        for k, members in enumerate(lan_members):
            self.add_segment(f"lan{k + 1}", members, rng.choice(list(INTERNAL_ZONES)), link=False)
        for x in externals:
            if x not in ext_on_lan:
                self.add_segment(f"up-{x}", [rng.choice(routers), x], rng.choice(list(EXTERNAL_ZONES)), link=True)
        # External interfaces sit in external zones, whatever segment they share.
        for x in externals:
            for iface in self.nodes[x]["interfaces"].values():
                iface["zone"] = rng.choice(list(EXTERNAL_ZONES))
        # Rarely an interface on no LAN at all: its connected route leads nowhere.
        if rng.random() < 0.15:
            r = rng.choice(routers)
            prefix = self.alloc.take()
            self.nodes[r]["interfaces"][self.new_iface(r)] = {
                "zone": rng.choice(list(INTERNAL_ZONES)), "address": f"{next(prefix.hosts())}/{prefix.prefixlen}"}

        self.add_gateways(routers, hosts + sanitizers + externals)
        self.add_forwarding_quirks(routers, hosts)
        if rng.random() < 0.5:
            self.add_networks()
        for r in routers:
            self.add_routes(r)
        for h in hosts:
            if rng.random() < 0.1:
                self.add_routes(h, few=True)
        for name in routers + [h for h in hosts if rng.random() < 0.3]:
            self.add_acls(name)
        for r in routers:
            self.add_nat(r)
        self.add_grown_constructs(seed=self.seed, routers=routers, hosts=hosts)
        self.add_twice_nat(random.Random(self.seed * 7927 + 29), routers)
        if self.with_vrfs:
            self.add_vrfs(random.Random(self.seed * 104729 + 3), routers)

        pools = self.add_pools(externals)

        lans: dict[str, Any] = {}
        links: list[Any] = []
        for name, (_prefix, entries, _zone, link) in self.segments.items():
            eps = [f"{n}:{i}" for n, i, _a in entries]
            if link and len(eps) == 2:
                links.append(eps if rng.random() < 0.5 else {"endpoints": eps})
            else:
                lans[name] = {"endpoints": eps} if rng.random() < 0.5 else eps
        zones = {z: {"segment": s} for z, s in {**INTERNAL_ZONES, **EXTERNAL_ZONES}.items()}
        doc: dict[str, Any] = {
            "segverify": 1,
            "name": f"random-{self.seed}",
            "profile": "alpha",
            "zones": zones,
        }
        if self.networks:
            doc["networks"] = self.networks
        doc["services"] = {"web": ["tcp/80", "tcp/443"], "dns": ["udp/53", "tcp/53"]}
        doc["nodes"] = self.nodes
        if links:
            doc["links"] = links
        if lans:
            doc["lans"] = lans
        if pools:
            doc["pools"] = pools
        return doc

    def add_pools(self, externals: list[str]) -> dict[str, Any]:
        """Sometimes a declared pool: the top addresses of an access LAN (its hosts take the bottom
        ones), given by range, by prefix or by LAN alone, with or without a gateway."""
        rng = self.rng
        pools: dict[str, Any] = {}
        for name, (prefix, entries, zone, link) in self.segments.items():
            if link or not name.startswith("lan") or any(n in externals for n, _i, _a in entries):
                continue
            if rng.random() > 0.35:
                continue
            used = {IPv4Address(str(i["address"]).split("/")[0]) for n in self.nodes.values()
                    for i in n["interfaces"].values() if "address" in i}
            used |= {IPv4Address(a.split("/")[0]) for a in self.secondary_addresses}
            for n in self.nodes.values():
                for r in n.get("nat", []):
                    for k in ("to", "outside"):
                        if k in r:  # an address, a prefix or a first-last range
                            first, _, last = str(r[k]).partition("-")
                            low = IPv4Network(first, strict=False)
                            high = IPv4Network(last, strict=False) if last else low
                            used.update(IPv4Address(a) for a in range(int(low.network_address),
                                                                       int(high.broadcast_address) + 1))
            free = [a for a in list(prefix.hosts())[::-1] if a not in used]
            if not free:
                continue
            top = int(free[0]) + 1
            spec: dict[str, Any] = {}
            several = any("secondary" in self.nodes[n]["interfaces"][i] for n, i, _a in entries)
            style = rng.choice(("range", "prefix") if several else ("range", "prefix", "lan"))
            if style == "range":
                spec["range"] = f"{max(IPv4Address(top - 3), next(prefix.hosts()))}-{IPv4Address(top - 1)}"
            elif style == "prefix":
                spec["range"] = [f"{IPv4Address(top - 1)}/32"]
            if style == "lan" or rng.random() < 0.5:
                spec["lan"] = name
            routers = [a for n, _i, a in entries if self.nodes[n]["kind"] in ROUTER_KINDS
                       and self.nodes[n].get("ip_forward", True)]
            if routers and rng.random() < 0.5:
                spec["gateway"] = rng.choice(routers).split("/")[0]
            if rng.random() < 0.3:
                spec["zone"] = zone
            spec["kind"] = rng.choice(("terminal", "server", "host"))
            pools[f"p-{name}"] = spec
        return pools

    # -- addressing helpers ------------------------------------------------------------------------

    def neighbours(self, node: str) -> list[tuple[str, str]]:
        """(address, owner) of every other interface on a segment shared with ``node``."""
        out: list[tuple[str, str]] = []
        for _prefix, entries, _zone, _link in self.segments.values():
            if any(n == node for n, _i, _a in entries):
                out.extend((a, n) for n, _i, a in entries if n != node)
        return out

    def all_addresses(self) -> list[str]:
        return [a for _p, entries, _z, _l in self.segments.values() for _n, _i, a in entries]

    def add_gateways(self, routers: list[str], others: list[str]) -> None:
        """A default gateway on the first interface that has a router beside it (usually)."""
        for name in others:
            for _prefix, entries, _zone, _link in self.segments.values():
                mine = [i for n, i, _a in entries if n == name]
                gws = [a for n, _i, a in entries if n in routers]
                if mine and gws:
                    if self.rng.random() < 0.9:
                        self.nodes[name]["interfaces"][mine[0]]["gateway"] = self.rng.choice(gws)
                    break

    def add_forwarding_quirks(self, routers: list[str], hosts: list[str]) -> None:
        if hosts and self.rng.random() < 0.1:
            self.nodes[self.rng.choice(hosts)]["ip_forward"] = True  # a bypass host
        if len(routers) > 1 and self.rng.random() < 0.1:
            self.nodes[self.rng.choice(routers)]["ip_forward"] = False

    def add_networks(self) -> None:
        prefixes = [str(p) for p, _e, _z, _l in self.segments.values()]
        self.networks["NET_A"] = self.rng.sample(prefixes, min(2, len(prefixes)))
        self.networks["NET_B"] = [self.rng.choice(self.all_addresses()), "NET_A"]

    def route_targets(self) -> list[str]:
        targets = [str(p) for p, _e, _z, _l in self.segments.values()]
        targets += ["10.0.0.0/24", "10.0.0.0/25", "0.0.0.0/0", "203.0.113.0/24", "172.16.0.0/24",
                    "10.0.0.128/25", "192.168.1.0/24"]
        targets += [str(IPv4Network(f"{self.rng.choice(self.all_addresses())}/27", strict=False))]
        return targets

    def add_routes(self, node: str, few: bool = False) -> None:
        rng = self.rng
        neigh = self.neighbours(node)
        routes: list[dict[str, Any]] = []
        targets = self.route_targets()
        if any("gateway" in i for i in self.nodes[node]["interfaces"].values()):
            targets.remove("0.0.0.0/0")  # a drop route beside the gateway's default is not defined
        rng.shuffle(targets)
        count = rng.randint(0, 2) if few else rng.randint(1, min(6, len(targets)))
        for to in targets[:count]:
            roll = rng.random()
            if roll < 0.12 or not neigh:
                routes.append({"to": "default" if to == "0.0.0.0/0" and rng.random() < 0.5 else to, "drop": True})
            elif roll < 0.35 and len({a for a, _n in neigh}) >= 2:
                for via, _n in rng.sample(sorted(set(neigh)), 2):  # equal-cost pair
                    routes.append({"to": to, "via": via})
            else:
                routes.append({"to": to, "via": rng.choice(neigh)[0]})
        if routes:
            self.nodes[node]["routes"] = routes

    # -- ACLs and NAT ------------------------------------------------------------------------------

    def address_term(self) -> Any:
        rng = self.rng
        roll = rng.random()
        if roll < 0.35:
            return None
        if roll < 0.4:
            return "any"
        if roll < 0.6:
            return str(rng.choice([p for p, _e, _z, _l in self.segments.values()]))
        if roll < 0.75:
            return rng.choice(self.all_addresses())
        if roll < 0.88:
            base = rng.choice(self.all_addresses())
            return str(IPv4Network(f"{base}/{rng.randint(25, 30)}", strict=False))
        if roll < 0.93 and self.networks:
            return rng.choice(sorted(self.networks))
        if roll < 0.95:
            return rng.choice(sorted(self.nodes))
        if roll < 0.98:
            return str(NAT_SPACE)  # what source NAT turns addresses into
        return [rng.choice(self.all_addresses()), "172.16.0.0/24"]

    def port_term(self) -> Any:
        rng = self.rng
        return rng.choice([
            rng.choice(PORTS), rng.choice(PORTS), str(rng.choice(PORTS)),
            "20-30", "1-1023", "1024-65535", "50-500", "0-100",
            sorted(rng.sample(PORTS, 2)), [rng.choice(PORTS), "3000-4000"],
        ])

    def rule(self) -> dict[str, Any]:
        rng = self.rng
        rule: dict[str, Any] = {"action": rng.choice(("permit", "permit", "deny"))}
        for key in ("src", "dst"):
            term = self.address_term()
            if term is not None:
                rule[key] = term
        roll = rng.random()
        proto: str | None = None
        if roll < 0.1:
            rule["service"] = rng.choice(["web", "dns", "tcp/22", ["udp/53", "icmp"], ["tcp/3000-4000", "gre"]])
        elif roll < 0.3:
            pass
        else:
            proto = rng.choice(("tcp", "tcp", "udp", "icmp", "gre"))
            rule["proto"] = proto
            if proto in ("tcp", "udp"):
                if rng.random() < 0.7:
                    rule["dport"] = self.port_term()
                if rng.random() < 0.35:  # source ports tell NAT-rewritten packets apart
                    rule["sport"] = rng.choice([53, "1024-65535", "0-1023", "30000-50000", "1024-39999"])
                    if rng.random() < 0.5:  # ... when the rule also takes translated sources
                        if rng.random() < 0.5:
                            rule["src"] = str(NAT_SPACE)
                        else:
                            rule.pop("src", None)
        if proto in (None, "tcp") and "service" not in rule:
            roll = rng.random()
            if roll < 0.15:
                rule["established"] = True
            elif roll < 0.2:
                rule["established"] = False
        return rule

    def add_acls(self, node: str) -> None:
        rng = self.rng
        n_acls = rng.randint(1, 2)
        acls: dict[str, Any] = {}
        for k in range(n_acls):
            acl: dict[str, Any] = {"default": rng.choice(("permit", "deny"))}
            if rng.random() < 0.2:
                acl["stateful"] = rng.random() < 0.5
            acl["rules"] = [self.rule() for _ in range(rng.randint(3, 6))]
            acls[f"acl{k + 1}"] = acl
        self.nodes[node]["acls"] = acls
        for iface in self.nodes[node]["interfaces"].values():
            if rng.random() < 0.45:
                iface["acl_in"] = rng.choice(sorted(acls))
            if rng.random() < 0.3:
                iface["acl_out"] = rng.choice(sorted(acls))

    def add_nat(self, router: str) -> None:
        rng = self.rng
        ifaces = sorted(self.nodes[router]["interfaces"])
        # Interfaces toward another router: translated packets then meet that router's ACLs, which
        # is where a rewritten source port can change the outcome.
        toward_router = sorted(i for _p, entries, _z, _l in self.segments.values()
                               for n, i, _a in entries if n == router
                               and any(m != router and self.kind[m] in ROUTER_KINDS for m, _j, _b in entries))
        rules: list[dict[str, Any]] = []
        if rng.random() < 0.45:
            out = rng.choice(toward_router if toward_router and rng.random() < 0.6 else ifaces)
            rule: dict[str, Any] = {"type": "source", "out": out}
            src = self.address_term()
            rule["src"] = src if src is not None else "10.0.0.0/25"
            if rng.random() < 0.3:
                dst = self.address_term()
                if dst is not None:
                    rule["dst"] = dst
            rule["to"] = str(NAT_SPACE.network_address + self.nat_next)
            self.nat_next += 1
            rules.append(rule)
            if out in toward_router and rng.random() < 0.7:
                self.filter_translated(router, out)
        if rng.random() < 0.3:
            rules.insert(rng.randrange(len(rules) + 1), {
                "type": "static",
                "out": rng.choice(ifaces),
                "inside": rng.choice(self.all_addresses()),
                "outside": str(NAT_SPACE.network_address + 100 + self.nat_next),
            })
            self.nat_next += 1
        if rules:
            self.nodes[router]["nat"] = rules


    # -- the constructs of real devices ------------------------------------------------------------

    def add_grown_constructs(self, seed: int, routers: list[str], hosts: list[str]) -> None:
        """Secondary and virtual addresses, address ranges, wildcard masks, exclusions and ICMP
        types, drawn from a generator of their own so the rest of the network stays as it was."""
        rng = random.Random(seed * 7919 + 17)
        self.grow_addresses(rng, routers, hosts)
        saved, self.rng = self.rng, rng  # rule() draws from self.rng: lend it this generator
        try:
            for name in routers + hosts:
                if rng.random() < (0.45 if name in routers else 0.15):
                    self.add_policy(rng, name)
        finally:
            self.rng = saved
        for r in routers:
            self.grow_nat(rng, r)
            for route in self.nodes[r].get("routes", []):
                if rng.random() < 0.2:  # as read from the device's FIB: same meaning, protocol recorded
                    route.update({"source": "fib", "protocol": rng.choice(("ospf", "bgp", "static"))})
        for node in self.nodes.values():
            for rules in [acl["rules"] for acl in node.get("acls", {}).values()] + [
                    node.get("policies", {}).get("rules", []), _local_rules(node.get("policies", {}))]:
                for rule in rules:
                    self.grow_rule(rng, rule)

    VRF_NAMES = ("blue", "red")

    def add_vrfs(self, rng: random.Random, routers: list[str]) -> None:
        """Routing contexts on some routers: interfaces bound to VRFs, each route moved into the VRF
        of its next hop or left behind as a leak with a next hop in that VRF, and leak routes
        (``next_vrf`` without next hop) between the VRFs, sometimes in a cycle. Drawn from a generator
        of their own, so a network without VRFs stays as it was."""
        for r in routers:
            node = self.nodes[r]
            ifaces = sorted(node["interfaces"])
            if len(ifaces) < 2 or node.get("ip_forward") is False or rng.random() > 0.4:
                continue
            names = list(self.VRF_NAMES[: rng.randint(1, 2)])
            contexts = ["default", *names]
            of = {i: rng.choice(contexts) for i in ifaces}
            if all(v == "default" for v in of.values()):
                of[rng.choice(ifaces)] = names[0]
            for i, vrf in of.items():
                if vrf != "default":
                    node["interfaces"][i]["vrf"] = vrf
            tables: dict[str, list[dict[str, Any]]] = {v: [] for v in contexts}
            for route in node.pop("routes", []):
                if "via" in route:
                    hop = next((of[i] for i in ifaces if "address" in node["interfaces"][i] and any(
                        IPv4Address(route["via"]) in IPv4Network(a, strict=False)
                        for a in [node["interfaces"][i]["address"], *node["interfaces"][i].get("secondary", [])])),
                        "default")
                    if rng.random() < 0.25 and len(contexts) > 1:  # the next hop is resolved in the other VRF
                        home = rng.choice([v for v in contexts if v != hop])
                        tables[home].append({**route, "next_vrf": hop})
                    else:
                        tables[hop].append(route)
                else:
                    tables[rng.choice(contexts)].append(route)
            targets = self.route_targets()

            def taken(vrf: str, to: str) -> bool:
                # A leak never ties with another route of its prefix: equal cost across tables is
                # something the engine takes but policy routing (the emulator) cannot express.
                net = IPv4Network("0.0.0.0/0" if to == "default" else to)
                return any(IPv4Network("0.0.0.0/0" if r["to"] == "default" else r["to"]) == net for r in tables[vrf])

            for _ in range(rng.randint(1, 3)):
                home, target = rng.sample(contexts, 2)
                to = rng.choice(targets)
                if taken(home, to):
                    continue
                leak: dict[str, Any] = {"to": to, "next_vrf": target}
                if rng.random() < 0.2:
                    leak["distance"] = rng.choice((1, 5))
                tables[home].append(leak)
                if rng.random() < 0.15 and not taken(target, to):  # the way back for the same prefix: a leak cycle
                    tables[target].append({"to": to, "next_vrf": home})
            if tables["default"]:
                node["routes"] = tables["default"]
            node["vrfs"] = {v: ({"routes": tables[v]} if tables[v] else {}) for v in names}

    GROWN_POOLS = ("203.0.113.200-203.0.113.202", "203.0.113.208/30", "203.0.113.216", "203.0.113.220-203.0.113.221")

    def nat_pool(self, rng: random.Random) -> dict[str, Any]:
        snat: dict[str, Any] = {"to": rng.choice(self.GROWN_POOLS)}
        roll = rng.random()
        if roll < 0.3:
            # Port pools no generated rule cuts in two: which port a kernel picks then never matters.
            snat["ports"] = rng.choice(["2000-2999", "40000-49999", 40000, "1024-1999"])
        elif roll < 0.45:
            snat["ports"] = "keep"
        return snat

    def grow_nat(self, rng: random.Random, router: str) -> None:
        """Destination NAT with ports (port forwards), source NAT to pools with port pools."""
        ifaces = sorted(self.nodes[router]["interfaces"])
        rules = self.nodes[router].get("nat", [])
        if rng.random() < 0.35:
            rule: dict[str, Any] = {"type": "source", "out": rng.choice(ifaces)}
            src = self.address_term()
            rule["src"] = src if src is not None else "10.0.0.0/25"
            if rng.random() < 0.3:
                rule["service"] = rng.choice(["tcp/80", "web", ["udp/53", "icmp"], "tcp/1-1023"])
            rule.update(self.nat_pool(rng))
            rules.insert(rng.randrange(len(rules) + 1), rule)
        if rng.random() < 0.4:
            vip = f"203.0.113.{230 + len(self.vips)}"
            self.vips.append(vip)
            rule = {"type": "destination", "in": rng.choice(ifaces), "dst": vip,
                    "to": rng.choice(self.all_addresses())}
            roll = rng.random()
            if roll < 0.6:
                rule["service"] = rng.choice(["tcp/80", "tcp/443", ["tcp/22", "udp/53"], "tcp/20-30"])
                if rng.random() < 0.7:
                    rule["port"] = rng.choice((22, 80, 443, UNLISTED_PORT))
            elif roll < 0.8:
                rule["src"] = self.grown_address(rng) if rng.random() < 0.5 else rng.choice(self.all_addresses())
            rules.insert(rng.randrange(len(rules) + 1), rule)
        if rules:
            self.nodes[router]["nat"] = rules

    def add_twice_nat(self, rng: random.Random, routers: list[str]) -> None:
        """Twice NAT on one router, both addresses of a pair translated: either one twice rule
        (``real_src -> mapped_dst`` becomes ``mapped_src -> real_dst``; bidirectional, or one way
        with a service and sometimes a new port), or the pair form: a destination rule that also
        matches the source and the source rule of the egress for that pair (ports kept), often
        with the mirror pair for the other direction. Placed first, so they are what decides; drawn
        from a generator of their own so the rest of the network stays as it was."""
        candidates = [r for r in routers if len(self.nodes[r]["interfaces"]) >= 2]
        if not candidates or rng.random() >= 0.5:
            return
        router = rng.choice(candidates)
        a, b = rng.sample(sorted(self.nodes[router]["interfaces"]), 2)
        real_src, real_dst = rng.sample(self.all_addresses(), 2)
        mapped_dst, mapped_src = (str(NAT_SPACE.network_address + n) for n in (250, 251))
        if rng.random() < 0.5:  # the exact rule: one twice rule, both ways or one way with a service
            rule: dict[str, Any] = {"type": "twice", "in": a, "src": real_src, "dst": mapped_dst,
                                    "to_src": mapped_src, "to_dst": real_dst}
            if rng.random() < 0.6:
                rule["out"] = b
            else:
                if rng.random() < 0.3:
                    del rule["src"]  # one way, from anyone
                rule["service"] = rng.choice(["tcp/80", "tcp/443", ["tcp/22", "udp/53"], "icmp"])
                if rule["service"] != "icmp" and rng.random() < 0.5:
                    rule["port"] = rng.choice((22, 80, UNLISTED_PORT))
            self.nodes[router]["nat"] = [rule] + self.nodes[router].get("nat", [])
            return
        pair: list[dict[str, Any]] = [
            {"type": "destination", "in": a, "src": real_src, "dst": mapped_dst, "to": real_dst},
            {"type": "source", "out": b, "src": real_src, "dst": real_dst, "to": mapped_src, "ports": "keep"}]
        if rng.random() < 0.6:
            pair += [{"type": "destination", "in": b, "src": real_dst, "dst": mapped_src, "to": real_src},
                     {"type": "source", "out": a, "src": real_dst, "dst": real_src, "to": mapped_dst, "ports": "keep"}]
        self.nodes[router]["nat"] = pair + self.nodes[router].get("nat", [])

    def policy_side(self, rng: random.Random, node: str) -> Any:
        ifaces = sorted(self.nodes[node]["interfaces"])
        zones = sorted({i["zone"] for i in self.nodes[node]["interfaces"].values()})
        roll = rng.random()
        if roll < 0.45:
            return rng.choice(ifaces)
        if roll < 0.7:
            zone = rng.choice(zones)
            return zone if rng.random() < 0.5 else f"zone:{zone}"
        if roll < 0.85:
            return sorted(set(rng.sample(ifaces, min(2, len(ifaces)))))
        return "any"

    def add_policy(self, rng: random.Random, node: str) -> None:
        """A zone-pair / interface-pair policy: ordered lines on (from, to) and a match."""
        lines = []
        for _ in range(rng.randint(2, 6)):
            line = self.rule()
            for key in ("from", "to"):
                if rng.random() < 0.75:
                    line[key] = self.policy_side(rng, node)
            if line["action"] == "permit" and rng.random() < 0.3:
                line["snat"] = self.nat_pool(rng)  # the line's own source NAT (FortiOS nat + ippool)
            lines.append(line)
        policy: dict[str, Any] = {"default": rng.choice(("permit", "deny", "deny"))}
        if rng.random() < 0.2:
            policy["stateful"] = rng.random() < 0.5
        policy["rules"] = lines
        roll = rng.random()
        if roll < 0.1:
            policy["local"] = "rules"  # PAN-OS: these lines decide traffic to the device too
        elif roll < 0.4:
            local = []
            for _ in range(rng.randint(1, 3)):
                line = self.rule()
                side = rng.choice(("from", "to", None))
                if side is not None:
                    line[side] = self.policy_side(rng, node)
                local.append(line)
            policy["local"] = {"default": rng.choice(("permit", "deny")), "rules": local}
        self.nodes[node]["policies"] = policy

    def grow_addresses(self, rng: random.Random, routers: list[str], hosts: list[str]) -> None:
        lans = [(name, seg) for name, seg in self.segments.items() if not seg[3] and len(seg[1]) >= 2]
        if lans and rng.random() < 0.5 and self.alloc.free:
            # A secondary subnet on a LAN: its router and (often) one host get an address in it.
            name, (_prefix, entries, _zone, _link) = rng.choice(lans)
            block = rng.choice(self.alloc.free)
            self.alloc.free.remove(block)
            hosts_in = list(block.hosts())
            members = [e for e in entries if e[0] in routers][:1] + [e for e in entries if e[0] in hosts][:1]
            for (node, iface, _addr), ip in zip(members[: 1 + (rng.random() < 0.7)], hosts_in):
                self.nodes[node]["interfaces"][iface]["secondary"] = [f"{ip}/{block.prefixlen}"]
                self.secondary_addresses.append(str(ip))
        if lans and rng.random() < 0.5:
            # A VRRP virtual address held by one router of a LAN; its hosts may use it as gateway.
            name, (prefix, entries, _zone, _link) = rng.choice(lans)
            owners = [e for e in entries if e[0] in routers]
            used = set(self.all_addresses()) | set(self.secondary_addresses)
            free = [str(h) for h in prefix.hosts() if str(h) not in used]
            if owners and free:
                node, iface, _addr = rng.choice(owners)
                vip = free[-1]
                self.nodes[node]["interfaces"][iface]["virtual"] = [vip]
                self.secondary_addresses.append(vip)
                for n, i, _a in entries:
                    spec = self.nodes[n]["interfaces"][i]
                    if "gateway" in spec and rng.random() < 0.7:
                        spec["gateway"] = vip

    WILDCARD_MASKS = ("0.0.0.96", "0.0.0.6", "0.0.0.80", "0.0.0.17", "0.0.1.24", "0.0.0.7")

    def grown_address(self, rng: random.Random) -> Any:
        addrs = self.all_addresses() + self.secondary_addresses
        roll = rng.random()
        if roll < 0.3:
            a, b = sorted(rng.sample(addrs, 2) if len(addrs) >= 2 else addrs * 2, key=lambda x: IPv4Address(x))
            return f"{a}-{b}"
        if roll < 0.6:
            return f"{rng.choice(addrs)} {rng.choice(self.WILDCARD_MASKS)}"
        if roll < 0.8:
            return {"except": [rng.choice(addrs), f"{rng.choice(addrs)} {rng.choice(self.WILDCARD_MASKS)}"][
                : rng.randint(1, 2)]}
        base = rng.choice([str(p) for p, _e, _z, _l in self.segments.values()] + ["10.0.0.0/25"])
        return {"addresses": [base], "except": rng.choice(addrs)}

    def grow_rule(self, rng: random.Random, rule: dict[str, Any]) -> None:
        for key in ("src", "dst"):
            if rng.random() < 0.2:
                rule[key] = self.grown_address(rng)
        if rng.random() < 0.12:  # tell pool addresses apart, so which one NAT picks matters
            rule["src"] = rng.choice(["203.0.113.200-203.0.113.201", "203.0.113.208/31", "203.0.113.216",
                                      "203.0.113.220"])
        if rule.get("proto") == "icmp" and rng.random() < 0.6:
            del rule["proto"]
            rule["service"] = rng.choice(["icmp/8", "icmp/8/0", "icmp/8/1-5", "icmp/0", "icmp/3", "icmp/0-10",
                                          ["icmp/8", "tcp/22"]])

    def filter_translated(self, router: str, out: str) -> None:
        """Give the router across ``out`` an ingress ACL that looks at source ports.

        Overload NAT rewrites the source port, so whether such an ACL lets a packet through
        depends on the rewrite being modelled as "any ephemeral port".
        """
        rng = self.rng
        for _p, entries, _z, _l in self.segments.values():
            if (router, out, ) in [(n, i) for n, i, _a in entries]:
                peers = [(n, i) for n, i, _a in entries if n != router and self.kind[n] in ROUTER_KINDS]
                break
        else:
            return
        node, iface = rng.choice(peers)
        rules = []
        for _ in range(rng.randint(2, 4)):
            rules.append({
                "action": rng.choice(("permit", "deny")),
                "proto": rng.choice(("tcp", "udp")),
                "sport": rng.choice([53, 22, "0-1023", "1024-39999", "30000-50000", "1024-65535", "40000-65535"]),
            })
        acls = self.nodes[node].setdefault("acls", {})
        acls["nat-in"] = {"default": rng.choice(("permit", "deny")), "rules": rules}
        self.nodes[node]["interfaces"][iface]["acl_in"] = "nat-in"


def generate_dict(seed: int, vrfs: bool = True) -> dict[str, Any]:
    """The random network of ``seed`` as plain data (what the YAML text holds); ``vrfs=False``
    leaves routing contexts out (the rest of the network is the same)."""
    return _Builder(seed, vrfs).build()


def dump(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=None, width=120)


def generate(seed: int, vrfs: bool = True) -> str:
    """The random network of ``seed`` as YAML text."""
    return dump(generate_dict(seed, vrfs))


# -- mutations for property tests ------------------------------------------------------------------


def shuffled(doc: dict[str, Any], seed: int) -> dict[str, Any]:
    """The same network with zones, nodes, interfaces, ACL names, links and LANs reordered.

    Orders that carry meaning (ACL lines, NAT rules) are kept.
    """
    rng = random.Random(seed)
    doc = copy.deepcopy(doc)

    def shuffle_map(m: dict[str, Any]) -> dict[str, Any]:
        items = list(m.items())
        rng.shuffle(items)
        return dict(items)

    for key in ("zones", "networks", "services", "lans"):
        if key in doc:
            doc[key] = shuffle_map(doc[key])
    if "links" in doc:
        rng.shuffle(doc["links"])
    nodes = shuffle_map(doc["nodes"])
    for node in nodes.values():
        node["interfaces"] = shuffle_map(node["interfaces"])
        if "acls" in node:
            node["acls"] = shuffle_map(node["acls"])
    doc["nodes"] = nodes
    items = list(doc.items())
    head, rest = items[:4], items[4:]  # keep the header first, for the reader's sake
    rng.shuffle(rest)
    return dict(head + rest)


def acl_lines(doc: dict[str, Any]) -> list[tuple[str, str, int]]:
    """(node, acl, 0-based line) of every ACL line in the network."""
    return [(n, a, i) for n, node in doc["nodes"].items() for a, acl in node.get("acls", {}).items()
            for i in range(len(acl["rules"]))]


def acls(doc: dict[str, Any]) -> list[tuple[str, str]]:
    return [(n, a) for n, node in doc["nodes"].items() for a in node.get("acls", {})]


def random_rule(doc: dict[str, Any], seed: int, action: str) -> dict[str, Any]:
    """A random ACL line over the addresses of ``doc`` (built with the generator's own vocabulary)."""
    b = _Builder(seed)
    b.nodes = doc["nodes"]
    b.networks = doc.get("networks", {})
    for name, node in doc["nodes"].items():
        for iface_name, iface in node["interfaces"].items():
            if "address" in iface:
                net = IPv4Network(iface["address"], strict=False)
                entry = (name, iface_name, iface["address"].split("/")[0])
                b.segments[f"{name}:{iface_name}"] = (net, [entry], "", False)
    rule = b.rule()
    rule["action"] = action
    return rule


# -- the packet universe ---------------------------------------------------------------------------


def source_addresses(topo: Topology, node: str, rng: random.Random) -> list[IPv4Address]:
    """Candidate source addresses for ``node``: its own, or samples of what it represents."""
    n = topo.nodes[node]
    if n.kind is not NodeKind.EXTERNAL:
        # Its own addresses; one of another node's (in no flow unless it is on the sender's subnet);
        # one of each of its subnets (a host may send with any address of its own subnet); for a
        # pool, the ends of its range (what it stands for, less what others take).
        others = sorted(a for o in topo.nodes.values() if o.name != node for a in o.addresses)
        out = set(n.addresses) | set(rng.sample(others, min(1, len(others))))
        for iface in n.interfaces:
            if iface.address is not None:
                net = iface.address.network
                out.add(IPv4Address(int(net.network_address) + rng.randrange(net.num_addresses)))
        if n.pool is not None:
            for r in n.pool.range:
                out.update((r.network_address, r.broadcast_address,
                            IPv4Address(int(r.network_address) + rng.randrange(r.num_addresses))))
        return sorted(out)
    out: set[IPv4Address] = set()
    for net in n.represents:
        first = int(net.network_address)
        size = net.num_addresses
        out.add(IPv4Address(first + min(1, size - 1)))
        out.add(IPv4Address(first + size - 2 if size > 2 else first))
        out.add(IPv4Address(first + rng.randrange(size)))
    # Addresses inside the network and inside other externals' ranges: the interesting exclusions.
    internal = [a for o in topo.nodes.values() for a in o.addresses]
    for addr in rng.sample(internal, min(2, len(internal))):
        if any(addr in net for net in n.represents):
            out.add(addr)
    for o in topo.nodes.values():
        if o.kind is NodeKind.EXTERNAL and o.name != node:
            for net in o.represents:
                if any(net.subnet_of(mine) for mine in n.represents):
                    out.add(IPv4Address(int(net.network_address) + 1))
    return sorted(out)


def destination_addresses(topo: Topology) -> list[IPv4Address]:
    """Every interface address, NAT addresses, and a few probes outside them."""
    out: set[IPv4Address] = set()
    for n in topo.nodes.values():
        out.update(n.addresses)
        for rule in n.nat:
            out.add(rule.translated)
            for net in rule.public:
                out.add(net.network_address)
                out.add(net.broadcast_address)
        for line in n.policy.lines if n.policy is not None else ():
            if line.snat is not None:
                out.add(line.snat.translated)
        for iface in n.interfaces:
            if iface.address is not None:
                net = iface.address.network
                out.add(IPv4Address(int(net.broadcast_address) - 1))  # often unowned
    out.update(IPv4Address(a) for a in OUTSIDE_PROBES)
    return sorted(out)


def services(rng: random.Random, full: bool = False) -> Iterator[tuple[int, int, int]]:
    """(proto, sport, dport) triples: tcp/udp over the port universe, icmp and gre with zero ports."""
    dports = PORTS + (UNLISTED_PORT,)
    sports = (EPHEMERAL_SAMPLE, 53, 22, UNLISTED_PORT)
    for proto in (TCP, UDP):
        for dport in dports:
            if full:
                for sport in sports:
                    yield proto, sport, dport
            else:
                yield proto, rng.choice(sports), dport
    yield ICMP, 0, 0  # echo reply (type 0 in dport, code 0 in sport)
    yield ICMP, 0, 8  # echo request
    yield ICMP, 1, 8  # ... with an odd code
    yield ICMP, 3, 3  # destination unreachable, port unreachable
    yield GRE, 0, 0
    assert TCP in PORTED_PROTOCOLS and GRE not in PORTED_PROTOCOLS


def _local_rules(policy: dict[str, Any]) -> list[dict[str, Any]]:
    """The lines of a separate local policy (none under ``local: rules``)."""
    local = policy.get("local")
    return local["rules"] if isinstance(local, dict) else []
