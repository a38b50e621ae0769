"""Concrete packets from scapy: a scapy expression typed on the command line, or a packet from a capture.

scapy is imported only here, and only when a packet is asked for, so the rest of segverify starts fast.
"""

from __future__ import annotations

import ast
from ipaddress import IPv4Address
from typing import Any

from .errors import QueryError
from .headers import Packet

_LAYERS = ("IP", "TCP", "UDP", "ICMP", "GRE", "Raw", "Ether")


def from_scapy(pkt: Any) -> Packet | None:
    """The header segverify reasons about, or None for a packet that is not IPv4."""
    from scapy.layers.inet import IP, TCP, UDP

    if IP not in pkt:
        return None
    ip = pkt[IP]
    sport = dport = 0
    established = False
    if TCP in pkt:
        tcp = pkt[TCP]
        sport, dport = int(tcp.sport), int(tcp.dport)
        flags = int(tcp.flags)
        established = bool(flags & 0x10) and not flags & 0x02  # ACK without SYN
    elif UDP in pkt:
        sport, dport = int(pkt[UDP].sport), int(pkt[UDP].dport)
    proto = int(ip.proto)
    for name, value, top in (("proto", proto, 255), ("sport", sport, 65535), ("dport", dport, 65535)):
        if not 0 <= value <= top:  # a typed expression can hold any number; a wire header cannot
            raise QueryError(f"{name} {value} is out of range (0-{top})")
    return Packet(IPv4Address(ip.src), IPv4Address(ip.dst), proto, sport, dport, established)


MAX_EXPRESSION = 4096  # characters; a packet is a few layers, not a program


def _literal(node: ast.expr, text: str) -> Any:
    """A keyword argument's value: a string, bytes, number, True/False/None, or a tuple/list of them."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes, int, float, bool, type(None))):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
            and isinstance(node.operand.value, (int, float)) and not isinstance(node.operand.value, bool):
        return -node.operand.value
    if isinstance(node, (ast.Tuple, ast.List)):
        items = [_literal(e, text) for e in node.elts]
        return tuple(items) if isinstance(node, ast.Tuple) else items
    raise QueryError(f"cannot build a packet from {text!r}: only literal values may follow '=' "
                     f"(got {ast.unparse(node)!r})")


def _layer(node: ast.expr, text: str, layers: dict[str, Any], default_src: IPv4Address | None = None) -> Any:
    """One ``Layer(field=literal, ...)`` (or a bare ``Layer``) of the allow-list."""
    call = node if isinstance(node, ast.Call) else None
    name_node = call.func if call is not None else node
    if not isinstance(name_node, ast.Name) or name_node.id not in layers:
        raise QueryError(f"cannot build a packet from {text!r}: layers are {', '.join(_LAYERS)}, "
                         f"joined by '/' (got {ast.unparse(node)!r})")
    fields: dict[str, Any] = {}
    if call is not None:
        if call.args:
            raise QueryError(f"cannot build a packet from {text!r}: write fields as name=value, e.g. "
                             f"{name_node.id}(dst=\"10.0.0.1\")")
        for kw in call.keywords:
            if kw.arg is None:
                raise QueryError(f"cannot build a packet from {text!r}: '**' is not allowed")
            fields[kw.arg] = _literal(kw.value, text)
    for key in ("src", "dst"):  # scapy would resolve a host name through DNS
        if name_node.id == "IP" and key in fields:
            try:
                IPv4Address(fields[key])
            except (ValueError, TypeError):
                raise QueryError(f"cannot build a packet from {text!r}: IP {key} must be an IPv4 address "
                                 f"like \"10.0.0.1\" (got {fields[key]!r})") from None
    if name_node.id == "IP" and "src" not in fields:
        # scapy would fill in this machine's own address, which means nothing in the model.
        if default_src is None:
            raise QueryError(f"{text!r} names no source address: write IP(src=\"...\", ...) or give --from")
        fields["src"] = str(default_src)
    return layers[name_node.id](**fields)


def build_expression(text: str, default_src: IPv4Address | None = None) -> Any:
    """A scapy packet from ``IP(...)/TCP(...)``, parsed by an allow-list over Python's ``ast``:
    layer names, keyword arguments with literal values, and ``/``. Nothing is evaluated."""
    import scapy.all as scapy  # noqa: F401 - registers every layer

    if len(text) > MAX_EXPRESSION:
        raise QueryError(f"a packet expression has at most {MAX_EXPRESSION} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        detail = exc.msg if isinstance(exc, SyntaxError) else str(exc) or type(exc).__name__
        raise QueryError(f"cannot build a packet from {text!r}: {detail}") from None
    layers = {name: getattr(scapy, name) for name in _LAYERS}
    parts: list[ast.expr] = []
    node = tree.body
    while isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        parts.append(node.right)
        node = node.left
    parts.append(node)
    pkt: Any = None
    for part in reversed(parts):
        try:
            layer = _layer(part, text, layers, default_src)
            pkt = layer if pkt is None else pkt / layer
        except QueryError:
            raise
        except Exception as exc:  # scapy: unknown field, value of the wrong type, ...
            raise QueryError(f"cannot build a packet from {text!r}: {exc}") from None
    return pkt


def parse_packet(text: str, default_src: IPv4Address | None = None) -> Packet:
    """``IP(src=..., dst=...)/TCP(dport=445)``, or ``capture.pcap`` / ``capture.pcap:N`` (N from 1).
    An expression without ``IP(src=...)`` takes ``default_src``, or is refused: never this machine's address."""
    path, sep, index = text.rpartition(":")
    if not (sep and index.isascii() and index.isdigit()):
        path, index = text, ""
    if path.endswith((".pcap", ".pcapng", ".cap")):
        if index and (len(index) > 9 or int(index) < 1):
            raise QueryError(f"{text}: packets are numbered from 1 (write {path}:1 for the first)")
        pkt = _packet_of_capture(path, int(index or 1))
    else:
        pkt = build_expression(text, default_src)
    try:
        packet = from_scapy(pkt)
    except Exception as exc:  # a field scapy accepted but cannot turn into a number
        raise QueryError(f"cannot build a packet from {text!r}: {exc}") from None
    if packet is None:
        raise QueryError(f"{text!r} is not an IPv4 packet")
    return packet


def _packet_of_capture(path: str, number: int) -> Any:
    from scapy.utils import PcapReader

    from .errors import InputError
    from .inputs import open_regular

    f = open_regular(path, path, "capture")
    try:
        with f:
            reader = PcapReader(f)  # type: ignore[arg-type]  # scapy reads file objects; its annotation says str
            pkt = None
            for seen, pkt in enumerate(reader, 1):
                if seen == number:
                    return pkt
            raise QueryError(f"{path} has only {0 if pkt is None else seen} packet(s)")
    except (QueryError, InputError):
        raise
    except Exception as exc:  # scapy raises bare Scapy_Exception (and worse) on a bad file
        raise QueryError(f"cannot read packet {number} of {path}: {exc}") from None
