"""One firewall policy, rendered by aerleon for five vendors and placed on one topology.

A policy is a list of :class:`Term` (first match wins, then the vendor's default deny). ``render``
asks aerleon (its Python API, no files) for the Cisco IOS, iptables, nftables, FortiGate and
PAN-OS renderings and wraps each into a snapshot directory of the same network:

    lan (external, 10.0.0.0/9) -- 192.168.1.0/24 -- fw -- 192.168.2.0/24 -- wan (external, any)

with the rendered filter applied to what enters ``fw`` from ``lan``: IOS ``ip access-group F
in``, the FORWARD chain / forward hook of a Linux router, a FortiGate policy table from port1 to
port2, PAN-OS security rules from zone ``inside`` to zone ``outside``. aerleon is a test
dependency only; nothing here is imported by segverify.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

INSIDE = IPv4Network("10.0.0.0/9")    # what lan stands for: the sources
OUTSIDE = IPv4Network("10.128.0.0/9")  # the destinations compared (wan stands for every address)
PROTOCOL_NUMBERS = {"tcp": 6, "udp": 17, "icmp": 1}
ICMP_TYPE_NAMES = {0: "echo-reply", 3: "unreachable", 8: "echo-request", 11: "time-exceeded"}  # aerleon's names
VENDORS = ("cisco", "iptables", "nftables", "fortigate", "paloalto")


@dataclass(frozen=True)
class Term:
    action: str                                   # accept | deny | reject
    src: tuple[IPv4Network, ...] | None = None    # None: any
    dst: tuple[IPv4Network, ...] | None = None
    protocols: tuple[str, ...] | None = None      # None: every IP protocol
    dports: tuple[tuple[int, int], ...] | None = None  # tcp/udp only; None: every port
    sports: tuple[tuple[int, int], ...] | None = None
    icmp_type: int | None = None                  # protocols ("icmp",) only; None: every type
    src_exclude: tuple[IPv4Network, ...] | None = None  # only with src: src less these
    dst_exclude: tuple[IPv4Network, ...] | None = None
    logging: bool = False                         # no effect on what passes: logging, counters, comments
    comment: str | None = None


# -- aerleon's input ------------------------------------------------------------------------------

def _port_text(low: int, high: int) -> str:
    return str(low) if low == high else f"{low}-{high}"


def definitions(policy: list[Term]) -> dict[str, object]:
    networks: dict[str, object] = {}
    services: dict[str, object] = {}
    for i, term in enumerate(policy):
        for side, nets in (("S", term.src), ("D", term.dst), ("SX", term.src_exclude), ("DX", term.dst_exclude)):
            if nets is not None:
                networks[f"T{i}{side}"] = {"values": [{"address": str(n)} for n in nets]}
        for side, ports in (("SP", term.sports), ("DP", term.dports)):
            if ports is not None:
                services[f"T{i}{side}"] = [{"port": _port_text(lo, hi), "protocol": proto}
                                           for proto in term.protocols or () for lo, hi in ports]
    return {"networks": networks, "services": services}


def aerleon_terms(policy: list[Term], reject_as: str = "reject", type_twice: bool = False) -> list[dict[str, object]]:
    """The terms in aerleon's policy format. ``type_twice`` names an ICMP type twice: aerleon 1.18's
    nftables generator fails on a single icmp-type (it writes a list where it wants a word), and
    ``icmp type { echo-request, echo-request }`` is the same match."""
    terms: list[dict[str, object]] = []
    for i, term in enumerate(policy):
        spec: dict[str, object] = {"name": f"t{i}", "action": reject_as if term.action == "reject" else term.action}
        if term.src is not None:
            spec["source-address"] = f"T{i}S"
        if term.dst is not None:
            spec["destination-address"] = f"T{i}D"
        if term.src_exclude is not None:
            spec["source-exclude"] = f"T{i}SX"
        if term.dst_exclude is not None:
            spec["destination-exclude"] = f"T{i}DX"
        if term.protocols is not None:
            spec["protocol"] = " ".join(term.protocols)
        if term.dports is not None:
            spec["destination-port"] = f"T{i}DP"
        if term.sports is not None:
            spec["source-port"] = f"T{i}SP"
        if term.logging:
            spec["logging"] = "true"
            spec["counter"] = f"t{i}-count"
        if term.comment is not None:
            spec["comment"] = term.comment
        if term.icmp_type is not None:
            spec["icmp-type"] = " ".join([ICMP_TYPE_NAMES[term.icmp_type]] * (2 if type_twice else 1))
        terms.append(spec)
    return terms


# nftables and FortiGate have no reject in aerleon: there the term says deny. Neither forwards the
# packet, so reachability is the same; only the answer the sender gets (none, or an ICMP error/RST)
# differs, and segverify's reachability is about what gets through.
HEADERS = {
    "cisco": ("F extended", "reject"),
    "iptables": ("FORWARD DROP", "reject"),
    "nftables": ("inet forward", "deny"),
    "fortigate": ("from-zone port1 to-zone port2 inet", "deny"),
    "paloalto": ("from-zone inside to-zone outside", "reject"),
}


def generate(policy: list[Term], vendor: str) -> str:
    from aerleon import api
    from aerleon.lib import naming

    defs = naming.Naming()
    defs.ParseDefinitionsObject(definitions(policy), "")
    options, reject_as = HEADERS[vendor]
    doc: Any = {"filename": "policy", "filters": [{"header": {"targets": {vendor: options}},
                                                   "terms": aerleon_terms(policy, reject_as, vendor == "nftables")}]}
    out = api.Generate([doc], defs)
    assert out is not None
    (text,) = out.values()
    return str(text)


# -- the snapshot around each rendering -----------------------------------------------------------

OVERLAY = f"""\
segverify: 1
name: cross-vendor differential
profile: alpha
zones:
  inside: {{segment: lgwan, subnets: [192.168.1.0/24]}}
  outside: {{segment: internet, subnets: [192.168.2.0/24]}}
