"""Synthetic prefecture-scale networks for tests and benchmarks (``segverify generate``).

A generated network is a directory: ``network.yaml`` (the prefecture: its security cloud, the
Internet, the LGWAN backbone, shared objects) that includes ``municipalities/``, one file per
municipality with its three segments, boundary firewalls, LGWAN access router and sanitizers.
``manifest.json`` beside them lists what a checker must find: every planted violation with the rule
id it must raise and where, and every ACL line that was shadowed on purpose (HYG001 warnings).

Everything derives from the seed, so the same options give the same bytes. Filler ACL lines are built
so that no line is shadowed by accident (each has a destination host, or a host and port block, of its
own); the only dead lines are the planted ones, so "compliant apart from planted HYG001" is exact.
"""

from __future__ import annotations

import json
import math
import random
import re
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

import click

from .words import plural

MODELS = ("alpha", "alpha-prime", "beta", "beta-prime")
MAX_MUNICIPALITIES = 60  # four /16s of 10.0.0.0/8 and one /30 of 192.0.2.0/24 each
CHECK_DATE = "2026-04-01"  # the manifest's judging date: exceptions are valid then, the expired one is not
VALID_UNTIL = "2031-03-31"
EXPIRED_ON = "2024-03-31"

ELTAX = "172.20.10.5"
CHUKAN = "172.21.1.10"
LGWAN_MAIL_RELAY = "172.22.0.25"

# Kinds of planted violation: the rule that must fire, and the other rules the plant may also raise.
INJECTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "permit-any-above-deny": ("SEG003", ("SEG004", "HYG001")),
    "static-route-bypass": ("SEG003", ("SEG004",)),
    "dual-homed-server": ("SEG006", ("SEG003", "SEG004")),
    "sanitizer-ip-forward": ("SEG006", ("SEG003", "SEG004")),
    "stateless-return": ("SEG002", ()),
    "exception-subnet": ("SEG002", ()),
    "expired-exception": ("SEG008", ("SEG002",)),
    "missing-mfa": ("SEG007", ()),
    "cloud-bypass": ("SEG005", ()),
    "missing-edr": ("SEG009", ()),  # β and β′ only
}

SERVICES: dict[str, list[str]] = {
    "http": ["tcp/80"], "https": ["tcp/443"], "web": ["http", "https"], "smtp": ["tcp/25"],
    "submission": ["tcp/587"], "dns": ["udp/53", "tcp/53"], "ntp": ["udp/123"], "ldap": ["tcp/389"],
    "ldaps": ["tcp/636"], "kerberos": ["tcp/88", "udp/88"], "syslog": ["udp/514"], "snmp": ["udp/161-162"],
    "ssh": ["tcp/22"], "rdp": ["tcp/3389"], "smb": ["tcp/445"], "ica": ["tcp/1494", "tcp/2598"],
    "imaps": ["tcp/993"], "pop3s": ["tcp/995"], "ftp": ["tcp/20-21"], "mssql": ["tcp/1433"],
    "oracle": ["tcp/1521"], "http-alt": ["tcp/8080"], "asp-web": ["tcp/8000-8099"], "ping": ["icmp"],
}
FILLER_SERVICES = ("https", "http", "web", "ldaps", "ntp", "syslog", "ssh", "mssql", "oracle", "http-alt",
                   "asp-web", "smb", "kerberos", "snmp", "imaps", "ping", "dns", "ftp")

DEPARTMENTS = ("総務課", "財政課", "税務課", "市民課", "福祉課", "子育て支援課", "建設課", "企画課", "情報政策課",
               "環境課", "農林課", "教育総務課", "会計課", "選挙管理委員会", "上下水道課")
PLACES = ("北", "南", "東", "西", "中央", "桜", "川", "山", "緑", "港", "宮", "平", "新", "本", "大")


@dataclass
class GeneratedNetwork:
    """What :func:`generate` wrote and what it planted."""

    directory: Path
    main: Path
    manifest: dict[str, Any]

    @property
    def violations(self) -> list[dict[str, Any]]:
        return self.manifest["violations"]

    @property
    def shadowed(self) -> list[dict[str, Any]]:
        return self.manifest["shadowed"]


# -- YAML text ------------------------------------------------------------------------------------

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_./:+-]*|\d+\.\d+\.\d+\.\d+(/\d+)?|\d+-\d+|\d{4}-\d\d-\d\d")
_PLAIN_TEXT = re.compile(r"[^\x00-\x20:#,\[\]{}&*!|>'\"%@`?\\\-0-9][^\x00-\x1f:#,\[\]{}\\\"']*")
_RESERVED = {"yes", "no", "on", "off", "true", "false", "null", "y", "n", "~"}


