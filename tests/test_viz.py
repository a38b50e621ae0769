"""Pictures and the HTML report: structure, determinism, Japanese glyphs, escaping.

Image checks look at structure (sizes, non-empty, the labels and colours in the SVG), not at
pixels alone: a map is right when every node and every finding's rule id is on it.
"""

from __future__ import annotations

import datetime as _dt
import functools
from html import unescape
import io
import re
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

import click
from click.testing import CliRunner

from conftest import require_environment

import segverify
from segverify.errors import QueryError
from segverify.findings import Report, Severity
from segverify.matrix import Matrix, zone_matrix
from segverify.model import Topology
from segverify.network import Network
from segverify.policy.check import verify
from segverify.reach import Reachability
from segverify.viz import fonts
from segverify.viz.commands import draw, report, write_heatmap
from segverify.viz.heatmap import matrix_figure, plot_matrix
from segverify.viz.heatmap import render as render_heatmap
from segverify.viz.layout import BAND_ORDER, BACKBONE, compute_layout
from segverify.viz.map import HIGHLIGHT, VIOLATION, draw_map, map_figure, overlays, render
from segverify.viz.report import render_report

ROOT = Path(__file__).parent.parent
TOPOLOGIES = ROOT / "topologies"
REFERENCE = sorted(TOPOLOGIES.glob("*.yaml"))
BROKEN = sorted((TOPOLOGIES / "broken").glob("*.yaml"))
TODAY = _dt.date(2026, 11, 26)


@functools.lru_cache(maxsize=None)
def verified(path: str) -> tuple[Topology, Network, Report]:
    topology = segverify.load(path)
    network = Network(topology)
    return topology, network, verify(topology, today=TODAY, network=network)


@functools.lru_cache(maxsize=None)
def matrix_of(path: str) -> Matrix:
    topology, network, report = verified(path)
    return zone_matrix(topology, network, Reachability(network), report)


def svg_text(data: bytes) -> str:
    """Labels of an SVG whose glyphs are outlines: matplotlib keeps each text as a comment."""
    return unescape("\n".join(re.findall(r"<!-- (.*?) -->", data.decode("utf-8"), flags=re.S)))


def svg_size(data: bytes) -> tuple[float, float]:
    root = ET.fromstring(data)
    return float(root.get("width", "0").rstrip("pt")), float(root.get("height", "0").rstrip("pt"))


def grown_alpha(extra_per_lan: int) -> Topology:
    """The α reference network with ``extra_per_lan`` more terminals on each office LAN (3 LANs)."""
    doc = yaml.safe_load((TOPOLOGIES / "alpha.yaml").read_text(encoding="utf-8"))
    for lan, prefix, extra in (("mn-office", "10.10.1", {"mfa": True, "removable_media": "blocked"}),
                               ("lg-office", "10.20.1", {}), ("inet-dmz", "10.30.1", {})):
        for i in range(extra_per_lan):
            name = f"{lan}-t{i + 1:03d}"
            doc["nodes"][name] = {"kind": "terminal", **extra, "interfaces": {
                "eth0": {"zone": lan, "address": f"{prefix}.{101 + i}/24", "gateway": f"{prefix}.1"}}}
            doc["lans"][lan]["endpoints"].append(f"{name}:eth0")
    return segverify.loads(yaml.safe_dump(doc, allow_unicode=True), name="grown.yaml")


# -- fonts -------------------------------------------------------------------------------------------


def test_a_cjk_font_is_found() -> None:
    require_environment("a CJK font", fonts.cjk_font() is not None, "apt-get install fonts-noto-cjk")
    assert fonts.rc_params()["font.family"][-1] == fonts.cjk_font()  # type: ignore[index]


def test_missing_cjk_font_warns_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fonts, "_searched", True)
    monkeypatch.setattr(fonts, "_found", None)
    monkeypatch.setattr(fonts, "_warned", False)
    said: list[str] = []
    assert fonts.check(said.append) is None
    assert fonts.check(said.append) is None
    assert len(said) == 1 and "fonts-noto-cjk" in said[0]
    monkeypatch.setattr(fonts, "_warned", False)
    with pytest.warns(fonts.FontWarning):
        fonts.check()


