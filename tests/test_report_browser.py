"""The HTML report in a real headless Chromium: it loads without console errors, its pictures
decode, the verdict, matrix, map and findings are there, and a screenshot is kept as an artifact
(``test-artifacts/``).

Without a Chromium the test skips, except under CI (``CI=true``), where a missing browser fails
(``require_environment`` in conftest.py decides).
"""

from __future__ import annotations

import datetime as _dt
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
    assert ("不適合" in dom or "NOT COMPLIANT" in dom) == ('data-compliant="false"' in html)
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
