"""The command line a ruff, checkov or Batfish user expects: one vocabulary, messages that help."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import segverify
from segverify.errors import InputError, QueryError

ROOT = Path(__file__).parent.parent
TINY = ROOT / "tests" / "data" / "tiny.yaml"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "segverify", *args], capture_output=True, text=True)


def _tiny(edit: str, replacement: str) -> str:
    text = TINY.read_text(encoding="utf-8")
    assert edit in text
    return text.replace(edit, replacement)


@pytest.mark.parametrize("spelling", [["--from", "pc1", "--to", "srv"], ["--src", "pc1", "--dst", "srv"]])
def test_trace_takes_from_and_to_and_the_old_spelling(spelling: list[str]) -> None:
    result = run("trace", str(TINY), *spelling, "--dport", "80")
    assert result.returncode == 0 and "=> delivered at srv" in result.stdout


def test_trace_refuses_both_spellings_at_once() -> None:
    result = run("trace", str(TINY), "--from", "pc1", "--src", "pc1", "--to", "srv")
    assert result.returncode == 2 and "--src is its old spelling" in result.stderr


def test_trace_packet_never_takes_this_machines_address() -> None:
    packet = 'IP(dst="10.2.0.10")/TCP(dport=80)'
    refused = run("trace", str(TINY), "--packet", packet)
    assert refused.returncode == 2 and "names no source address" in refused.stderr
    taken = run("trace", str(TINY), "--from", "pc1", "--packet", packet)
    assert taken.returncode == 0 and taken.stdout.startswith("tcp 10.1.0.10:") and "sent by pc1" in taken.stdout


def test_draw_takes_from_and_to(tmp_path: Path) -> None:
    out = tmp_path / "m.svg"
    result = run("draw", str(TINY), "-o", str(out), "--from", "pc1", "--to", "srv", "--dport", "80")
    assert result.returncode == 0, result.stderr
    assert "highlighted flow" in out.read_text(encoding="utf-8")
    assert run("draw", str(TINY), "-o", str(out), "--from", "pc1").returncode == 2


def test_whatif_names_links_by_their_ends() -> None:
    topo = segverify.load(TINY)
    result = segverify.whatif(topo, k_failures=1)
    assert "fw:eth2--net:eth0" in [str(r.scenario).removeprefix("down ") for r in result.results]
    for spelling in ("fw:eth2--net:eth0", "net:eth0--fw:eth2", "fw--net", "link-1"):
        only = segverify.whatif(topo, fail=(spelling,))
        assert [str(r.scenario) for r in only.results] == ["down fw:eth2--net:eth0"]


def test_whatif_lists_the_valid_names() -> None:
    result = run("whatif", str(TINY), "--fail", "fw:eth9")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "valid: fw:eth2--net:eth0, inet-lan, lg-lan, fw, net, pc1, srv" in result.stderr
    with pytest.raises(QueryError, match="did you mean lg-lan"):
        segverify.whatif(segverify.load(TINY), fail=("lg-lam",))


def test_undefined_service_is_not_blamed_on_the_protocol() -> None:
    with pytest.raises(InputError) as caught:
        segverify.loads(_tiny("service: web}", "service: http}"), "t.yaml")
    assert "unknown service 'http'" in str(caught.value) and "protocol" not in str(caught.value)
    with pytest.raises(InputError, match="did you mean web"):
        segverify.loads(_tiny("service: web}", "service: wbe}"), "t.yaml")
    with pytest.raises(InputError, match="did you mean tcp"):
        segverify.loads(_tiny("service: web}", "service: tpc/80}"), "t.yaml")


def test_schema_errors_say_what_is_expected_not_a_regex() -> None:
    with pytest.raises(InputError) as caught:
        segverify.loads(_tiny("[fw:eth2, net:eth0]", "[fw-eth2, net:eth0]"), "t.yaml")
    assert "expected NODE:INTERFACE" in str(caught.value) and "^" not in str(caught.value)
