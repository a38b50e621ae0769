"""segverify: prove that a network keeps its My Number, LGWAN and Internet segments apart.

Public API::

    topology = segverify.load("topologies/alpha.yaml")
    report = segverify.verify(topology)
    report.exit_code  # 0 compliant, 1 findings
"""

from __future__ import annotations

import os

from .errors import EnvironmentProblem, InputError, QueryError, SegverifyError, Span
from .model import Topology

__version__ = "0.1.0"

__all__ = [
    "EnvironmentProblem",
    "InputError",
    "QueryError",
    "SegverifyError",
    "Span",
    "Topology",
    "__version__",
    "load",
    "loads",
    "verify",
]


def load(path: str | os.PathLike[str]) -> Topology:
    """Read a topology file or directory; raise :class:`InputError` with file:line when it is wrong."""
    from .build import build
    from .reader import load_document

    return build(load_document(path))


def loads(text: str, name: str = "<string>") -> Topology:
    """Read a topology from YAML text; ``name`` is used in error messages."""
    from .build import build
    from .reader import load_text

    return build(load_text(text, name))


def verify(topology: Topology, profile: str | None = None, today: "object | None" = None):  # type: ignore[no-untyped-def]
    """Check a topology against the rule catalogue; return a :class:`segverify.findings.Report`."""
    from .policy.check import verify as _verify

    return _verify(topology, profile=profile, today=today)
