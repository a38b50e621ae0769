"""``segverify emulate``: the topology rebuilt in Linux network namespaces, checked by probes.

Each node becomes a network namespace, each link a veth pair, each LAN of three or more members a
bridge in a namespace of its own; ACLs and NAT become nftables rulesets with the model's
first-match and conntrack semantics. Probes (TCP SYN, UDP, ICMP and whatever protocols the ACLs
name) are sent from inside the source namespaces, and the endpoints that received each one are
compared with what the engine says. Needs root, iproute2 and nftables.

    result = emulate(topology)          # EmulationResult; result.exit_code is 1 on disagreement
    print(format_text(result))
    cleanup()                           # remove namespaces a killed run left behind
"""

from __future__ import annotations

from .netns import check_environment
from .run import EmulationResult, Outcome, cleanup, emulate, format_text

__all__ = ["EmulationResult", "Outcome", "check_environment", "cleanup", "emulate", "format_text"]
