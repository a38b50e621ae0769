"""Inputs that crashed, hung or were accepted as nonsense: each is now exit 2 with file:line, or has
a documented meaning. Every case edits the small tiny.yaml network in one place."""

from __future__ import annotations

import os
import struct
import threading
from pathlib import Path

import pytest

import segverify
from segverify.cli import main
from segverify.errors import InputError

DATA = Path(__file__).parent / "data"
TINY = (DATA / "tiny.yaml").read_text(encoding="utf-8")


def edited(old: str, new: str) -> str:
    assert old in TINY, old
    return TINY.replace(old, new, 1)


def load_error(text: str, name: str = "net.yaml") -> InputError:
    with pytest.raises(InputError) as info:
        segverify.loads(text, name)
    assert info.value.span is not None and info.value.span.file == name and info.value.span.line >= 1
    return info.value


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return int(exc.value.code or 0), out, err


# -- values the reader could not turn into data ------------------------------------------------------

EXPIRING = edited("lans:", "exceptions:\n  - {id: x1, rule: SEG003, owner: o, justification: r, expires: EXPIRY}\nlans:")


@pytest.mark.parametrize("value", ["2027-02-30", "2027-13-01", "2027-01-01 25:00:00", "2027-01-01T10:61:00"])
def test_timestamps_that_are_no_dates(value: str) -> None:
    error = load_error(EXPIRING.replace("EXPIRY", value))
    assert "not a date" in error.message and error.span is not None and error.span.line == 45


@pytest.mark.parametrize("where, old, new", [
    ("port", "service: web}", "proto: tcp, dport: " + "9" * 5000 + "}"),
    ("key", "  web: [tcp/80, tcp/443]", "  web: [tcp/80, tcp/443]\n  " + "1" * 4400 + ": [tcp/1]"),
    ("distance", "{to: default, via: 198.51.100.1}", "{to: default, via: 198.51.100.1, distance: 0x" + "f" * 4000 + "}"),
])
def test_integers_beyond_pythons_digit_limit(where: str, old: str, new: str) -> None:
    load_error(edited(old, new))  # 'not a number', or libyaml's own refusal of a 4,400-character key


@pytest.mark.parametrize("old, new", [
    ("service: web}", "proto: tcp, dport: 80.0}"),
    ("segverify: 1\n", "segverify: 1.0\n"),
    ("{to: default, via: 198.51.100.1}", "{to: default, via: 198.51.100.1, distance: 1.0}"),
    ("service: web}", "proto: 6.0, dport: 80}"),
    ("service: web}", "proto: tcp, dport: .inf}"),
])
def test_decimal_numbers_are_not_whole_numbers(old: str, new: str) -> None:
    error = load_error(edited(old, new))
    assert "not a whole number" in error.message


@pytest.mark.parametrize("old, new", [
    ("service: web}", "proto: tcp, dport: '８０'}"),  # full-width digits
    ("service: web}", "proto: tcp, dport: '٨٠'}"),  # Arabic-Indic digits
    ("  web: [tcp/80, tcp/443]", "  web: [tcp/８０, tcp/443]"),
    ("service: web}", "proto: '²', dport: 80}"),
    ("service: web}", "proto: tcp, dport: '80-９０'}"),
])
def test_non_ascii_digits_are_not_numbers(old: str, new: str) -> None:
    load_error(edited(old, new))


@pytest.mark.parametrize("old, new", [
    ("  pc1:\n", '  "pc1\\n":\n'),
    ("zone: lg, address: 10.1.0.10/24", 'zone: "lg\\n", address: 10.1.0.10/24'),
    ("  lg: {segment: lgwan}", '  "lg\\e[8m": {segment: lgwan}'),
    ("  - [fw:eth2, net:eth0]", '  - ["fw:eth2\\n", net:eth0]'),
    ("  web: [tcp/80, tcp/443]", '  web: ["tcp/80\\n", tcp/443]'),
    ("rule: SEG003", 'rule: "SEG003\\n"'),
])
def test_names_with_newlines_or_control_characters(old: str, new: str) -> None:
    text = edited(old, new) if old != "rule: SEG003" else EXPIRING.replace("EXPIRY", "2030-01-01").replace(old, new)
    error = load_error(text)
    assert error.span is not None and error.span.line == text[: text.index(new)].count("\n") + 1
    assert "is not valid here" in error.message or "unknown service" in error.message


