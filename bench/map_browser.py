"""How fast the interactive map opens at prefecture scale: python bench/map_browser.py [--municipalities 20]

Generates a prefecture (``segverify generate``; 20 municipalities of 60 devices and the prefecture's
3 shared ones: 1,203 devices), writes ``draw -o map.html``, opens it in the system Chromium
(headless, through the DevTools protocol) and measures the time from navigation until the script
has drawn every node, several times. Writes bench/map-results.md, and with ``--shots DIR`` an
overview screenshot and one of a municipality.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import cdp  # noqa: E402 - the test suite's DevTools client


def segverify(*args: str) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    subprocess.run([sys.executable, "-m", "segverify", "--quiet", *args], check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--municipalities", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--shots", type=Path, help="Write map-overview.png and map-municipality.png here.")
    args = parser.parse_args()
    browser_binary = cdp.find_chromium()
    if browser_binary is None:
        sys.exit("no Chromium (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="segverify-mapbench-") as tmp:
        net = Path(tmp) / "prefecture"
        segverify("generate", "-m", str(args.municipalities), "--inject", "3", "-o", str(net))
        page = Path(tmp) / "map.html"
        start = time.monotonic()
        segverify("draw", str(net / "network.yaml"), "-o", str(page), "--today", "2026-04-01")
        draw_seconds = time.monotonic() - start
        times, counts = [], []
        for run in range(args.runs):
            with cdp.Browser(browser_binary, width=1600, height=1000) as browser:
                begin = time.monotonic()
                browser.call("Page.navigate", {"url": page.as_uri()}, session=True)
                browser.wait_for("Page.loadEventFired")
                while browser.evaluate("document.getElementById('segmap') && "
                                       "document.getElementById('segmap').getAttribute('data-ready')") != "true":
                    time.sleep(0.01)
                times.append(time.monotonic() - begin)
                counts.append(browser.evaluate("segmap.nodeCount()"))
                expected = int(browser.evaluate("document.getElementById('segmap').getAttribute('data-nodes')"))
                assert counts[-1] == expected, (counts[-1], expected)
                assert not browser.errors, browser.errors
                if args.shots and run == 0:
                    args.shots.mkdir(parents=True, exist_ok=True)
                    browser.screenshot(str(args.shots / "map-overview.png"))
                    browser.evaluate("segmap.zoomToGroup('m01')")
                    browser.screenshot(str(args.shots / "map-municipality.png"))
        size = page.stat().st_size
    lines = [
        "# Interactive map at prefecture scale",
        "",
        f"Measured {_dt.date.today().isoformat()} by `python bench/map_browser.py --municipalities "
        f"{args.municipalities}` on {platform.machine()} ({os.cpu_count()} CPUs), Chromium headless.",
        "",
        "| devices | map.html | draw (check + layout + write) | open in Chromium until drawn: median | max | runs |",
        "|---|---|---|---|---|---|",
        f"| {counts[0]:,} | {size / 1e6:.2f} MB | {draw_seconds:.1f} s | {statistics.median(times):.2f} s | "
        f"{max(times):.2f} s | {len(times)} |",
        "",
        "Every run counted every device drawn (`segmap.nodeCount()` equals the devices in the file) and "
        "no console error.",
    ]
    (ROOT / "bench" / "map-results.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