def test_japanese_glyphs_render_without_missing_glyph_warnings() -> None:
    require_environment("a CJK font", fonts.cjk_font() is not None, "apt-get install fonts-noto-cjk")
    topology, network, report = verified(str(TOPOLOGIES / "alpha.yaml"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from matplotlib import rc_context

        fig = map_figure(topology, network, report)
        with rc_context(fonts.rc_params()):
            fig.savefig(io.BytesIO(), format="png")
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert missing == []


# -- layout ------------------------------------------------------------------------------------------


def test_layout_bands_left_to_right_and_backbone_on_top() -> None:
    topology, network, _ = verified(str(TOPOLOGIES / "alpha.yaml"))
    layout = compute_layout(topology, network.graph)
    assert set(layout.positions) == set(network.graph.nodes)
    xs = [(b.x0 + b.x1) / 2 for key in BAND_ORDER for b in layout.bands if b.key == key]
    assert xs == sorted(xs) and len(xs) == len(BAND_ORDER)
    assert layout.band_of["san-mail"] == "boundary" and layout.band_of["san-file"] == "boundary"
    assert layout.band_of["fw-mn"] == "mynumber" and layout.band_of["rt-lgwan"] == "lgwan"
    assert layout.band_of["cloud-gw"] == "security-cloud" and layout.band_of["internet"] == "external-internet"
    assert layout.band_of["lgwan-backbone"] == BACKBONE and layout.positions["lgwan-backbone"][1] < 0
    # Border devices on the top row, endpoints below them.
    assert layout.positions["fw-mn"][1] == 0 and layout.positions["mn-pc01"][1] > layout.positions["core-mn"][1]
    assert len(set(layout.positions.values())) == len(layout.positions)  # no two nodes on one spot


def test_layout_is_deterministic_and_ignores_declaration_order() -> None:
    topology, network, _ = verified(str(TOPOLOGIES / "beta.yaml"))
    first = compute_layout(topology, network.graph)
    again = compute_layout(topology, Network(topology).graph)
    assert first == again


def test_layout_scales_to_300_nodes() -> None:
    topology = grown_alpha(85)
    network = Network(topology)
    assert 290 <= len(topology.nodes) <= 310
    layout = compute_layout(topology, network.graph)
    assert len(set(layout.positions.values())) == len(layout.positions) == len(topology.nodes)
    assert 1.0 <= layout.width / layout.height <= 3.5  # a picture, not a ribbon


# -- the map -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", REFERENCE + BROKEN, ids=lambda p: p.stem)
def test_map_shows_every_node_and_every_finding(path: Path) -> None:
    topology, network, report = verified(str(path))
    data = render(map_figure(topology, network, report), "svg")
    width, height = svg_size(data)
    assert width > 500 and height > 300
    labels = svg_text(data)
    for name in network.graph.nodes:
        assert name in labels
    layout = compute_layout(topology, network.graph)
    paths, marks = overlays(report, layout.positions)
    drawn = "\n".join([p.label for p in paths] + [m.label for m in marks])
    for f in report.findings:
        if (f.path is not None and len(set(f.path.nodes)) >= 2) or any(k in dict(f.subject) for k in ("node",
                                                                                                          "sanitizer")):
            assert f.rule in drawn and f.rule in labels
    violations = [p for p in paths if p.style == "violation"] + [m for m in marks if m.style == "violation"]
    assert (VIOLATION.encode() in data) == bool(violations), "violations are red on the map, and only they"
    for f in report.active:
        if f.severity is Severity.ERROR and f.path is not None and len(set(f.path.nodes)) >= 2:
            assert any(f.rule in v.label for v in violations)
    if report.compliant:
        assert not violations


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_map_output_is_deterministic(fmt: str, tmp_path: Path) -> None:
    topology, network, report = verified(str(TOPOLOGIES / "broken" / "seg001-mynumber-to-internet-proxy.yaml"))
    one, two = tmp_path / f"one.{fmt}", tmp_path / f"two.{fmt}"
    draw_map(topology, network, report, one)
    draw_map(topology, Network(topology), report, two)
    data = one.read_bytes()
    assert data == two.read_bytes() and len(data) > 10_000
    if fmt == "png":
        assert data.startswith(b"\x89PNG") and b"tIME" not in data and b"Software" not in data
    elif fmt == "svg":
        assert b"<dc:date>" not in data and b"Matplotlib v" not in data
    else:
        assert data.startswith(b"%PDF") and b"CreationDate" not in data and b"Producer" not in data


def test_map_png_size_and_content() -> None:
    from PIL import Image

    topology, network, report = verified(str(TOPOLOGIES / "broken" / "dual-homed-server-lgwan-internet.yaml"))
    fig = map_figure(topology, network, report)
    image = Image.open(io.BytesIO(render(fig, "png"))).convert("RGB")
    w, h = fig.get_size_inches()
    assert abs(image.size[0] - w * 110) <= 1 and abs(image.size[1] - h * 110) <= 1
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50  # not blank
    reds = sum(n for n, (r, g, b) in colours if r > 190 and g < 70 and b < 70)
    assert reds > 500  # the witness paths


def test_map_of_300_nodes_stays_readable(tmp_path: Path) -> None:
    from PIL import Image

    topology = grown_alpha(85)
    network = Network(topology)
    report = verify(topology, today=TODAY, network=network)
    out = tmp_path / "big.png"
    draw_map(topology, network, report, out)
    width, height = Image.open(out).size
    assert width <= 6000 and height <= 3000 and width / height < 3.5


def test_highlight_flow_is_blue_and_labelled() -> None:
    topology, network, report = verified(str(TOPOLOGIES / "alpha.yaml"))
    data = render(map_figure(topology, network, report, highlight="lg-pc01:inet-vb:tcp/443"), "svg")
    assert HIGHLIGHT.encode() in data and "-> 10.30.1.100:443" in svg_text(data)
    blocked = svg_text(render(map_figure(topology, network, report, highlight="mn-pc01:internet"), "svg"))
    assert "✕" in blocked and "at fw-mn" in blocked


def test_highlight_by_rule_and_bad_highlights() -> None:
    topology, network, report = verified(str(TOPOLOGIES / "broken" / "dual-homed-server-lgwan-internet.yaml"))
    assert VIOLATION.encode() in render(map_figure(topology, network, report, highlight="SEG006"), "svg")
    with pytest.raises(QueryError):
        map_figure(topology, network, report, highlight="SEG009")
    with pytest.raises(QueryError):
        map_figure(topology, network, report, highlight="lg-pc01:no-such-node")


# -- the heatmap -------------------------------------------------------------------------------------


def test_heatmap_has_every_zone_and_violation_cells(tmp_path: Path) -> None:
    path = str(TOPOLOGIES / "broken" / "dual-homed-server-lgwan-internet.yaml")
    matrix = matrix_of(path)
    data = render_heatmap(matrix_figure(matrix), "svg")
    labels = svg_text(data)
    for zone in matrix.zones:
        assert zone in labels
    assert "SEG003" in labels and data.decode().count("#d62020") > 1  # cells besides the legend
    for fmt in ("png", "svg", "pdf"):
        one, two = tmp_path / f"a.{fmt}", tmp_path / f"b.{fmt}"
        plot_matrix(matrix, one)
        plot_matrix(matrix, two)
        assert one.read_bytes() == two.read_bytes() and one.stat().st_size > 5_000


def test_heatmap_compliant_has_no_violation_colour() -> None:
    data = render_heatmap(matrix_figure(matrix_of(str(TOPOLOGIES / "alpha.yaml"))), "svg")
    assert data.decode().count("#d62020") == 1 and "exception" in svg_text(data)  # the legend only


# -- the report --------------------------------------------------------------------------------------


def hostile_alpha() -> Topology:
    doc = yaml.safe_load((TOPOLOGIES / "alpha.yaml").read_text(encoding="utf-8"))
    doc["name"] = '<script>alert("name")</script> & 市'
    doc["description"] = "<img src=x onerror=alert(1)>"
    doc["zones"]["mn-office"]["description"] = "</td><b>zone</b>"
    doc["exceptions"][0]["owner"] = '"><script>alert(2)</script>'
    doc["exceptions"][0]["justification"] = "<iframe src=http://example.invalid>"
    return segverify.loads(yaml.safe_dump(doc, allow_unicode=True), name="<evil>.yaml")


def without_map_script(html: str) -> str:
    """The report less its two script elements of our own: the map's JSON data (checked to hold no
    markup character) and the map's script (exactly viz/map_script.py, allowed by its CSP hash)."""
    from segverify.viz.interactive import script_hash
    from segverify.viz.map_script import SCRIPT

    head, rest = html.split('<script type="application/json" id="segmap-data">', 1)
    data, rest = rest.split("</script>", 1)
    assert not any(c in data for c in "<>&\u2028\u2029")
    assert rest.count(f"<script>{SCRIPT}</script>") == 1 and script_hash() in head
    return head + rest.replace(f"<script>{SCRIPT}</script>", "", 1)


def test_report_escapes_every_user_string() -> None:
    topology = hostile_alpha()
    network = Network(topology)
    result = verify(topology, today=TODAY, network=network)
    html = without_map_script(render_report(topology, result, zone_matrix(topology, network, Reachability(network),
                                                                         result), network=network))
    assert "<script" not in html and "<iframe" not in html and "<img src=x" not in html and "<b>zone" not in html
    assert "&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt; &amp; 市" in html
    assert "&lt;evil&gt;.yaml" in html


@pytest.mark.parametrize("path", [TOPOLOGIES / "alpha.yaml",
                                  TOPOLOGIES / "broken" / "dual-homed-server-lgwan-internet.yaml"],
                         ids=lambda p: p.stem)
def test_report_is_self_contained_complete_and_deterministic(path: Path) -> None:
    topology, network, result = verified(str(path))
    matrix = matrix_of(str(path))
    html = render_report(topology, result, matrix, lang="ja", network=network)
    assert html == render_report(topology, result, matrix, lang="ja", network=network)
    # Nothing fetched from anywhere: every picture is a data: URI, no links out, no script but the map's.
    assert re.findall(r'src="(?!data:)', html) == []
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
    assert "<script" not in without_map_script(html) and "url(" not in html
    for ident in ('id="verdict"', 'id="matrix"', 'id="map"', 'id="inventory"', 'id="s_method"', 'id="files"'):
        assert ident in html
    assert segverify.__version__ in html
    for _, digest in result.files:
        assert digest in html
    for f in result.findings:
        assert f'data-rule="{f.rule}"' in html and str(f.location) in html
        if f.path is not None:
            for decision in f.path.permits():
                assert str(decision.span) in html
    verdict = re.search(r'<div id="verdict".*?</div>', html, re.S)
    assert verdict and ("不適合" in verdict.group(0)) == (not result.compliant)
    for e in result.exceptions:
        assert e.id in html
    assert "IPv6" in html and "6(3)" in html


def test_report_in_english() -> None:
    topology, network, result = verified(str(TOPOLOGIES / "alpha.yaml"))
    html = render_report(topology, result, matrix_of(str(TOPOLOGIES / "alpha.yaml")), lang="en", network=network)
    assert '<html lang="en">' in html and "COMPLIANT" in html and "Out of scope" in html
    assert "basic policy 6(3)" in html
    with pytest.raises(ValueError):
        render_report(topology, result, matrix_of(str(TOPOLOGIES / "alpha.yaml")), lang="fr", network=network)


# -- the commands ------------------------------------------------------------------------------------

GROUP = click.Group(commands=[draw, report])


def test_draw_and_report_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    broken = str(TOPOLOGIES / "broken" / "seg005-direct-internet-line.yaml")
    for name in ("map.png", "map.svg", "map.pdf"):
        result = runner.invoke(GROUP, ["draw", broken, "-o", str(tmp_path / name), "--today", "2026-11-26"])
        assert result.exit_code == 0, result.output
        assert (tmp_path / name).stat().st_size > 10_000
    result = runner.invoke(GROUP, ["report", broken, "-o", str(tmp_path / "r.html"), "--lang", "en",
                                   "--today", "2026-11-26"])
    assert result.exit_code == 0, result.output
    assert "SEG005" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_commands_reject_unknown_formats(tmp_path: Path) -> None:
    runner = CliRunner()
    alpha = str(TOPOLOGIES / "alpha.yaml")
    assert runner.invoke(GROUP, ["draw", alpha, "-o", str(tmp_path / "m.gif")]).exit_code == 2
    assert runner.invoke(GROUP, ["report", alpha, "-o", str(tmp_path / "r.pdf")]).exit_code == 2
    assert not list(tmp_path.iterdir())
    with pytest.raises(click.BadParameter):
        write_heatmap(matrix_of(alpha), str(tmp_path / "h.bmp"))
    write_heatmap(matrix_of(alpha), str(tmp_path / "h.png"))
    assert (tmp_path / "h.png").read_bytes().startswith(b"\x89PNG")


def test_help_does_not_import_matplotlib() -> None:
    import subprocess
    import sys

    code = ("import sys; from segverify.viz import commands; import segverify.cli; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