# -- semantic nonsense -------------------------------------------------------------------------------

@pytest.mark.parametrize("old, new, message, line", [
    ("{to: default, via: 198.51.100.1}", "{to: default, via: 198.51.100.2}", "its own address", 24),
    ("gateway: 10.1.0.1}", "gateway: 10.1.0.10}", "its own address", 16),
    ("{to: default, via: 198.51.100.1}", "{to: default, via: 198.51.100.3}", "broadcast address", 24),
    ("{to: default, via: 198.51.100.1}", "{to: default, via: 198.51.100.0}", "network address", 24),
    ("gateway: 10.1.0.1}", "gateway: 10.1.0.255}", "broadcast address", 16),
    ("  - [fw:eth2, net:eth0]", "  - [fw:eth2, fw:eth1]", "two interfaces of the same node", 43),
])
def test_semantic_nonsense_is_an_error(old: str, new: str, message: str, line: int) -> None:
    error = load_error(edited(old, new))
    assert message in error.message and error.span is not None and error.span.line == line


def test_a_lan_joining_only_a_node_to_itself() -> None:
    text = edited("links:\n  - [fw:eth2, net:eth0]\n", "").replace("lg-lan: [pc1:eth0, fw:eth0]",
                                                                   "lg-lan: [fw:eth0, fw:eth2]")
    error = load_error(text)
    assert "fw:eth0 and fw:eth2, two interfaces of the same node" in error.message


def test_a_switched_lan_may_hold_two_legs_of_one_node() -> None:
    text = edited("links:\n  - [fw:eth2, net:eth0]\n", "").replace("lg-lan: [pc1:eth0, fw:eth0]",
                                                                   "lg-lan: [pc1:eth0, fw:eth0, fw:eth2]")
    topo = segverify.loads(text, name="t.yaml")
    lan = next(lan for lan in topo.lans if ("pc1", "eth0") in lan.endpoints)
    assert {("fw", "eth0"), ("fw", "eth2")} <= set(lan.endpoints)


@pytest.mark.parametrize("text", [
    "segverify: 1\nname: x\nprofile: alpha\n",
    "segverify: 1\nname: x\nprofile: alpha\nzones: {}\nnodes: {}\n",
    "segverify: 1\nname: x\nprofile: alpha\nzones: {a: {segment: lgwan}}\n",
])
def test_no_nodes_or_zones_names_the_file(text: str) -> None:
    error = load_error(text, "empty.yaml")
    assert "has no" in error.message


# -- files that are no regular files ------------------------------------------------------------------

def _fifo(tmp_path: Path) -> Path:
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    return fifo


def _not_hanging(target: object, *args: object) -> BaseException | None:
    """Run ``target`` in a thread with a deadline: a hang is a test failure, not a stuck suite."""
    outcome: list[BaseException | None] = []

    def body() -> None:
        try:
            target(*args)  # type: ignore[operator]
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome.append(exc)

    worker = threading.Thread(target=body, daemon=True)
    worker.start()
    worker.join(30)
    if worker.is_alive():
        pytest.fail(f"{target} hangs")
    return outcome[0]


def test_fifo_as_topology_does_not_hang(tmp_path: Path) -> None:
    error = _not_hanging(segverify.load, _fifo(tmp_path))
    assert isinstance(error, InputError) and "FIFO" in str(error)


@pytest.mark.parametrize("special", ["fifo", "/dev/zero", "/dev/null", "/dev/urandom"])
def test_special_files_as_include(tmp_path: Path, special: str) -> None:
    net = tmp_path / "net"
    net.mkdir()
    target = net / "special.yaml"
    if special == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to(special)  # inside the tree by name, a device by nature
    (net / "main.yaml").write_text(TINY + "include: [special.yaml]\n", encoding="utf-8")
    error = _not_hanging(segverify.load, net / "main.yaml")
    assert isinstance(error, InputError), error
    assert "outside" in error.message or "only regular files" in error.message


