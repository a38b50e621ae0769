"""Several networks in one ``check``: each loaded and verified on its own, on one machine or a cluster.

A national or prefecture audit checks hundreds of independent networks. Each job reads its files
where it runs (a cluster's workers need the same paths), verifies, and sends back only the rendered
report and its exit code: BDDs stay in the process that made them.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass
from typing import Sequence

from .fanout import fan_out

BATCH_FORMATS = ("text", "json")


@dataclass(frozen=True)
class CheckOptions:
    profile: str | None
    today: _dt.date | None
    strict: bool
    fail_on: str
    fmt: str
    select: tuple[str, ...] = ()  # rule ids or prefixes (--select / --ignore)
    ignore: tuple[str, ...] = ()


@dataclass(frozen=True)
class Checked:
    path: str
    rendered: str  # the report in the asked-for format, exactly as ``check PATH`` prints it
    exit_code: int
    inputs: tuple[str, ...]  # every file the network was read from (an output must not overwrite one)


def check_one(options: CheckOptions, path: str) -> Checked:
    """What ``segverify check PATH`` computes for one network (runs in a worker)."""
    from . import load
    from .outputs import RENDERERS
    from .policy.check import verify
    from .policy.selection import select_rules

    topology = load(path)
    report = select_rules(verify(topology, profile=options.profile, today=options.today, strict=options.strict),
                          options.select, options.ignore)
    return Checked(path, RENDERERS[options.fmt](report), report.exit_code_for(options.fail_on),
                   tuple(f.path for f in topology.files) + (path,))


def check_many(paths: Sequence[str], options: CheckOptions, jobs: int = 1,
               scheduler: str | None = None) -> list[Checked]:
    """Every network's report, in the order given, whichever worker finished first."""
    from .progress import counter, silenced

    done = counter("networks checked", len(paths))
    with silenced():  # each network's own stages would fight the counter for the line
        return fan_out(check_one, options, list(paths), jobs=jobs, scheduler=scheduler, done=done)


def render_many(results: Sequence[Checked], fmt: str) -> str:
    """One document for several networks: text reports under a heading each, or one JSON object."""
    from .outputs.json import dumps

    if fmt == "json":
        return dumps({"networks": [{"path": r.path, "report": json.loads(r.rendered), "exit_code": r.exit_code}
                                   for r in results]})
    return "\n".join(f"== {r.path} ==\n{r.rendered}" for r in results)


def exit_code_of(results: Sequence[Checked]) -> int:
    return max((r.exit_code for r in results), default=0)
