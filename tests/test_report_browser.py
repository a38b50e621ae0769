"""The HTML report in a real headless Chromium: it loads without console errors, its pictures
decode, the verdict, matrix, map and findings are there, and a screenshot is kept as an artifact
(``test-artifacts/``).

Without a Chromium the test skips, except under CI (``CI=true``), where a missing browser fails
(``require_environment`` in conftest.py decides).
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import require_environment

import segverify
from segverify.matrix import zone_matrix
from segverify.network import Network
from segverify.policy.check import verify
from segverify.reach import Reachability
from segverify.viz.report import render_report

ROOT = Path(__file__).parent.parent
ARTIFACTS = ROOT / "test-artifacts"
TODAY = _dt.date(2026, 11, 26)
CASES = {
    "alpha-ja": (ROOT / "topologies" / "alpha.yaml", "ja"),
    "dual-homed-ja": (ROOT / "topologies" / "broken" / "dual-homed-server-lgwan-internet.yaml", "ja"),
    "seg005-en": (ROOT / "topologies" / "broken" / "seg005-direct-internet-line.yaml", "en"),
}
# Console messages from the page, as Chromium logs them with --enable-logging=stderr.
CONSOLE = re.compile(r":CONSOLE[:(]\d+\)?\] (.*)")


@pytest.fixture(scope="module")
def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    require_environment("Chromium", False, "apt-get install chromium")
    raise AssertionError("unreachable: require_environment skips or fails")


def run_chromium(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
               f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def console_messages(stderr: str) -> list[str]:
    return [m.group(1) for m in CONSOLE.finditer(stderr)]


def write_report(path: Path, lang: str, out: Path) -> str:
    topology = segverify.load(path)
    network = Network(topology)
    report = verify(topology, today=TODAY, network=network)
    html = render_report(topology, report, zone_matrix(topology, network, Reachability(network), report),
                         lang=lang, network=network)
    out.write_text(html, encoding="utf-8")
    return html


def test_console_check_sees_errors(chromium: str, tmp_path: Path) -> None:
    """The harness itself: a page that logs an error must be caught, or the real test proves nothing."""
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><script>console.error('deliberate'); missing();</script>", encoding="utf-8")
    result = run_chromium(chromium, tmp_path / "profile", "--dump-dom", page.as_uri())
    messages = console_messages(result.stderr)
    assert any("deliberate" in m for m in messages) and any("missing" in m for m in messages), result.stderr


@pytest.mark.parametrize("case", sorted(CASES))
def test_report_in_headless_chromium(chromium: str, case: str, tmp_path: Path) -> None:
    path, lang = CASES[case]
    page = tmp_path / "report.html"
    html = write_report(path, lang, page)

    # 1. The page as the browser builds it, and every console message it produced.
    result = run_chromium(chromium, tmp_path / "p1", "--dump-dom", "--virtual-time-budget=5000", page.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    assert console_messages(result.stderr) == [], result.stderr[-4000:]
    dom = result.stdout
    assert 'id="verdict"' in dom and 'id="matrix"' in dom and 'id="map"' in dom
    verdict = re.search(r'<div id="verdict".*?</div>', dom, re.S)
    assert verdict, dom[:2000]
    assert ("不適合" in verdict.group(0) or "NOT COMPLIANT" in verdict.group(0)) == ('data-compliant="false"' in html)
    if 'data-compliant="false"' in html:
        assert re.search(r'<article class="finding[^"]*" id="finding-1"', dom)
    assert dom.count("<img ") == 2

    # 2. The pictures decode: a harness page (ours, not the report) loads the report in a frame
    #    and writes what it finds into its own DOM.
    harness = tmp_path / "harness.html"
    harness.write_text("""<!DOCTYPE html><html><body><div id="result">pending</div>
