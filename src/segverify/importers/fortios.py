"""FortiGate (FortiOS) configurations: interfaces, zones, VDOMs, static routes, address and service
objects, firewall policies, VIPs, IP pools and central SNAT — turned into devices of the snapshot.

Each VDOM is one routing and policy context: a device named ``HOSTNAME@VDOM`` (a configuration
without VDOMs gives one device, ``HOSTNAME``). Its policies become the node's zone-pair policy, in
the order the file lists them (FortiOS evaluates that order, not the ids); the implicit deny is the
default. Traffic to the FortiGate itself (``allowaccess``, ``local-in-policy``) is the ``local``
direction; what the FortiGate sends itself is allowed, as FortiOS does.

Where the configuration says something segverify does not model, the line is noted, and the model
is widened for isolation: an unknown condition in an accepting policy matches more, a deny whose
condition is not understood matches nothing (see docs/import.md, FortiOS).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Any, Iterator

from ..errors import InputError, Span
from .device import Device, L3Interface, NatData, PolicyData, Port, RouteData
from .fortios_config import Config, Entry, Setting, Table, parse_config
from .notes import Notes

ANY = "any"
NAME_OK = re.compile(r"^[^\s:,]+$")  # the topology format's names

# Tables that cannot change which packets get where (management, logging, security profiles that
# inspect content, authentication back ends, the box's own services).
NEUTRAL_PREFIXES = (
    "system admin", "system accprofile", "system dns", "system ntp", "system snmp", "log ", "alertemail",
    "system ha", "user ", "vpn certificate", "firewall ssl-ssh-profile", "antivirus", "webfilter", "ips ",
    "application ", "dlp ", "emailfilter", "spamfilter", "firewall profile-protocol-options",
    "system replacemsg", "system fortiguard", "system central-management", "system console",
    "wireless-controller", "switch-controller", "system dhcp", "firewall service category",
    "system automation", "report ", "system object-tagging", "system sdn-connector", "firewall internet-service",
    "firewall ldb-monitor", "system password-policy", "system custom-language", "system storage",
    "system email-server", "system session-ttl", "system fortisandbox", "system auto-update", "system resource-limits",
    "system vdom-property", "system ips-urlfilter-dns", "system mobile-tunnel", "system probe-response",
    "system global", "system settings", "firewall schedule", "firewall ssh", "firewall auth-portal",
    "firewall identity-based-route", "firewall shaping-policy", "firewall shaper", "firewall profile-group",
    "firewall ipmacbinding", "firewall ssl ", "firewall ssl-server", "firewall mms-profile", "system sflow",
    "system netflow", "system link-monitor", "system ddns", "system arp-table", "system ipv6-neighbor-cache",
    "system fips-cc", "system snmp", "system alarm", "system tos-based-priority", "system fm",
    "system fortimanager", "system cluster-sync", "system physical-switch", "system virtual-switch",
    "system lte-modem", "system modem", "system switch-interface", "system api-user", "system sso-admin",
    "system pppoe-interface", "system ipip-tunnel", "system gre-tunnel", "system ipsec-aggregate", "system wccp",
    "system dscp-based-priority", "system ike", "system saml", "system standalone-cluster", "system geneve",
    "system vxlan", "system ptp", "system nat64", "system csf", "system federated-upgrade", "system external-resource",
    "system ftm-push", "system affinity", "system npu", "system autoupdate", "system session-helper",
    "system speed-test", "system proxy-arp", "system admin", "vpn ssl web", "voip ", "icap ", "waf ", "dnsfilter ",
    "cifs ", "ssh-filter ", "file-filter ", "videofilter ", "endpoint-control ", "wanopt ", "extender-controller",
    "extension-controller", "authentication ", "certificate ", "firewall vipgrp64", "firewall vip64", "firewall vip46",
    "firewall vip6", "firewall vipgrp6", "firewall vipgrp46", "firewall address6", "firewall addrgrp6",
    "firewall multicast-address6", "firewall multicast-address", "firewall ippool6", "firewall central-snat-map6",
    "firewall service group6", "router access-list", "router prefix-list", "router route-map", "router aspath-list",
    "router community-list", "router key-chain", "router setting", "router auth-path", "router bfd", "router multicast",
    "router access-list6", "router prefix-list6", "router static6", "router ospf6", "router ripng", "emailfilter",
    "gtp ", "nsxt ", "sctp-filter ", "ztna ", "web-proxy global", "system ipam", "system sit-tunnel",
    "system 3g-modem", "system dedicated-mgmt", "system mac-address-table", "system ips", "system ha-monitor",
    "system fortiai", "system fortindr", "system interface-policy", "system dns-database", "system dns-server",
    "firewall decrypted-traffic-mirror", "firewall sniffer", "firewall traffic-class",
)
# IPv6 and multicast policies cannot reach an IPv4 segment: segverify verifies IPv4 (docs/import.md).
IPV6_TABLES = ("firewall policy6", "firewall policy64", "firewall policy46", "firewall local-in-policy6",
               "firewall multicast-policy", "firewall multicast-policy6", "firewall DoS-policy6")
DYNAMIC = ("router ospf", "router bgp", "router rip", "router isis")

# FortiOS's predefined services, as the factory configuration defines them; a configuration
# usually lists them itself under 'config firewall service custom', which then wins.
PREDEFINED_SERVICES: dict[str, list[dict[str, Any]]] = {
    "ALL": [{}],
    "ALL_TCP": [{"proto": "tcp"}],
    "ALL_UDP": [{"proto": "udp"}],
    "ALL_ICMP": [{"proto": "icmp"}],
    "PING": [{"service": "icmp/8"}],
    "HTTP": [{"proto": "tcp", "dport": "80"}],
    "HTTPS": [{"proto": "tcp", "dport": "443"}],
    "SSH": [{"proto": "tcp", "dport": "22"}],
    "TELNET": [{"proto": "tcp", "dport": "23"}],
    "FTP": [{"proto": "tcp", "dport": "21"}],
    "SMTP": [{"proto": "tcp", "dport": "25"}],
    "SMTPS": [{"proto": "tcp", "dport": "465"}],
    "POP3": [{"proto": "tcp", "dport": "110"}],
    "POP3S": [{"proto": "tcp", "dport": "995"}],
    "IMAP": [{"proto": "tcp", "dport": "143"}],
    "IMAPS": [{"proto": "tcp", "dport": "993"}],
    "DNS": [{"proto": "tcp", "dport": "53"}, {"proto": "udp", "dport": "53"}],
    "NTP": [{"proto": "tcp", "dport": "123"}, {"proto": "udp", "dport": "123"}],
    "RDP": [{"proto": "tcp", "dport": "3389"}],
    "SNMP": [{"proto": "tcp", "dport": "161-162"}, {"proto": "udp", "dport": "161-162"}],
    "SYSLOG": [{"proto": "udp", "dport": "514"}],
    "SAMBA": [{"proto": "tcp", "dport": "139"}],
    "SMB": [{"proto": "tcp", "dport": "445"}],
    "LDAP": [{"proto": "tcp", "dport": "389"}],
    "LDAP_UDP": [{"proto": "udp", "dport": "389"}],
    "KERBEROS": [{"proto": "tcp", "dport": "88"}, {"proto": "udp", "dport": "88"}],
    "MS-SQL": [{"proto": "tcp", "dport": "1433-1434"}],
    "MYSQL": [{"proto": "tcp", "dport": "3306"}],
    "VNC": [{"proto": "tcp", "dport": "5900"}],
    "DHCP": [{"proto": "udp", "dport": "67-68"}],
    "TRACEROUTE": [{"proto": "udp", "dport": "33434-33535"}],
    "GRE": [{"proto": 47}],
    "ESP": [{"proto": 50}],
    "AH": [{"proto": 51}],
    "IKE": [{"proto": "udp", "dport": "500"}, {"proto": "udp", "dport": "4500"}],
    "NONE": [],
}

# Ports of the administrative access an interface's 'allowaccess' opens (FortiOS defaults;
# 'config system global' may move https, http, ssh and telnet).
ALLOWACCESS: dict[str, list[dict[str, Any]]] = {
    "ping": [{"service": "icmp/8"}],
    "https": [{"proto": "tcp", "dport": "443"}],
    "http": [{"proto": "tcp", "dport": "80"}],
    "ssh": [{"proto": "tcp", "dport": "22"}],
    "telnet": [{"proto": "tcp", "dport": "23"}],
    "snmp": [{"proto": "udp", "dport": "161-162"}],
    "fgfm": [{"proto": "tcp", "dport": "541"}],
    "radius-acct": [{"proto": "udp", "dport": "1813"}],
    "probe-response": [{"proto": "udp", "dport": "8008"}],
    "fabric": [{"proto": "tcp", "dport": "8013"}, {"proto": "udp", "dport": "5246-5247"}],
    "ftm": [{"proto": "udp", "dport": "4433"}],
    "capwap": [{"proto": "udp", "dport": "5246-5247"}],
    "speed-test": [{"proto": "tcp", "dport": "5201"}],
    "ssl-vpn": [],  # the SSL VPN's own port is 'config vpn ssl settings': not modelled
}
ADMIN_PORTS = {"admin-sport": "https", "admin-port": "http", "admin-ssh-port": "ssh", "admin-telnet-port": "telnet"}

# Policy keys that cannot change which packets a policy matches or where they go.
NEUTRAL_POLICY_KEYS = {
    "name", "uuid", "comments", "logtraffic", "logtraffic-start", "utm-status", "av-profile", "webfilter-profile",
    "dnsfilter-profile", "ips-sensor", "application-list", "ssl-ssh-profile", "profile-protocol-options",
    "profile-type", "profile-group", "inspection-mode", "global-label", "label", "tags", "emailfilter-profile",
    "spamfilter-profile", "dlp-sensor", "dlp-profile", "file-filter-profile", "icap-profile", "voip-profile",
    "waf-profile", "cifs-profile", "videofilter-profile", "ssh-filter-profile", "casb-profile", "sctp-filter-profile",
    "capture-packet", "auto-asic-offload", "tcp-session-without-syn", "anti-replay", "session-ttl", "wccp",
    "traffic-shaper", "traffic-shaper-reverse", "per-ip-shaper", "match-vip", "match-vip-only", "vlan-cos-fwd",
    "vlan-cos-rev", "diffserv-forward", "diffserv-reverse", "tcp-mss-sender", "tcp-mss-receiver", "natip",
    "permit-any-host", "permit-stun-host", "timeout-send-rst", "block-notification", "replacemsg-override-group",
    "srcaddr6", "dstaddr6", "http-policy-redirect", "ssh-policy-redirect", "webproxy-profile", "delay-tcp-npu-session",
    "np-acceleration", "policy-expiry", "disclaimer", "email-collect", "learning-mode", "nat46", "nat64",
    "schedule-timeout", "ntlm", "fsso", "rtp-nat", "send-deny-packet", "decrypted-traffic-mirror", "reputation-minimum",
    "passive-wan-health-measurement", "dynamic-shaping", "vpntunnel", "inbound", "outbound", "wsso", "radius-mac-auth-bypass",
    "cgn-log-server-grp", "cgn-eif", "cgn-eim", "cgn-session-quota", "cgn-resource-quota", "geoip-anycast",
    "geoip-match", "identity-based-route", "poolname6", "ippool6", "sgt-check", "sgt", "policy-behaviour-type",
    "ztna-status", "uuid-idx",
}
CONDITION_POLICY_KEYS = {  # they narrow what a policy matches: widened in an accept, the deny dropped
    "internet-service", "internet-service-src", "users", "groups", "fsso-groups", "internet-service", "internet-service-id", "internet-service-name",
    "internet-service-group", "internet-service-custom", "internet-service-custom-group", "internet-service-src-id",
    "internet-service-src-name", "internet-service-src-group", "internet-service-src-custom",
    "internet-service-src-custom-group", "application", "app-category", "app-group", "url-category", "src-vendor-mac",
    "devices", "ztna-ems-tag", "ztna-geo-tag", "device-ownership", "network-service-dynamic",
    "network-service-src-dynamic", "srcaddr-negate-dynamic",
}
# Keys of objects that only describe them (no effect on which packets get where).
DESCRIPTIVE = {"uuid", "comment", "comments", "color", "visibility", "category", "fabric-object", "tags", "tagging",
               "allow-routing", "associated-interface", "list", "sdn", "obj-type", "proxy", "app-service-type",
               "check-reset-range", "session-ttl", "iprange-none", "helper", "name", "id", "arp-reply",
               "nat-source-vip-none", "extaddr", "http-redirect", "color-none", "dynamic_mapping",
               "source-associated-interface"}
# What an interface entry may say that segverify reads, and what changes no forwarding decision
# (link speed, MTU, discovery, monitoring, the GUI). Any other key of an interface is reported as
# not verified: it may change what the interface does (VRRP, DHCP relay, SD-WAN roles, ...).
INTERFACE_KEYS = {"ip", "mode", "type", "vdom", "vrf", "status", "alias", "description", "interface", "vlanid",
                  "secondary-IP", "allowaccess", "member"}
NEUTRAL_INTERFACE_KEYS = {"mtu", "mtu-override", "speed", "snmp-index", "role", "estimate-upstream-bandwidth",
                          "estimate-downstream-bandwidth", "device-identification", "lldp-transmission",
                          "lldp-reception", "lldp-network-policy", "monitor-bandwidth", "macaddr", "icon",
                          "mediatype", "inbandwidth", "outbandwidth", "lacp-mode", "lacp-speed", "min-links",
                          "algorithm", "autogenerated"}
OBJECT_KEYS = {
    "address": {"type", "subnet", "start-ip", "end-ip", "wildcard", "fqdn", "country", "interface",
                "sub-type", "macaddr", "cache-ttl", "wildcard-fqdn"},
    "service": {"protocol", "tcp-portrange", "udp-portrange", "sctp-portrange", "icmptype", "icmpcode",
                "protocol-number", "iprange", "fqdn", "tcp-halfclose-timer", "tcp-halfopen-timer",
                "tcp-timewait-timer", "tcp-rst-timer", "udp-idle-timer", "session-ttl"},
    "VIP": {"type", "extip", "mappedip", "extintf", "portforward", "protocol", "extport", "mappedport",
            "src-filter", "status"},
    "IP pool": {"type", "startip", "endip", "source-startip", "source-endip", "block-size", "num-blocks-per-user",
                "pba-timeout", "permit-any-host", "arp-intf", "arp-reply", "startport", "endport", "port-per-user"},
}
POOL_PORTS = "5117-65533"  # the source ports FortiOS gives an overload pool
MAX_EXPANDED = 256  # VIP address and port ranges are mapped one by one up to this size


@dataclass
class AddressSet:
    """A union of clauses, each 'these addresses except those' (``terms`` None: any)."""

    clauses: list[tuple[list[str] | None, list[str]]] = field(default_factory=list)

    @staticmethod
    def any() -> "AddressSet":
        return AddressSet([(None, [])])

    @property
    def is_any(self) -> bool:
        return any(terms is None and not excepts for terms, excepts in self.clauses)

    def union(self, other: "AddressSet") -> "AddressSet":
        if self.is_any or other.is_any:
            return AddressSet.any()
        plain = [t for terms, ex in self.clauses + other.clauses if not ex and terms for t in terms]
        rest = [(terms, ex) for terms, ex in self.clauses + other.clauses if ex]
        return AddressSet(([(plain, [])] if plain else []) + rest)

    def as_rule_values(self) -> list[Any]:
        """One topology-format address clause per union member."""
        result: list[Any] = []
        for terms, excepts in self.clauses:
            if not excepts:
                result.append("any" if terms is None else list(terms))
            else:
                value: dict[str, Any] = {"except": list(excepts)}
                if terms is not None:
                    value["addresses"] = list(terms)
                result.append(value)
        return result


class FortiParser:
    def __init__(self, config: Config, notes: Notes) -> None:
        self.config = config
        self.file = config.file
        self.notes = notes
        self.global_tables: dict[str, Table] = {}
        self.vdoms: dict[str, tuple[Span, dict[str, Table]]] = {}
        self.hostname: tuple[str, Span] | None = None

    # -- layout: global and per-VDOM tables ------------------------------------------------------------

    def split(self) -> None:
        self.multi = any(t.path == "vdom" for t in self.config.tables)
        for table in self.config.tables:
            if table.path == "global":
                for nested in table.tables.values():
                    merge_table(self.global_tables, nested)
            elif table.path == "vdom":
                for name, entry in table.entries.items():
                    span, tables = self.vdoms.setdefault(name, (entry.span, {}))
                    for nested in entry.tables.values():
                        merge_table(tables, nested)
            else:
                merge_table(self.global_tables, table)
        if not self.multi:
            first = self.config.tables[0].span if self.config.tables else Span(self.file, 1)
            self.vdoms["root"] = (first, self.global_tables)
        system = self.global_tables.get("system global")
        if system is not None and "hostname" in system.settings:
            setting = system.settings["hostname"]
            self.hostname = (setting.value, setting.span)

    def parse(self) -> list[Device]:
        self.split()
        if self.hostname is None:
            raise InputError("no 'set hostname' under 'config system global': every FortiGate configuration "
                             "needs one (the overlay names devices by it)", Span(self.file, 1))
        self.admin_ports = self._admin_ports()
        interfaces = self.global_tables.get("system interface")
        if interfaces is None:
            self.notes.warn(Span(self.file, 1), "no 'config system interface': the device has no interfaces, so "
                            "nothing passes through it")
            interfaces = Table("system interface", Span(self.file, 1))
        by_vdom: dict[str, list[Entry]] = {}
        for name, entry in interfaces.entries.items():
            if not NAME_OK.match(name):
                raise InputError(f"interface name {name!r}: segverify names cannot hold spaces, ':' or ','",
                                 entry.span)
            vdom = entry.get("vdom", "root")
            if vdom not in self.vdoms:
                if self.multi:
                    raise InputError(f"interface {name} is in VDOM {vdom!r}, which the configuration does not define",
                                     entry.span_of("vdom"))
                # Without 'config vdom' every table belongs to root; another VDOM has no policy (all denied).
                self.notes.warn(entry.span_of("vdom"), f"interface {name} is in VDOM {vdom!r} of a configuration "
                                "without VDOMs: modelled as a VDOM of its own with no policies")
                self.vdoms[vdom] = (entry.span_of("vdom"), {})
            by_vdom.setdefault(vdom, []).append(entry)
        self._note_global_tables()
        devices = []
        for vdom, (span, tables) in self.vdoms.items():
            members = by_vdom.get(vdom, [])
            if self.multi and not members and not tables:
                continue
            devices.append(VdomParser(self, vdom, span, tables, members).parse())
        return devices

    def _admin_ports(self) -> dict[str, str]:
        system = self.global_tables.get("system global")
        ports = {"https": "443", "http": "80", "ssh": "22", "telnet": "23"}
        if system is not None:
            for key, service in ADMIN_PORTS.items():
                if key in system.settings and system.settings[key].value.isdigit():
                    ports[service] = system.settings[key].value
        return ports

    def _note_global_tables(self) -> None:
        if not self.multi:
            return  # the one VDOM notes what it does not read
        for path, table in self.global_tables.items():
            if path not in READ_TABLES:
                note_table(self.notes, path, table)


# What this module reads; other tables are neutral (NEUTRAL_PREFIXES) or noted as not modelled.
READ_TABLES = {"system interface", "system global", "system zone", "router static", "firewall address",
               "firewall addrgrp", "firewall service custom", "firewall service group", "firewall policy",
               "firewall vip", "firewall vipgrp", "firewall ippool", "firewall central-snat-map",
               "firewall local-in-policy", "system settings", "firewall schedule onetime",
               "firewall schedule recurring", "firewall schedule group", *("router ospf", "router bgp", "router rip",
                                                                          "router isis")}
# Read only to say they are not verified when they hold something.
IF_USED = {"router policy", "system sdwan", "system virtual-wan-link"}


def merge_table(tables: dict[str, Table], table: Table) -> None:
    """A table may appear more than once (a file edited by hand, a VDOM split in two): one table."""
    known = tables.get(table.path)
    if known is None:
        tables[table.path] = table
        return
    for name, entry in table.entries.items():
        if name in known.entries:
            known.entries[name].settings.update(entry.settings)
            known.entries[name].tables.update(entry.tables)
        else:
            known.entries[name] = entry
    known.settings.update(table.settings)
    known.tables.update(table.tables)


def note_table(notes: Notes, path: str, table: Table) -> None:
    """A table segverify does not read: neutral ones pass, IPv6 ones are scope, the rest is noted."""
    if path.startswith(NEUTRAL_PREFIXES) or path in ("vdom", "global"):
        return
    if not table.entries and not table.settings and not table.tables:
        return
    if path in IPV6_TABLES:
        notes.unverified(table.span, f"config {path}: IPv6 and multicast policies are not verified (IPv4 only)",
                         f"config {path}")
        return
    notes.unverified(table.span, f"config {path} is not modelled", f"config {path}")


class VdomParser:
    """One VDOM: its interfaces, zones, objects, routes, policies and NAT, as one device."""

    def __init__(self, forti: FortiParser, vdom: str, span: Span, tables: dict[str, Table],
                 interfaces: list[Entry]) -> None:
        self.forti = forti
        self.notes = forti.notes
        self.vdom = vdom
        self.tables = tables
        self.interface_entries = interfaces
        assert forti.hostname is not None
        several = forti.multi or len(forti.vdoms) > 1
        name = f"{forti.hostname[0]}@{vdom}" if several else forti.hostname[0]
        self.device = Device(name, "fortios", forti.file, span if several else forti.hostname[1],
                             kind="firewall")
        self.addresses = self._entries("firewall address")
        self.groups = self._entries("firewall addrgrp")
        self.services = self._entries("firewall service custom")
        self.service_groups = self._entries("firewall service group")
        self.vips = self._entries("firewall vip")
        self.vip_groups = self._entries("firewall vipgrp")
        self.pools = self._entries("firewall ippool")
        self.zones: dict[str, tuple[list[str], bool, Span]] = {}
        self.used_vips: dict[str, Span] = {}
        self.local_access: dict[str, tuple[list[dict[str, Any]], Span]] = {}  # interface -> allowaccess
        self.tunnels: set[str] = set()  # SSL VPN and other tunnel ends: what comes through is not modelled
        self.checked: set[tuple[str, str]] = set()  # objects whose keys were checked

    def _entries(self, path: str) -> dict[str, Entry]:
        table = self.tables.get(path)
        return dict(table.entries) if table is not None else {}

    def parse(self) -> Device:
        for entry in self.interface_entries:
            self.interface(entry)
        tunnels = self.tables.get("vpn ipsec phase1-interface")
        if tunnels is not None:
            self.tunnels.update(tunnels.entries)
        self.tunnels.update(("ssl.root", f"ssl.{self.vdom}"))
        self.read_zones()
        self.routes()
        self.read_dynamic()
        settings = self.tables.get("system settings")
        central = settings is not None and settings.get("central-nat") == "enable"
        policy = PolicyData(self.tables["firewall policy"].span if "firewall policy" in self.tables else self.device.span,
                            "deny")
        self.intrazone(policy)
        self.policies(policy, central)
        self.local(policy)
        self.device.policies = policy
        if central:
            self.central_snat()
        self.vip_nat(central)
        for path, table in self.tables.items():
            if path in READ_TABLES:
                continue
            if path in IF_USED:
                if _enabled_entries(table):
                    note_table(self.notes, path, table)
            elif path in ("firewall acl", "firewall DoS-policy") and table.entries:
                self.notes.over(table.span, f"config {path}: its denies are not modelled (the model lets more "
                                "through)", f"config {path}")
            else:
                note_table(self.notes, path, table)
        return self.device

    # -- interfaces -----------------------------------------------------------------------------------

    def interface(self, entry: Entry) -> None:
        name = entry.name
        kind = entry.get("type", "physical")
        if entry.get("status") == "down":
            self.device.omitted[name] = entry.span_of("status")
            return
        iface = L3Interface(name, entry.span)
        iface.description = entry.get("alias") or entry.get("description")
        for key, setting in entry.settings.items():
            if key not in INTERFACE_KEYS and key not in NEUTRAL_INTERFACE_KEYS and key not in DESCRIPTIVE:
                self.notes.unverified(setting.span, f"interface {name}: 'set {key}' is not modelled", setting.text)
        vrf = entry.get("vrf", "0")
        if not vrf.isdigit():
            raise InputError(f"interface {name}: a VRF is a number (set vrf 0-251), not {vrf!r}", entry.span_of("vrf"))
        if int(vrf):  # VRF 0 is the VDOM's main table
            iface.vrf, iface.vrf_span = f"vrf{int(vrf)}", entry.span_of("vrf")
            self.device.vrfs.setdefault(iface.vrf, entry.span_of("vrf"))
        mode = entry.get("mode", "static")
        if "ip" in entry.settings and mode == "static":
            iface.address = self.address_with_mask(entry.settings["ip"])
            iface.address_span = entry.span_of("ip")
            if iface.address is not None and iface.address.ip == IPv4Address(0):
                iface.address = None
        elif mode in ("dhcp", "pppoe"):
            self.notes.unverified(entry.span_of("mode"), f"interface {name} takes its address by {mode}: it is "
                                  "modelled without one (give it in the overlay to verify through it)",
                                  entry.settings["mode"].text)
        secondary = entry.tables.get("secondaryip")
        if secondary is not None and entry.get("secondary-IP", "disable") == "enable":
            for sub in secondary.entries.values():
                if "ip" in sub.settings:
                    address = self.address_with_mask(sub.settings["ip"])
                    if address is not None:
                        iface.secondary.append((address, sub.span_of("ip")))
        if kind == "vlan":
            parent = entry.get("interface")
            vlan = entry.get("vlanid")
            if not parent or not vlan.isdigit():
                raise InputError(f"VLAN interface {name} needs 'set interface' and 'set vlanid'", entry.span)
            iface.physical = parent
            iface.vlan_tag = int(vlan)
        elif kind in ("physical", "aggregate", "redundant", "hard-switch", "switch", "vdom-link", "emac-vlan"):
            self.device.ports[name] = Port(name, entry.span)
        elif kind == "loopback":
            iface.loopback = True
        elif kind == "tunnel":
            self.tunnels.add(name)  # noted where a policy uses it
            return
        self.device.interfaces[name] = iface
        self.allowaccess(entry, name)

    def address_with_mask(self, setting: Setting) -> IPv4Interface | None:
        values = setting.values
        try:
            if len(values) == 2:
                return IPv4Interface(f"{values[0]}/{values[1]}")
            if len(values) == 1:
                return IPv4Interface(values[0])
        except ValueError:
            pass
        raise InputError(f"cannot read the address {setting.value!r} (expected ADDRESS NETMASK or ADDRESS/LENGTH)",
                         setting.span)

    def allowaccess(self, entry: Entry, name: str) -> None:
        services: list[dict[str, Any]] = []
        for word in entry.values("allowaccess"):
            if word not in ALLOWACCESS:
                self.notes.over(entry.span_of("allowaccess"), f"allowaccess {word}: its port is not known; "
                                "the interface is modelled as accepting everything for the device",
                                entry.settings["allowaccess"].text)
                services = [{}]
                break
            for term in ALLOWACCESS[word]:
                port = self.forti.admin_ports.get(word)
                services.append({**term, "dport": port} if port and "dport" in term else term)
        if services:
            self.local_access.setdefault(name, (services, entry.span_of("allowaccess")))

    def read_zones(self) -> None:
        table = self.tables.get("system zone")
        if table is None:
            return
        for name, entry in table.entries.items():
            members = entry.values("interface")
            for member in members:
                if member not in self.device.interfaces and member not in self.device.omitted:
                    raise InputError(f"zone {name} names interface {member!r}, which this VDOM does not have",
                                     entry.span_of("interface"))
            self.zones[name] = (members, entry.get("intrazone", "deny") == "allow", entry.span)

    def interfaces_of(self, names: list[str], span: Span) -> list[str] | None:
        """Policy sides: interface and zone names, 'any' -> None."""
        result: list[str] = []
        for name in names:
            if name == "any":
                return None
            if name not in self.zones and name not in self.device.interfaces:
                name = self.renamed(name, "system zone")
            if name in self.zones:
                result.extend(m for m in self.zones[name][0] if m in self.device.interfaces)
            elif name in self.device.interfaces:
                result.append(name)
            elif name in self.device.omitted:
                continue  # shut down: nothing enters or leaves by it
            elif name in self.tunnels:
                self.notes.unverified(span, f"{name} is a tunnel (SSL VPN, IPsec): what it carries is not modelled")
            else:
                raise InputError(f"no interface or zone {name!r} in VDOM {self.vdom}", span)
        return sorted(set(result))

    # -- routes -------------------------------------------------------------------------------------------

    def routes(self) -> None:
        table = self.tables.get("router static")
        if table is None:
            return
        for entry in table.entries.values():
            if entry.get("status") == "disable":
                continue
            if entry.get("sdwan") == "enable" or "sdwan-zone" in entry.settings or entry.get("virtual-wan-link") == "enable":
                self.notes.unverified(entry.span, "a static route over SD-WAN is not modelled")
                continue
            distance = entry.get("distance", "10")
            prefixes: list[IPv4Network] = []
            if "dstaddr" in entry.settings:
                found = self.address_prefixes(entry.get("dstaddr"), entry.span_of("dstaddr"))
                if found is None:
                    continue
                prefixes = found
            else:
                dst = entry.settings.get("dst")
                prefixes = [IPv4Network("0.0.0.0/0")] if dst is None else [self.network_of(dst)]
            through = self.device.interfaces.get(entry.get("device")) if "device" in entry.settings else None
            vrf = through.vrf if through is not None else None  # a static route belongs to its device's VRF
            for prefix in prefixes:
                data: dict[str, Any] = {"to": str(prefix)}
                if distance.isdigit() and int(distance) != 1:
                    data["distance"] = min(255, max(1, int(distance)))
                if entry.get("blackhole") == "enable":
                    data["drop"] = True
                    self.device.routes.append(RouteData(data, entry.span, vrf))
                elif "gateway" in entry.settings and entry.get("gateway") != "0.0.0.0":
                    data["via"] = entry.get("gateway")
                    self.device.routes.append(RouteData(data, entry.span, vrf))
                elif "device" in entry.settings:
                    self.device.routes.append(RouteData(data, entry.span, vrf, interface=entry.get("device")))
                else:
                    raise InputError("a static route needs a gateway, a device or 'blackhole enable'", entry.span)

    def network_of(self, setting: Setting) -> IPv4Network:
        address = self.address_with_mask(setting)
        assert address is not None
        return address.network

    def read_dynamic(self) -> None:
        for path in DYNAMIC:
            table = self.tables.get(path)
            if table is not None and _has_peers(table):
                if self.device.dynamic_routing is None:
                    self.device.dynamic_routing = (f"config {path}", table.span)

    # -- address and service objects ----------------------------------------------------------------------

    def address_set(self, names: list[str], span: Span, wide: bool, seen: tuple[str, ...] = ()) -> AddressSet:
        result = AddressSet()
        for name in names:
            result = result.union(self.address_object(name, span, wide, seen))
        return result

    def renamed(self, name: str, *tables: str) -> str:
        """A name written before its object was renamed (the CLI renames references with it)."""
        for _ in range(32):
            for table in tables:
                new = self.forti.config.renames.get(table, {}).get(name)
                if new is not None:
                    name = new
                    break
            else:
                return name
        return name

    def address_object(self, name: str, span: Span, wide: bool, seen: tuple[str, ...]) -> AddressSet:
        if name not in self.addresses and name not in self.groups and name not in self.vips and name not in self.vip_groups:
            name = self.renamed(name, "firewall address", "firewall addrgrp", "firewall vip", "firewall vipgrp")
        if name in seen:
            raise InputError(f"address group {name!r} contains itself ({' -> '.join(seen + (name,))})", span)
        if len(seen) > 32:
            raise InputError("address groups nested more than 32 deep", span)
        if name in ("all", "ALL") and name not in self.addresses:
            return AddressSet.any()
        if name == "none" and name not in self.addresses:
            return AddressSet()
        if name in self.addresses:
            return self.address_entry(self.addresses[name], wide)
        if name in self.groups:
            group = self.groups[name]
            members = self.address_set(group.values("member"), group.span_of("member"), wide, seen + (name,))
            if group.get("exclude") == "enable":
                excluded = self.address_set(group.values("exclude-member"), group.span_of("exclude-member"),
                                            not wide, seen + (name,))
                return self.subtract(members, excluded, group, wide)
            return members
        if name in self.vips or name in self.vip_groups:
            vips = self.vip_members(name, span)
            self.used_vips.update({v: span for v in vips})
            return AddressSet([([m for v in vips for m in self.vip_mapped(self.vips[v])], [])])
        raise InputError(f"no address, address group or VIP named {name!r}", span)

    def subtract(self, members: AddressSet, excluded: AddressSet, group: Entry, wide: bool) -> AddressSet:
        if excluded.is_any:
            return AddressSet()
        plain = [t for terms, ex in excluded.clauses if not ex and terms for t in terms]
        if len(plain) != sum(len(terms or []) for terms, _ in excluded.clauses):
            self.notes.over(group.span, f"address group {group.name}: an excluded member that excludes itself "
                            "is not modelled exactly", "")
            return AddressSet.any() if wide else AddressSet()
        return AddressSet([(terms, ex + plain) for terms, ex in members.clauses])

    def unknown_keys(self, entry: Entry, what: str) -> None:
        """Keys of an object this module does not read: noted once per object, never dropped silently."""
        if (what, entry.name) in self.checked:
            return
        self.checked.add((what, entry.name))
        for key, setting in entry.settings.items():
            if key not in OBJECT_KEYS[what] and key not in DESCRIPTIVE:
                self.notes.unverified(setting.span, f"{what} {entry.name}: 'set {key}' is not modelled", setting.text)

    def address_entry(self, entry: Entry, wide: bool) -> AddressSet:
        self.unknown_keys(entry, "address")
        kind = entry.get("type", "ipmask")
        if kind == "ipmask":
            setting = entry.settings.get("subnet")
            if setting is None:
                return AddressSet.any()  # FortiOS's default subnet is 0.0.0.0/0
            return AddressSet([([str(self.network_of(setting))], [])])
        if kind == "iprange":
            start, end = entry.get("start-ip", "0.0.0.0"), entry.get("end-ip", "0.0.0.0")
            try:
                low, high = IPv4Address(start), IPv4Address(end)
            except ValueError:
                raise InputError(f"address {entry.name}: cannot read the range {start}-{end}", entry.span) from None
            if high < low:
                raise InputError(f"address {entry.name}: the range ends before it starts", entry.span)
            return AddressSet([([f"{low}-{high}"], [])])
        if kind == "wildcard":
            setting = entry.settings.get("wildcard")
            if setting is None or len(setting.values) != 2:
                raise InputError(f"address {entry.name}: 'set wildcard ADDRESS MASK' expected", entry.span)
            try:
                address, mask = IPv4Address(setting.values[0]), IPv4Address(setting.values[1])
            except ValueError:
                raise InputError(f"address {entry.name}: cannot read the wildcard {setting.value!r}",
                                 setting.span) from None
            # FortiOS's mask says which bits must match; the topology format's wildcard says which may vary.
            return AddressSet([([f"{address} {IPv4Address(~int(mask) & 0xFFFFFFFF)}"], [])])
        if kind == "interface-subnet":
            iface = self.device.interfaces.get(entry.get("interface"))
            if iface is not None and iface.address is not None:
                return AddressSet([([str(iface.address.network)], [])])
        what = "matches any address" if wide else "matches nothing"
        self.notes.over(entry.span, f"address {entry.name} of type {kind} is not resolved to addresses: where it "
                        f"is used it {what}, which lets at least as much through as the device", f"edit {entry.name}")
        return AddressSet.any() if wide else AddressSet()

    def address_prefixes(self, name: str, span: Span) -> list[IPv4Network] | None:
        found = self.address_set([name], span, wide=False)
        nets: list[IPv4Network] = []
        for terms, excepts in found.clauses:
            for term in terms or ["0.0.0.0/0"]:
                try:
                    nets.append(IPv4Network(term))
                except ValueError:
                    self.notes.unverified(span, f"route to {name}: only subnet addresses can be route destinations")
                    return None
            if excepts:
                self.notes.unverified(span, f"route to {name}: an address group with exclusions is not modelled")
                return None
        return nets

    def service_terms(self, names: list[str], span: Span, wide: bool, seen: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        terms: list[dict[str, Any]] = []
        for name in names:
            if name not in self.services and name not in self.service_groups:
                name = self.renamed(name, "firewall service custom", "firewall service group")
            if name in seen:
                raise InputError(f"service group {name!r} contains itself", span)
            if name in self.services:
                terms.extend(self.service_entry(self.services[name], wide))
            elif name in self.service_groups:
                group = self.service_groups[name]
                terms.extend(self.service_terms(group.values("member"), group.span_of("member"), wide, seen + (name,)))
            elif name in PREDEFINED_SERVICES:
                terms.extend(PREDEFINED_SERVICES[name])
            else:
                what = "any service" if wide else "no service"
                self.notes.over(span, f"service {name!r} is not defined in the configuration nor a known FortiOS "
                                f"predefined service: modelled as {what}")
                terms.extend([{}] if wide else [])
        return terms

    def service_entry(self, entry: Entry, wide: bool) -> list[dict[str, Any]]:
        self.unknown_keys(entry, "service")
        protocol = entry.get("protocol", "TCP/UDP/SCTP").upper()
        for key in ("iprange", "fqdn"):
            value = entry.get(key)
            if value and value not in ("0.0.0.0", ""):
                if not wide:
                    self.notes.over(entry.span, f"service {entry.name} limits the destination ({key}); in a deny "
                                    "it is modelled as matching nothing")
                    return []
                self.notes.over(entry.span, f"service {entry.name} limits the destination ({key}); modelled as "
                                "any destination")
        if protocol == "TCP/UDP/SCTP":
            terms = []
            for key, proto in (("tcp-portrange", "tcp"), ("udp-portrange", "udp"), ("sctp-portrange", "sctp")):
                for item in entry.values(key):
                    terms.append(self.port_term(proto, item, entry))
            if not terms:
                self.notes.warn(entry.span, f"service {entry.name} has no tcp-, udp- or sctp-portrange: it matches "
                                "no packet")
            return terms
        if protocol in ("ICMP", "ICMP6"):
            if protocol == "ICMP6":
                return []
            icmp_type, code = entry.get("icmptype"), entry.get("icmpcode")
            if not icmp_type:
                return [{"proto": "icmp"}]
            return [{"service": f"icmp/{icmp_type}" + (f"/{code}" if code else "")}]
        if protocol == "IP":
            number = entry.get("protocol-number", "0")
            if not number.isdigit() or int(number) > 255:
                raise InputError(f"service {entry.name}: protocol-number {number!r}", entry.span_of("protocol-number"))
            return [{}] if int(number) == 0 else [{"proto": int(number)}]
        if protocol == "ALL":
            return [{}]
        what = "any service" if wide else "no service"
        self.notes.over(entry.span_of("protocol"), f"service {entry.name}: protocol {protocol} is not modelled; "
                        f"taken as {what}")
        return [{}] if wide else []

    def port_term(self, proto: str, item: str, entry: Entry) -> dict[str, Any]:
        dst, _, src = item.partition(":")
        term: dict[str, Any] = {"proto": proto}
        for key, text in (("dport", dst), ("sport", src)):
            if not text:
                continue
            low, _, high = text.partition("-")
            if not low.isdigit() or (high and not high.isdigit()):
                raise InputError(f"service {entry.name}: cannot read the port range {item!r}", entry.span)
            lo, hi = int(low), int(high or low)
            if lo > hi or hi > 65535:
                raise InputError(f"service {entry.name}: port range {item!r} is out of order or too large", entry.span)
            if (lo, hi) != (0, 65535):  # 1-65535 leaves port 0 out, as the device does
                term[key] = str(lo) if lo == hi else f"{lo}-{hi}"
        return term

    # -- policies ------------------------------------------------------------------------------------------

    def intrazone(self, policy: PolicyData) -> None:
        """Traffic between interfaces of one zone with 'intrazone allow' passes without a policy."""
        for name, (members, allow, span) in sorted(self.zones.items()):
            live = [m for m in members if m in self.device.interfaces]
            if allow and live:
                add_line(policy, ({"from": live, "to": live, "action": "permit",
                                      "description": f"zone {name}: intrazone allow"}, span))

    def policies(self, policy: PolicyData, central: bool) -> None:
        table = self.tables.get("firewall policy")
        if table is None:
            return
        for entry in table.entries.values():
            for rule in self.policy_lines(entry, central):
                add_line(policy, (rule, entry.span))

    def policy_lines(self, entry: Entry, central: bool) -> Iterator[dict[str, Any]]:
        if entry.get("status") == "disable":
            return
        action = entry.get("action", "deny")
        if action not in ("accept", "deny", "ipsec"):
            raise InputError(f"policy {entry.name}: action {action!r}", entry.span_of("action"))
        permit = action != "deny"
        if action == "ipsec":
            self.notes.over(entry.span_of("action"), f"policy {entry.name}: action ipsec is modelled as accept "
                            "(the tunnel itself is not modelled)", entry.settings["action"].text)
        label = f"policy {entry.name}" + (f" ({entry.get('name')})" if entry.get("name") else "")
        # Conditions segverify does not model: an accept is widened, a deny whose condition cannot be
        # modelled is dropped (it then blocks less than the device; the model lets more through).
        for key, setting in entry.settings.items():
            if key in POLICY_KEYS or key in NEUTRAL_POLICY_KEYS:
                continue
            if key in CONDITION_POLICY_KEYS:
                if setting.value in ("disable", ""):
                    continue
                reason = f"'{key}' narrows what the policy matches"
            else:
                reason = f"'{key}' is not known to segverify"
            if not permit:
                self.notes.over(setting.span, f"{label}: {reason}; the deny is not modelled", setting.text)
                return
            self.notes.over(setting.span, f"{label}: {reason}; modelled as if it matched everything", setting.text)
        schedule = entry.get("schedule", "always")
        if schedule.lower() != "always":
            if not permit:
                self.notes.over(entry.span_of("schedule"), f"{label}: schedule {schedule}: the deny is not modelled "
                                "(it does not always apply)", entry.settings["schedule"].text)
                return
            self.notes.over(entry.span_of("schedule"), f"{label}: schedule {schedule} modelled as always",
                            entry.settings["schedule"].text)
        src_span, dst_span = entry.span_of("srcintf"), entry.span_of("dstintf")
        ingress = self.interfaces_of(entry.values("srcintf") or ["any"], src_span)
        egress = self.interfaces_of(entry.values("dstintf") or ["any"], dst_span)
        if ingress == [] or egress == []:
            return  # every interface it names is shut down
        src = self.policy_addresses(entry, "srcaddr", permit)
        dst = self.policy_addresses(entry, "dstaddr", permit)
        if src is None or dst is None:
            return
        negate_service = entry.get("service-negate") == "enable"
        services = self.service_terms(entry.values("service") or ["ALL"], entry.span_of("service"),
                                      wide=permit != negate_service)
        if negate_service:
            if not permit:
                self.notes.over(entry.span_of("service-negate"), f"{label}: a negated service in a deny is not "
                                "modelled", entry.settings["service-negate"].text)
                return
            self.notes.over(entry.span_of("service-negate"), f"{label}: negated service modelled as any service",
                            entry.settings["service-negate"].text)
            services = [{}]
        if not services:
            return
        snat_sides = self.policy_snat(entry, egress, permit and not central, label)
        base: dict[str, Any] = {"action": "permit" if permit else "deny", "description": label}
        if ingress is not None:
            base["from"] = ingress
        for to, snat in snat_sides:
            for s in src:
                for d in dst:
                    for service in merge_services(services):
                        rule = dict(base)
                        if to is not None:
                            rule["to"] = to
                        if s != "any":
                            rule["src"] = s
                        if d != "any":
                            rule["dst"] = d
                        rule.update(service)
                        if snat is not None:
                            rule["snat"] = snat
                        yield rule

    def policy_addresses(self, entry: Entry, key: str, permit: bool) -> list[Any] | None:
        names = entry.values(key) or ["all"]
        span = entry.span_of(key)
        negate = entry.get(f"{key}-negate") == "enable"
        found = self.address_set(names, span, wide=permit != negate)
        if negate:
            if found.is_any:
                return None  # everything but any: matches nothing
            if len(found.clauses) != 1 or found.clauses[0][1]:
                if not permit:
                    self.notes.over(span, f"policy {entry.name}: negated {key} with exclusions; the deny is not "
                                    "modelled")
                    return None
                self.notes.over(span, f"policy {entry.name}: negated {key} with exclusions; modelled as any")
                return ["any"]
            terms = found.clauses[0][0]
            return [{"except": list(terms or [])}] if terms else ["any"]
        if not found.clauses:
            return None
        return found.as_rule_values()

    def policy_snat(self, entry: Entry, egress: list[str] | None, applies: bool,
                    label: str) -> list[tuple[list[str] | None, dict[str, Any] | None]]:
        """(egress interfaces, snat) pairs: a policy with interface NAT is split by egress interface."""
        if not applies or entry.get("nat") != "enable":
            return [(egress, None)]
        ports = "keep" if entry.get("fixedport") == "enable" else POOL_PORTS
        if entry.get("ippool") == "enable":
            pools = entry.values("poolname")
            if not pools:
                raise InputError(f"{label}: 'ippool enable' without 'poolname'", entry.span_of("ippool"))
            if len(pools) > 1:
                self.notes.unverified(entry.span_of("poolname"), f"{label}: only the first of several IP pools is "
                                      "modelled", entry.settings["poolname"].text)
            return [(egress, self.pool_snat(pools[0], entry.span_of("poolname"), ports))]
        sides: list[tuple[list[str] | None, dict[str, Any] | None]] = []
        for name in egress if egress is not None else sorted(self.device.interfaces):
            iface = self.device.interfaces[name]
            if iface.address is None:
                sides.append(([name], None))
            else:
                sides.append(([name], {"to": str(iface.address.ip), "ports": ports}))
        return sides

    def pool_snat(self, name: str, span: Span, ports: str) -> dict[str, Any]:
        pool = self.pools.get(name)
        if pool is None:
            raise InputError(f"no IP pool named {name!r}", span)
        self.unknown_keys(pool, "IP pool")
        start, end = pool.get("startip"), pool.get("endip") or pool.get("startip")
        try:
            low, high = IPv4Address(start), IPv4Address(end)
        except ValueError:
            raise InputError(f"IP pool {name}: cannot read {start}-{end}", pool.span) from None
        kind = pool.get("type", "overload")
        if kind == "one-to-one":
            ports = "keep"
        elif kind not in ("overload", "fixed-port-range", "port-block-allocation"):
            self.notes.unverified(pool.span_of("type"), f"IP pool {name}: type {kind} modelled as overload")
        return {"to": str(low) if low == high else f"{low}-{high}", "ports": ports}

    def local(self, policy: PolicyData) -> None:
        """Traffic to the FortiGate: local-in policies first, then each interface's allowaccess."""
        rules: list[tuple[dict[str, Any], Span]] = []
        table = self.tables.get("firewall local-in-policy")
        if table is not None:
            for entry in table.entries.values():
                if entry.get("status") == "disable":
                    continue
                permit = entry.get("action", "deny") == "accept"
                intf = self.interfaces_of(entry.values("intf") or ["any"], entry.span_of("intf"))
                src = self.policy_addresses(entry, "srcaddr", permit)
                dst = self.policy_addresses(entry, "dstaddr", permit)
                services = self.service_terms(entry.values("service") or ["ALL"], entry.span_of("service"), permit)
                if src is None or dst is None or not services or intf == []:
                    continue
                for s in src:
                    for d in dst:
                        for service in merge_services(services):
                            rule: dict[str, Any] = {"action": "permit" if permit else "deny",
                                                    "description": f"local-in-policy {entry.name}",
                                                    "from": intf if intf is not None else "any"}
                            if s != "any":
                                rule["src"] = s
                            if d != "any":
                                rule["dst"] = d
                            rule.update(service)
                            rules.append((rule, entry.span))
        for name, (services, span) in sorted(self.local_access.items()):
            if name not in self.device.interfaces:
                continue
            for service in merge_services(services):
                rules.append(({"from": [name], "action": "permit", "description": f"allowaccess on {name}",
                               **service}, span))
        if self.device.interfaces:
            # What the FortiGate sends itself is allowed (local-out traffic is not filtered by policies).
            rules.append(({"to": sorted(self.device.interfaces), "action": "permit",
                           "description": "traffic the FortiGate sends itself"}, self.device.span))
        policy.local_default = "deny"
        for rule, span in rules:
            policy.local_rules.append(rule)
            policy.local_spans.append(span)

    # -- NAT ------------------------------------------------------------------------------------------------

    def vip_members(self, name: str, span: Span) -> list[str]:
        if name in self.vips:
            return [name]
        group = self.vip_groups[name]
        members = group.values("member")
        for member in members:
            if member not in self.vips:
                raise InputError(f"VIP group {name} names {member!r}, which is not a VIP", group.span_of("member"))
        return members

    def vip_mapped(self, entry: Entry) -> list[str]:
        return [item for item in entry.values("mappedip")]

    def vip_nat(self, central: bool) -> None:
        """A VIP takes effect when a policy uses it (or, with central NAT, always): destination NAT on
        its external interface, address by address of its ranges, port by port of a port forward."""
        for name, entry in self.vips.items():
            if not central and name not in self.used_vips:
                continue
            self.unknown_keys(entry, "VIP")
            if entry.get("status") == "disable":
                continue
            kind = entry.get("type", "static-nat")
            if kind != "static-nat":
                self.notes.unverified(entry.span_of("type"), f"VIP {name} of type {kind} is not modelled: what it "
                                      "forwards is not verified", entry.settings["type"].text)
                continue
            ext = self._range(entry.get("extip"), entry.span_of("extip"))
            mapped_items = entry.values("mappedip")
            if len(mapped_items) != 1:
                raise InputError(f"VIP {name}: one 'mappedip' expected", entry.span_of("mappedip"))
            mapped = self._range(mapped_items[0], entry.span_of("mappedip"))
            if len(mapped) != len(ext) and len(mapped) != 1:
                raise InputError(f"VIP {name}: the external and mapped ranges differ in size", entry.span)
            if len(ext) > MAX_EXPANDED:
                self.notes.unverified(entry.span_of("extip"), f"VIP {name}: more than {MAX_EXPANDED} addresses; not "
                                      "modelled")
                continue
            interfaces = self.interfaces_of(entry.values("extintf") or ["any"], entry.span_of("extintf"))
            ports: list[tuple[str, int | None]] = [("", None)]
            if entry.get("portforward") == "enable":
                ports = self.vip_ports(entry)
            for iface in interfaces if interfaces is not None else sorted(self.device.interfaces):
                for i, address in enumerate(ext):
                    target = mapped[i] if len(mapped) > 1 else mapped[0]
                    for service, port in ports:
                        data: dict[str, Any] = {"type": "destination", "in": iface, "dst": str(address),
                                                "to": str(target), "description": f"VIP {name}"}
                        if service:
                            data["service"] = service
                        if port is not None:
                            data["port"] = port
                        for key in ("src-filter",):
                            if key in entry.settings:
                                data["src"] = entry.values(key)
                        self.device.nat.append(NatData(data, entry.span))

    def vip_ports(self, entry: Entry) -> list[tuple[str, int | None]]:
        proto = entry.get("protocol", "tcp").lower()
        if proto not in ("tcp", "udp", "sctp"):
            raise InputError(f"VIP {entry.name}: port forward of protocol {proto!r}", entry.span_of("protocol"))
        ext = self._ports(entry.get("extport"), entry)
        mapped = self._ports(entry.get("mappedport") or entry.get("extport"), entry)
        if len(mapped) not in (1, len(ext)) or len(ext) > MAX_EXPANDED:
            raise InputError(f"VIP {entry.name}: external and mapped port ranges differ in size", entry.span)
        return [(f"{proto}/{port}", mapped[i] if len(mapped) > 1 else mapped[0]) for i, port in enumerate(ext)]

    def _ports(self, text: str, entry: Entry) -> list[int]:
        low, _, high = text.partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            raise InputError(f"VIP {entry.name}: cannot read the port {text!r}", entry.span)
        lo, hi = int(low), int(high or low)
        if not 0 < lo <= hi <= 65535:
            raise InputError(f"VIP {entry.name}: port {text!r} out of range", entry.span)
        return list(range(lo, hi + 1))

    def _range(self, text: str, span: Span) -> list[IPv4Address]:
        low, _, high = text.partition("-")
        try:
            a, b = IPv4Address(low), IPv4Address(high or low)
        except ValueError:
            raise InputError(f"cannot read the address {text!r}", span) from None
        if b < a:
            raise InputError(f"the range {text} ends before it starts", span)
        if int(b) - int(a) >= MAX_EXPANDED * 4:
            return [a] * (MAX_EXPANDED + 1)
        return [IPv4Address(i) for i in range(int(a), int(b) + 1)]

    def central_snat(self) -> None:
        table = self.tables.get("firewall central-snat-map")
        if table is None:
            return
        for entry in table.entries.values():
            if entry.get("status") == "disable" or entry.get("nat", "enable") != "enable":
                continue
            egress = self.interfaces_of(entry.values("dstintf") or ["any"], entry.span_of("dstintf"))
            if entry.values("srcintf") not in ([], ["any"]):
                self.notes.unverified(entry.span_of("srcintf"), f"central SNAT {entry.name}: the ingress interface "
                                      "condition is not modelled (the rule translates whatever leaves by its dstintf)",
                                      entry.settings["srcintf"].text)
            src = self.policy_addresses(entry, "orig-addr", True)
            dst = self.policy_addresses(entry, "dst-addr", True)
            if src is None or dst is None:
                continue
            ports = "keep" if entry.get("fixedport") == "enable" else POOL_PORTS
            for name in egress if egress is not None else sorted(self.device.interfaces):
                iface = self.device.interfaces[name]
                if entry.values("nat-ippool"):
                    pool = self.pool_snat(entry.values("nat-ippool")[0], entry.span_of("nat-ippool"), ports)
                elif iface.address is not None:
                    pool = {"to": str(iface.address.ip), "ports": ports}
                else:
                    continue
                for s in src:
                    for d in dst:
                        data: dict[str, Any] = {"type": "source", "out": name, **pool,
                                                "description": f"central SNAT {entry.name}"}
                        if s != "any":
                            data["src"] = s
                        if d != "any":
                            data["dst"] = d
                        self.device.nat.append(NatData(data, entry.span))