def test_byte_limit_holds_while_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file that reports one size and holds more (here: a FIFO would; /proc files report 0) is
    cut at the limit while reading."""
    from segverify import inputs

    monkeypatch.setattr(inputs, "CHUNK", 7)
    big = tmp_path / "big.yaml"
    big.write_text("#" * 100, encoding="utf-8")
    with pytest.raises(InputError, match="the limit is 50"):
        inputs.read_regular(big, "big.yaml", 50)
    assert inputs.read_regular(big, "big.yaml", 100) == b"#" * 100


def test_fifo_and_devices_as_capture(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for capture in (str(_fifo(tmp_path)), "/dev/zero"):
        outcome = _not_hanging(main, ["pcap-audit", str(DATA / "tiny.yaml"), capture])
        assert isinstance(outcome, SystemExit) and outcome.code == 2, outcome
        err = capsys.readouterr().err
        assert "only regular files" in err and "Traceback" not in err


def _pcapng_with_block(length: int) -> bytes:
    shb = struct.pack("<IIIHHq", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1) + struct.pack("<I", 28)
    idb = struct.pack("<IIHHI", 1, 20, 1, 0, 65535) + struct.pack("<I", 20)
    return shb + idb + struct.pack("<II", 6, length) + b"\0" * 64


@pytest.mark.parametrize("length", [0xFFFFFFF0, 0x7FFFFFFF, 100_000_000])
def test_pcapng_block_length_of_gigabytes(capsys: pytest.CaptureFixture[str], tmp_path: Path, length: int) -> None:
    import tracemalloc

    capture = tmp_path / "huge-block.pcapng"
    capture.write_bytes(_pcapng_with_block(length))
    tracemalloc.start()
    code, _out, err = run(capsys, "pcap-audit", str(DATA / "tiny.yaml"), str(capture))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert code == 2 and str(capture) in err
    assert peak < 64 * 1024 * 1024  # nothing of the claimed size was allocated


# -- option values ------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["query", "{tiny}", "--from", "lg", "--to", "inet", "--proto", "262"], "unknown protocol"),
    (["query", "{tiny}", "--from", "lg", "--to", "inet", "--proto", "²"], "unknown protocol"),
    (["query", "{tiny}", "--from", "lg", "--to", "inet", "--proto", "６"], "unknown protocol"),
    (["query", "{tiny}", "--from", "lg", "--to", "inet", "--proto", "icmp", "--dport", "80"], "has no ports"),
    (["trace", "{tiny}", "--src", "pc1", "--dst", "srv", "--proto", "262"], "unknown protocol"),
    (["trace", "{tiny}", "--src", "pc1", "--dst", "srv", "--proto", "²"], "unknown protocol"),
    (["trace", "{tiny}", "--src", "pc1", "--packet", "cap.pcap:0"], "numbered from 1"),
    (["trace", "{tiny}", "--src", "pc1", "--packet", "cap.pcap:-1"], "cap.pcap"),
    (["trace", "{tiny}", "--src", "pc1", "--packet", "cap.pcap:99999999999999999999"], "numbered from 1"),
    (["trace", "{tiny}", "--src", "pc1", "--packet", "nosuch.pcap"], "nosuch.pcap"),
    (["trace", "{tiny}", "--src", "pc1", "--packet", ""], "cannot build a packet"),
])
def test_option_values_are_validated(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    code, out, err = run(capsys, *[a.format(tiny=DATA / "tiny.yaml") for a in args])
    assert code == 2 and message in err, err


def test_valid_protocol_numbers_still_work(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run(capsys, "trace", str(DATA / "tiny.yaml"), "--src", "pc1", "--dst", "srv", "--proto", "6",
                          "--dport", "80")
    assert code == 0 and "delivered at srv" in out


# -- found by tests/test_fuzz.py ----------------------------------------------------------------------

@pytest.mark.parametrize("old, new, message", [
    ("segverify: 1\n", "segverify: 1\nk: !!timestamp 2027-02-30 x\n", "tags"),  # AttributeError in PyYAML
    ("segverify: 1\n", "segverify: 1\nk: !!python/object/apply:os.system ['id']\n", "tags"),
    ("zones:\n", "zones: !!set\n", "tags"),
    ("segverify: 1\n", "segverify: 1\ninclude: [" + "x" * 300 + "]\n", "File name too long"),
])
def test_fuzz_findings(old: str, new: str, message: str) -> None:
    assert message in load_error(edited(old, new)).message
