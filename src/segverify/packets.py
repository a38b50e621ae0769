"""Concrete packets from scapy: a scapy expression typed on the command line, or a packet from a capture.

scapy is imported only here, and only when a packet is asked for, so the rest of segverify starts fast.
"""

from __future__ import annotations

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
    return Packet(IPv4Address(ip.src), IPv4Address(ip.dst), int(ip.proto), sport, dport, established)


def parse_packet(text: str) -> Packet:
    """``IP(src=..., dst=...)/TCP(dport=445)``, or ``capture.pcap`` / ``capture.pcap:N`` (N from 1)."""
    import scapy.all as scapy  # noqa: F401 - registers every layer
    from scapy.utils import rdpcap

    path, _, index = text.rpartition(":") if text.rpartition(":")[2].isdigit() else (text, "", "")
    if path.endswith((".pcap", ".pcapng", ".cap")):
        number = int(index or 1)
        try:
            packets = rdpcap(path, count=number)
        except (OSError, Exception) as exc:  # scapy raises bare Scapy_Exception on a bad file
            raise QueryError(f"cannot read packet {number} of {path}: {exc}") from None
        if len(packets) < number:
            raise QueryError(f"{path} has only {len(packets)} packet(s)")
        pkt = packets[number - 1]
    else:
        namespace = {name: getattr(scapy, name) for name in _LAYERS}
        try:
            pkt = eval(text, {"__builtins__": {}}, namespace)  # noqa: S307 - layers only, no builtins
        except Exception as exc:
            raise QueryError(f"cannot build a packet from {text!r}: {exc}") from None
    packet = from_scapy(pkt)
    if packet is None:
        raise QueryError(f"{text!r} is not an IPv4 packet")
    return packet
