"""Pictures and documents for people: the segment map, the zone-matrix heatmap, the HTML audit report.

matplotlib is one of segverify's own dependencies (the plain install draws). Modules import it
lazily so that ``import segverify`` and the command line stay fast when no picture is asked for.

    from segverify.viz.map import draw_map          # map.png | map.svg | map.pdf
    from segverify.viz.heatmap import plot_matrix   # the zone × zone matrix as a heatmap
    from segverify.viz.report import render_report  # one self-contained HTML file
"""

from __future__ import annotations

__all__ = ["draw_map", "plot_matrix", "render_report"]


def __getattr__(name: str) -> object:
    # Lazy: importing the package must not import matplotlib.
    if name == "draw_map":
        from .map import draw_map

        return draw_map
    if name == "plot_matrix":
        from .heatmap import plot_matrix

        return plot_matrix
    if name == "render_report":
        from .report import render_report

        return render_report
    raise AttributeError(name)
