"""whatif --k-failures 1 at 1,000 devices, before and after: python bench/whatif_incremental.py --before REV

Generates the 1,003-node network bench/run.py times whatif on (4 municipalities of 250 devices,
5,000 rules) and runs ``segverify -q whatif NET --k-failures 1 --format json`` as a whole process
with the code of ``--before REV`` and with this tree's, alternating (bench/pairs.py), ``--pairs``
times; both must print byte-identical JSON. Writes the pairs, the medians, the paired ratios and
the machine into bench/results.md (section "whatif, incremental").
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SECTION = "## whatif, incremental"
sys.path.insert(0, str(HERE))
from pairs import Run, after_env, alternate, arguments, table, timed, write_section  # noqa: E402
from run import INJECT, MODEL, SEED, WHATIF, code_of, machine  # noqa: E402  (the network bench/run.py times)


def main() -> None:
    args = arguments(__doc__)
    from segverify import load
    from segverify.failures import failure_candidates
    from segverify.generate import generate

    with tempfile.TemporaryDirectory(prefix="segverify-bench-whatif-") as tmp:
        work = Path(tmp)
        made = generate(*WHATIF, MODEL, SEED, INJECT, work / "net")
        network = work / "net" / "network.yaml"
        scenarios = len(failure_candidates(load(str(network))))

        def one(env: dict[str, str], out: Path) -> Run:
            return timed(["-q", "whatif", str(network), "--k-failures", "1", "--today", made.manifest["check_date"],
                          "--format", "json"], env, out)

        runs = alternate({"before": code_of(args.before, work), "after": after_env()}, args.pairs, work, one)
    info = machine()
    lines = [SECTION, "",
             f"`python bench/whatif_incremental.py --before REV`: `segverify -q whatif NET --k-failures 1 --format "
             f"json` as a whole process, NET the generated {made.manifest['totals']['nodes']:,}-node network bench/run.py "
             f"times whatif on ({scenarios} scenarios: every link, LAN and forwarding device failing alone). "
             f"Before: `{args.before}`; after: this tree. Runs alternate (the order of each pair rotates); both codes "
             "printed byte-identical JSON in every pair. Machine: "
             f"{info['cpu']}, {info['cores']} cores, {info['memory']}, Python {info['python']}.", ""]
    lines += table(runs, "none here: one process")
    write_section(SECTION, "\n".join(lines), "Where the time went")


if __name__ == "__main__":
    main()
