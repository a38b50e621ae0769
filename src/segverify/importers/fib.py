"""Forwarding tables as route input, for devices whose routing is dynamic (OSPF, BGP, ...).

Three formats, recognised from content: IOS ``show ip route`` text; the plain table of the Stanford
backbone data (``Prefix  Next Hop  Interface``, next hop an address or ``attached``/``receive``/
``drop``); and a Batfish ``routes`` answer (JSON rows of Node, VRF, Network, Next_Hop, ...), which
covers many devices in one file. Connected and local entries are left out (the model derives them
from the interfaces); recursive next hops are resolved later, against the device's own subnets.
"""

from __future__ import annotations

import json
import re
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

from ..errors import InputError, Span
from .device import RouteData
from .files import json_spans, read_text
from .notes import Notes

Fib = dict[str, list[RouteData]]  # device name -> routes

_IOS_ENTRY = re.compile(
    r"^(?P<code>[A-Za-z][A-Za-z0-9*+%]*(?: [A-Za-z0-9*]+)?)\s+(?P<prefix>\d+\.\d+\.\d+\.\d+(?:/\d+)?)\s+(?P<rest>.*)$")
_VIA = re.compile(r"^\[(?P<ad>\d+)/(?P<metric>\d+)\] via (?P<via>\d+\.\d+\.\d+\.\d+)(?:,.*?(?:, (?P<iface>\S+))?)?$")
_SUBNETTED = re.compile(r"^(?P<net>\d+\.\d+\.\d+\.\d+)/(?P<len>\d+) is (?:variably )?subnetted")


def detect(text: str) -> str | None:
    head = text.lstrip()[:4000]
    if head.startswith(("[", "{")):
        return "batfish"
    if re.match(r"^Prefix\s+Next Hop\s+Interface", head):
        return "stanford"
    if "Codes:" in head or "Gateway of last resort" in head or re.search(r"^[A-Z][A-Z0-9*]*\s+\d+\.\d+\.\d+\.\d+.*"
                                                                        r"(via|directly connected)", head, re.M):
        return "ios"
    return None


def read_fib(path: Path, display: str, default_device: str, notes: Notes) -> Fib:
    text = read_text(path, display)
    kind = detect(text)
    if kind == "batfish":
        return batfish_routes(text, display, notes)
    if kind == "stanford":
        return {default_device: stanford_table(text, display, notes)}
    if kind == "ios":
        return {default_device: ios_show_ip_route(text, display, notes)}
    raise InputError("not a forwarding table segverify knows (show ip route, 'Prefix Next Hop Interface' table, "
                     "or a Batfish routes answer)", Span(display, 1, 1))


def _route(prefix: str, via: str | None, iface: str | None, distance: int, span: Span,
           vrf: str | None = None) -> RouteData | None:
    data: dict[str, Any] = {"to": prefix}
    if iface is not None and iface.lower().startswith("null") or via == "drop":
        data["drop"] = True
        via = None
    elif via is not None:
        data["via"] = via
    if distance > 1:
        data["distance"] = min(distance, 255)
    return RouteData(data, span, vrf, iface if via is None and "drop" not in data else None)


def ios_show_ip_route(text: str, display: str, notes: Notes) -> list[RouteData]:
    routes: list[RouteData] = []
    classful_len: int | None = None
    last_prefix: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        span = Span(display, number, 1)
        if not line or line.startswith(("Codes:", "Gateway of last resort", "Routing Table")) or raw.startswith(
                " " * 7) and "-" in line and "[" not in line:
            continue
        sub = _SUBNETTED.match(line)
        if sub:
            classful_len = int(sub["len"]) if "variably" not in line else None
            continue
        if line.startswith("[") and last_prefix is not None:  # another equal-cost path of the entry above
            m = _VIA.match(line)
            if m:
                route = _route(last_prefix, m["via"], m["iface"], int(m["ad"]), span)
                if route is not None:
                    routes.append(route)
            continue
        entry = _IOS_ENTRY.match(line)
        if not entry:
            if re.match(r"^[a-zA-Z]", line) and ("-" in line or "," in line):
                continue  # the code legend
            notes.unverified(span, "line of 'show ip route' not understood", raw)
            continue
        prefix_text = entry["prefix"]
        if "/" not in prefix_text:
            prefix_text = f"{prefix_text}/{classful_len if classful_len is not None else 32}"
        try:
            prefix = str(IPv4Network(prefix_text))
        except ValueError:
            raise InputError(f"{prefix_text!r} is not a prefix", span) from None
        last_prefix = prefix
        code = entry["code"].split()[0].rstrip("*+%")
        rest = entry["rest"]
        if code in ("C", "L") or "directly connected" in rest and "Null" not in rest:
            continue
        if "directly connected" in rest:
            iface = rest.rsplit(",", 1)[-1].strip()
            route = _route(prefix, None, iface, 1, span)
        else:
            m = _VIA.match(rest)
            if not m:
                notes.unverified(span, "route entry not understood", raw)
                continue
            route = _route(prefix, m["via"], m["iface"], int(m["ad"]), span)
        if route is not None:
            routes.append(route)
    return routes


