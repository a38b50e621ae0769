"""Zone-pair policies against interface ACLs: python bench/policies.py [--devices N] [--repeat K]

Generates the 1k-device prefecture network of bench/run.py, then writes a second copy in which every
interface's ``acl_in`` is expressed as lines of the node's ``policies`` (``from: <interface>``,
the ACL's lines in order, then a line with the ACL's default; an interface without ``acl_in``
gets a permit line). ``acl_out`` ACLs stay as they are. Traffic to the firewalls themselves gets no
local policy (no SEG rule asks about it). Both copies say the same thing for the SEG rules, so their
findings must be identical; the script checks that, then times load, compile, the first engine
propagation and the full verification of each in fresh subprocesses (best of ``--repeat``) and
writes the comparison into bench/results.md (section "Zone-pair policies against ACLs").
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SECTION = "## Zone-pair policies against ACLs"


def as_policies(doc: dict[str, Any]) -> int:
    """Rewrite the acl_in of every node of ``doc`` into its policies; returns the lines written."""
    written = 0
    for node in (doc.get("nodes") or {}).values():
        acls = node.get("acls") or {}
        ingress = {name: spec["acl_in"] for name, spec in node["interfaces"].items() if "acl_in" in spec}
        if not ingress:
            continue
        lines: list[dict[str, Any]] = []
        for iface in node["interfaces"]:
            acl_name = ingress.get(iface)
            if acl_name is None:
                lines.append({"from": iface, "action": "permit"})
                continue
            acl = acls[acl_name]
            for rule in acl["rules"]:
                lines.append({"from": iface, **rule})
            lines.append({"from": iface, "action": acl["default"]})
            del node["interfaces"][iface]["acl_in"]
        used = {spec.get("acl_out") for spec in node["interfaces"].values()}
        node["acls"] = {name: acl for name, acl in acls.items() if name in used}
        if not node["acls"]:
            del node["acls"]
        # The ACLs' own defaults close each interface's lines, so the policy's default never decides
        # forwarded traffic. Traffic to the firewalls themselves is left to a local policy as a
        # FortiGate has it (none here): no SEG rule asks about it, so the findings stay the same.
        node["policies"] = {"default": "deny", "rules": lines}
        written += len(lines)
    return written


def convert(src: Path, dst: Path) -> int:
    written = 0
    for path in sorted(src.rglob("*.yaml")):
        target = dst / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        written += as_policies(doc)
        target.write_text(yaml.dump(doc, Dumper=yaml.CSafeDumper, allow_unicode=True, sort_keys=False, width=200,
                                    default_flow_style=None),
                          encoding="utf-8")
    for path in src.glob("*.json"):
        (dst / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    return written


MEASURE = r"""
import datetime, json, sys, time
sys.setrecursionlimit(10000)
import segverify
from segverify import reach
from segverify.network import Network
from segverify.policy.check import verify
root = sys.argv[1]
manifest = json.load(open(root + "/manifest.json", encoding="utf-8"))
times = {}
first = []
original = reach.Reachability.__init__
def timed(self, *a, **k):
    t = time.perf_counter(); original(self, *a, **k); first.append(time.perf_counter() - t)
reach.Reachability.__init__ = timed
t = time.perf_counter(); topo = segverify.load(root + "/" + manifest["main"]); times["load"] = time.perf_counter() - t
t = time.perf_counter(); net = Network(topo); times["compile"] = time.perf_counter() - t
t = time.perf_counter()
report = verify(topo, today=datetime.date.fromisoformat(manifest["check_date"]), network=net)
times["verify"] = time.perf_counter() - t
times["engine"] = first[0]
findings = sorted(f.rule + " " + json.dumps(sorted((k, str(v)) for k, v in f.subject), ensure_ascii=False)
                  for f in report.active + report.suppressed if f.rule.startswith("SEG"))
print(json.dumps({"times": times, "findings": findings}))
"""


def measure(root: Path) -> dict[str, Any]:
    env_path = str(ROOT / "src")
    run = subprocess.run([sys.executable, "-c", MEASURE, str(root)], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"})
    return json.loads(run.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000, help="about this many devices (default 1000)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from segverify.generate import generate

    municipalities = max(1, args.devices // 100)
    with tempfile.TemporaryDirectory(prefix="segverify-bench-") as tmp:
        acl_dir, policy_dir = Path(tmp) / "acls", Path(tmp) / "policies"
        net = generate(municipalities, 100, 1500 // 3, "alpha", 2026, 0, acl_dir)
        lines = convert(acl_dir, policy_dir)
        results: dict[str, dict[str, float]] = {}
        findings: dict[str, list[str]] = {}
        for label, root in (("ACLs", acl_dir), ("policies", policy_dir)):
            best: dict[str, float] = {}
            for _ in range(args.repeat):
                got = measure(root)
                findings[label] = got["findings"]
                for k, v in got["times"].items():
                    best[k] = min(best.get(k, v), v)
            results[label] = best
        if findings["ACLs"] != findings["policies"]:
            raise SystemExit("the two expressions of the network disagree on their SEG findings")
    devices = net.manifest["totals"]
    rows = ["| expression | load | compile | engine (1st propagation) | verify | compile + verify |",
            "|---|---|---|---|---|---|"]
    for label, t in results.items():
        rows.append(f"| {label} | {t['load']:.2f} | {t['compile']:.2f} | {t['engine']:.2f} | {t['verify']:.2f} | "
                    f"{t['compile'] + t['verify']:.2f} |")
    a, p = results["ACLs"], results["policies"]
    ratio = (p["compile"] + p["verify"]) / (a["compile"] + a["verify"])
    text = "\n".join([
        SECTION, "",
        f"Produced by `python bench/policies.py` on {platform.processor() or platform.machine()} "
        f"({platform.platform()}, python {platform.python_version()}): the alpha prefecture network of "
        f"{json.dumps(devices, ensure_ascii=False)}, once with interface ACLs and once with every `acl_in` "
        f"written as zone-pair policy lines ({lines} lines). Best of {args.repeat} runs each, seconds. "
        f"Both give the same {len(findings['ACLs'])} SEG findings (HYG rules look at ACLs only, so verify "
        "times include the ACL hygiene checks only for the ACL expression).", "",
        *rows, "",
        f"policies / ACLs, compile + verify: {ratio:.2f}", ""])
    results_md = HERE / "results.md"
    current = results_md.read_text(encoding="utf-8")
    if SECTION in current:
        current = current[:current.index(SECTION)].rstrip() + "\n"
    results_md.write_text(current.rstrip() + "\n\n" + text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"[bench] {time.perf_counter() - start:.0f} s", file=sys.stderr)
