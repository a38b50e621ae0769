"""The overlay: what configurations cannot say, in the topology format, naming configured devices.

It is a topology file (``segverify``, ``name``, ``profile``, ``zones``, ``networks``, ``services``,
``nodes``, ``links``, ``lans``, ``exceptions``) with two additions only an overlay has: a zone may
list ``subnets`` (interfaces with an address in them are in that zone) and ``default_zone`` names the
zone of every interface nothing else places. A node the configurations define may get ``kind``,
``role``, endpoint attributes, routes, and per interface a ``zone`` and ``description``; a node they
do not define (an external network, a sanitizer appliance) is written out in full.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

from ..errors import InputError, Span
from ..reader import Document, read_yaml

OVERLAY_NODE_KEYS = {"kind", "role", "description", "ip_forward", "mfa", "removable_media", "epp", "edr", "represents",
                     "interfaces", "routes", "sanitizer", "allow", "acls", "nat"}
OVERLAY_INTERFACE_KEYS = {"zone", "description", "acl_in", "acl_out"}


@dataclass
class Overlay:
    doc: Document
    display: str
    zone_subnets: list[tuple[IPv4Network, str, Span]] = field(default_factory=list)
    default_zone: tuple[str, Span] | None = None

    def span(self, *path: Any) -> Span:
        return self.doc.span(tuple(path))

    def key_span(self, *path: Any) -> Span:
        return self.doc.key_span(tuple(path))

    def zone_for(self, address: Any) -> tuple[str, Span] | None:
        """The zone whose longest listed subnet holds ``address``."""
        best: tuple[int, str, Span] | None = None
        for net, zone, span in self.zone_subnets:
            if address in net and (best is None or net.prefixlen > best[0]):
                best = (net.prefixlen, zone, span)
        return None if best is None else (best[1], best[2])


def read_overlay(path: Path) -> Overlay:
    display = str(path)
    if not path.is_file():
        raise InputError(f"{display}: no such overlay file")
    part, _text, _raw = read_yaml(path, display)
    if part is None:
        raise InputError("the overlay is empty", Span(display, 1, 1))
    if not isinstance(part.data, dict):
        raise InputError("an overlay is a mapping of sections (zones, nodes, ...)", Span(display, 1, 1))
    overlay = Overlay(part, display)
    data = part.data
    if "include" in data:
        raise InputError("an overlay cannot include other files", part.key_span(("include",)))
    if "default_zone" in data:
        overlay.default_zone = (str(data.pop("default_zone")), part.span(("default_zone",)))
    for zone, spec in (data.get("zones") or {}).items():
        if isinstance(spec, dict) and "subnets" in spec:
            subnets = spec.pop("subnets")
            items = subnets if isinstance(subnets, list) else [subnets]
            for i, text in enumerate(items):
                where = part.span(("zones", zone, "subnets", i) if isinstance(subnets, list) else
                                  ("zones", zone, "subnets"))
                try:
                    overlay.zone_subnets.append((IPv4Network(str(text)), zone, where))
                except ValueError:
                    raise InputError(f"{text!r} is not an IPv4 prefix", where) from None
    zones = data.get("zones") or {}
    if overlay.default_zone is not None and overlay.default_zone[0] not in zones:
        raise InputError(f"default_zone {overlay.default_zone[0]!r} is not a zone of the overlay",
                         overlay.default_zone[1])
    return overlay
