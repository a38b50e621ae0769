"""The JSON Schema of the topology format: the loader validates against it, editors complete with it.

Structure lives here; meaning (do the names resolve, do the addresses parse and not clash) is the
builder's job, because JSON Schema cannot express it.
"""

from __future__ import annotations

import json
from typing import Any

# No spaces, ':' or ',' (they separate names in terms), no control or bidirectional-override
# characters (a name is printed to terminals and CI logs).
NAME = {"type": "string", "pattern": r"^[^\s:,\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]+$",
        "minLength": 1, "maxLength": 128,
        "x-expected": "a name without spaces, ':', ',' or control characters"}
TEXT = {"type": "string", "maxLength": 4096}
# Unions are written with type lists rather than oneOf: each keyword applies only to its own type,
# and a validator need not try alternatives one after another (much faster on large networks).
STRINGS = {"type": ["string", "array"], "items": {"type": "string"}, "minItems": 1}
ADDRESSES = {**STRINGS, "description": "address terms: any, an address, a prefix, a first-last range, a network or "
                                         "node name, zone:NAME or segment:NAME (the subnets of its interfaces), or a list"}
SERVICES = {**STRINGS, "description": "service names or terms like tcp/443, udp/1024-65535, icmp"}
PORT_TEXT = r"^\d+(-\d+)?$"
PORTS = {
    "type": ["integer", "string", "array"], "minimum": 0, "maximum": 65535, "pattern": PORT_TEXT, "minItems": 1,
    "items": {"type": ["integer", "string"], "minimum": 0, "maximum": 65535, "pattern": PORT_TEXT},
    "description": "a port, low-high, or a list of them",
}
PROTO = {"type": ["string", "integer"], "pattern": "^(any|tcp|udp|icmp|gre|esp|sctp)$", "minimum": 0, "maximum": 255,
         "description": "tcp, udp, icmp, gre, esp, sctp, any, or a protocol number"}