<iframe id="f" src="report.html" style="width:1280px;height:2000px"></iframe>
<script>
document.getElementById('f').addEventListener('load', function () {
  var doc = this.contentDocument, out = [];
  doc.querySelectorAll('img').forEach(function (img) {
    out.push(img.id + '=' + (img.complete && img.naturalWidth > 0 ? img.naturalWidth + 'x' + img.naturalHeight : 'broken'));
  });
  out.push('verdict=' + doc.getElementById('verdict').textContent.trim().split(/\\s+/)[0]);
  document.getElementById('result').textContent = out.join(' ');
});
</script></body></html>""", encoding="utf-8")
    result = run_chromium(chromium, tmp_path / "p2", "--allow-file-access-from-files", "--dump-dom",
                          "--virtual-time-budget=5000", harness.as_uri())
    found = re.search(r'<div id="result">(.*?)</div>', result.stdout)
    assert found, result.stdout[-2000:] + result.stderr[-2000:]
    text = found.group(1)
    assert "broken" not in text and "pending" not in text, text
    sizes = dict(item.split("=", 1) for item in text.split())
    for ident in ("matrix", "map"):
        width, height = (int(v) for v in sizes[ident].split("x"))
        assert width > 300 and height > 200

    # 3. A screenshot for people to look at (kept as a CI artifact).
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"report-{case}.png"
    result = run_chromium(chromium, tmp_path / "p3", "--window-size=1280,2400", "--hide-scrollbars",
                          f"--screenshot={shot}", page.as_uri())
    assert shot.exists() and shot.stat().st_size > 20_000, result.stderr[-2000:]
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size == (1280, 2400)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
        assert colours is not None and len(colours) > 100  # rendered, not a blank page
    (ARTIFACTS / f"report-{case}.html").write_text(html, encoding="utf-8")


# -- the interactive map, driven through the DevTools protocol ----------------------------------------

HOSTILE_NAME = "</script><script>window.pwned=1</script>\u2028<!-- & \"quotes\" <b>bold</b>"


def write_map(path: Path, out: Path, lang: str = "en", name: str | None = None) -> tuple[dict, str]:
    """map.html for ``path`` (with its topology name replaced by ``name``), and the report as JSON."""
    from click.testing import CliRunner

    from segverify.cli import cli

    if name is not None:
        text = path.read_text(encoding="utf-8").splitlines()
        renamed = out.with_suffix(".yaml")
        renamed.write_text("\n".join("name: " + json.dumps(name) if l.startswith("name:") else l for l in text)
                           + "\n", encoding="utf-8")
        path = renamed
    runner = CliRunner()
    result = runner.invoke(cli, ["draw", str(path), "-o", str(out), "--lang", lang, "--today", TODAY.isoformat()])
    assert result.exit_code == 0, result.output
    checked = runner.invoke(cli, ["check", str(path), "--format", "json", "--today", TODAY.isoformat()])
    return json.loads(checked.output), str(path)


def test_interactive_map_in_chromium(chromium: str, tmp_path: Path) -> None:
    import cdp

    page = tmp_path / "map.html"
    checked, source = write_map(ROOT / "topologies" / "broken" / "dual-homed-server-lgwan-internet.yaml", page)
    topology = segverify.load(source)
    with cdp.Browser(chromium) as browser:
        browser.open(page.as_uri())
        assert browser.evaluate("document.getElementById('segmap').getAttribute('data-ready')") == "true"
        assert browser.evaluate("segmap.nodeCount()") == len(topology.nodes)
        assert browser.evaluate("segmap.visibleCount()") == len(topology.nodes)

        # Click (a real mouse click) the first finding whose path passes an ACL permit: its hops are
        # highlighted, with the permits' file:line.
        finding = next(f for f in checked["findings"] if f.get("path") and f.get("rule_locations"))
        where = browser.evaluate(
            "(function () { var li = Array.prototype.find.call(document.querySelectorAll('.flist li'), "
            f"function (e) {{ return e.textContent.indexOf({json.dumps(finding['title'])}) >= 0; }});"
            " li.scrollIntoView(); var r = li.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        browser.click(*where)
        expected = {hop["node"] for hop in finding["path"]}
        assert set(browser.evaluate("segmap.highlighted()")) == expected
        assert len(browser.evaluate("segmap.pathPoints()").split()) >= 2
        hops = browser.evaluate("Array.prototype.map.call(document.querySelectorAll('.hops > li'), "
                                "function (e) { return e.textContent; })")
        assert [h.split()[0] for h in hops] == [hop["node"] for hop in finding["path"]]
        assert any(loc in " ".join(hops) for loc in finding["rule_locations"])  # file:line of the permits
        ARTIFACTS.mkdir(exist_ok=True)
        browser.screenshot(str(ARTIFACTS / "map-finding.png"))

        # Hover a device: its interfaces and ACLs.
        browser.evaluate("segmap.find('fw-lg')")
        x, y = browser.evaluate("(function () { var r = document.querySelector('.node[data-name=\"fw-lg\"]')"
                                ".getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        browser.hover(x, y)
        tip = browser.evaluate("document.querySelector('#segmap .tip').textContent")
        node = topology.nodes["fw-lg"]
        assert tip.startswith("fw-lg") and all(i.name in tip for i in node.interfaces)
        assert all(acl in tip for acl in node.acls)

        # Search, collapse and expand.
        assert browser.evaluate("segmap.find('no-such-device')") is False
        browser.evaluate("segmap.setMode('zone')")
        zones = browser.evaluate("segmap.groups()")
        browser.evaluate("document.querySelectorAll('.segmap .bar button')[0].click()")  # collapse all
        assert browser.evaluate("segmap.visibleCount()") == 0 and len(zones) > 1
        browser.evaluate("document.querySelectorAll('.segmap .bar button')[1].click()")  # expand all
        assert browser.evaluate("segmap.visibleCount()") == len(topology.nodes)
        assert browser.errors == []


def test_interactive_map_escapes_topology_strings(chromium: str, tmp_path: Path) -> None:
    import cdp

    page = tmp_path / "map.html"
    write_map(ROOT / "topologies" / "alpha.yaml", page, lang="ja", name=HOSTILE_NAME)
    html = page.read_text(encoding="utf-8")
    assert "</script><script>window.pwned" not in html
    data = html.split('<script type="application/json" id="segmap-data">', 1)[1].split("</script>", 1)[0]
    assert not any(c in data for c in "<>&\u2028\u2029")  # the JSON cannot end its element or start markup
    with cdp.Browser(chromium) as browser:
        browser.open(page.as_uri())
        assert browser.evaluate("typeof window.pwned") == "undefined"
        assert browser.evaluate("document.title").startswith("</script><script>window.pwned=1</script>")
        assert browser.evaluate("JSON.parse(document.getElementById('segmap-data').textContent).title") == HOSTILE_NAME
        assert browser.evaluate("document.querySelectorAll('#segmap b').length") == 0
        assert browser.errors == []


def test_report_embeds_the_interactive_map(chromium: str, tmp_path: Path) -> None:
    import cdp

    page = tmp_path / "report.html"
    write_report(ROOT / "topologies" / "broken" / "dual-homed-server-lgwan-internet.yaml", "ja", page)
    with cdp.Browser(chromium) as browser:
        browser.open(page.as_uri())
        assert browser.evaluate("segmap.nodeCount()") == len(segverify.load(
            ROOT / "topologies" / "broken" / "dual-homed-server-lgwan-internet.yaml").nodes)
        assert browser.evaluate("segmap.select('1')") is True and browser.evaluate("segmap.highlighted()")
        assert browser.errors == []


OVERLAPS = """(function (group) {
  segmap.zoomToGroup(group);  // near enough that names show
  var box = function (e, name) {  // in the coordinates of the layers (a shape is translated, a name is not)
    var b = e.getBBox(), t = e.transform.baseVal.consolidate(), dx = t ? t.matrix.e : 0, dy = t ? t.matrix.f : 0;
    return {x: b.x + dx, y: b.y + dy, w: b.width, h: b.height, name: name};
  };
  var labels = [].slice.call(document.querySelectorAll('#segmap .label')).map(function (e) { return box(e, e.textContent); });
  var nodes = [].slice.call(document.querySelectorAll('#segmap .node')).map(function (e) {
    return box(e, e.getAttribute('data-name')); });
  var hit = function (a, b) { return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h; };
  var bad = [];
  labels.forEach(function (a, i) {
    if (!a.w) return;
    labels.slice(i + 1).forEach(function (b) { if (b.w && hit(a, b)) bad.push(a.name + ' / ' + b.name); });
    nodes.forEach(function (n) { if (n.name !== a.name && hit(a, n)) bad.push(a.name + ' on ' + n.name); });
  });
  return {shown: labels.filter(function (a) { return a.w > 0; }).length, bad: bad};
})"""


def test_names_on_the_interactive_map_never_overlap(chromium: str, tmp_path: Path) -> None:
    """A generated two-municipality network (rows of 60-odd devices with long names): no device's
    name overlaps another's name or another device."""
    from click.testing import CliRunner

    from segverify.cli import cli

    runner = CliRunner()
    made = runner.invoke(cli, ["generate", "--municipalities", "2", "-o", str(tmp_path / "pref")])
    assert made.exit_code == 0, made.output
    out = tmp_path / "map.html"
    drawn = runner.invoke(cli, ["draw", str(tmp_path / "pref" / "network.yaml"), "-o", str(out), "--today",
                                TODAY.isoformat()])
    assert drawn.exit_code == 0, drawn.output
    import cdp

    with cdp.Browser(chromium) as browser:
        browser.open(out.as_uri())
        assert browser.evaluate("document.getElementById('segmap').getAttribute('data-ready')") == "true"
        total = browser.evaluate("segmap.nodeCount()")
        for group in ("m01", "m02"):
            found = browser.evaluate(f"{OVERLAPS}({json.dumps(group)})")
            assert found["shown"] == total and found["bad"] == [], found["bad"][:10]
        assert browser.errors == []