nodes:
  fw: {{kind: firewall}}
  lan:
    kind: external
    represents: [{INSIDE}]
    interfaces:
      eth0: {{zone: inside, address: 192.168.1.2/24, gateway: 192.168.1.1}}
  wan:
    kind: external
    represents: [any]
    interfaces:
      eth0: {{zone: outside, address: 192.168.2.2/24, gateway: 192.168.2.1}}
"""

CISCO = """\
hostname fw
!
interface GigabitEthernet0/0
 ip address 192.168.1.1 255.255.255.0
 ip access-group F in
!
interface GigabitEthernet0/1
 ip address 192.168.2.1 255.255.255.0
!
ip route 0.0.0.0 0.0.0.0 192.168.2.2
ip route 10.0.0.0 255.128.0.0 192.168.1.2
!
"""

FORTIGATE = """\
config system global
    set hostname "fw"
end
config system interface
    edit "port1"
        set ip 192.168.1.1 255.255.255.0
    next
    edit "port2"
        set ip 192.168.2.1 255.255.255.0
    next
end
config router static
    edit 1
        set gateway 192.168.2.2
        set device "port2"
    next
    edit 2
        set dst 10.0.0.0 255.128.0.0
        set gateway 192.168.1.2
        set device "port1"
    next
end
"""

LINUX_ADDR = [
    {"ifindex": 1, "ifname": "lo", "flags": ["LOOPBACK", "UP"], "addr_info": []},
    {"ifindex": 2, "ifname": "eth0", "flags": ["BROADCAST", "UP"],
     "addr_info": [{"family": "inet", "local": "192.168.1.1", "prefixlen": 24}]},
    {"ifindex": 3, "ifname": "eth1", "flags": ["BROADCAST", "UP"],
     "addr_info": [{"family": "inet", "local": "192.168.2.1", "prefixlen": 24}]},
]
LINUX_ROUTE = [{"dst": "default", "gateway": "192.168.2.2", "dev": "eth1"},
               {"dst": "10.0.0.0/9", "gateway": "192.168.1.2", "dev": "eth0"}]


def iptables_save(rendered: str) -> str:
    """aerleon's iptables rendering (``-P``/``-N``/``-A`` arguments) as the ``iptables-save`` text
    that loading it and dumping would print: chain declarations, then the rules, then COMMIT."""
    policies = {"INPUT": "ACCEPT", "FORWARD": "ACCEPT", "OUTPUT": "ACCEPT"}
    chains: list[str] = []
    rules: list[str] = []
    for line in rendered.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "-P":
            policies[words[1]] = words[2]
        elif words[0] == "-N":
            chains.append(words[1])
        elif words[0] == "-A":
            rules.append(line.strip())
        else:
            raise ValueError(f"unexpected iptables rendering line {line!r}")
    head = [f":{c} {p} [0:0]" for c, p in policies.items()] + [f":{c} - [0:0]" for c in chains]
    return "\n".join(["*filter", *head, *rules, "COMMIT", ""])


def nft_available() -> str | None:
    """Why the kernel cannot load an nftables rendering here, or None when it can."""
    if shutil.which("nft") is None or shutil.which("unshare") is None:
        return "needs nft and unshare (Debian: nftables, util-linux)"
    done = subprocess.run(["unshare", "--net", "nft", "list", "ruleset"], capture_output=True, text=True)
    if done.returncode != 0:
        return f"cannot run nft in a new network namespace (root needed): {done.stderr.strip()[:120]}"
    return None


def nft_json(rendered: str, scratch: Path) -> str:
    """What ``nft -j list ruleset`` prints after ``nft -f`` loads the rendering: the kernel reads
    aerleon's nft text, in a network namespace of its own that disappears with the command."""
    source = scratch / "aerleon.nft"
    source.write_text(rendered)
    done = subprocess.run(["unshare", "--net", "sh", "-c", 'nft -f "$1" && nft -j list ruleset', "sh", str(source)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"nft refused aerleon's rendering: {done.stderr}")
    return done.stdout


def _element(parent: ET.Element, path: str) -> ET.Element:
    """The element at ``path`` under ``parent`` (steps 'tag' or 'entry=NAME' joined by ' '),
    created when missing."""
    node = parent
    for step in path.split(" "):
        tag, _, name = step.partition("=")
        found = next((c for c in node if c.tag == tag and (not name or c.get("name") == name)), None)
        if found is None:
            found = ET.SubElement(node, tag, {"name": name} if name else {})
        node = found
    return node


def panos_xml(rendered: str) -> str:
    """aerleon's PAN-OS XML (a vsys with objects and security rules) completed into a firewall's
    configuration: hostname, two layer-3 interfaces, a virtual router with the default route,
    and the zones the rules name."""
    root = ET.fromstring(rendered)
    device = _element(root, "devices entry=localhost.localdomain")
    _element(device, "deviceconfig system hostname").text = "fw"
    for name, address in (("ethernet1/1", "192.168.1.1/24"), ("ethernet1/2", "192.168.2.1/24")):
        _element(device, f"network interface ethernet entry={name} layer3 ip entry={address}")
    router = _element(device, "network virtual-router entry=default")
    for name in ("ethernet1/1", "ethernet1/2"):
        ET.SubElement(_element(router, "interface"), "member").text = name
    route = _element(router, "routing-table ip static-route entry=default-route")
    _element(route, "destination").text = "0.0.0.0/0"
    _element(route, "nexthop ip-address").text = "192.168.2.2"
    back = _element(router, "routing-table ip static-route entry=to-lan")
    _element(back, "destination").text = str(INSIDE)
    _element(back, "nexthop ip-address").text = "192.168.1.2"
    vsys = _element(device, "vsys entry=vsys1")
    for zone, iface in (("inside", "ethernet1/1"), ("outside", "ethernet1/2")):
        ET.SubElement(_element(vsys, f"zone entry={zone} network layer3"), "member").text = iface
        ET.SubElement(_element(vsys, "import network interface"), "member").text = iface
    ET.indent(root)
    return '<?xml version="1.0"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_snapshot(policy: list[Term], vendor: str, root: Path) -> str:
    """The snapshot of the one-firewall network with ``vendor``'s rendering; returns the rendering."""
    rendered = generate(policy, vendor)
    root.mkdir(parents=True)
    (root / "segverify.yaml").write_text(OVERLAY)
    configs = root / "configs"
    if vendor == "cisco":
        configs.mkdir()
        (configs / "fw.cfg").write_text(CISCO + rendered)
    elif vendor == "fortigate":
        configs.mkdir()
        (configs / "fw.conf").write_text(FORTIGATE + rendered)
    elif vendor == "paloalto":
        configs.mkdir()
        (configs / "fw.xml").write_text(panos_xml(rendered))
    else:
        host = root / "hosts" / "fw"
        host.mkdir(parents=True)
        (host / "addr.json").write_text(json.dumps(LINUX_ADDR))
        (host / "route.json").write_text(json.dumps(LINUX_ROUTE))
        (host / "ip_forward").write_text("1\n")
        if vendor == "iptables":
            (host / "iptables.txt").write_text(iptables_save(rendered))
        else:
            (host / "nft.json").write_text(nft_json(rendered, root.parent))
    return rendered
