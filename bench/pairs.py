"""Before/after pairs of one segverify command as a whole process, for the scripts of bench/.

Each pair runs the command with the code of a git revision and with this tree's, the order rotating
from pair to pair so a change in the machine's load falls on both; both must print the same bytes.
A run records wall and CPU seconds (user + system of the process and the children it waited for),
peak resident memory and the one-minute load average when it started. ``write_section`` puts the
table, the medians and the paired ratios into bench/results.md under its own heading.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
POLICIES = "## Zone-pair policies against ACLs"

Run = dict[str, float]


def arguments(doc: str) -> argparse.Namespace:
    """``--before REV`` and ``--pairs N``, the options of every before/after script."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--before", required=True, metavar="REV", help="the git revision to compare with")
    parser.add_argument("--pairs", type=int, default=3, help="before/after pairs (default 3)")
    return parser.parse_args()


def timed(args: list[str], env: dict[str, str], out: Path, exits: tuple[int, ...] = (0, 1)) -> Run:
    """``python -m segverify ARGS`` with stdout into ``out``."""
    load = os.getloadavg()[0]
    with out.open("wb") as sink:
        t = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "segverify", *args], stdout=sink, stderr=subprocess.DEVNULL,
                                cwd=ROOT, env=env)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
    code = os.waitstatus_to_exitcode(status)
    if code not in exits:
        raise SystemExit(f"segverify {args[0] if args else ''} exited with {code}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss / 1024, "load": load}


def after_env() -> dict[str, str]:
    """This tree's code, byte-compiled as the before's is (bench/run.py's code_of)."""
    from run import byte_compile

    byte_compile(ROOT / "src")
    return {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def alternate(envs: dict[str, dict[str, str]], pairs: int, work: Path,
              one: Callable[[dict[str, str], Path], Run]) -> dict[str, list[Run]]:
    """``pairs`` before/after pairs of ``one(env, out)``; stops if the two outputs differ."""
    runs: dict[str, list[Run]] = {"before": [], "after": []}
    for i in range(pairs):
        for which in (("before", "after") if i % 2 == 0 else ("after", "before")):
            runs[which].append(one(envs[which], work / f"{which}.out"))
            print(which, runs[which][-1], flush=True)
        if (work / "before.out").read_bytes() != (work / "after.out").read_bytes():
            raise SystemExit("before and after print different output")
    return runs


def table(runs: dict[str, list[Run]], children: str) -> list[str]:
    """The pairs, then the medians and the median of the paired ratios."""
    def med(which: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[which])

    lines = ["| pair | load avg at start (before, after) | before wall s | before CPU s | after wall s | after CPU s "
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
              f"process's and its children's ({children}).", ""]
    return lines


def write_section(section: str, text: str, notes_from: str) -> None:
    """Replace ``section`` of results.md (or add it before the policies' section, which
    bench/policies.py rewrites to the end), keeping the prose under its table from the line that
    starts with ``notes_from``."""
    results = HERE / "results.md"
    current = results.read_text(encoding="utf-8")
    if section in current:
        start = current.index(section)
        end = current.find("\n## ", start + len(section))
        rest = current[end + 1:] if end >= 0 else ""
        old = current[start:end if end >= 0 else len(current)]
        at = old.find("\n" + notes_from)
        notes = old[at:].rstrip() + "\n" if at >= 0 else ""
        current = current[:start] + text + notes + ("\n" + rest if rest else "")
    elif POLICIES in current:
        at = current.index(POLICIES)
        current = current[:at] + text + "\n" + current[at:]
    else:
        current = current.rstrip() + "\n\n" + text
    results.write_text(current.rstrip() + "\n", encoding="utf-8")
    print(text)