class Marked(dict):
    """A mapping whose line in the output is recorded under ``mark``."""

    def __init__(self, mark: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mark = mark


def _scalar(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if text.lower() not in _RESERVED and not text.endswith(" ") and (
            _PLAIN.fullmatch(text) or (_PLAIN_TEXT.fullmatch(text) and not text[0].isascii())):
        return text
    return json.dumps(text, ensure_ascii=False)


def _flat(value: Any) -> bool:
    if isinstance(value, dict):
        return all(not isinstance(v, (dict, list)) or (isinstance(v, list) and all(_flat_item(i) for i in v))
                   for v in value.values())
    if isinstance(value, list):
        return all(_flat_item(i) for i in value)
    return True


def _flat_item(value: Any) -> bool:
    return not isinstance(value, (dict, list))


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return _scalar(value)


class Writer:
    """Block style for structure, flow style for leaves (one rule, route or interface a line)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.marks: dict[str, int] = {}

    def comment(self, text: str) -> None:
        self.lines.extend(f"# {line}".rstrip() for line in text.splitlines())

    def blank(self) -> None:
        self.lines.append("")

    def mapping(self, data: dict[str, Any], indent: int = 0) -> None:
        pad = " " * indent
        for key, value in data.items():
            if isinstance(value, Marked):
                self.marks[value.mark] = len(self.lines) + 1
            if isinstance(value, (dict, list)) and value and not (_flat(value) and (indent > 0 or isinstance(value, list))):
                self.lines.append(f"{pad}{_scalar(key)}:")
                if isinstance(value, dict):
                    self.mapping(value, indent + 2)
                else:
                    self.sequence(value, indent + 2)
            else:
                self.lines.append(f"{pad}{_scalar(key)}: {_flow(value)}")

    def sequence(self, items: list[Any], indent: int) -> None:
        pad = " " * indent
        for item in items:
            if isinstance(item, Marked):
                self.marks[item.mark] = len(self.lines) + 1
            if isinstance(item, dict) and not _flat(item):
                first = True
                for key, value in item.items():
                    lead = f"{pad}- " if first else f"{pad}  "
                    first = False
                    if isinstance(value, (dict, list)) and not _flat(value):
                        self.lines.append(f"{lead}{_scalar(key)}:")
                        if isinstance(value, dict):
                            self.mapping(value, indent + 4)
                        else:
                            self.sequence(value, indent + 4)
                    else:
                        self.lines.append(f"{lead}{_scalar(key)}: {_flow(value)}")
            else:
                self.lines.append(f"{pad}- {_flow(item)}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


# -- the plan of one municipality -----------------------------------------------------------------


@dataclass
class Vlan:
    lan: str
    zone: str
    net: IPv4Network
    members: list[str] = field(default_factory=list)  # "node:iface"
    hosts: list[str] = field(default_factory=list)  # node names
    router: str = ""  # the node whose interface is the gateway

    @property
    def gateway(self) -> IPv4Address:
        return self.net.network_address + 1

    def address(self, n: int) -> IPv4Address:
        return self.net.network_address + n


class Pools:
    """Unique destinations for filler lines, so that no filler line covers another."""

    def __init__(self, base: str, size: int) -> None:
        self.base = int(IPv4Address(base))
        self.size = size
        self.next = 0

    def take(self) -> str:
        if self.next >= self.size:
            raise ValueError("too many filler rules for the address pool; use fewer rules per firewall")
        value = IPv4Address(self.base + self.next * 3 + 1)
        self.next += 1
        return str(value)


class Municipality:
    # Set by the segment builders (setattr(self, f"{seg}_server_vlan", ...)).
    mn_server_vlan: Vlan
    lg_server_vlan: Vlan
    inet_server_vlan: Vlan

    def __init__(self, index: int, model: str, devices: int, rules: int, rng: random.Random) -> None:
        self.i = index
        self.model = model
        self.rng = rng
        self.p = f"m{index:02d}"
        self.P = self.p.upper()
        base = 4 * (index - 1)
        self.o_mn, self.o_lg, self.o_inet, self.o_link = base, base + 1, base + 2, base + 3
        self.nodes: dict[str, dict[str, Any]] = {}
        self.zones: dict[str, dict[str, Any]] = {}
        self.networks: dict[str, list[Any]] = {}
        self.links: list[Any] = []
        self.vlans: list[Vlan] = []
        self.exceptions: list[dict[str, Any]] = []
        self.shadowed: list[tuple[str, str, str]] = []  # (node, acl, mark)
        self.marks: dict[str, tuple[str, str]] = {}  # mark -> (node, acl) for rule lines
        self.counter = 0
        self.server_slots: dict[str, Any] = {}
        self.devices = devices
        self.rules = rules
        self.build()

    # -- small helpers ----------------------------------------------------------------------------

    def n(self, name: str) -> str:
        return f"{self.p}-{name}"

    def N(self, name: str) -> str:
        return f"{self.P}_{name}"

    def net(self, octet: int, third: int, fourth: int = 0, length: int = 24) -> IPv4Network:
        return IPv4Network(f"10.{octet}.{third}.{fourth}/{length}")

    def seg16(self, octet: int) -> str:
        return f"10.{octet}.0.0/16"

    def zone(self, name: str, segment: str, description: str) -> str:
        full = self.n(name)
        self.zones[full] = {"segment": segment, "description": f"{self.p} {description}"}
        return full

    def mark(self) -> str:
        self.counter += 1
        return f"{self.p}#{self.counter}"

    def link(self, a: str, b: str, description: str | None = None) -> None:
        self.links.append([a, b] if description is None else {"endpoints": [a, b], "description": description})

    # -- layout -----------------------------------------------------------------------------------

    def build(self) -> None:
        beta = self.model.startswith("beta")
        z = self.zone
        self.z_mn_office = z("mn-office", "mynumber", "マイナンバー系 執務室")
        self.z_mn_server = z("mn-server", "mynumber", "マイナンバー系 サーバ室")
        self.z_mn_transit = z("mn-transit", "mynumber", "マイナンバー系 コア ⇔ 境界FW")
        self.z_lg_office = z("lg-office", "lgwan", "LGWAN系 執務室")
        self.z_lg_server = z("lg-server", "lgwan", "LGWAN系 サーバ室")
        self.z_lg_transit = z("lg-transit", "lgwan", "LGWAN系 コア ⇔ 境界FW")
        self.z_lg_access = z("lg-access", "lgwan", "LGWAN接続ルータ 収容")
        self.z_lg_sanitize = z("lg-sanitize", "lgwan", "無害化装置 LGWAN側")
        self.z_lg_ic = z("lg-interconnect", "lgwan", "画面転送用 接続 (LGWAN側)")
        self.z_inet_dmz = z("inet-dmz", "internet", "インターネット系 サーバ")
        self.z_inet_office = z("inet-office", "internet", "インターネット系 執務室") if beta else ""
        self.z_inet_transit = z("inet-transit", "internet", "インターネット系 コア ⇔ 境界FW")
        self.z_inet_sanitize = z("inet-sanitize", "internet", "無害化装置 インターネット側")
        self.z_inet_ic = z("inet-interconnect", "internet", "画面転送用 接続 (インターネット側)")
        self.z_inet_edge = z("inet-edge", "internet", "セキュリティクラウドへの上り回線")

        # Fixed devices: 3 cores, 3 firewalls, the access router, 2 sanitizers, the screen server and
        # nine named servers (the lg-proxy in α′ makes ten).
        fixed = 19 + (1 if self.model == "alpha-prime" else 0)
        hosts = max(6, self.devices - fixed)
        shares = {"alpha": (0.3, 0.5, 0.2), "alpha-prime": (0.3, 0.5, 0.2),
                  "beta": (0.3, 0.2, 0.5), "beta-prime": (0.3, 0.15, 0.55)}[self.model]
        counts = [max(2, int(hosts * s)) for s in shares]
        counts[1] += hosts - sum(counts)  # the remainder goes to LGWAN
        office = {"mn": True, "lg": not beta, "inet": beta}
        self.seg_hosts: dict[str, dict[str, list[str]]] = {}
        for seg, count, octet in (("mn", counts[0], self.o_mn), ("lg", counts[1], self.o_lg),
                                  ("inet", counts[2], self.o_inet)):
            term_share = 0.75 if office[seg] else (0.1 if seg == "lg" else 0.0)
            terminals = int(count * term_share)
            servers = min(200, count - terminals)
            terminals = count - servers
            office_vlans = math.ceil(terminals / 200) if terminals else 0
            dists = math.ceil(office_vlans / 4)
            terminals = max(0, terminals - dists)
            self.segment(seg, octet, terminals, servers, office_vlans, dists)
        self.boundary()
        # A zone nothing sits in (β's LGWAN office at small sizes) would be a model gap (HYG005).
        used = {i["zone"] for node in self.nodes.values() for i in node["interfaces"].values()}
        self.zones = {name: zone for name, zone in self.zones.items() if name in used}

    def segment(self, seg: str, octet: int, terminals: int, servers: int, office_vlans: int, dists: int) -> None:
        label = {"mn": "マイナンバー系", "lg": "LGWAN系", "inet": "インターネット系"}[seg]
        office_zone = {"mn": self.z_mn_office, "lg": self.z_lg_office, "inet": self.z_inet_office}[seg]
        server_zone = {"mn": self.z_mn_server, "lg": self.z_lg_server, "inet": self.z_inet_dmz}[seg]
        transit = {"mn": self.z_mn_transit, "lg": self.z_lg_transit, "inet": self.z_inet_transit}[seg]
        core = self.n(f"core-{seg}")
        core_node: dict[str, Any] = {"kind": "l3switch", "description": f"{label} コアL3スイッチ", "interfaces": {},
                                     "routes": []}
        self.nodes[core] = core_node
        up = self.net(octet, 255, 0, 30)
        core_node["interfaces"]["ge0/24"] = {"zone": transit, "address": f"{up.network_address + 1}/30",
                                             "description": "境界FWへ"}
        server_vlan = Vlan(self.n(f"{seg}-server"), server_zone, self.net(octet, 2), router=core)
        core_node["interfaces"]["vlan20"] = {"zone": server_zone, "address": f"{server_vlan.gateway}/24",
                                             "description": "サーバVLAN"}
        server_vlan.members.append(f"{core}:vlan20")
        self.vlans.append(server_vlan)
        setattr(self, f"{seg}_server_vlan", server_vlan)
        office: list[Vlan] = []
        for d in range(dists):
            dist = self.n(f"dist-{seg}{d + 1}")
            link = self.net(octet, 255, 4 * (d + 1), 30)
            dnode: dict[str, Any] = {"kind": "l3switch", "description": f"{label} フロアL3スイッチ {d + 1}",
                                     "interfaces": {"uplink": {"zone": transit, "address": f"{link.network_address + 2}/30"}},
                                     "routes": [{"to": "default", "via": str(link.network_address + 1)}]}
            self.nodes[dist] = dnode
            core_node["interfaces"][f"ge0/{d + 1}"] = {"zone": transit, "address": f"{link.network_address + 1}/30"}
            self.link(f"{core}:ge0/{d + 1}", f"{dist}:uplink")
            for v in range(4):
                k = 4 * d + v
                if k >= office_vlans:
                    break
                vlan = Vlan(self.n(f"{seg}-office{k + 1}"), office_zone, self.net(octet, 10 + k), router=dist)
                dnode["interfaces"][f"vlan{110 + k}"] = {"zone": office_zone, "address": f"{vlan.gateway}/24",
                                                         "description": f"執務室VLAN {k + 1}"}
                vlan.members.append(f"{dist}:vlan{110 + k}")
                core_node["routes"].append({"to": str(vlan.net), "via": str(link.network_address + 2)})
                office.append(vlan)
                self.vlans.append(vlan)
        core_node["routes"] += [{"to": "default", "via": str(up.network_address + 2)},
                                {"to": self.seg16(octet), "drop": True, "description": "未使用アドレスは破棄"}]
        setattr(self, f"{seg}_office_vlans", office)
        self.networks[self.N(f"{seg.upper()}_NET")] = [self.seg16(octet)]
        self.networks[self.N(f"{seg.upper()}_SERVERS")] = [str(server_vlan.net)]
        if office:
            self.networks[self.N(f"{seg.upper()}_TERMINALS")] = [str(v.net) for v in office]
        # Hosts: terminals spread over the office VLANs, servers on the server VLAN.
        for t in range(terminals):
            vlan = office[t % len(office)]
            host = 11 + t // len(office)
            name = self.n(f"{seg}-pc{t + 1:04d}")
            kind = "host" if t % 20 == 19 else "terminal"
            node: dict[str, Any] = {"kind": kind}
            dept = DEPARTMENTS[t % len(DEPARTMENTS)]
            node["description"] = f"{label} {'複合機' if kind == 'host' else '端末'} ({dept})"
            if kind == "terminal":
                node.update(self.terminal_attributes(seg))
            node["interfaces"] = {"eth0": {"zone": vlan.zone, "address": f"{vlan.address(host)}/24",
                                           "gateway": str(vlan.gateway)}}
            self.nodes[name] = node
            vlan.members.append(f"{name}:eth0")
            vlan.hosts.append(name)
        self.server_slots[seg] = iter(range(11, 251))
        for s in range(servers):
            self.server(seg, f"sv{s + 1:03d}", f"{label} 業務サーバ {s + 1}")

    def terminal_attributes(self, seg: str) -> dict[str, Any]:
        if seg == "mn":
            return {"mfa": True, "removable_media": "blocked"}
        return {"mfa": True, "removable_media": "blocked", "epp": True, "edr": True}

    def breakout_proxy(self) -> str:
        """The α′ breakout proxy, alone on a /30 of the LGWAN core: on the server VLAN any other host
        could send with its address, which the firewalls let out to the cloud services."""
        core, name = self.n("core-lg"), self.n("lg-breakout")
        net = self.net(self.o_lg, 3, 0, 30)
        self.nodes[core]["interfaces"]["vlan30"] = {"zone": self.z_lg_server, "address": f"{net.network_address + 1}/30",
                                                    "description": "ブレイクアウトプロキシ専用VLAN"}
        self.nodes[name] = {"kind": "proxy", "description": "ブレイクアウトプロキシ (テナント制限)", "role": "breakout-proxy",
                            "allow": [{"to": "M365_RANGES", "service": "https"}, {"to": "BOX_RANGES", "service": "https"}],
                            "interfaces": {"eth0": {"zone": self.z_lg_server, "address": f"{net.network_address + 2}/30",
                                                    "gateway": str(net.network_address + 1)}}}
        self.link(f"{core}:vlan30", f"{name}:eth0")
        return str(net.network_address + 2)

    def server(self, seg: str, short: str, description: str, kind: str = "server",
               extra: dict[str, Any] | None = None) -> tuple[str, str]:
        vlan: Vlan = getattr(self, f"{seg}_server_vlan")
        host = next(self.server_slots[seg])
        name = self.n(f"{seg}-{short}")
        node: dict[str, Any] = {"kind": kind, "description": description}
        node.update(extra or {})
        node["interfaces"] = {"eth0": {"zone": vlan.zone, "address": f"{vlan.address(host)}/24",
                                       "gateway": str(vlan.gateway)}}
        self.nodes[name] = node
        vlan.members.append(f"{name}:eth0")
        vlan.hosts.append(name)
        return name, str(vlan.address(host))

    # -- the boundary: firewalls, access router, sanitizers, named servers -------------------------

    def boundary(self) -> None:
        beta = self.model.startswith("beta")
        N, n = self.N, self.n
        _, self.ip_mn_tax = self.server("mn", "tax", "税務システム (eLTAX 連携)")
        _, self.ip_mn_atena = self.server("mn", "atena", "団体内統合宛名システム (中間サーバー連携)")
        _, self.ip_lg_mail = self.server("lg", "mail", "LGWANメールサーバ")
        _, self.ip_lg_file = self.server("lg", "file", "ファイルサーバ (無害化済みファイルの格納先)")
        _, self.ip_inet_mail = self.server("inet", "mail", "インターネットメールサーバ")
        _, self.ip_inet_dns = self.server("inet", "dns", "DNSサーバ")
        _, self.ip_inet_web = self.server("inet", "web", "Web公開サーバ")
        _, self.ip_inet_fx = self.server("inet", "fx", "ファイル受渡サーバ")
        self.server("inet", "proxy", "インターネット系 プロキシ", kind="proxy")
        if beta:
            self.screen, self.ip_screen = self.server(
                "lg", "vdi", "画面転送サーバ (VDI) — インターネット系の職員端末へ画面だけを送る", kind="sanitizer",
                extra={"sanitizer": {"type": "screen", "inbound": [{"from": N("INET_TERMINALS"), "service": "rdp"}]}})
        else:
            self.screen, self.ip_screen = self.server(
                "inet", "vb", "仮想ブラウザサーバ (画面転送)", kind="sanitizer",
                extra={"sanitizer": {"type": "screen", "inbound": [{"from": N("LG_TERMINALS"), "service": "https"}]}})
        if self.model == "alpha-prime":
            self.ip_proxy = self.breakout_proxy()
            self.networks[N("LG_PROXY")] = [self.ip_proxy]
        nets = self.networks
        nets[N("MN_TAX_SV")] = [self.ip_mn_tax]
        nets[N("MN_ATENA_SV")] = [self.ip_mn_atena]
        nets[N("LG_MAIL_SV")] = [self.ip_lg_mail]
        nets[N("LG_FILE_SV")] = [self.ip_lg_file]
        nets[N("INET_MAIL")] = [self.ip_inet_mail]
        nets[N("INET_DNS")] = [self.ip_inet_dns]
        nets[N("INET_WEB")] = [self.ip_inet_web]
        nets[N("INET_FX")] = [self.ip_inet_fx]
        nets[N("SCREEN_SV")] = [self.ip_screen]
        lg, inet = self.o_lg, self.o_inet
        san_mail_inet, san_mail_lg = f"10.{inet}.254.2", f"10.{lg}.254.2"
        san_file_inet, san_file_lg = f"10.{inet}.254.6", f"10.{lg}.254.6"
        nets[N("SAN_MAIL_INET")], nets[N("SAN_MAIL_LG")] = [san_mail_inet], [san_mail_lg]
        nets[N("SAN_FILE_INET")], nets[N("SAN_FILE_LG")] = [san_file_inet], [san_file_lg]
        nets[N("LOCAL_NETS")] = [N("MN_NET"), N("LG_NET")]
        file_from = [{"from": N("INET_FX"), "service": "https"}]
        if beta:
            file_from.append({"from": N("INET_TERMINALS"), "service": "https"})
        for kind, short, inet_ip, lg_ip, inbound, outbound, desc in (
                ("mail", "san-mail", san_mail_inet, san_mail_lg, [{"from": N("INET_MAIL"), "service": "smtp"}],
                 [{"to": N("LG_MAIL_SV"), "service": "smtp"}], "メール無害化装置 (本文テキスト化・添付除去)"),
                ("file", "san-file", san_file_inet, san_file_lg, file_from,
                 [{"to": N("LG_FILE_SV"), "service": "smb"}], "ファイル無害化装置 (CDR)")):
            self.nodes[n(short)] = {
                "kind": "sanitizer", "description": desc, "ip_forward": False,
                "interfaces": {"eth0": {"zone": self.z_inet_sanitize, "address": f"{inet_ip}/30", "description": "インターネット側"},
                               "eth1": {"zone": self.z_lg_sanitize, "address": f"{lg_ip}/30", "description": "LGWAN側"}},
                "routes": [{"to": self.seg16(inet), "via": str(IPv4Address(inet_ip) - 1)},
                           {"to": self.seg16(lg), "via": str(IPv4Address(lg_ip) - 1)}],
                "sanitizer": {"type": kind, "inbound": inbound, "outbound": outbound}}

        self.fw_mn(self.rules)
        self.fw_lg(self.rules)
        self.fw_inet(self.rules)
        self.rt_lgwan()
        self.exceptions = [
            {"id": f"EX-{self.P}-001", "rule": "SEG002", "src": N("MN_TAX_SV"), "dst": "ELTAX", "service": "https",
             "owner": f"{self.p} 税務課 課長", "justification": "eLTAX との申告データ連携 (税務システム1台からHTTPSのみ)",
             "expires": VALID_UNTIL, "ticket": f"SEC-{self.P}-014"},
            {"id": f"EX-{self.P}-002", "rule": "SEG002", "src": N("MN_ATENA_SV"), "dst": "CHUKAN_SV", "service": "https",
             "owner": f"{self.p} 情報政策課 課長", "justification": "中間サーバー・プラットフォームとの情報連携",
             "expires": VALID_UNTIL, "ticket": f"SEC-{self.P}-015"},
        ]
        self.links += [
            [f"{n('core-mn')}:ge0/24", f"{n('fw-mn')}:port1"],
            [f"{n('core-lg')}:ge0/24", f"{n('fw-lg')}:port1"],
            [f"{n('core-inet')}:ge0/24", f"{n('fw-inet')}:ethernet1/2"],
            {"endpoints": [f"{n('fw-mn')}:port2", f"{n('rt-lgwan')}:lan2"], "description": "マイナンバー系 ⇔ LGWAN接続ルータ"},
            {"endpoints": [f"{n('fw-lg')}:port2", f"{n('rt-lgwan')}:lan3"], "description": "LGWAN系 ⇔ LGWAN接続ルータ"},
            {"endpoints": [f"{n('rt-lgwan')}:lan1", f"lgwan-backbone:{self.p}"], "description": "LGWAN回線"},
            {"endpoints": [f"{n('fw-lg')}:port3", f"{n('fw-inet')}:ethernet1/3"], "description": "画面転送用 セグメント間接続"},
            [f"{n('fw-lg')}:port4", f"{n('san-mail')}:eth1"],
            [f"{n('fw-lg')}:port5", f"{n('san-file')}:eth1"],
            [f"{n('fw-inet')}:ethernet1/4", f"{n('san-mail')}:eth0"],
            [f"{n('fw-inet')}:ethernet1/5", f"{n('san-file')}:eth0"],
            {"endpoints": [f"{n('fw-inet')}:ethernet1/1", f"cloud-gw:{self.p}"], "description": "セキュリティクラウド 上り回線"},
        ]

    def rule(self, node: str, acl: str, action: str, description: str | None = None, **match: Any) -> Marked:
        mark = self.mark()
        line = Marked(mark, {"action": action})
        line.update(match)
        if description:
            line["description"] = description
        self.marks[mark] = (node, acl)
        return line

    def filler(self, node: str, acl: str, count: int, *, sources: list[str], pool: Pools | None = None,
               hosts: list[str] | None = None, deny_share: float = 0.15, named_share: float = 0.25,
               established_from: Pools | None = None) -> list[Marked]:
        """``count`` lines, none of which covers another: each has its own destination host (``pool``),
        or its own (host, port block) among ``hosts``, or its own source host (``established_from``)."""
        rng, lines = self.rng, []
        dest_names = 0
        planted = max(1, count // 400) if count >= 8 else 0
        for j in range(count - planted):
            dept = DEPARTMENTS[rng.randrange(len(DEPARTMENTS))]
            if established_from is not None:
                src = established_from.take()
                line = self.rule(node, acl, "permit", f"戻り通信 {dept} 連携先", proto="tcp", src=src,
                                 sport=rng.choice([443, 8443, 22, 1521]), dst=hosts[j % len(hosts)] if hosts else "any",
                                 dport="1024-65535", established=True)
                lines.append(line)
                continue
            action = "deny" if rng.random() < deny_share else "permit"
            src = rng.choice(sources)
            if pool is not None:
                dst = pool.take()
                if rng.random() < named_share:
                    dest_names += 1
                    name = self.N(f"{acl.upper().replace('-', '_')}_DST{dest_names:04d}")
                    self.networks[name] = [dst]
                    dst = name
                service: Any = rng.choice(FILLER_SERVICES)
                roll = rng.random()
                if roll < 0.2:
                    low = rng.randrange(1024, 60000)
                    service = f"tcp/{low}-{low + rng.choice([9, 99, 255])}"
                elif roll < 0.3:
                    service = [rng.choice(FILLER_SERVICES), f"udp/{rng.randrange(1024, 60000)}"]
                lines.append(self.rule(node, acl, action, f"{dept} 業務連携 {j + 1}", src=src, dst=dst, service=service))
            else:
                assert hosts
                host = hosts[j % len(hosts)]
                block = j // len(hosts)
                if block == 0:
                    service = rng.choice(FILLER_SERVICES)
                else:
                    low = 20000 + 8 * block
                    service = rng.choice([f"tcp/{low}", f"tcp/{low}-{low + 7}", f"udp/{low + 3}"])
                lines.append(self.rule(node, acl, action, f"{dept} 公開サービス {j + 1}", src=src, dst=host, service=service))
        self.plant_shadowed(node, acl, lines, planted)
        return lines

    def plant_shadowed(self, node: str, acl: str, lines: list[Marked], planted: int) -> None:
        """Duplicate or narrow a few lines right below themselves: dead lines that HYG001 must report."""
        if not planted:
            return
        picks = sorted(self.rng.sample(range(len(lines)), planted), reverse=True)
        for k, pick in enumerate(picks):
            original = lines[pick]
            copy = self.rule(node, acl, original["action"], None, **{key: v for key, v in original.items()
                                                                  if key not in ("action", "description")})
            if k % 2 and "service" in copy and isinstance(copy["service"], list):
                copy["service"] = copy["service"][:1]
                copy["description"] = "重複 (上の行に包含される)"
            else:
                copy["description"] = "重複 (上の行と同一)"
            lines.insert(pick + 1, copy)
            self.shadowed.append((node, acl, copy.mark))

    def fw_mn(self, budget: int) -> None:
        N, n, lg, mn = self.N, self.n, self.o_lg, self.o_mn
        node = n("fw-mn")
        out = [self.rule(node, "mn-outbound", "permit", f"税務→eLTAX ({f'EX-{self.P}-001'})",
                         src=N("MN_TAX_SV"), dst="ELTAX", service="https"),
               self.rule(node, "mn-outbound", "permit", f"宛名→中間サーバー ({f'EX-{self.P}-002'})",
                         src=N("MN_ATENA_SV"), dst="CHUKAN_SV", service="https")]
        back = [self.rule(node, "mn-return", "permit", "eLTAX からの戻り", proto="tcp", src="ELTAX", sport=443,
                          dst=N("MN_TAX_SV"), dport="1024-65535", established=True),
                self.rule(node, "mn-return", "permit", "中間サーバーからの戻り", proto="tcp", src="CHUKAN_SV", sport=443,
                          dst=N("MN_ATENA_SV"), dport="1024-65535", established=True)]
        rest = max(0, budget - 6)
        mn_sources = [N("MN_NET"), N("MN_SERVERS")] + ([N("MN_TERMINALS")] if N("MN_TERMINALS") in self.networks else [])
        out += self.filler(node, "mn-outbound", rest * 6 // 10, sources=mn_sources,
                           pool=Pools(f"172.24.{self.i}.0", 20000), deny_share=1.0)
        out.append(self.rule(node, "mn-outbound", "deny", "上記以外は全て拒否", src="any", dst="any"))
        mn_hosts = [str(self.mn_server_vlan.address(h)) for h in range(11, 251)]
        back += self.filler(node, "mn-return", rest - rest * 6 // 10, sources=[], hosts=mn_hosts,
                            established_from=Pools(f"172.28.{self.i}.0", 20000))
        back.append(self.rule(node, "mn-return", "deny", "新規通信は全て拒否", src="any", dst="any"))
        self.nodes[node] = {
            "kind": "firewall", "description": "マイナンバー系 境界ファイアウォール (FortiGate)",
            "interfaces": {
                "port1": {"zone": self.z_mn_transit, "address": f"10.{mn}.255.2/30", "acl_in": "mn-outbound"},
                "port2": {"zone": self.z_lg_access, "address": f"10.{lg}.253.2/30", "acl_in": "mn-return",
                          "description": "LGWAN接続ルータへ"}},
            "routes": [{"to": self.seg16(mn), "via": f"10.{mn}.255.1"},
                       {"to": f"{ELTAX}/32", "via": f"10.{lg}.253.1"},
                       {"to": f"{CHUKAN}/32", "via": f"10.{lg}.253.1"},
                       {"to": "default", "drop": True}],
            "acls": {"mn-outbound": {"default": "deny", "stateful": True, "rules": out},
                     "mn-return": {"default": "deny", "stateful": False, "rules": back}}}

    def fw_lg(self, budget: int) -> None:
        N, n, lg, inet, lk = self.N, self.n, self.o_lg, self.o_inet, self.o_link
        node = n("fw-lg")
        beta = self.model.startswith("beta")
        out: list[Marked] = []
        if not beta:
            out.append(self.rule(node, "lg-outbound", "permit", "画面転送 (仮想ブラウザ)", src=N("LG_TERMINALS"),
                                 dst=N("SCREEN_SV"), service="https"))
        if self.model == "alpha-prime":
            out.append(self.rule(node, "lg-outbound", "permit", "α′ ローカルブレイクアウト (プロキシのみ)",
                                 src=N("LG_PROXY"), dst="SAAS_ALLOWED", service="https"))
        out.append(self.rule(node, "lg-outbound", "permit", "LGWANメール送信", src=N("LG_MAIL_SV"),
                             dst="LGWAN_MAIL_RELAY", service="smtp"))
        fixed = len(out) + 9
        rest = max(0, budget - fixed)
        sources = [N("LG_NET"), N("LG_SERVERS")] + ([N("LG_TERMINALS")] if N("LG_TERMINALS") in self.networks else [])
        out += self.filler(node, "lg-outbound", rest * 6 // 10, sources=sources, pool=Pools(f"172.24.{self.i + 100}.0", 20000))
        out += [self.rule(node, "lg-outbound", "permit", "LGWAN-ASP 利用", src=N("LG_NET"), dst="LGWAN_RANGES", service="https"),
                self.rule(node, "lg-outbound", "deny", "上記以外は拒否", src="any", dst="any")]
        self.fw_lg_outbound = out
        inbound = [self.rule(node, "lgwan-inbound", "permit", "LGWANメール受信", src="LGWAN_MAIL_RELAY",
                             dst=N("LG_MAIL_SV"), service="smtp")]
        special = {self.ip_screen, self.ip_lg_mail, getattr(self, "ip_proxy", "")}
        lg_hosts = [str(self.lg_server_vlan.address(h)) for h in range(11, 251)
                    if str(self.lg_server_vlan.address(h)) not in special]
        inbound += self.filler(node, "lgwan-inbound", rest - rest * 6 // 10, sources=["LGWAN_RANGES", "ELTAX", "CHUKAN_SV"],
                               hosts=lg_hosts, deny_share=0.1)
        inbound.append(self.rule(node, "lgwan-inbound", "deny", None, src="any", dst="any"))
        from_inet = []
        if beta:
            from_inet.append(self.rule(node, "from-internet-seg", "permit", "画面転送 (職員端末→VDI、RDPのみ)",
                                       src=N("INET_TERMINALS"), dst=N("SCREEN_SV"), service="rdp"))
        from_inet.append(self.rule(node, "from-internet-seg", "deny", "インターネット系からの新規通信は拒否", src="any", dst="any"))
        routes = [{"to": self.seg16(lg), "via": f"10.{lg}.255.1"},
                  {"to": "172.16.0.0/12", "via": f"10.{lg}.253.5"},
                  {"to": self.seg16(inet), "via": f"10.{lk}.0.2"}]
        if self.model == "alpha-prime":
            routes.append({"to": "198.51.100.0/24", "via": f"10.{lk}.0.2"})
        self.nodes[node] = {
            "kind": "firewall", "description": "LGWAN系 境界ファイアウォール (FortiGate)",
            "interfaces": {
                "port1": {"zone": self.z_lg_transit, "address": f"10.{lg}.255.2/30", "acl_in": "lg-outbound"},
                "port2": {"zone": self.z_lg_access, "address": f"10.{lg}.253.6/30", "acl_in": "lgwan-inbound"},
                "port3": {"zone": self.z_lg_ic, "address": f"10.{lk}.0.1/30", "acl_in": "from-internet-seg"},
                "port4": {"zone": self.z_lg_sanitize, "address": f"10.{lg}.254.1/30", "acl_in": "mail-sanitizer-out",
                          "acl_out": "to-sanitizer"},
                "port5": {"zone": self.z_lg_sanitize, "address": f"10.{lg}.254.5/30", "acl_in": "file-sanitizer-out",
                          "acl_out": "to-sanitizer"}},
            "routes": routes,
            "acls": {
                "lg-outbound": {"default": "deny", "rules": out},
                "lgwan-inbound": {"default": "deny", "rules": inbound},
                "from-internet-seg": {"default": "deny", "rules": from_inet},
                "mail-sanitizer-out": {"default": "deny", "rules": [
                    self.rule(node, "mail-sanitizer-out", "permit", "テキスト化済みメールの配送", src=N("SAN_MAIL_LG"),
                              dst=N("LG_MAIL_SV"), service="smtp"),
                    self.rule(node, "mail-sanitizer-out", "deny", None, src="any", dst="any")]},
                "file-sanitizer-out": {"default": "deny", "rules": [
                    self.rule(node, "file-sanitizer-out", "permit", "無害化済みファイルの格納", src=N("SAN_FILE_LG"),
                              dst=N("LG_FILE_SV"), service="smb"),
                    self.rule(node, "file-sanitizer-out", "deny", None, src="any", dst="any")]},
                "to-sanitizer": {"default": "deny", "rules": [
                    self.rule(node, "to-sanitizer", "deny", "LGWAN側から無害化装置へは新規通信させない", src="any", dst="any")]},
            }}

    def fw_inet(self, budget: int) -> None:
        N, n, lg, inet, lk = self.N, self.n, self.o_lg, self.o_inet, self.o_link
        node = n("fw-inet")
        beta = self.model.startswith("beta")
        out = [self.rule(node, "dmz-outbound", "permit", "受信メールをメール無害化へ", src=N("INET_MAIL"),
                         dst=N("SAN_MAIL_INET"), service="smtp"),
               self.rule(node, "dmz-outbound", "permit", "ファイルをCDRへ投入", src=N("INET_FX"),
                         dst=N("SAN_FILE_INET"), service="https")]
        if beta:
            out += [self.rule(node, "dmz-outbound", "permit", "職員端末からCDRへ", src=N("INET_TERMINALS"),
                              dst=N("SAN_FILE_INET"), service="https"),
                    self.rule(node, "dmz-outbound", "permit", "画面転送 (VDI)", src=N("INET_TERMINALS"),
                              dst=N("SCREEN_SV"), service="rdp")]
        out.append(self.rule(node, "dmz-outbound", "deny", "上記以外の庁内宛ては拒否", src="any", dst="PRIVATE"))
        fixed = len(out) + 2 + 5 + 1
        rest = max(0, budget - fixed)
        sources = [N("INET_NET"), N("INET_SERVERS")] + ([N("INET_TERMINALS")] if N("INET_TERMINALS") in self.networks else [])
        out += self.filler(node, "dmz-outbound", rest // 2, sources=sources, pool=Pools(f"198.19.{self.i}.0", 20000))
        out += [self.rule(node, "dmz-outbound", "permit", "インターネット向け (セキュリティクラウド経由)", src=N("INET_NET"),
                          dst="any", service=["web", "smtp", "dns", "ntp", "ping"]),
                self.rule(node, "dmz-outbound", "deny", None, src="any", dst="any")]
        inbound = [self.rule(node, "cloud-inbound", "permit", "Web公開", src="any", dst=N("INET_WEB"), service="web"),
                   self.rule(node, "cloud-inbound", "permit", "メール受信", src="any", dst=N("INET_MAIL"), service="smtp"),
                   self.rule(node, "cloud-inbound", "permit", "権威DNS", src="any", dst=N("INET_DNS"), service="dns")]
        special = {self.ip_screen, self.ip_inet_web, self.ip_inet_mail, self.ip_inet_dns}
        dmz_hosts = [str(self.inet_server_vlan.address(h)) for h in range(11, 251)
                     if str(self.inet_server_vlan.address(h)) not in special]
        inbound += self.filler(node, "cloud-inbound", rest - rest // 2, sources=["any", "PARTNERS"], hosts=dmz_hosts,
                               deny_share=0.1)
        inbound.append(self.rule(node, "cloud-inbound", "deny", None, src="any", dst="any"))
        self.fw_inet_routes = [{"to": "default", "via": f"10.{lk}.1.2"},
                               {"to": self.seg16(inet), "via": f"10.{inet}.255.1"},
                               {"to": self.seg16(lg), "via": f"10.{lk}.0.1"},
                               {"to": "10.0.0.0/8", "drop": True}]
        self.nodes[node] = {
            "kind": "firewall", "description": "インターネット系 境界ファイアウォール (Palo Alto)",
            "interfaces": {
                "ethernet1/1": {"zone": self.z_inet_edge, "address": f"10.{lk}.1.1/30", "acl_in": "cloud-inbound",
                                "description": "セキュリティクラウドへ"},
                "ethernet1/2": {"zone": self.z_inet_transit, "address": f"10.{inet}.255.2/30", "acl_in": "dmz-outbound"},
                "ethernet1/3": {"zone": self.z_inet_ic, "address": f"10.{lk}.0.2/30", "description": "LGWAN系FWへ"},
                "ethernet1/4": {"zone": self.z_inet_sanitize, "address": f"10.{inet}.254.1/30", "acl_in": "from-sanitizer"},
                "ethernet1/5": {"zone": self.z_inet_sanitize, "address": f"10.{inet}.254.5/30", "acl_in": "from-sanitizer"}},
            "routes": self.fw_inet_routes,
            "acls": {"cloud-inbound": {"default": "deny", "rules": inbound},
                     "dmz-outbound": {"default": "deny", "rules": out},
                     "from-sanitizer": {"default": "deny", "rules": [
                         self.rule(node, "from-sanitizer", "deny", "無害化装置からの新規通信は拒否", src="any", dst="any")]}}}

    def rt_lgwan(self) -> None:
        N, n, lg, mn = self.N, self.n, self.o_lg, self.o_mn
        node = n("rt-lgwan")
        self.nodes[node] = {
            "kind": "router", "role": ["lgwan-access-point", "boundary"], "description": "LGWAN接続ルータ (YAMAHA RTX)",
            "interfaces": {
                "lan1": {"zone": "lgwan-wan", "address": f"172.31.{self.i}.2/30", "acl_out": "lgwan-antispoof",
                         "description": "LGWAN回線"},
                "lan2": {"zone": self.z_lg_access, "address": f"10.{lg}.253.1/30", "description": "マイナンバー系FW"},
                "lan3": {"zone": self.z_lg_access, "address": f"10.{lg}.253.5/30", "description": "LGWAN系FW"}},
            "routes": [{"to": "172.16.0.0/12", "via": f"172.31.{self.i}.1"},
                       {"to": self.seg16(mn), "via": f"10.{lg}.253.2"},
                       {"to": self.seg16(lg), "via": f"10.{lg}.253.6"}],
            "acls": {"lgwan-antispoof": {"default": "deny", "stateful": False, "rules": [
                self.rule(node, "lgwan-antispoof", "permit", "庁内アドレスのみ送出", src=N("LOCAL_NETS"), dst="LGWAN_RANGES"),
                self.rule(node, "lgwan-antispoof", "deny", None, src="any", dst="any")]}}}

    # -- output -----------------------------------------------------------------------------------

    def lans(self) -> dict[str, Any]:
        return {v.lan: {"endpoints": v.members} for v in self.vlans}

    def document(self) -> dict[str, Any]:
        return {"zones": self.zones, "networks": self.networks, "nodes": self.nodes, "links": self.links,
                "lans": self.lans(), "exceptions": self.exceptions}


# -- planted violations -----------------------------------------------------------------------------


def _acl_rules(m: Municipality, node: str, acl: str) -> list[Any]:
    return m.nodes[m.n(node)]["acls"][acl]["rules"]


def _inject(m: Municipality, kind: str, internet: dict[str, Any], vid: str) -> dict[str, Any]:
    """Plant one violation of ``kind`` into ``m``; return its manifest entry (without file lines)."""
    N, n, p = m.N, m.n, m.p
    entry: dict[str, Any] = {"id": vid, "kind": kind, "rule": INJECTIONS[kind][0], "also": list(INJECTIONS[kind][1]),
                             "municipality": p}
    if kind == "permit-any-above-deny":
        rules = _acl_rules(m, "fw-lg", "lg-outbound")
        line = m.rule(n("fw-lg"), "lg-outbound", "permit", "一時許可 (作業用・戻し忘れ)", src="any", dst="any")
        rules.insert(len(rules) - 1, line)
        entry.update(node=n("fw-lg"), acl="lg-outbound", mark=line.mark, match={"zone_prefix": f"{p}-lg-"},
                     description="permit any any inserted above the final deny of the LGWAN firewall")
    elif kind == "static-route-bypass":
        lk = m.o_link
        core_lg, core_inet = m.nodes[n("core-lg")], m.nodes[n("core-inet")]
        core_lg["interfaces"]["ge0/48"] = {"zone": m.z_lg_transit, "address": f"10.{lk}.3.1/30", "description": "保守用直結"}
        core_inet["interfaces"]["ge0/48"] = {"zone": m.z_inet_transit, "address": f"10.{lk}.3.2/30", "description": "保守用直結"}
        route = Marked(m.mark(), {"to": m.seg16(m.o_inet), "via": f"10.{lk}.3.2", "description": "境界FWを迂回"})
        core_lg["routes"].insert(0, route)
        core_inet["routes"].insert(0, {"to": m.seg16(m.o_lg), "via": f"10.{lk}.3.1"})
        m.links.append([f"{n('core-lg')}:ge0/48", f"{n('core-inet')}:ge0/48"])
        entry.update(node=n("core-lg"), mark=route.mark, match={"zone_prefix": f"{p}-lg-"},
                     description="a direct core-to-core link and a static route from LGWAN to the Internet segment, around both firewalls")
    elif kind == "dual-homed-server":
        victim = next((h for h in m.lg_server_vlan.hosts if "-sv" in h), m.lg_server_vlan.hosts[0])
        node = m.nodes[victim]
        node["interfaces"]["eth1"] = {"zone": m.z_inet_dmz, "address": f"{m.inet_server_vlan.address(252)}/24",
                                      "description": "インターネット系へ直結 (2枚目のNIC)"}
        m.inet_server_vlan.members.append(f"{victim}:eth1")
        entry.update(node=victim, match={"subject": {"node": victim, "problem": "dual-homed"}},
                     description="an LGWAN server with a second NIC on the Internet DMZ LAN")
    elif kind == "sanitizer-ip-forward":
        m.nodes[n("san-file")]["ip_forward"] = True
        entry.update(node=n("san-file"), match={"subject": {"node": n("san-file"), "problem": "forwarding"}},
                     description="the file sanitizer forwards IP packets")
    elif kind == "stateless-return":
        line = _acl_rules(m, "fw-mn", "mn-return")[0]
        del line["established"]
        line["description"] = "eLTAX からの戻り (established 指定漏れ)"
        entry.update(node=n("fw-mn"), acl="mn-return", mark=line.mark,
                     match={"subject": {"from_zone": "lgwan-wan", "to_zone": m.z_mn_server}},
                     description="a stateless return rule without established: new connections from the LGWAN get in")
    elif kind == "exception-subnet":
        exc = m.exceptions[0]
        exc["src"] = N("MN_SERVERS")
        _acl_rules(m, "fw-mn", "mn-outbound")[0]["src"] = N("MN_SERVERS")
        entry.update(exception=exc["id"], match={"subject": {"exception": exc["id"]}},
                     description="a My Number exception (and its firewall line) opened from one host to the /24")
    elif kind == "expired-exception":
        exc = m.exceptions[1]
        exc["expires"] = EXPIRED_ON
        entry.update(exception=exc["id"], match={"subject": {"exception": exc["id"], "problem": "expired"}},
                     description="an exception past its expiry date")
    elif kind in ("missing-mfa", "missing-edr"):
        seg = "mn" if kind == "missing-mfa" else "inet"
        victim = next(h for v in getattr(m, f"{seg}_office_vlans") for h in v.hosts
                      if m.nodes[h]["kind"] == "terminal")
        m.nodes[victim]["mfa" if kind == "missing-mfa" else "edr"] = False
        entry.update(node=victim, match={"subject": {"node": victim}},
                     description="a My Number terminal without multi-factor authentication" if kind == "missing-mfa"
                     else "an Internet-segment terminal without EDR")
    elif kind == "cloud-bypass":
        fw = m.nodes[n("fw-inet")]
        fw["interfaces"]["ethernet1/7"] = {"zone": m.z_inet_edge, "address": f"192.0.2.{4 * m.i + 1}/30",
                                           "description": "直収インターネット回線 (クラウド非経由)"}
        internet["interfaces"][f"{p}-direct"] = {"zone": "world", "address": f"192.0.2.{4 * m.i + 2}/30"}
        route = Marked(m.mark(), {"to": "default", "via": f"192.0.2.{4 * m.i + 2}", "description": "ローカルブレイクアウト"})
        m.fw_inet_routes[0] = route
        m.links.append({"endpoints": [f"{n('fw-inet')}:ethernet1/7", f"internet:{p}-direct"],
                        "description": "直収回線"})
        entry.update(node=n("fw-inet"), mark=route.mark, match={"subject": {"from_zone_prefix": f"{p}-inet-"}},
                     description="a direct Internet line on the Internet firewall, default route over it")
    else:  # pragma: no cover - guarded by the caller
        raise ValueError(kind)
    return entry


def _line_of(rules: list[Any], mark: str) -> int:
    """1-based position of the marked line in its ACL."""
    return next(i for i, r in enumerate(rules) if getattr(r, "mark", None) == mark) + 1


def _match_key(kind: str) -> str:
    """Injections of one key in one municipality would be indistinguishable in the report."""
    rule = INJECTIONS[kind][0]
    return rule + (":flow" if kind in ("permit-any-above-deny", "static-route-bypass") else f":{kind}")


# -- the prefecture ---------------------------------------------------------------------------------


def _main_document(munis: list[Municipality], model: str) -> tuple[dict[str, Any], dict[str, Any]]:
    networks: dict[str, Any] = {
        "PRIVATE": ["10.0.0.0/8"], "LGWAN_RANGES": ["172.16.0.0/12"], "ELTAX": [ELTAX], "CHUKAN_SV": [CHUKAN],
        "LGWAN_MAIL_RELAY": [LGWAN_MAIL_RELAY], "PARTNERS": ["198.19.240.0/20"],
    }
    if model == "alpha-prime":
        networks.update(M365_RANGES=["198.51.100.0/25"], BOX_RANGES=["198.51.100.128/26"],
                        SAAS_ALLOWED=["M365_RANGES", "BOX_RANGES"])
    cloud: dict[str, Any] = {
        "kind": "gateway", "role": "security-cloud",
        "description": "県 自治体情報セキュリティクラウド (監視・NAT・Web/メール中継)",
        "interfaces": {"internet": {"zone": "pref-cloud", "address": "192.0.2.2/30", "acl_in": "internet-inbound",
                                    "description": "インターネット側"}},
        "routes": [], "nat": [], "acls": {}}
    published: list[Any] = []
    statics: list[Any] = []
    sources: list[Any] = []
    for m in munis:
        lk, pub = m.o_link, f"198.18.{m.i}"
        cloud["interfaces"][m.p] = {"zone": "pref-cloud", "address": f"10.{lk}.1.2/30", "description": f"{m.p} 収容"}
        cloud["routes"].append({"to": m.seg16(m.o_inet), "via": f"10.{lk}.1.1"})
        if model == "alpha-prime":
            cloud["routes"].append({"to": f"{m.ip_proxy}/32", "via": f"10.{lk}.1.1"})
            sources.append({"type": "source", "out": "internet", "src": m.N("LG_PROXY"), "dst": "SAAS_ALLOWED",
                            "to": f"{pub}.2"})
        for ip, last in ((m.ip_inet_web, 3), (m.ip_inet_mail, 4), (m.ip_inet_dns, 5)):
            statics.append({"type": "static", "out": "internet", "inside": ip, "outside": f"{pub}.{last}"})
        sources.append({"type": "source", "out": "internet", "src": m.N("INET_NET"), "to": f"{pub}.1"})
        published += [{"action": "permit", "src": "any", "dst": m.N("INET_WEB"), "service": "web"},
                      {"action": "permit", "src": "any", "dst": m.N("INET_MAIL"), "service": "smtp"},
                      {"action": "permit", "src": "any", "dst": m.N("INET_DNS"), "service": "dns"}]
    cloud["routes"].append({"to": "default", "via": "192.0.2.1"})
    cloud["nat"] = statics + sources
    published.append({"action": "deny", "src": "any", "dst": "any"})
    cloud["acls"]["internet-inbound"] = {"default": "deny", "stateful": True, "rules": published}
    internet: dict[str, Any] = {"kind": "external", "description": "インターネット", "represents": ["any"],
                                "interfaces": {"eth0": {"zone": "world", "address": "192.0.2.1/30"}},
                                "routes": [{"to": "default", "via": "192.0.2.2"}]}
    backbone: dict[str, Any] = {
        "kind": "external", "description": "LGWAN (総合行政ネットワーク) — eLTAX・中間サーバー・LGWAN-ASP",
        "represents": ["LGWAN_RANGES"], "interfaces": {}, "routes": []}
    for m in munis:
        backbone["interfaces"][m.p] = {"zone": "lgwan-wan", "address": f"172.31.{m.i}.1/30"}
        backbone["routes"] += [{"to": m.seg16(m.o_mn), "via": f"172.31.{m.i}.2"},
                               {"to": m.seg16(m.o_lg), "via": f"172.31.{m.i}.2"}]
    doc = {
        "zones": {"lgwan-wan": {"segment": "lgwan-backbone", "description": "LGWAN (総合行政ネットワーク)"},
                  "pref-cloud": {"segment": "security-cloud", "description": "県 自治体情報セキュリティクラウド"},
                  "world": {"segment": "external-internet", "description": "インターネット"}},
        "networks": networks,
        "services": SERVICES,
        "nodes": {"cloud-gw": cloud, "internet": internet, "lgwan-backbone": backbone},
        "links": [{"endpoints": ["cloud-gw:internet", "internet:eth0"], "description": "セキュリティクラウド ⇔ インターネット"}],
    }
    return doc, internet


def generate(municipalities: int = 2, devices_per_municipality: int = 60, rules_per_firewall: int = 60,
             model: str = "alpha", seed: int = 0, inject: int = 0,
             out: str | Path = "generated") -> GeneratedNetwork:
    """Write a synthetic prefecture network to ``out`` and return where it is and what was planted."""
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}")
    if not 1 <= municipalities <= MAX_MUNICIPALITIES:
        raise ValueError(f"municipalities must be 1..{MAX_MUNICIPALITIES}")
    rng = random.Random(f"segverify-generate:{seed}:{model}")
    munis = [Municipality(i + 1, model, devices_per_municipality, rules_per_firewall,
                          random.Random(f"{seed}:{model}:{i}")) for i in range(municipalities)]
    main, internet = _main_document(munis, model)

    kinds = [k for k in INJECTIONS if k != "missing-edr" or model.startswith("beta")]
    rng.shuffle(kinds)
    used: set[tuple[int, str]] = set()
    planted: list[dict[str, Any]] = []
    for k in range(inject):
        kind = kinds[k % len(kinds)]
        for step in range(municipalities):
            mi = (k + step) % municipalities
            if (mi, _match_key(kind)) not in used:
                break
        else:
            raise ValueError(f"cannot plant {inject} distinguishable violations in {municipalities} municipalities; "
                             "add municipalities or plant fewer")
        used.add((mi, _match_key(kind)))
        planted.append(_inject(munis[mi], kind, internet, f"V{k + 1:03d}"))

    root = Path(out)
    (root / "municipalities").mkdir(parents=True, exist_ok=True)
    for stale in (root / "municipalities").glob("*.yaml"):
        stale.unlink()
    names = {"alpha": "αモデル", "alpha-prime": "α′モデル", "beta": "βモデル", "beta-prime": "β′モデル"}
    w = Writer()
    w.comment(f"Synthetic prefecture network ({names[model]}): {municipalities} municipalities, "
              f"{devices_per_municipality} devices and {rules_per_firewall} rules per firewall each, seed {seed}.\n"
              "Generated by `segverify generate`; municipalities/ holds one file per municipality.")
    w.mapping({"segverify": 1, "name": f"架空県 自治体ネットワーク ({names[model]}, 合成)",
               "description": "架空県の市町村ネットワークと県の自治体情報セキュリティクラウド (合成データ)",
               "profile": model, "include": ["municipalities"]})
    w.blank()
    w.mapping(main)
    main_path = root / "network.yaml"
    main_path.write_text(w.text(), encoding="utf-8")

    where: dict[str, tuple[str, int]] = {}
    files = {}
    total_rules = 0
    for m in munis:
        mw = Writer()
        town = f"{PLACES[(m.i - 1) % len(PLACES)]}{PLACES[(m.i * 7) % len(PLACES)]}市"
        mw.comment(f"{m.p}: {town} — three segments, boundary firewalls, LGWAN access router, sanitizers.\n"
                   f"Address plan: 10.{m.o_mn}.0.0/16 マイナンバー系, 10.{m.o_lg}.0.0/16 LGWAN系, "
                   f"10.{m.o_inet}.0.0/16 インターネット系, 10.{m.o_link}.0.0/16 接続回線.")
        doc = m.document()
        for section, value in doc.items():
            if value:
                mw.mapping({section: value})
                mw.blank()
        rel = f"municipalities/{m.p}.yaml"
        (root / rel).write_text(mw.text(), encoding="utf-8")
        files[m.p] = rel
        for mark, line in mw.marks.items():
            where[mark] = (rel, line)
        for node in m.nodes.values():
            total_rules += sum(len(a["rules"]) for a in node.get("acls", {}).values())
    for v in planted:
        v["file"] = files[v["municipality"]]
        mark = v.pop("mark", None)
        if mark is not None:
            v["line"] = where[mark][1]
            if "acl" in v:
                muni = next(x for x in munis if x.p == v["municipality"])
                v["acl_line"] = _line_of(muni.nodes[v["node"]]["acls"][v["acl"]]["rules"], mark)
    shadowed = []
    for m in munis:
        for node_name, acl, mark in m.shadowed:
            index = _line_of(m.nodes[node_name]["acls"][acl]["rules"], mark)
            shadowed.append({"rule": "HYG001", "node": node_name, "acl": acl, "line": index, "file": where[mark][0],
                             "file_line": where[mark][1]})
    nodes = len(main["nodes"]) + sum(len(m.nodes) for m in munis)
    total_rules += sum(len(a["rules"]) for a in main["nodes"]["cloud-gw"]["acls"].values())
    manifest = {
        "generator": "segverify generate", "model": model, "seed": seed, "municipalities": municipalities,
        "devices_per_municipality": devices_per_municipality, "rules_per_firewall": rules_per_firewall,
        "inject": inject, "main": "network.yaml", "check_date": CHECK_DATE,
        "totals": {"nodes": nodes, "acl_rules": total_rules,
                   "firewall_rules": sum(len(a["rules"]) for m in munis for f in ("fw-mn", "fw-lg", "fw-inet")
                                         for a in m.nodes[m.n(f)]["acls"].values())},
        "violations": planted,
        "shadowed": shadowed,
    }
    (root / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                                        encoding="utf-8")
    return GeneratedNetwork(root, main_path, manifest)


def found(report: Any, violation: dict[str, Any]) -> bool:
    """Whether ``report`` (a :class:`segverify.findings.Report`) shows the planted ``violation``."""
    match = violation["match"]
    for f in report.active:
        if f.rule != violation["rule"]:
            continue
        subject = dict(f.subject)
        wanted = dict(match.get("subject", {}))
        prefix = wanted.pop("from_zone_prefix", None)
        if any(subject.get(k) != v for k, v in wanted.items()):
            continue
        if prefix is not None and not subject.get("from_zone", "").startswith(prefix):
            continue
        zp = match.get("zone_prefix")
        if zp is not None and not (subject.get("from_zone", "").startswith(zp) or subject.get("to_zone", "").startswith(zp)):
            continue
        return True
    return False


@click.command("generate")
@click.option("--municipalities", "-m", type=click.IntRange(1, MAX_MUNICIPALITIES), default=2, show_default=True,
              help="Municipalities sharing the prefecture security cloud.")
@click.option("--devices", type=click.IntRange(40), default=60, show_default=True, help="Devices per municipality.")
@click.option("--rules", type=click.IntRange(1), default=60, show_default=True, help="ACL lines per boundary firewall.")
@click.option("--model", type=click.Choice(MODELS), default="alpha", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--inject", type=click.IntRange(0), default=0, show_default=True,
              help="Plant this many violations of varied kinds (listed in manifest.json).")
@click.option("--output", "-o", "out", type=click.Path(file_okay=False), required=True, help="Directory to write.")
def generate_command(municipalities: int, devices: int, rules: int, model: str, seed: int, inject: int, out: str) -> None:
    """Write a synthetic prefecture network (and manifest.json of planted violations) to a directory."""
    try:
        net = generate(municipalities, devices, rules, model, seed, inject, out)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    totals = net.manifest["totals"]
    click.echo(f"wrote {net.main} and {plural(municipalities, 'municipality file')}: {totals['nodes']} nodes, "
               f"{totals['acl_rules']} ACL lines, {len(net.violations)} planted violations, "
               f"{len(net.shadowed)} shadowed lines (HYG001); manifest {net.directory / 'manifest.json'}")
