"""Zone-pair policies against interface ACLs: python bench/policies.py [--devices N] [--repeat K]

Generates the 1k-device prefecture network of bench/run.py, then writes a second copy in which every
interface's ``acl_in`` is expressed as lines of the node's ``policies`` (``from: <interface>``,
the ACL's lines in order, then a line with the ACL's default; an interface without ``acl_in``
gets a permit line), and the same lines again in its ``local`` policy (an ``acl_in`` also filters
traffic to the device itself). ``acl_out`` ACLs stay as they are. Both copies say the same thing, and the script checks it
before timing anything: compiled into one BDD manager, every node receives exactly the same header
set (with origin ids) in the all-sources propagation, and the SEG findings are identical.

Then, ``--repeat`` times with the two expressions alternating (which goes first alternates too, so
a change in the machine's load falls on both), it times ``segverify -q check`` as a whole process
(wall seconds and peak resident memory, from ``/usr/bin/time``) and, in a separate process, the
phases load, compile, first engine propagation and verify. It writes the medians and the ratios into
bench/results.md (section "Zone-pair policies against ACLs").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
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
        local: list[dict[str, Any]] = []
        for iface in node["interfaces"]:
            acl_name = ingress.get(iface)
            if acl_name is None:
                lines.append({"from": iface, "action": "permit"})
                continue
            acl = acls[acl_name]
            own = [{"from": iface, **rule} for rule in acl["rules"]] + [{"from": iface, "action": acl["default"]}]
            lines += own
            local += [dict(line) for line in own]  # copies: plain YAML, no anchors
            del node["interfaces"][iface]["acl_in"]
        used = {spec.get("acl_out") for spec in node["interfaces"].values()}
        node["acls"] = {name: acl for name, acl in acls.items() if name in used}
        if not node["acls"]:
            del node["acls"]
        # The ACLs' own defaults close each interface's lines, so the policy's default never decides
        # forwarded traffic. An acl_in also filters traffic to the device itself: its lines are
        # copied into the local policy (a FortiOS local-in-policy), whose default permit leaves the
        # device's own traffic and the interfaces without acl_in as they were.
        node["policies"] = {"default": "deny", "rules": lines, "local": {"default": "permit", "rules": local}}
        written += len(lines) + len(local)
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

# Both expressions compiled into one BDD manager: equal header sets are the same node, so == is
# equality of the sets, origin ids (who sent it) included.
SAME_REACH = r"""
import json, sys
sys.setrecursionlimit(10000)
import segverify
from segverify.network import Network, space_for
from segverify.reach import Reachability
a_root, p_root = sys.argv[1], sys.argv[2]
main = json.load(open(a_root + "/manifest.json", encoding="utf-8"))["main"]
a_topo, p_topo = segverify.load(a_root + "/" + main), segverify.load(p_root + "/" + main)
space = space_for(a_topo, p_topo)
a_net, p_net = Network(a_topo, shared_space=space), Network(p_topo, shared_space=space)
if a_net.origin_ids != p_net.origin_ids:
    raise SystemExit("the two expressions have different endpoints")
a, p = Reachability(a_net), Reachability(p_net)
differ = sorted(n for n in set(a.delivered) | set(p.delivered)
                if a.delivered.get(n, space.false) != p.delivered.get(n, space.false))