def stanford_table(text: str, display: str, notes: Notes) -> list[RouteData]:
    routes: list[RouteData] = []
    last_prefix: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        words = raw.split()
        span = Span(display, number, 1)
        if not words or words[0] == "Prefix":
            continue  # the header (some tables repeat it)
        if raw[:1].isspace():  # another equal-cost next hop of the prefix above
            if last_prefix is None:
                raise InputError("a continuation line before any prefix", span)
            words = [last_prefix, *words]
        try:
            prefix = str(IPv4Network(words[0]))
        except ValueError:
            raise InputError(f"{words[0]!r} is not a prefix", span) from None
        last_prefix = prefix
        hop = words[1] if len(words) > 1 else ""
        iface = words[2] if len(words) > 2 else None
        if hop == "receive":
            continue  # an address of the device itself
        if hop in ("multicast", "glean", "punt"):
            notes.unverified(span, f"'{hop}' entry: multicast and punted traffic are not modelled", raw)
            continue
        if hop == "drop":
            route = _route(prefix, "drop", None, 1, span)
        elif hop == "attached":
            if iface is None:
                raise InputError("an attached route needs its interface", span)
            if iface.lower().startswith("null"):
                route = _route(prefix, None, iface, 1, span)
            else:
                continue  # a connected subnet: derived from the interface address
        else:
            try:
                IPv4Address(hop)
            except ValueError:
                raise InputError(f"next hop {hop!r} is not an address, attached, receive or drop", span) from None
            route = _route(prefix, hop, iface, 1, span)
        if route is not None:
            routes.append(route)
    return routes


def batfish_routes(text: str, display: str, notes: Notes) -> Fib:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", Span(display, exc.lineno, exc.colno)) from None
    except RecursionError:
        raise InputError("JSON nested too deeply", Span(display, 1, 1)) from None
    spans = json_spans(text)
    answer = data[0] if isinstance(data, list) and data else data
    rows = answer.get("rows") if isinstance(answer, dict) else None
    if not isinstance(rows, list):
        raise InputError("a Batfish routes answer has 'rows'", Span(display, 1, 1))
    prefix_path: tuple[Any, ...] = (0, "rows") if isinstance(data, list) else ("rows",)
    fib: Fib = {}
    for i, row in enumerate(rows):
        span = Span(display, spans.get(prefix_path + (i,), 1), 1)
        try:
            node = row["Node"]["name"] if isinstance(row["Node"], dict) else str(row["Node"])
            network = str(IPv4Network(row["Network"]))
            hop = row.get("Next_Hop") or {}
            protocol = str(row.get("Protocol", ""))
            distance = int(row.get("Admin_Distance") or 1)
            vrf = row.get("VRF") or "default"
        except (KeyError, TypeError, ValueError):
            raise InputError("a route row needs Node, Network and Next_Hop", span) from None
        fib.setdefault(node, [])
        if protocol in ("connected", "local"):
            continue
        if isinstance(hop, str):  # older answers: "Next_Hop_IP" beside a hop name
            via = row.get("Next_Hop_IP")
            iface = row.get("Next_Hop_Interface")
            hop = {"type": "ip", "ip": via} if via and via != "AUTO/NONE(-1l)" else {"type": "interface",
                                                                                      "interface": iface}
        kind = hop.get("type")
        if kind == "discard":
            route = _route(network, "drop", None, distance, span)
        elif kind in ("ip", "interface"):
            route = _route(network, hop.get("ip"), hop.get("interface"), distance, span)
        else:
            notes.unverified(span, f"next hop of type {kind!r} is not modelled")
            continue
        if route is not None:
            route.vrf = None if vrf == "default" else vrf
            fib[node].append(route)
    return fib
