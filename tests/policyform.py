"""The reference networks written the way a FortiGate- or PAN-OS-style firewall holds them: every
interface's ``acl_in`` becomes lines of the node's zone-pair ``policies`` (``from: <interface>``,
the ACL's lines in order, then a line with the ACL's default) for forwarded traffic. Traffic to the
device itself, which the ACL filtered too, is decided either by a copy of those lines as a separate
``local`` policy (``local="copy"``: a FortiOS local-in-policy, an iptables INPUT chain) or by the
same lines (``local="rules"``: ``local: rules``, as PAN-OS security rules decide traffic to the
firewall's own addresses). ``acl_out`` stays.

A node whose ingress ACLs disagree on statefulness keeps its ACLs: one policy has one ``stateful``,
and turning a stateless ACL stateful would let more answers back than the ACL did.
"""

from __future__ import annotations

import copy
from typing import Any


def as_policies(doc: dict[str, Any], local: str = "copy") -> tuple[dict[str, Any], list[str]]:
    """A copy of topology data ``doc`` with ingress ACLs as policies, and the nodes rewritten."""
    if local not in ("copy", "rules"):
        raise ValueError(f"local is 'copy' or 'rules', not {local!r}")
    out = copy.deepcopy(doc)
    rewritten = []
    for name, node in (out.get("nodes") or {}).items():
        acls = node.get("acls") or {}
        interfaces = node.get("interfaces") or {}
        ingress = {iface: spec["acl_in"] for iface, spec in interfaces.items() if "acl_in" in spec}
        if not ingress or "policies" in node:
            continue
        stateful = {bool(acls[acl].get("stateful", True)) for acl in ingress.values()}
        if len(stateful) != 1:
            continue
        forward: list[dict[str, Any]] = []
        own: list[dict[str, Any]] = []
        for iface in interfaces:
            acl_name = ingress.get(iface)
            if acl_name is None:
                forward.append({"from": iface, "action": "permit"})
                continue
            acl = acls[acl_name]
            for rule in acl.get("rules") or []:
                forward.append({"from": iface, **rule})
                own.append({"from": iface, **rule})
            forward.append({"from": iface, "action": acl["default"]})
            own.append({"from": iface, "action": acl["default"]})
            del interfaces[iface]["acl_in"]
        used = {spec.get("acl_out") for spec in interfaces.values()}
        node["acls"] = {acl: spec for acl, spec in acls.items() if acl in used}
        if not node["acls"]:
            del node["acls"]
        # Each interface's lines end with its ACL's default, so neither policy default decides a
        # packet that arrived by an interface; what the device sends itself was never filtered by
        # an acl_in, so the local default lets it go (under local: rules it is not filtered).
        node["policies"] = {"default": "deny", "stateful": stateful.pop(), "rules": forward,
                            "local": "rules" if local == "rules" else {"default": "permit", "rules": own}}
        rewritten.append(name)
    return out, rewritten
