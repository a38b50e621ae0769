"""`check` in one process against `check` on two cores, whole processes, in alternating pairs.

    python bench/two_cores.py [--pairs 3] [--big] [--work DIR]

The 1,000-device / 20,000-rule network (``--big``: also one pair at 10,000 / 200,000), generated
once, not timed: ``generate(4 | 40, 250, 1667, "alpha", 2026, 9)``. Each pair runs
``segverify -q check --today DAY --format json -o OUT NETWORK`` with ``SEGVERIFY_JOBS=1`` and then
with the default (the size decides), one after the other, so a busy spell of a shared machine hits
both alike. Per run: wall seconds; CPU seconds of the process and of every child it waited for;
peak memory of the whole process tree, sampled from /proc every 30 ms as the sum of resident sets
(pages shared copy-on-write counted in each process: an upper bound) and as the sum of
proportional sets (each shared page split between its sharers: what the tree really holds); the
load average when it ended. Both reports must be byte-identical. Prints a Markdown table and
each pair's ratios (two cores / one process). Linux only (/proc).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"1k/20k": 4, "10k/200k": 40}  # municipalities of 250 devices, 1,667 rules each


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as listing:
                found += [int(p) for p in listing.read().split()]
    except OSError:
        pass
    return found


def _tree(pid: int) -> list[int]:
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo += _children(p)
    return seen


def _kib(pid: int, where: str, field: str) -> int:
    try:
        with open(f"/proc/{pid}/{where}") as table:
            for line in table:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_once(command: list[str], env: dict[str, str]) -> dict[str, float]:
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env)
    peak = {"rss": 0, "pss": 0, "processes": 1}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            tree = _tree(process.pid)
            peak["processes"] = max(peak["processes"], len(tree))
            peak["rss"] = max(peak["rss"], sum(_kib(p, "status", "VmRSS") for p in tree))
            peak["pss"] = max(peak["pss"], sum(_kib(p, "smaps_rollup", "Pss") for p in tree))
            time.sleep(0.03)

    sampler = threading.Thread(target=sample)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)  # the usage includes the children it waited for
    wall = time.perf_counter() - start
    stop.set()
    sampler.join()
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mib": peak["rss"] / 1024,
            "pss_mib": peak["pss"] / 1024, "processes": peak["processes"], "load": os.getloadavg()[0],
            "exit": os.waitstatus_to_exitcode(status)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=3, help="pairs at 1k/20k (default 3)")
    parser.add_argument("--big", action="store_true", help="also one pair at 10k/200k")
    parser.add_argument("--work", help="directory for the networks and outputs (default: a temporary one)")
    args = parser.parse_args()
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="segverify-two-cores-"))
    sys.path.insert(0, str(ROOT / "bench"))
    from run import byte_compile

    from segverify.generate import generate

    byte_compile(ROOT / "src")

    plan = [("1k/20k", args.pairs)] + ([("10k/200k", 1)] if args.big else [])
    rows = []
    for size, pairs in plan:
        directory = work / size.replace("/", "-")
        if not (directory / "network.yaml").exists():
            generate(SIZES[size], 250, 1667, "alpha", 2026, 9, directory)
        day = json.loads((directory / "manifest.json").read_text())["check_date"]
        for pair in range(pairs):
            outputs = {}
            for mode, jobs in (("one process", "1"), ("two cores", "")):
                out = work / f"out-{jobs or 'default'}.json"
                env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "SEGVERIFY_JOBS": jobs}
                got = run_once([sys.executable, "-m", "segverify", "-q", "check", "--today", day, "--format", "json",
                                "-o", str(out), str(directory / "network.yaml")], env)
                outputs[mode] = out.read_bytes()
                rows.append({"size": size, "pair": pair + 1, "mode": mode, **got})
                print(f"[two-cores] {size} pair {pair + 1} {mode}: {got['wall']:.2f} s wall, {got['cpu']:.2f} s CPU, "
                      f"{got['pss_mib']:.0f} MiB, load {got['load']:.1f}", file=sys.stderr, flush=True)
            if outputs["one process"] != outputs["two cores"]:
                raise SystemExit(f"{size} pair {pair + 1}: the reports differ")
    print("| size | pair | mode | wall s | CPU s | peak tree RSS MiB | peak tree PSS MiB | processes | load |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['size']} | {r['pair']} | {r['mode']} | {r['wall']:.2f} | {r['cpu']:.2f} | {r['rss_mib']:.0f} | "
              f"{r['pss_mib']:.0f} | {r['processes']} | {r['load']:.1f} |")
    print()
    for size, pairs in plan:
        if not pairs:
            continue
        mine = [r for r in rows if r["size"] == size]
        one = [r for r in mine if r["mode"] == "one process"]
        two = [r for r in mine if r["mode"] == "two cores"]
        walls = [b["wall"] / a["wall"] for a, b in zip(one, two)]
        cpus = [b["cpu"] / a["cpu"] for a, b in zip(one, two)]
        print(f"- {size}: two cores / one process, per pair: wall {', '.join(f'{x:.2f}×' for x in walls)} "
              f"(median {median(walls):.2f}×); CPU {', '.join(f'{x:.2f}×' for x in cpus)} (median {median(cpus):.2f}×); "
              f"medians {median(a['wall'] for a in one):.2f} → {median(b['wall'] for b in two):.2f} s wall")


if __name__ == "__main__":
    main()
