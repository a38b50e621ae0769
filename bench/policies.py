"""Zone-pair policies against interface ACLs: python bench/policies.py [--devices N] [--repeat K]

Generates the 1k-device prefecture network of bench/run.py, then writes it twice more with every
interface's ``acl_in`` expressed as lines of the node's ``policies`` (tests/policyform.py:
``from: <interface>``, the ACL's lines in order, then a line with the ACL's default; an interface
without ``acl_in`` gets a permit line). An ``acl_in`` also filters traffic to the device itself, so
the two policy copies differ in how they say that: "local copy" repeats the lines as the node's
separate ``local`` policy (a FortiOS local-in-policy, an iptables INPUT chain), "local: rules" lets
the same lines decide it (PAN-OS). ``acl_out`` ACLs stay as they are. All three say the same thing,
and the script checks it before timing anything: compiled into one BDD manager, every node
receives exactly the same header set (with origin ids) in the all-sources propagation, and the SEG
findings are identical.

Then, ``--repeat`` times with the expressions in turn (the order rotates, so a change in the
machine's load falls on all), it times ``segverify -q check`` as a whole process (wall seconds and
peak resident memory, from ``/usr/bin/time``) and, in a separate process, the phases load,
compile, first engine propagation and verify. It writes the medians and the ratios into
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
sys.path.insert(0, str(ROOT / "tests"))
import policyform  # noqa: E402  (the one rewrite of ACLs into policies, shared with the tests)

LABELS = ("ACLs", "policies, local copy", "policies, local: rules")
LOCAL_FORM = {"policies, local copy": "copy", "policies, local: rules": "rules"}


def policy_lines(doc: dict[str, Any]) -> int:
    """Lines to read: policy lines, local ones included, and the lines of the ACLs left."""
    count = 0
    for node in (doc.get("nodes") or {}).values():
        policy = node.get("policies")
        if policy:
            count += len(policy["rules"])
            if isinstance(policy.get("local"), dict):
                count += len(policy["local"]["rules"])
        count += sum(len(acl["rules"]) for acl in (node.get("acls") or {}).values())
    return count


def convert(src: Path, dst: Path, local: str) -> int:
    """``src``'s network with its ingress ACLs as policies, into ``dst``; returns the policy lines."""
    written = 0
    for path in sorted(src.rglob("*.yaml")):
        target = dst / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        doc, _rewritten = policyform.as_policies(yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader),
                                                 local)
        written += policy_lines(doc)
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


