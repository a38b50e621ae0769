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

import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SECTION = "## diff, incremental"
sys.path.insert(0, str(HERE))
from pairs import Run, after_env, alternate, arguments, table, timed, write_section  # noqa: E402
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


def main() -> None:
    args = arguments(__doc__)
    with tempfile.TemporaryDirectory(prefix="segverify-bench-diff-") as tmp:
        work = Path(tmp)
        old, new = versions(work)

        def one(env: dict[str, str], out: Path) -> Run:
            return timed(["-q", "diff", "--format", "json", str(old), str(new)], env, out)

        runs = alternate({"before": code_of(args.before, work), "after": after_env()}, args.pairs, work, one)
    lines = [SECTION, "",
             "`python bench/diff_incremental.py --before REV`: `segverify -q diff --format json OLD NEW` as a whole "
             "process, OLD the generated 1,000-device / 20,000-rule network of bench/run.py (network.yaml and "
             "municipalities/m01..m04.yaml), NEW the same with one ACL line of m01.yaml changed "
             f"(`{OLD_LINE}` without `ping`). Before: `{args.before}`; after: this tree. Runs alternate (the order "
             "of each pair rotates); both codes printed byte-identical JSON in every pair.", ""]
    lines += table(runs, "the forked readers and rule workers")
    write_section(SECTION, "\n".join(lines), "What is reused")


if __name__ == "__main__":
    main()
