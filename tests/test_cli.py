"""The command line end to end: exit codes, formats, determinism."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

import segverify
from segverify.cli import cli
from segverify.testing import assert_compliant, assert_isolated, assert_reachable

ROOT = Path(__file__).parent.parent
TINY = str(ROOT / "tests" / "data" / "tiny.yaml")
ALPHA = str(ROOT / "topologies" / "alpha.yaml")
TODAY = ["--today", "2026-11-26"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "segverify", *args], capture_output=True, text=True)


def test_check_compliant_exits_0() -> None:
    result = run("check", ALPHA, *TODAY)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "COMPLIANT" in result.stdout


def test_check_findings_exit_1_and_name_rule_locations() -> None:
    result = run("check", TINY, *TODAY)
    assert result.returncode == 1
    assert "SEG003" in result.stdout and f"{TINY}:29:13" in result.stdout


def test_check_json_carries_witness_path_and_rule_locations() -> None:
    result = run("check", TINY, "--format", "json", *TODAY)
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["compliant"] is False
    seg003 = [f for f in data["findings"] if f["rule"] == "SEG003"]
    first = next(f for f in seg003 if f["subject"]["from_zone"] == "lg")
    assert first["witness"] == {"src": "10.1.0.10", "dst": "10.2.0.10", "proto": "tcp", "sport": 49152,
                                "dport": 443, "established": False}
    assert [hop["node"] for hop in first["path"]] == ["pc1", "fw", "srv"]
    assert first["rule_locations"] == [f"{TINY}:29:13"]
    # The permit names the whole LAN: its unlisted addresses get through too.
    assert first["headers"] == ["tcp/80,443 from 10.1.0.0/24 to 10.2.0.10"]


def test_same_input_same_bytes(tmp_path: Path) -> None:
    first = run("check", TINY, "--format", "json", *TODAY).stdout
    second = run("check", TINY, "--format", "json", *TODAY).stdout
    assert first == second
    text = run("check", TINY, *TODAY).stdout
    assert text == run("check", TINY, *TODAY).stdout


def test_results_do_not_depend_on_file_order(tmp_path: Path) -> None:
    data = yaml.safe_load(Path(TINY).read_text(encoding="utf-8"))
    data["nodes"] = dict(reversed(list(data["nodes"].items())))
    data["lans"] = dict(reversed(list(data["lans"].items())))
    shuffled = tmp_path / "tiny.yaml"
    shuffled.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    a = segverify.verify(segverify.load(TINY))
    b = segverify.verify(segverify.load(shuffled))
    # Reports list findings in file order, so compare them by content.
    assert sorted((f.rule, f.title, f.headers, f.witness) for f in a.findings) == \
           sorted((f.rule, f.title, f.headers, f.witness) for f in b.findings)


def test_usage_errors_exit_2() -> None:
    assert run("check").returncode == 2
    assert run("check", TINY, "--profile", "gamma").returncode == 2
    result = run("query", TINY, "--from", "nowhere", "--to", "lg")
    assert result.returncode == 2 and "nowhere" in result.stderr and "Traceback" not in result.stderr


def test_schema_is_valid_and_accepts_the_reference_networks() -> None:
    result = run("schema")
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    for path in sorted((ROOT / "topologies").rglob("*.yaml")):
        # Editors read YAML 1.2, where an unquoted date is a string; PyYAML makes it a date.
        data = json.loads(json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")), default=str))
        jsonschema.validate(data, schema, format_checker=jsonschema.FormatChecker())


def test_query_shows_flows_example_and_path() -> None:
    result = CliRunner().invoke(cli, ["query", TINY, "--from", "lg", "--to", "inet"])
    assert result.exit_code == 0, result.output
    assert "pc1 -> srv" in result.output and "tcp/80,443" in result.output
    assert "acl_in permit by lg-in line 1" in result.output
    result = CliRunner().invoke(cli, ["query", TINY, "--from", "lg", "--to", "inet", "--proto", "udp"])
    assert "nothing gets from lg to inet" in result.output


def test_matrix_marks_violations() -> None:
    result = CliRunner().invoke(cli, ["matrix", TINY, "--format", "json"])
    cells = {(c["from"], c["to"]): c for c in json.loads(result.output)["cells"]}
    assert cells[("lg", "inet")]["crossing"] == "violation"
    assert cells[("lg", "inet")]["services"] == ["tcp/80,443"]
    # The unlisted addresses of the Internet LAN reach srv inside their own zone: allowed.
    assert cells[("inet", "inet")]["crossing"] == "allowed"


def test_trace_follows_one_packet() -> None:
    result = CliRunner().invoke(cli, ["trace", TINY, "--src", "pc1", "--dst", "srv", "--dport", "22"])
    assert result.exit_code == 1
    assert "deny by lg-in line 2" in result.output and "denied in at fw" in result.output


def test_testing_helpers() -> None:
    tiny = segverify.load(TINY)
    with pytest.raises(AssertionError, match="lgwan and internet are not isolated"):
        assert_isolated(tiny, "lgwan", "internet")
    assert_isolated(tiny, "lgwan", "segment:internet", proto="udp", both_ways=False)
    assert_reachable(tiny, "pc1", "srv", proto="tcp", dport=443)
    with pytest.raises(AssertionError, match="nothing gets from pc1 to srv"):
        assert_reachable(tiny, "pc1", "srv", proto="tcp", dport=22)
    assert_compliant(segverify.load(ALPHA))
    with pytest.raises(AssertionError, match="not compliant"):
        assert_compliant(tiny)


def test_public_api_survives_submodule_imports() -> None:
    import segverify.changes  # noqa: F401 - importing a submodule must not shadow the API functions
    import segverify.failures  # noqa: F401
    import segverify.reader  # noqa: F401

    assert all(callable(getattr(segverify, name)) for name in ("load", "loads", "verify", "diff", "whatif"))
    topo = segverify.load(TINY)
    assert segverify.diff(topo, topo).exit_code() == 0
    assert segverify.whatif(topo, fail=("fw",)).exit_code == 0