def whole_check(root: Path) -> tuple[float, float, float]:
    """``segverify -q check`` of ``root`` as one process: (wall seconds, CPU seconds, peak resident MiB)."""
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    with tempfile.NamedTemporaryFile("r", suffix=".time") as out:
        run = subprocess.run(["/usr/bin/time", "-o", out.name, "-f", "%e %U %S %M", sys.executable, "-m", "segverify", "-q",
                              "check", "--today", manifest["check_date"], str(root / manifest["main"])],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=child_env())
        if run.returncode not in (0, 1):
            raise SystemExit(f"segverify check failed on {root}: {run.stderr}")
        wall, user, system, kib = out.read().split()[-4:]
    return float(wall), float(user) + float(system), float(kib) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000, help="about this many devices (default 1000)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from segverify.generate import generate

    municipalities = max(1, args.devices // 100)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="segverify-bench-") as tmp:
        roots = {label: Path(tmp) / f"form{i}" for i, label in enumerate(LABELS)}
        net = generate(municipalities, 100, 1500 // 3, "alpha", 2026, 0, roots["ACLs"])
        lines = {label: convert(roots["ACLs"], roots[label], form) for label, form in LOCAL_FORM.items()}
        same = {}
        for label in LOCAL_FORM:
            same[label] = same_reachability(roots["ACLs"], roots[label])
            if same[label]["differ"]:
                raise SystemExit(f"{label} delivers other header sets than the ACLs at {same[label]['differ'][:10]}")
        phases: dict[str, dict[str, list[float]]] = {label: {} for label in LABELS}
        wall: dict[str, list[float]] = {label: [] for label in LABELS}
        cpu: dict[str, list[float]] = {label: [] for label in LABELS}
        peak: dict[str, list[float]] = {label: [] for label in LABELS}
        findings: dict[str, list[str]] = {}
        for rep in range(args.repeat):
            order = LABELS[rep % len(LABELS):] + LABELS[:rep % len(LABELS)]
            for label in order:
                w, c, m = whole_check(roots[label])
                wall[label].append(w)
                cpu[label].append(c)
                peak[label].append(m)
                got = measure(roots[label])
                findings[label] = got["findings"]
                for k, v in got["times"].items():
                    phases[label].setdefault(k, []).append(v)
                print(f"[bench] {label} run {rep + 1}: check {w:.2f} s wall, {c:.2f} s CPU, {m:.0f} MiB",
                      file=sys.stderr)
        for label in LOCAL_FORM:
            if findings[label] != findings["ACLs"]:
                raise SystemExit(f"{label} and the ACLs disagree on their SEG findings")
    load_after = os.getloadavg()
    med = statistics.median
    devices = net.manifest["totals"]
    t = {label: {k: med(v) for k, v in phases[label].items()} for label in LABELS}
    def paired(label: str, series: dict[str, list[float]]) -> float:
        """The median of the run-by-run ratios to the ACLs of the same round: a change in the
        machine's load during the call falls on both sides of each ratio."""
        return med(a / b for a, b in zip(series[label], series["ACLs"]))

    rows = ["| expression | lines (policy and ACL) | `check` CPU s | × ACLs (CPU, paired) | `check` wall s "
            "| × ACLs (wall, paired) | peak MiB | load | compile | engine (1st propagation) | verify |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for label in LABELS:
        n = devices["acl_rules"] if label == "ACLs" else lines[label]
        x = t[label]
        rows.append(f"| {label} | {n} | {med(cpu[label]):.2f} | {paired(label, cpu):.2f} | {med(wall[label]):.2f} | "
                    f"{paired(label, wall):.2f} | {med(peak[label]):.0f} | {x['load']:.2f} | {x['compile']:.2f} | "
                    f"{x['engine']:.2f} | {x['verify']:.2f} |")
    each = "; ".join(f"{label}: " + ", ".join(f"{c:.2f}/{w:.2f}" for c, w in zip(cpu[label], wall[label]))
                     for label in LABELS)

    def verdict(label: str) -> str:
        ratio = paired(label, cpu)
        return ("**met**" if ratio <= 1.10 else
                f"**missed**: {100 * (ratio - 1):.0f}% slower, the target allows 10%") + \
            f" ({ratio:.2f}× CPU, {paired(label, wall):.2f}× wall)"

    copy, rules = LABELS[1], LABELS[2]
    text = "\n".join([
        SECTION, "",
        f"Produced by `python bench/policies.py --repeat {args.repeat}` on {platform.machine()} "
        f"({os.cpu_count()} cores, {platform.platform()}, python {platform.python_version()}; load average "
        f"{load_before[0]:.1f} at the start, {load_after[0]:.1f} at the end): the alpha prefecture network of "
        f"{json.dumps(devices, ensure_ascii=False)}, once with interface ACLs and twice with every `acl_in` "
        "written as zone-pair policy lines (tests/policyform.py). An `acl_in` also filters traffic to the "
        "device itself; the *local copy* repeats the lines as the node's separate `local` policy (a "
        "FortiOS local-in-policy, an iptables INPUT chain), *local: rules* lets the same lines decide it "
        "(PAN-OS, docs/format.md). Before timing, the script checks that all three say the same: compiled "
        f"into one BDD manager, all {same[copy]['receivers']} receiving nodes get exactly the same header "
        f"sets from all {same[copy]['sources']} sources (origin ids included) in both policy forms, and all "
        f"give the same {len(findings['ACLs'])} SEG findings. Medians of {args.repeat} runs each, the "
        "order rotating; seconds. `check` is `segverify -q check` as one process (CPU time, user plus "
        "system, wall time and peak resident memory from `/usr/bin/time`); the ratios are the medians of "
        "each round's ratio to that round's ACL run, and the verdict is taken on CPU time, which another "
        "process on the machine disturbs far less than wall time. The phases are timed in a separate "
        "process.", "",
        *rows, "",
        f"Each run's `check` CPU/wall seconds: {each}.", "",
        f"- policies no more than 10% slower than ACLs at {devices['nodes']} nodes (`check` CPU time), one line "
        f"for forwarded and local traffic (`local: rules`): {verdict(rules)}.",
        f"- the same with every line repeated in a separate local policy: {verdict(copy)}.",
        "", f"Where the difference is: reading the input. The local copy has {lines[copy]} lines to read "
        f"against {devices['acl_rules']} (every `acl_in` line is there twice, and each line names its "
        f"interface): load {t[copy]['load']:.2f} s against {t['ACLs']['load']:.2f} s, and the copy's lines "
        f"are compiled again under another default. With `local: rules` there are {lines[rules]} "
        f"(the ACL lines, plus a closing line per interface): load {t[rules]['load']:.2f} s. Each "
        "interface pair's lines compile to the BDD of the ACL they replace, so the same BDDs come out "
        "(compared above), and the traffic to the device is the union, over the interfaces, of each "
        "one's addresses with the pair's compiled lines.",
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
