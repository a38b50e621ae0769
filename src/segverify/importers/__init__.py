"""Importers: device configurations in a snapshot directory, turned into the topology model.

``load_snapshot`` reads a Batfish-layout snapshot (configs/, hosts/, iptables/, fib/,
batfish/layer1_topology.json) and its overlay into a topology Document whose spans point into the
vendor files; :func:`segverify.load` builds it like any topology. See docs/import.md.
"""

from __future__ import annotations

from .notes import Note, NoteKind, Notes
from .snapshot import Imported, is_snapshot, load_snapshot

__all__ = ["Imported", "Note", "NoteKind", "Notes", "is_snapshot", "load_snapshot"]
