"""Hostile vendor files: truncated, binary junk, huge, deeply nested, cyclic. A clear error or a model,
never a traceback. Deterministic (seeded); SEGVERIFY_FUZZ_ROUNDS raises the number of rounds."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

import segverify
from test_import_ios import OVERLAY, R1, R2

ROUNDS = int(os.environ.get("SEGVERIFY_FUZZ_ROUNDS", "60"))

IPTABLES = """*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:CHK - [0:0]
-A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT
-A INPUT -i eth0 -p tcp -m tcp --dport 22 -j CHK
-A CHK -s 10.0.0.0/8 -j ACCEPT
-A CHK -j RETURN
-A INPUT ! -s 192.168.0.0/16 -p udp --dport 53 -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o eth0 -j MASQUERADE
COMMIT
"""
HOST = '{"hostname": "h1", "iptablesFile": "iptables/h1.iptables", "hostInterfaces": {"eth0": ' \
       '{"name": "eth0", "prefix": "10.1.0.50/24", "gateway": "10.1.0.1"}}}'


def _snapshot(root: Path, r1: bytes, iptables: bytes = IPTABLES.encode(), host: bytes = HOST.encode()) -> Path:
    for d in ("configs", "hosts", "iptables"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "configs" / "r1.cfg").write_bytes(r1)
    (root / "configs" / "r2.cfg").write_text(R2)
    (root / "hosts" / "h1.json").write_bytes(host)
    (root / "iptables" / "h1.iptables").write_bytes(iptables)
    (root / "segverify.yaml").write_text(OVERLAY)
    return root


def _load_or_error(root: Path) -> None:
    try:
        segverify.load(root)
    except segverify.InputError as exc:
        assert str(exc) and "Traceback" not in str(exc)


def _mutate(rng: random.Random, data: bytes) -> bytes:
    choice = rng.randrange(5)
    if choice == 0:
        return data[: rng.randrange(len(data) + 1)]  # truncated
    if choice == 1:
        at = rng.randrange(len(data) + 1)
        return data[:at] + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40))) + data[at:]
    if choice == 2:
        lines = data.split(b"\n")
        rng.shuffle(lines)
        return b"\n".join(lines)
    if choice == 3:
        lines = data.split(b"\n")
        i = rng.randrange(len(lines))
        words = lines[i].split()
        if words:
            words[rng.randrange(len(words))] = rng.choice([b"999.1.1.1", b"-1", b"", b"any", b"host", b"eq",
                                                           b"object-group", b"\xff\xfe", b"255.255.255.255"])
        lines[i] = b" ".join(words)
        return b"\n".join(lines)
    lines = data.split(b"\n")
    i = rng.randrange(len(lines))
    return b"\n".join(lines[:i] + lines[i + 1:])  # a line deleted


def test_the_clean_snapshot_loads(tmp_path: Path) -> None:
    topo = segverify.load(_snapshot(tmp_path / "s", R1.encode()))
    assert "h1" in topo.nodes and topo.nodes["h1"].policy is not None


@pytest.mark.parametrize("seed", range(3))
def test_mutated_files_give_a_model_or_one_error(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    for n in range(ROUNDS):
        root = tmp_path / f"r{n}"
        which = rng.randrange(3)
        r1, ipt, host = R1.encode(), IPTABLES.encode(), HOST.encode()
        if which == 0:
            r1 = _mutate(rng, r1)
        elif which == 1:
            ipt = _mutate(rng, ipt)
        else:
            host = _mutate(rng, host)
        _load_or_error(_snapshot(root, r1, ipt, host))


def test_binary_junk_is_refused(tmp_path: Path) -> None:
    rng = random.Random(7)
    junk = bytes(rng.randrange(256) for _ in range(4096))
    with pytest.raises(segverify.InputError) as info:
        segverify.load(_snapshot(tmp_path / "s", b"hostname r1\ninterface e0\n" + junk))
    assert "binary" in str(info.value) or "cannot read" in str(info.value) or "not" in str(info.value)


def test_deep_object_group_nesting_is_an_error(tmp_path: Path) -> None:
    groups = "".join(f"object-group network G{i}\n group-object G{i + 1}\n" for i in range(200))
    groups += "object-group network G200\n host 10.9.9.9\n"
    config = R1 + groups + "ip access-list extended DEEP\n permit ip object-group G0 any\n"
    with pytest.raises(segverify.InputError) as info:
        segverify.load(_snapshot(tmp_path / "s", config.encode()))
    assert "nested deeper" in str(info.value)


def test_chain_loops_are_an_error(tmp_path: Path) -> None:
    ipt = IPTABLES.replace("-A CHK -j RETURN", "-A CHK -j CHK2").replace(":CHK - [0:0]",
                                                                          ":CHK - [0:0]\n:CHK2 - [0:0]\n-A CHK2 -j CHK")
    with pytest.raises(segverify.InputError) as info:
        segverify.load(_snapshot(tmp_path / "s", R1.encode(), ipt.encode()))
    assert "loop" in str(info.value)


def test_a_huge_configuration_loads(tmp_path: Path) -> None:
    lines = "".join(f"access-list 150 permit tcp 10.{i // 250}.{i % 250}.0 0.0.0.255 any eq {1 + i % 60000}\n"
                    for i in range(20000))
    topo = segverify.load(_snapshot(tmp_path / "s", (R1 + lines).encode()))
    assert len(topo.nodes["r1"].acls["150"].rules) == 20000


def test_mutated_nft_json_gives_a_model_or_one_error(tmp_path: Path) -> None:
    """Valid JSON with hostile values in random places (sets that are numbers, ranges backwards,
    unknown set references, prefixes of 40 bits...), and plain mutated bytes."""
    import json

    sample = (Path(__file__).parent / "data" / "import" / "nft-ruleset.json").read_text()
    rng = random.Random(11)
    hostile = ["@nope", {"set": 5}, [[[]]], -1, None, "x*", {"range": [9, 1]}, {"prefix": 3}, {"payload": None},
               70000, "10.0.0.0/40", {"range": ["a", 1]}]

    def mutate(value: object) -> None:
        items = list(value.items()) if isinstance(value, dict) else list(enumerate(value)) \
            if isinstance(value, list) else []
        for key, item in items:
            if rng.random() < 0.08:
                value[key] = rng.choice(hostile)  # type: ignore[index]
            else:
                mutate(item)

    for n in range(ROUNDS):
        root = tmp_path / f"n{n}" / "snap"
        host = root / "hosts" / "fw"
        host.mkdir(parents=True)
        addr = [{"ifname": "eth0", "flags": ["UP"], "addr_info": [{"family": "inet", "local": "10.1.0.1",
                                                                    "prefixlen": 24}]}]
        (host / "addr.json").write_text(json.dumps(addr))
        (host / "ip_forward").write_text("1\n")
        if n % 3:
            data = json.loads(sample)
            mutate(data)
            (host / "nft.json").write_text(json.dumps(data))
        else:
            (host / "nft.json").write_bytes(_mutate(rng, sample.encode()))
        (root / "segverify.yaml").write_text(OVERLAY)
        _load_or_error(root)
