"""Simulation against real traffic: audit a packet capture with the model and the rules.

``audit(topology, capture)`` streams a pcap or pcapng file, groups its packets into flows and says
for each flow whether the model and the policy allow it, whether the model says it cannot happen
(model drift), or whether it crosses segments in a way the rules forbid.

The names are loaded on first use: the command line imports ``simulate.commands`` at start-up and
must not pay for the engine (BDDs, networkx) or scapy just to print ``--help``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .pcap import AuditResult, Capture, Category, FlowVerdict, audit, read_capture

__all__ = ["AuditResult", "Capture", "Category", "FlowVerdict", "audit", "read_capture"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import pcap

        return getattr(pcap, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