POLICY_KEYS = {"srcintf", "dstintf", "srcaddr", "dstaddr", "action", "service", "schedule", "status", "nat",
               "ippool", "poolname", "fixedport", "srcaddr-negate", "dstaddr-negate", "service-negate"}


def add_line(policy: PolicyData, line: tuple[dict[str, Any], Span]) -> None:
    policy.rules.append(line[0])
    policy.rule_spans.append(line[1])


def merge_services(terms: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Service terms as rule fragments: plain terms (no source port) share one line's 'service' list;
    a term with source ports, or 'any', gets a line of its own."""
    if any(not t for t in terms):
        return [{}]
    plain: list[str] = []
    own: list[dict[str, Any]] = []
    for term in terms:
        if "service" in term:
            plain.append(term["service"])
        elif "sport" not in term:
            proto = term["proto"]
            plain.append(f"{proto}/{term['dport']}" if "dport" in term else str(proto))
        else:
            own.append(dict(term))
    result = [{"service": sorted(set(plain), key=plain.index)}] if plain else []
    return result + own


def _enabled_entries(table: Table) -> bool:
    if table.get("status") == "disable":
        return False
    return bool(table.entries) or any(t.entries for t in table.tables.values())


def _has_peers(table: Table) -> bool:
    """Dynamic routing that is configured, not just present with factory defaults."""
    for nested in table.tables.values():
        if nested.entries:
            return True
    return False


def parse_fortios(text: str, display: str, notes: Notes) -> list[Device]:
    return FortiParser(parse_config(text, display, notes), notes).parse()
