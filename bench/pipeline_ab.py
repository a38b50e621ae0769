"""check, report, draw and matrix --plot at the 1,203-node prefecture, older code against this code.

    python bench/pipeline_ab.py --before REV [--runs 3] [--work DIR]

The same prefecture as bench/run.py's pipeline (generated once, not timed). Each round runs every
command with the code of REV (``git archive``), then with this code, one after the other, so a slow
spell of a shared machine hits both alike; medians of ``--runs`` rounds. CPU is user + system
seconds of the whole process, as in bench/run.py; each command's ratio is to ``check`` of the same
code. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # noqa: E402  (bench/run.py: the pipeline's commands and the process timer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, metavar="REV", help="the older code (a git revision)")
    parser.add_argument("--runs", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--work", help="directory for the network and outputs (default: a temporary one)")
    args = parser.parse_args()
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="segverify-ab-"))
    work.mkdir(parents=True, exist_ok=True)
    from segverify.generate import generate

    directory = work / "pipeline"
    if not (directory / "network.yaml").exists():
        generate(*run.PIPELINE, run.MODEL, run.SEED, run.INJECT, directory)
    day = __import__("json").loads((directory / "manifest.json").read_text())["check_date"]
    main_file = str(directory / "network.yaml")
    envs = {"before": run.code_of(args.before, work),
            "after": {**os.environ, "PYTHONPATH": str(run.ROOT / "src")}}
    times: dict[tuple[str, str], list[float]] = {}
    for round_ in range(args.runs):
        for name, tail in (("check", ["-o", "check.txt"]), ("report", ["-o", "report.html"]),
                           ("draw", ["-o", "map.png"]), ("matrix --plot", ["--plot", "matrix.png"])):
            for code, env in envs.items():
                out = work / f"out-{code}"
                out.mkdir(exist_ok=True)
                command = [name.split()[0], main_file, "--today", day, tail[0], str(out / tail[1])]
                cpu = run.run_timed(command, 900, env)["cpu"]
                times.setdefault((name, code), []).append(cpu)
                print(f"[ab] round {round_ + 1} {name} {code}: {cpu:.2f} s CPU", file=sys.stderr, flush=True)
    print(f"| command | {args.before} CPU s | × check | this code CPU s | × check |")
    print("|---|---|---|---|---|")
    checks = {code: median(times[("check", code)]) for code in envs}
    for name in ("check", "report", "draw", "matrix --plot"):
        b, a = median(times[(name, "before")]), median(times[(name, "after")])
        print(f"| `{name}` | {b:.2f} | {b / checks['before']:.2f}× | {a:.2f} | {a / checks['after']:.2f}× |")


if __name__ == "__main__":
    main()