print(json.dumps({"sources": len(a.sources), "receivers": len(a.delivered), "differ": differ}))
"""


def child_env() -> dict[str, str]:
    return {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


def measure(root: Path) -> dict[str, Any]:
    run = subprocess.run([sys.executable, "-c", MEASURE, str(root)], capture_output=True, text=True, check=True,
                         env=child_env())
    return json.loads(run.stdout)


def same_reachability(acl_dir: Path, policy_dir: Path) -> dict[str, Any]:
    run = subprocess.run([sys.executable, "-c", SAME_REACH, str(acl_dir), str(policy_dir)], capture_output=True,
                         text=True, check=True, env=child_env())
    return json.loads(run.stdout)


def whole_check(root: Path) -> tuple[float, float]:
    """``segverify -q check`` of ``root`` as one process: (wall seconds, peak resident MiB)."""
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    with tempfile.NamedTemporaryFile("r", suffix=".time") as out:
        run = subprocess.run(["/usr/bin/time", "-o", out.name, "-f", "%e %M", sys.executable, "-m", "segverify", "-q",
                              "check", "--today", manifest["check_date"], str(root / manifest["main"])],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=child_env())
        if run.returncode not in (0, 1):
            raise SystemExit(f"segverify check failed on {root}: {run.stderr}")
        wall, kib = out.read().split()[-2:]
    return float(wall), float(kib) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000, help="about this many devices (default 1000)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from segverify.generate import generate

    municipalities = max(1, args.devices // 100)
    load_before = os.getloadavg()
    labels = ("ACLs", "policies")
    with tempfile.TemporaryDirectory(prefix="segverify-bench-") as tmp:
        acl_dir, policy_dir = Path(tmp) / "acls", Path(tmp) / "policies"
        net = generate(municipalities, 100, 1500 // 3, "alpha", 2026, 0, acl_dir)
        lines = convert(acl_dir, policy_dir)
        roots = dict(zip(labels, (acl_dir, policy_dir)))
        same = same_reachability(acl_dir, policy_dir)
        if same["differ"]:
            raise SystemExit(f"the two expressions deliver different header sets at {same['differ'][:10]}")
        phases: dict[str, dict[str, list[float]]] = {label: {} for label in labels}
        wall: dict[str, list[float]] = {label: [] for label in labels}
        peak: dict[str, list[float]] = {label: [] for label in labels}
        findings: dict[str, list[str]] = {}
        for rep in range(args.repeat):
            for label in (labels if rep % 2 == 0 else labels[::-1]):
                w, m = whole_check(roots[label])
                wall[label].append(w)
                peak[label].append(m)
                got = measure(roots[label])
                findings[label] = got["findings"]
                for k, v in got["times"].items():
                    phases[label].setdefault(k, []).append(v)
                print(f"[bench] {label} run {rep + 1}: check {w:.2f} s, {m:.0f} MiB", file=sys.stderr)
        if findings["ACLs"] != findings["policies"]:
            raise SystemExit("the two expressions of the network disagree on their SEG findings")
    load_after = os.getloadavg()
    med = statistics.median
    devices = net.manifest["totals"]
    rows = ["| expression | `check` wall (process) | peak MiB | load | compile | engine (1st propagation) | verify "
            "| compile + engine |",
            "|---|---|---|---|---|---|---|---|"]
    for label in labels:
        t = {k: med(v) for k, v in phases[label].items()}
        rows.append(f"| {label} | {med(wall[label]):.2f} | {med(peak[label]):.0f} | {t['load']:.2f} | "
                    f"{t['compile']:.2f} | {t['engine']:.2f} | {t['verify']:.2f} | {t['compile'] + t['engine']:.2f} |")
    ratio_wall = med(wall["policies"]) / med(wall["ACLs"])
    ratio_peak = med(peak["policies"]) / med(peak["ACLs"])
    pa, pp = ({k: med(v) for k, v in phases[label].items()} for label in labels)
    ratio_engine = (pp["compile"] + pp["engine"]) / (pa["compile"] + pa["engine"])
    each = "; ".join(f"{label}: " + ", ".join(f"{w:.2f}" for w in wall[label]) for label in labels)
    verdict = ("**met**" if ratio_wall <= 1.10 else
               f"**missed**: {100 * (ratio_wall - 1):.0f}% slower, the target allows 10%")
    text = "\n".join([
        SECTION, "",
        f"Produced by `python bench/policies.py --repeat {args.repeat}` on {platform.machine()} "
        f"({os.cpu_count()} cores, {platform.platform()}, python {platform.python_version()}; load average "
        f"{load_before[0]:.1f} at the start, {load_after[0]:.1f} at the end): the alpha prefecture network of "
        f"{json.dumps(devices, ensure_ascii=False)}, once with interface ACLs and once with every `acl_in` "
        f"written as zone-pair policy lines, forward and local ({lines} lines). Before timing, the script checks that both say "
        f"the same: compiled into one BDD manager, all {same['receivers']} receiving nodes get exactly the "
        f"same header sets from all {same['sources']} sources (origin ids included), and both give the same "
        f"{len(findings['ACLs'])} SEG findings. Medians of {args.repeat} runs each, the two expressions "
        "alternating; seconds. `check` is `segverify -q check` as one process (wall time and peak resident "
        "memory from `/usr/bin/time`); the phases are timed in a separate process.", "",
        *rows, "",
        f"Each run's `check` wall time: {each}.", "",
        f"policies / ACLs: `check` wall {ratio_wall:.2f}, peak memory {ratio_peak:.2f}, "
        f"compile + engine propagation {ratio_engine:.2f}.", "",
        f"- policies no more than 10% slower than ACLs at {devices['nodes']} nodes (`check` wall): {verdict} "
        f"({ratio_wall:.2f}×).",
        "", f"Where the difference is: reading the input, {pa['load']:.2f} s against {pp['load']:.2f} s. The "
        f"policy copy has {lines} lines against {devices['acl_rules']} ACL lines: every `acl_in` line is "
        "there twice (forward and local, as an ACL filters both) and each line names its interface, so "
        "there is about twice the YAML to parse, validate and turn into the model; peak memory follows "
        "the bigger model. Compile + engine propagation, the like-for-like part, is "
        f"{ratio_engine:.2f}× (each interface pair's policy lines compile to the BDD of the ACL they "
        "replace). A device whose local-in policy is short (the usual FortiGate) reads about half "
        "as much.",
        "", "`check` with ACLs also runs the ACL hygiene rules (HYG001's shadowing test on every ACL line); the "
        "policy lines get no such test, so the whole-process time favours policies by that work. The machine "
        "is shared: the spread of the runs above is the noise of the medians.", ""])
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
