"""diff of a one-rule change at 1,000 devices, before and after: python bench/diff_incremental.py --before REV

Generates the 1,000-device / 20,000-rule network of bench/run.py (files network.yaml and
municipalities/m01..m04.yaml) and a copy with one ACL line of m01.yaml changed (the change
bench/run.py's diff timing makes), then runs ``segverify diff --format json OLD NEW`` as a whole
process with the code of ``--before REV`` and with this tree's code, alternating (the order of each
pair rotates, so a change in the machine's load falls on both), ``--pairs`` times. Per run: wall and
CPU seconds (user + system, from the process's own resource usage), peak resident memory, and the
one-minute load average when it started. It checks that both codes print byte-identical JSON, and
writes the medians and the run-by-run paired ratios into bench/results.md (section "diff,
incremental").
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SECTION = "## diff, incremental"
POLICIES = "## Zone-pair policies against ACLs"
sys.path.insert(0, str(HERE))
from run import INJECT, MODEL, SEED, SIZES, code_of  # noqa: E402  (the network bench/run.py times)

OLD_LINE = "dst: any, service: [web, smtp, dns, ntp, ping]"
NEW_LINE = "dst: any, service: [web, smtp, dns, ntp]"


def versions(work: Path) -> tuple[Path, Path]:
    from segverify.generate import generate

    size = next(s for s in SIZES if s.label == "1k dev / 20k rules")
    old = generate(size.municipalities, size.devices, size.rules, MODEL, SEED, INJECT, work / "old").directory
    new = work / "new"
    shutil.copytree(old, new)
    target = new / "municipalities" / "m01.yaml"
    text = target.read_text(encoding="utf-8")
    if OLD_LINE not in text:
        raise SystemExit("the generated network has no line to change")
    target.write_text(text.replace(OLD_LINE, NEW_LINE, 1), encoding="utf-8")
    return old / "network.yaml", new / "network.yaml"


def run(env: dict[str, str], old: Path, new: Path, out: Path) -> dict[str, float]:
    load = os.getloadavg()[0]
    with out.open("wb") as sink:
        t = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "segverify", "-q", "diff", "--format", "json", str(old), str(new)],
                                stdout=sink, stderr=subprocess.DEVNULL, cwd=ROOT, env=env)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"segverify diff exited with {code}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss / 1024, "load": load}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, metavar="REV", help="the git revision to compare with")
    parser.add_argument("--pairs", type=int, default=3, help="before/after pairs (default 3)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="segverify-bench-diff-") as tmp:
        work = Path(tmp)
        old, new = versions(work)
        envs = {"before": code_of(args.before, work), "after": {**os.environ, "PYTHONPATH": str(ROOT / "src")}}
        runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
        for i in range(args.pairs):
            for which in (("before", "after") if i % 2 == 0 else ("after", "before")):
                runs[which].append(run(envs[which], old, new, work / f"{which}.json"))
                print(which, runs[which][-1], flush=True)
            if (work / "before.json").read_bytes() != (work / "after.json").read_bytes():
                raise SystemExit("before and after print different JSON")
    write(runs, args.before)


def write(runs: dict[str, list[dict[str, float]]], rev: str) -> None:
    def med(which: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[which])

    lines = [SECTION, "",
             "`python bench/diff_incremental.py --before REV`: `segverify -q diff --format json OLD NEW` as a whole "
             "process, OLD the generated 1,000-device / 20,000-rule network of bench/run.py (network.yaml and "
             "municipalities/m01..m04.yaml), NEW the same with one ACL line of m01.yaml changed "
             f"(`{OLD_LINE}` without `ping`). Before: `{rev}`; after: this tree. Runs alternate (the order of each "
             "pair rotates); both codes printed byte-identical JSON in every pair.", "",
             "| pair | load avg at start (before, after) | before wall s | before CPU s | after wall s | after CPU s "
             "| wall after / before | CPU after / before |",
             "|---|---|---|---|---|---|---|---|"]
    for i, (b, a) in enumerate(zip(runs["before"], runs["after"]), 1):
        lines.append(f"| {i} | {b['load']:.1f}, {a['load']:.1f} | {b['wall']:.2f} | {b['cpu']:.2f} | {a['wall']:.2f} "
                     f"| {a['cpu']:.2f} | {a['wall'] / b['wall']:.2f} | {a['cpu'] / b['cpu']:.2f} |")
    ratios = [a["cpu"] / b["cpu"] for b, a in zip(runs["before"], runs["after"])]
    wall_ratios = [a["wall"] / b["wall"] for b, a in zip(runs["before"], runs["after"])]
    lines += ["", f"Medians: before {med('before', 'wall'):.2f} s wall, {med('before', 'cpu'):.2f} s CPU, "
              f"{med('before', 'rss'):.0f} MiB peak; after {med('after', 'wall'):.2f} s wall, "
              f"{med('after', 'cpu'):.2f} s CPU, {med('after', 'rss'):.0f} MiB peak; paired ratios (median) "
              f"wall {statistics.median(wall_ratios):.2f}, CPU {statistics.median(ratios):.2f}. CPU is the "
              "process's and its children's (the forked readers and rule workers).", ""]
    text = "\n".join(lines)
    results = HERE / "results.md"
    current = results.read_text(encoding="utf-8")
    if SECTION in current:  # replace this section only (it may be followed by others)
        start = current.index(SECTION)
        end = current.find("\n## ", start + len(SECTION))
        rest = current[end + 1:] if end >= 0 else ""
        notes = _kept_notes(current[start:end if end >= 0 else len(current)])
        current = current[:start] + text + notes + ("\n" + rest if rest else "")
    elif POLICIES in current:  # before it: bench/policies.py rewrites its section to the end of the file
        at = current.index(POLICIES)
        current = current[:at] + text + "\n" + current[at:]
    else:
        current = current.rstrip() + "\n\n" + text
    results.write_text(current.rstrip() + "\n", encoding="utf-8")
    print(text)


def _kept_notes(section: str) -> str:
    """The prose written under the table by hand (after a line "What is reused"), kept on a rerun."""
    at = section.find("\nWhat is reused")
    return section[at:].rstrip() + "\n" if at >= 0 else ""


if __name__ == "__main__":
    main()
