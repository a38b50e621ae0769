"""The IOS-like dialects read by the IOS parser: Allied Telesis AlliedWare Plus and NEC IX.

The two configurations below are written for these tests (no vendor text copied) from the syntax
the vendors' public material describes: for AlliedWare Plus, Allied Telesis' command references
and How To notes (``interface vlanN`` / ``ip address A/LEN``, ``switchport access vlan``, hardware
ACLs ``access-list 3000-3699 permit ip A/LEN B`` attached to a port with ``access-group``, ``ip
route P/LEN NH``); for NEC IX, published IX configuration examples (``ip route default NH``, ``ip
route P/LEN IFACE``, ``interface GigaEthernetN.M`` with ``ip address A/LEN`` and ``no shutdown``,
``ip access-list NAME permit ip src A dest B`` applied by ``ip filter``). What is shared with IOS is
imported; what is not is reported as not verified with its line, never dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from segverify.errors import InputError
from segverify.importers import NoteKind, load_snapshot
from test_import_ios import line_of, snapshot

OVERLAY = """\
segverify: 1
name: dialects
profile: alpha
zones:
  inside: {segment: lgwan, subnets: [10.1.0.0/16, 10.3.0.0/16]}
  outside: {segment: lgwan}
default_zone: outside
"""

AWPLUS = """\
hostname awp1
!
vlan database
 vlan 10,20 state enable
!
interface port1.0.1
 switchport
 switchport mode access
 switchport access vlan 10
 access-group 3000
!
interface vlan10
 ip address 10.1.0.1/24
!
interface vlan20
 ip address 10.2.0.1/24
 ip address 10.2.9.1/24 secondary
!
access-list 3000 permit ip 10.1.0.0/24 10.2.0.0/24
access-list 3000 deny ip any any
!
ip route 0.0.0.0/0 10.2.0.254
ip route 10.8.0.0/16 10.2.0.253
!
end
"""

NEC_IX = """\
hostname ix1
!
ip route default 10.4.0.254
ip route 10.9.0.0/16 GigaEthernet1.0
!
ip access-list lan-in permit ip src 10.3.0.0/24 dest any
ip access-list lan-in deny ip src any dest any
!
interface GigaEthernet0.0
  ip address 10.3.0.1/24
  ip filter lan-in 1 in
  no shutdown
!
interface GigaEthernet1.0
  ip address 10.4.0.1/24
  no shutdown
"""


def _not_verified(imported: Any, config: str) -> dict[int, str]:
    return {n.span.line: n.message for n in imported.notes.items
            if n.kind is NoteKind.NOT_VERIFIED and n.span.file.endswith(config)}


def test_alliedware_plus(tmp_path: Path) -> None:
    imported = load_snapshot(snapshot(tmp_path, {"awp1": AWPLUS}, overlay=OVERLAY))
    node = imported.doc.data["nodes"]["awp1"]
    # shared with IOS: SVIs, addresses in A/LEN form (secondary too), static routes in P/LEN form
    assert node["interfaces"]["vlan10"] == {"address": "10.1.0.1/24", "zone": "inside"}
    assert node["interfaces"]["vlan20"]["address"] == "10.2.0.1/24"
    assert node["interfaces"]["vlan20"]["secondary"] == ["10.2.9.1/24"]
    assert node["routes"] == [{"to": "0.0.0.0/0", "via": "10.2.0.254"}, {"to": "10.8.0.0/16", "via": "10.2.0.253"}]
    # not shared: the hardware ACL and its attachment to a port are listed as not verified (the model
    # lets their traffic through, which can only show more paths, never hide one)
    notes = _not_verified(imported, "awp1.cfg")
    assert set(notes) == {line_of(AWPLUS, "access-group 3000"), line_of(AWPLUS, "access-list 3000 permit"),
                          line_of(AWPLUS, "access-list 3000 deny")}
    assert "AlliedWare Plus hardware ACLs" in notes[line_of(AWPLUS, "access-list 3000 permit")]
    assert "acls" not in node
    assert not [n for n in imported.notes.items if n.kind is NoteKind.OVER_APPROXIMATED]


def test_nec_ix(tmp_path: Path) -> None:
    imported = load_snapshot(snapshot(tmp_path, {"ix1": NEC_IX}, overlay=OVERLAY))
    node = imported.doc.data["nodes"]["ix1"]
    assert node["interfaces"] == {"GigaEthernet0.0": {"address": "10.3.0.1/24", "zone": "inside"},
                                  "GigaEthernet1.0": {"address": "10.4.0.1/24", "zone": "outside"}}
    assert node["routes"] == [{"to": "0.0.0.0/0", "via": "10.4.0.254"}]  # ip route default NH
    notes = _not_verified(imported, "ix1.cfg")
    # the interface route has no neighbour to send to in this snapshot; IX access lists and
    # ip filter are not the IOS syntax: each is listed, none dropped
    assert set(notes) == {line_of(NEC_IX, "ip route 10.9.0.0/16"), line_of(NEC_IX, "lan-in permit"),
                          line_of(NEC_IX, "lan-in deny"), line_of(NEC_IX, "ip filter")}
    assert "NEC IX form" in notes[line_of(NEC_IX, "lan-in permit")]
    assert "acls" not in node


def test_cidr_forms_refuse_junk(tmp_path: Path) -> None:
    for i, (bad, needle) in enumerate((("ip address 10.1.0.1/33", "ip address 10.1.0.1/24"),
                        ("ip route 0.0.0.0/x 10.2.0.254", "ip route 0.0.0.0/0 10.2.0.254"),
                        ("ip route default", "ip route 0.0.0.0/0 10.2.0.254"))):
        config = AWPLUS.replace(needle, bad, 1)
        with pytest.raises(InputError) as caught:
            load_snapshot(snapshot(tmp_path / str(i), {"awp1": config}, overlay=OVERLAY))
        assert caught.value.span is not None and caught.value.span.line == line_of(config, bad)
