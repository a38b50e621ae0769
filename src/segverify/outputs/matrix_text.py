"""The zone matrix as a text table, then the services of every cell that has traffic."""

from __future__ import annotations

from ..escape import for_terminal
from ..matrix import Crossing, Matrix


def render_matrix(m: Matrix) -> str:
    width = max([len(z) for z in m.zones] + [4])
    corner = "from \\ to"
    header = f"{corner:<{width + 3}} " + " ".join(f"{i + 1:>3}" for i in range(len(m.zones)))
    lines = [header]
    shown = {c: f"{c.symbol:>3}" for c in Crossing}  # zones² cells, five symbols
    for i, a in enumerate(m.zones):
        row = " ".join(shown[m.cells[(a, b)].crossing] for b in m.zones)
        lines.append(f"{i + 1:>2} {a:<{width}} {row}")
    lines.append("")
    lines.append("zones: " + ", ".join(f"{i + 1}={z} ({m.segments[z]})" for i, z in enumerate(m.zones)))
    lines.append("legend: · none, ok allowed, S sanitized only, E exception, X violation")
    lines.append("")
    for (a, b), cell in sorted(m.cells.items()):
        if cell.crossing is Crossing.NONE or a == b:
            continue
        rules = f" [{', '.join(cell.rules)}]" if cell.rules else ""
        lines.append(f"{a} -> {b}: {cell.crossing.value}{rules}")
        for s in cell.services:
            lines.append(f"    {s}")
    return for_terminal("\n".join(lines) + "\n")
