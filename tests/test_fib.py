"""Routes from the data plane: a FIB dump (routes_from) and routes marked source: fib."""

from __future__ import annotations

import subprocess
import sys
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

import segverify
from segverify.errors import InputError
from segverify.headers import Packet
from segverify.network import Network
from segverify.reach import Reachability

FIB = Path(__file__).parent / "data" / "fib"


def test_fib_dump_becomes_routes_with_their_protocol() -> None:
    topo = segverify.load(FIB / "fib-routes.yaml")
    routes = {(str(r.prefix), str(r.via), r.drop, r.source, r.protocol, r.span.line) for r in topo.nodes["r1"].routes}
    assert routes == {("10.0.3.0/24", "10.0.2.2", False, "fib", "ospf", 3),
                      ("0.0.0.0/0", "10.0.2.2", False, "fib", "bgp", 4),
                      ("10.0.9.0/24", "None", True, "fib", "static", 5)}
    assert all(r.span.file.endswith("r1.fib") for r in topo.nodes["r1"].routes)
    assert [r.protocol for r in topo.nodes["r2"].routes] == ["ospf"]
    assert any(f.path.endswith("r1.fib") for f in topo.files)  # the dump is part of what was checked
    reach = Reachability(Network(topo))
    assert reach.delivers("h1", "h3", Packet(IPv4Address("10.0.1.10"), IPv4Address("10.0.3.10"), 6, 40000, 443))
    assert reach.delivers("h3", "h1", Packet(IPv4Address("10.0.3.10"), IPv4Address("10.0.1.10"), 6, 40000, 443))
    assert topo.nodes["r1"].routes[0].prefix == IPv4Network("10.0.3.0/24")


def test_fib_errors_name_the_dump_file_and_line() -> None:
    with pytest.raises(InputError) as info:
        segverify.load(FIB / "bad-next-hop.yaml")
    assert info.value.span is not None
    assert info.value.span.file.endswith("bad.fib") and info.value.span.line == 2
    assert "next hop 10.0.7.2 is not on a subnet of eth1" in info.value.message
    run = subprocess.run([sys.executable, "-m", "segverify", "check", str(FIB / "bad-next-hop.yaml")],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "Traceback" not in run.stderr and "bad.fib:2:" in run.stderr


def test_protocol_needs_source_fib() -> None:
    text = (FIB / "fib-routes.yaml").read_text(encoding="utf-8").replace(", source: fib, protocol: ospf", ", protocol: ospf")
    with pytest.raises(InputError, match="give 'source: fib' too"):
        segverify.loads(text, name=str(FIB / "x.yaml"))
