"""segverify: prove that a network keeps its My Number, LGWAN and Internet segments apart.

Public API::

    topology = segverify.load("topologies/alpha.yaml")
    report = segverify.verify(topology)
    report.exit_code  # 0 compliant (warnings alone do not fail), 1 errors
"""

from __future__ import annotations

import datetime as _dt
import os
from typing import TYPE_CHECKING

from .cycles import pausing
from .errors import EnvironmentProblem, InputError, QueryError, SegverifyError, Span
from .model import Topology

if TYPE_CHECKING:
    from .changes import DiffReport
    from .findings import Report
    from .failures import WhatIfReport
    from .reader import ParsedFiles

__version__ = "0.1.0"

__all__ = [
    "EnvironmentProblem",
    "InputError",
    "QueryError",
    "SegverifyError",
    "Span",
    "Topology",
    "__version__",
    "diff",
    "load",
    "loads",
    "verify",
    "whatif",
]


@pausing
def load(path: str | os.PathLike[str], overlay: str | os.PathLike[str] | None = None,
         parsed: "ParsedFiles | None" = None) -> Topology:
    """Read a topology file or directory, or a snapshot of device configurations (a directory with
    configs/ or hosts/, see docs/import.md) with its overlay; raise :class:`InputError` with file:line
    when it is wrong. ``parsed``: topology files read before in this run (two versions of a network,
    see :class:`segverify.reader.ParsedFiles`); a file with the same bytes is not parsed again."""
    from pathlib import Path

    from .build import build
    from .importers import is_snapshot
    from .reader import load_document

    if is_snapshot(Path(path)):
        from .importers.snapshot import load_snapshot_topology

        return load_snapshot_topology(Path(path), Path(overlay) if overlay is not None else None)[0]
    if overlay is not None:
        raise InputError(f"{path} is not a snapshot (no configs/ or hosts/): an overlay applies only to snapshots")
    return build(load_document(path, parsed), parsed)


@pausing
def loads(text: str, name: str = "<string>") -> Topology:
    """Read a topology from YAML text; ``name`` is used in error messages."""
    from .build import build
    from .reader import load_text

    return build(load_text(text, name))


def verify(topology: Topology, profile: str | None = None, today: _dt.date | None = None,
           strict: bool = False) -> "Report":
    """Check a topology against its profile's rules (or ``profile``); exceptions are judged as of ``today``.
    ``strict`` makes model-completeness warnings (HYG002-HYG008) errors."""
    from .policy.check import verify as _verify

    return _verify(topology, profile=profile, today=today, strict=strict)


def diff(old: Topology, new: Topology, profile: str | None = None, today: _dt.date | None = None) -> "DiffReport":
    """What ``new`` allows that ``old`` did not (and the reverse), and the findings introduced and resolved."""
    from .changes import diff as _diff

    return _diff(old, new, profile=profile, today=today)


def whatif(topology: Topology, fail: tuple[str, ...] = (), fail_open: tuple[str, ...] = (), k_failures: int = 0,
           jobs: int = 1, today: _dt.date | None = None, scheduler: str | None = None) -> "WhatIfReport":
    """Which failures (nodes or links down, firewalls failing open) would open a forbidden path.

    ``jobs`` local worker processes or the Dask cluster at ``scheduler`` share the scenarios."""
    from .failures import whatif as _whatif

    return _whatif(topology, fail, fail_open, k_failures, jobs, today=today, scheduler=scheduler)