def _obj(properties: dict[str, Any], required: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    schema.update(extra)
    return schema


# In rules, policies and NAT matches an address clause may also be {addresses, except}, and a term
# may be a range (a-b) or an address with a wildcard mask ("128.12.0.1 0.0.255.0").
MATCH_ADDRESSES = {
    "type": ["string", "array", "object"], "items": {"type": "string"}, "minItems": 1,
    "properties": {"addresses": STRINGS, "except": STRINGS}, "additionalProperties": False,
    "description": "address terms (addresses, prefixes, ranges a-b, 'address wildcard-mask', names), "
                   "or {addresses: ..., except: ...}",
}

RULE = _obj(
    {
        "action": {"enum": ["permit", "deny"]},
        "src": MATCH_ADDRESSES,
        "dst": MATCH_ADDRESSES,
        "service": SERVICES,
        "proto": PROTO,
        "sport": PORTS,
        "dport": PORTS,
        "established": {"type": "boolean"},
        "description": TEXT,
    },
    ["action"],
)

NAT_PORTS = {"type": ["string", "integer"], "pattern": r"^(\d+(-\d+)?|keep)$", "minimum": 0, "maximum": 65535,
             "description": "source NAT: the source-port pool low-high, or keep; destination NAT: the new port"}
NAT = _obj(
    {
        "type": {"enum": ["source", "static", "destination", "twice"]},
        "out": NAME,
        "in": NAME,
        "src": MATCH_ADDRESSES,
        "dst": MATCH_ADDRESSES,
        "service": SERVICES,
        "proto": PROTO,
        "sport": PORTS,
        "dport": PORTS,
        "to": {"type": "string", "description": "an address, or for source NAT a pool: a range a-b or a prefix"},
        "ports": NAT_PORTS,
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "inside": {"type": "string"},
        "outside": {"type": "string"},
        "to_src": {"type": "string", "description": "twice NAT: the new source (an address)"},
        "to_dst": {"type": "string", "description": "twice NAT: the new destination (an address)"},
        "description": TEXT,
    },
    ["type"],
)
POLICY_SNAT = _obj({"to": {"type": "string"}, "ports": NAT_PORTS, "description": TEXT}, ["to"])

IFACE_TERMS = {**STRINGS, "description": "interface names or zone names of this node ('zone:NAME', "
                                         "'interface:NAME' when a name is both), or any"}
POLICY_LINE = _obj({**RULE["properties"], "from": IFACE_TERMS, "to": IFACE_TERMS, "snat": POLICY_SNAT}, ["action"])
POLICY_LOCAL = _obj({"default": {"enum": ["permit", "deny"]}, "description": TEXT,
                     "rules": {"type": "array", "items": POLICY_LINE}}, ["default", "rules"])
# ``local: rules``: the policy's own lines decide traffic to the device (PAN-OS); a mapping is a
# separate local policy (FortiOS local-in, IOS self zone, iptables INPUT/OUTPUT).
POLICY_LOCAL = {**POLICY_LOCAL, "type": ["object", "string"], "pattern": "^rules$",
                "x-expected": "a local policy (default, rules) or the word rules"}
POLICY = _obj(
    {
        "default": {"enum": ["permit", "deny"]},
        "stateful": {"type": "boolean"},
        "description": TEXT,
        "rules": {"type": "array", "items": POLICY_LINE},
        "local": POLICY_LOCAL,
    },
    ["default", "rules"],
)

ACL = _obj(
    {
        "default": {"enum": ["permit", "deny"]},
        "stateful": {"type": "boolean"},
        "description": TEXT,
        "rules": {"type": "array", "items": RULE},
    },
    ["default", "rules"],
)

INTERFACE = _obj(
    {
        "zone": NAME,
        "address": {"type": "string"},
        "gateway": {"type": "string"},
        "acl_in": NAME,
        "acl_out": NAME,
        "secondary": {**STRINGS, "description": "further addresses with prefix length (secondary addresses)"},
        "virtual": {**STRINGS, "description": "VRRP/HSRP virtual addresses held by this (active) member"},
        "vrf": {**NAME, "description": "the VRF (routing context) of the node the interface is bound to; "
                                       "default: the node's default table"},
        "description": TEXT,
    },
    ["zone"],
)

ROUTE = _obj(
    {"to": {"type": "string"}, "via": {"type": "string"}, "drop": {"type": "boolean"},
     "distance": {"type": "integer", "minimum": 1, "maximum": 255}, "description": TEXT,
     "source": {"enum": ["static", "fib"]}, "protocol": NAME,
     "next_vrf": {**NAME, "description": "route leaking: without via, look the destination up in this VRF; "
                                         "with via, the next hop is on an interface of this VRF"}},
    ["to"],
)
VRF = _obj({"description": TEXT, "routes": {"type": "array", "items": ROUTE}}, [])


FLOW_IN = _obj({"from": ADDRESSES, "service": SERVICES, "description": TEXT}, ["from", "service"])
FLOW_OUT = _obj({"to": ADDRESSES, "service": SERVICES, "description": TEXT}, ["to", "service"])

SANITIZER = _obj(
    {
        "type": {"enum": ["mail", "file", "screen"]},
        "inbound": {"type": "array", "items": FLOW_IN},
        "outbound": {"type": "array", "items": FLOW_OUT},
        "description": TEXT,
    },
    ["type"],
)

ROLES = ["lgwan-access-point", "security-cloud", "breakout-proxy", "boundary"]

NODE = _obj(
    {
        "kind": {"enum": ["terminal", "server", "host", "router", "l3switch", "firewall", "gateway",
                          "sanitizer", "proxy", "external"]},
        "role": {"type": ["string", "array"], "pattern": f"^({'|'.join(ROLES)})$", "items": {"enum": ROLES}},
        "description": TEXT,
        "ip_forward": {"type": "boolean"},
        "mfa": {"type": "boolean"},
        "removable_media": {"enum": ["blocked", "allowed"]},
        "epp": {"type": "boolean"},
        "edr": {"type": "boolean"},
        "represents": ADDRESSES,
        "interfaces": {"type": "object", "additionalProperties": INTERFACE, "propertyNames": NAME},
        "routes": {"type": "array", "items": ROUTE},
        "vrfs": {"type": "object", "additionalProperties": VRF, "propertyNames": NAME,
                 "description": "routing contexts besides the default one (VRF, virtual router, VDOM)"},
        "routes_from": {"type": "string", "description": "a forwarding-table dump: 'prefix next-hop interface "
                                                          "[protocol]' per line, relative to this file"},
        "acls": {"type": "object", "additionalProperties": ACL, "propertyNames": NAME},
        "nat": {"type": "array", "items": NAT},
        "policies": POLICY,
        "sanitizer": SANITIZER,
        "allow": {"type": "array", "items": FLOW_OUT},
    },
    ["kind", "interfaces"],
)

ENDPOINT = {"type": "string", "pattern": r"^[^\s:]+:[^\s:]+$", "description": "node:interface",
            "x-expected": "NODE:INTERFACE"}

ENDPOINTS = {"type": "array", "items": ENDPOINT, "minItems": 2}

# A link is `[a:eth0, b:eth0]` or `{endpoints: [...], name, description}`; a LAN likewise.
LINK = {"type": ["array", "object"], **{k: v for k, v in ENDPOINTS.items() if k != "type"}, "maxItems": 2,
        "properties": {"endpoints": {**ENDPOINTS, "maxItems": 2}, "name": NAME, "description": TEXT},
        "additionalProperties": False, "required": ["endpoints"]}
LAN = {"type": ["array", "object"], "items": ENDPOINT, "minItems": 1,
       "properties": {"endpoints": {"type": "array", "items": ENDPOINT, "minItems": 1}, "description": TEXT},
       "additionalProperties": False, "required": ["endpoints"]}

POOL = _obj(
    {
        "lan": NAME,
        "range": {**STRINGS, "description": "prefixes, addresses or first-last ranges inside one LAN subnet"},
        "zone": NAME,
        "kind": {"enum": ["terminal", "server", "host"]},
        "gateway": {"type": "string"},
        "mfa": {"type": "boolean"},
        "removable_media": {"enum": ["blocked", "allowed"]},
        "epp": {"type": "boolean"},
        "edr": {"type": "boolean"},
        "description": TEXT,
    },
    anyOf=[{"required": ["lan"]}, {"required": ["range"]}],
)

EXCEPTION = _obj(
    {
        "id": NAME,
        "rule": {"type": "string", "pattern": r"^SEG0\d\d$"},
        "src": ADDRESSES,
        "dst": ADDRESSES,
        "service": SERVICES,
        "proto": PROTO,
        "sport": PORTS,
        "dport": PORTS,
        "owner": TEXT,
        "justification": TEXT,
        "expires": {"type": "string", "format": "date"},
        "ticket": TEXT,
        "description": TEXT,
    },
    ["id", "rule"],
)

SECTIONS: dict[str, Any] = {
    "zones": {"type": "object", "propertyNames": NAME, "additionalProperties": _obj(
        {"segment": {"enum": ["mynumber", "lgwan", "internet", "lgwan-backbone", "security-cloud",
                                "external-internet"]},
         "description": TEXT},
        ["segment"],
    )},
    "networks": {"type": "object", "propertyNames": NAME, "additionalProperties": STRINGS},
    "services": {"type": "object", "propertyNames": NAME, "additionalProperties": STRINGS},
    "nodes": {"type": "object", "propertyNames": NAME, "additionalProperties": NODE},
    "links": {"type": "array", "items": LINK},
    "lans": {"type": "object", "propertyNames": NAME, "additionalProperties": LAN},
    "pools": {"type": "object", "propertyNames": NAME, "additionalProperties": POOL},
    "exceptions": {"type": "array", "items": EXCEPTION},
}

HEADER: dict[str, Any] = {
    "segverify": {"const": 1},
    "name": TEXT,
    "description": TEXT,
    "profile": {"enum": ["alpha", "alpha-prime", "beta", "beta-prime"]},
    "include": {"type": "array", "items": {"type": "string"}},
}

SCHEMA_ID = "https://segverify.invalid/schema/topology-1.json"


def topology_schema() -> dict[str, Any]:
    """The schema of one topology file (a main file or an included part)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "segverify topology",
        "description": "A network in three segments (My Number, LGWAN, Internet) for segverify.",
        **_obj({**HEADER, **SECTIONS}),
    }


def schema_json() -> str:
    return json.dumps(topology_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
