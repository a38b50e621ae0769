"""Importers: device configurations in a snapshot directory, turned into the topology model.

``load_snapshot`` reads a Batfish-layout snapshot (configs/, hosts/, iptables/, fib/,
batfish/layer1_topology.json) and its overlay into a topology Document whose spans point into the
vendor files; :func:`segverify.load` builds it like any topology. See docs/import.md.
"""

from __future__ import annotations

from typing import Any

from .layout import is_snapshot
from .notes import Note, NoteKind, Notes

__all__ = ["Imported", "Note", "NoteKind", "Notes", "is_snapshot", "load_snapshot"]


def __getattr__(name: str) -> Any:
    """The snapshot reader (and every vendor parser under it) is imported when first asked for: a
    topology file needs none of them, and they were a tenth of a second of every start."""
    if name in ("Imported", "load_snapshot"):
        from . import snapshot

        return getattr(snapshot, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
