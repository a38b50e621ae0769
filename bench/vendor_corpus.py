"""Import every configuration file of a directory, one snapshot each, and tabulate the outcome.

    python3 bench/vendor_corpus.py DIR [--markdown]

For vendor test corpora such as Batfish's grammar test configurations (Apache-2.0, github
batfish/batfish, projects/batfish/src/test/resources/org/batfish/grammar/<vendor>/testconfigs/):
each file is imported on its own with an overlay that puts every interface in one zone. A file
either imports (possibly with notes: over-approximated / not verified / warnings), or stops with an
input error naming file:line; anything else (a traceback) is a bug and makes the exit code 1.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import traceback
from collections import Counter
from pathlib import Path

import segverify
from segverify.errors import SegverifyError
from segverify.importers import load_snapshot

OVERLAY = "segverify: 1\nname: corpus\nprofile: alpha\nzones:\n  any-zone: {segment: lgwan}\ndefault_zone: any-zone\n"


def import_one(path: Path, work: Path) -> tuple[str, str, Counter[str]]:
    root = work / path.name
    (root / "configs").mkdir(parents=True)
    shutil.copy(path, root / "configs" / path.name)
    (root / "segverify.yaml").write_text(OVERLAY)
    try:
        imported = load_snapshot(root)
        kinds = Counter(n.kind.value for n in imported.notes.items)
        segverify.load(root)
        return "imports", "", kinds
    except SegverifyError as exc:
        first = str(exc).splitlines()[0].replace(str(root) + "/", "")
        return "input error", first, Counter()
    except Exception:  # noqa: BLE001 - a traceback is exactly what this script looks for
        return "TRACEBACK", traceback.format_exc().splitlines()[-1], Counter()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("directory", type=Path)
    parser.add_argument("--markdown", action="store_true", help="a table per file, as in docs/import.md")
    args = parser.parse_args()
    files = sorted(p for p in args.directory.iterdir() if p.is_file())
    outcomes: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [(p.name, *import_one(p, Path(tmp))) for p in files]
    for name, outcome, detail, kinds in rows:
        outcomes[outcome] += 1
        notes = ", ".join(f"{v} {k}" for k, v in sorted(kinds.items()))
        if args.markdown:
            print(f"| `{name}` | {outcome} | {detail or notes} |")
        else:
            print(f"{name:40} {outcome:12} {detail or notes}")
    print(f"\n{len(files)} files: " + ", ".join(f"{v} {k}" for k, v in sorted(outcomes.items())))
    return 1 if outcomes["TRACEBACK"] else 0


if __name__ == "__main__":
    sys.exit(main())
