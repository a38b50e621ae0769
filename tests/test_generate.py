"""Generated networks: every planted violation is found; with none planted, only the planted HYG001 lines."""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import segverify
from segverify.generate import INJECTIONS, found, generate, generate_command
from segverify.policy.check import verify


def _verify(net):  # type: ignore[no-untyped-def]
    topo = segverify.load(net.main)
    return verify(topo, today=_dt.date.fromisoformat(net.manifest["check_date"]))


def _hygiene(report) -> set[tuple[str, str, int]]:  # type: ignore[no-untyped-def]
    return {(dict(f.subject)["node"], dict(f.subject)["acl"], int(dict(f.subject)["line"]))
            for f in report.active if f.rule == "HYG001"}


@pytest.mark.parametrize("model", ["alpha", "alpha-prime", "beta", "beta-prime"])
def test_clean_network_is_compliant_apart_from_planted_shadowed_lines(tmp_path: Path, model: str) -> None:
    net = generate(2, 50, 40, model, seed=7, inject=0, out=tmp_path / model)
    report = _verify(net)
    assert [f.title for f in report.active if f.rule != "HYG001"] == []
    assert report.compliant
    assert net.shadowed, "the generator plants shadowed lines"
    assert _hygiene(report) == {(s["node"], s["acl"], s["line"]) for s in net.shadowed}


@pytest.mark.parametrize(("model", "seed"), [("alpha", 1), ("beta", 2), ("alpha-prime", 3), ("beta-prime", 4)])
def test_every_planted_violation_is_found(tmp_path: Path, model: str, seed: int) -> None:
    kinds = len([k for k in INJECTIONS if k != "missing-edr" or model.startswith("beta")])
    net = generate(3, 40, 20, model, seed=seed, inject=kinds, out=tmp_path / model)
    assert {v["kind"] for v in net.violations} == {k for k in INJECTIONS if k != "missing-edr" or model.startswith("beta")}
    report = _verify(net)
    missed = [(v["kind"], v["rule"], v["match"]) for v in net.violations if not found(report, v)]
    assert missed == []
    # planted shadowed lines are still reported beside the violations
    assert {(s["node"], s["acl"], s["line"]) for s in net.shadowed} <= _hygiene(report)


def test_located_violations_point_at_their_line(tmp_path: Path) -> None:
    net = generate(3, 40, 20, "alpha", seed=5, inject=9, out=tmp_path / "n")
    for v in net.violations:
        assert (net.directory / v["file"]).exists()
        if "line" in v:
            text = (net.directory / v["file"]).read_text(encoding="utf-8").splitlines()[v["line"] - 1]
            assert "description" in text  # a rule or route line, not a section header


def test_generation_is_deterministic(tmp_path: Path) -> None:
    a = generate(2, 60, 50, "beta", seed=11, inject=4, out=tmp_path / "a")
    b = generate(2, 60, 50, "beta", seed=11, inject=4, out=tmp_path / "b")
    for path in sorted(p.relative_to(a.directory) for p in a.directory.rglob("*") if p.is_file()):
        assert (a.directory / path).read_bytes() == (b.directory / path).read_bytes(), path


def test_too_many_injections_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="distinguishable"):
        generate(1, 40, 20, "alpha", seed=0, inject=20, out=tmp_path / "x")


def test_command_writes_directory_and_manifest(tmp_path: Path) -> None:
    out = tmp_path / "gen"
    result = CliRunner().invoke(generate_command, ["--municipalities", "2", "--devices", "45", "--rules", "30",
                                                   "--model", "alpha-prime", "--seed", "3", "--inject", "2",
                                                   "-o", str(out)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["violations"]) == 2
    assert sorted(p.name for p in (out / "municipalities").iterdir()) == ["m01.yaml", "m02.yaml"]
    # the directory itself loads too (network.yaml includes municipalities/)
    assert segverify.load(out).name == segverify.load(out / "network.yaml").name
