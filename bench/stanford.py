"""The Stanford backbone (corpus stanford-backbone), imported from its real configurations and
forwarding tables, then all-pairs reachability between its router ports.

    python bench/stanford.py [CORPUS_DIR]      (default: $SEGVERIFY_CORPORA/stanford-backbone)

A snapshot of symbolic links is made in a temporary directory: the 12 routers whose forwarding
tables exist (coza, cozb, soza, sozb have none upstream and are left out, with their cables),
APKeep's cabling file as batfish/layer1_topology.json, and an overlay that puts every interface in
one zone. The management subnet reused on every router (the import refuses it and asks for
cabling) gets one LAN per interface. A probe host is then put on every LAN with a router
interface and no other device: the router ports that face users. Prints one Markdown table row.
"""

from __future__ import annotations

import json
import os
import re
import resource
import sys
import tempfile
import time
from ipaddress import IPv4Interface
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from segverify.importers.snapshot import load_snapshot_topology  # noqa: E402
from segverify.network import Network  # noqa: E402
from segverify.reach import Reachability  # noqa: E402

MISSING_FIB = {"coza_rtr", "cozb_rtr", "soza_rtr", "sozb_rtr"}
PORTS = {"te": "TenGigabitEthernet", "gi": "GigabitEthernet", "po": "Port-channel", "fa": "FastEthernet"}
# 192.168.1.0/24 (management) is configured on one interface of every router, with addresses reused
# between routers: without cabling the import refuses it, so each gets a LAN of its own.
REUSED = ["boza_rtr:Vlan199", "bozb_rtr:GigabitEthernet1/2", "goza_rtr:GigabitEthernet1/2", "gozb_rtr:Vlan199",
          "poza_rtr:GigabitEthernet1/2", "pozb_rtr:GigabitEthernet1/2", "roza_rtr:GigabitEthernet1/2",
          "rozb_rtr:Vlan199", "yoza_rtr:FastEthernet4/46", "yozb_rtr:GigabitEthernet5/2"]
BASE = "segverify: 1\nname: Stanford backbone\nprofile: alpha\nzones:\n  campus: {segment: lgwan}\ndefault_zone: campus\n"


def snapshot(src: Path, dst: Path) -> None:
    for d in ("configs", "fib", "batfish"):
        (dst / d).mkdir(parents=True)
    for f in sorted(src.glob("*_config.txt")):
        if f.name.removesuffix("_config.txt") not in MISSING_FIB:
            (dst / "configs" / f.name).symlink_to(f)
    for f in sorted(src.glob("*_route.txt")):
        (dst / "fib" / f.name).symlink_to(f)
    edges = []
    for line in (src / "apkeep-topo.txt").read_text().splitlines():
        w = line.split()
        if len(w) != 4 or not all(re.match(r"^(te|gi|po|fa)\d", x) for x in (w[1], w[3])):
            continue  # APKeep's own ACL pseudo-nodes
        if w[0] in MISSING_FIB or w[2] in MISSING_FIB:
            continue
        name = lambda p: PORTS[p.rstrip("0123456789/")] + p[len(p.rstrip("0123456789/")):]  # noqa: E731
        edges.append({"node1": {"hostname": w[0], "interfaceName": name(w[1])},
                      "node2": {"hostname": w[2], "interfaceName": name(w[3])}})
    (dst / "batfish" / "layer1_topology.json").write_text(json.dumps({"edges": edges}))


def main() -> None:
    corpus = Path(sys.argv[1] if len(sys.argv) > 1 else
                  Path(os.environ.get("SEGVERIFY_CORPORA", "../shared/corpora")) / "stanford-backbone").resolve()
    # resolved: the snapshot is symbolic links, made in another directory
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "stanford"
        snapshot(corpus, root)
        lans = [f"  own-{i}: [{e}]\n" for i, e in enumerate(REUSED)]
        (root / "segverify.yaml").write_text(BASE + "lans:\n" + "".join(lans))
        started = time.perf_counter()
        topology, notes = load_snapshot_topology(root)
        import_time = time.perf_counter() - started
        lines = sum(len(p.read_text().splitlines()) for p in (root / "configs").iterdir())
        fib_lines = sum(len(p.read_text().splitlines()) for p in (root / "fib").iterdir())
        acl_lines = sum(len(a.rules) for n in topology.nodes.values() for a in n.acls.values())
        # One probe host on each LAN that only a router interface is on: the ports facing users.
        probes = []
        for lan in topology.lans:
            # The LAN's implicit pool (the subnet's unlisted addresses) is no device.
            devices = [(n, i) for n, i in lan.endpoints if topology.nodes[n].pool is None]
            if len(devices) != 1:
                continue
            node, name = devices[0]
            iface = topology.nodes[node].interface(name)
            if iface.address is None or iface.address.network.num_addresses < 4:
                continue
            net = iface.address.network
            host = IPv4Interface((int(net.broadcast_address) - 1, net.prefixlen))
            if host.ip == iface.address.ip:
                host = IPv4Interface((int(net.broadcast_address) - 2, net.prefixlen))
            probes.append((f"p-{node}-{name.replace('/', '_')}", lan.name, host, iface.address.ip))
        overlay = BASE + "nodes:\n" + "".join(
            f"  {p}: {{kind: host, interfaces: {{eth0: {{zone: campus, address: {h}, gateway: {g}}}}}}}\n"
            for p, _lan, h, g in probes) + ("lans:\n" + "".join(lans) if lans else "")
        (root / "segverify.yaml").write_text(overlay)
        started = time.perf_counter()
        topology, notes = load_snapshot_topology(root)
        load_time = time.perf_counter() - started
        started = time.perf_counter()
        network = Network(topology)
        compile_time = time.perf_counter() - started
        started = time.perf_counter()
        reach = Reachability(network)
        pairs = 0
        sources = [p for p, *_ in probes]
        for src in sources:
            for dst in sources:
                if src != dst and reach.received([src], [dst]) != network.space.false:
                    pairs += 1
        reach_time = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    routers = [n for n, node in topology.nodes.items() if not n.startswith("p-") and node.pool is None]
    print(f"| {len(routers)} routers | {lines:,} config + "
          f"{fib_lines:,} FIB lines | {acl_lines:,} | {len(set(notes.items))} | {import_time:.2f} | "
          f"{load_time:.2f} | {compile_time:.2f} | {len(probes)} ports, {len(probes) * (len(probes) - 1):,} pairs "
          f"({pairs:,} reachable) | {reach_time:.2f} | {peak:.0f} |")


if __name__ == "__main__":
    main()
