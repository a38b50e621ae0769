"""Many short labels of one size and colour (the device names of a map) as one artist.

matplotlib's ``Text`` loads every glyph of a label from FreeType three times per picture (to
measure it, to lay it out, to rasterize it), about 1 ms a label; a municipality map has sixty of
them and the prefecture's atlas 1,200. :class:`Labels` takes each glyph's outline and advance once
per process and draws the labels as one filled path per glyph at all the places that glyph occurs:
one collection call per distinct glyph in PNG (Agg) and in SVG (there each glyph is defined once and
used by reference, as matplotlib does for text, and each label is kept as an XML comment so the SVG
stays searchable). Other backends (PDF) get ordinary text, so their names stay selectable.

Placement follows ``Text``: ``ha`` left/center/right of the anchor, ``va="top"`` hangs the line
from the anchor (the top of an "l", or of the label's tallest glyph). Glyphs are set at their
advance widths without kerning (on a raster rounded to whole pixels, as hinted text is); for
device names in Latin or Japanese that is what ``Text`` shows to within a pixel or two.
"""

from __future__ import annotations

import functools
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

from matplotlib.artist import Artist  # this module is imported only to draw (see viz/__init__.py)

if TYPE_CHECKING:
    from matplotlib.backend_bases import RendererBase
    from matplotlib.path import Path
    from matplotlib.transforms import Transform

_SCALE = 100.0  # glyphs are loaded at 100 pt and scaled: the outline has the precision of a large size


@dataclass(frozen=True)
class Glyph:
    path: Path | None  # outline in points at a size of 1 pt (None: a space)
    advance: float  # in points at 1 pt
    top: float  # highest point of the outline above the baseline, in points at 1 pt
    bottom: float  # lowest point (negative below the baseline)


@dataclass(frozen=True)
class LabelBox:
    """A rounded box behind each label, as ``Text(bbox={"boxstyle": f"round,pad={pad}", ...})``."""

    face: str
    edge: str
    alpha: float = 1.0
    pad: float = 0.25  # in font sizes


class GlyphCache:
    """Outlines and advances of the characters met so far, from the first font of ``families``
    that has them (the fallback order of ``font.family``), in ``weight``."""

    def __init__(self, families: tuple[str, ...], weight: str = "normal") -> None:
        from matplotlib import font_manager

        self.faces = []
        for family in families:
            path = font_manager.findfont(font_manager.FontProperties(family=family, weight=weight),
                                         fallback_to_default=False)
            face = font_manager.get_font(path)
            face.set_size(_SCALE, 72)
            self.faces.append(face)
        self._glyphs: dict[str, Glyph] = {}
        self._svg: dict[tuple[str, float], str] = {}
        self.line_top = self.glyph("l").top  # matplotlib sets a line's height by "lp"
        self.line_bottom = self.glyph("p").bottom

    def glyph(self, char: str) -> Glyph:
        found = self._glyphs.get(char)
        if found is None:
            found = self._glyphs[char] = self._load(char)
        return found

    def svg_path(self, char: str, scale: float) -> str:
        """The outline as SVG path data at ``scale`` pixels per point (kept: every page uses it)."""
        key = (char, scale)
        found = self._svg.get(key)
        if found is None:
            outline = self.glyph(char).path
            found = self._svg[key] = _path_data(outline, scale) if outline is not None else ""
        return found

    def width(self, text: str) -> float:
        """The advance of one line of ``text``, in points at 1 pt."""
        return sum(self.glyph(c).advance for c in text)

    def _load(self, char: str) -> Glyph:
        from matplotlib.ft2font import LoadFlags
        from matplotlib.path import Path

        code = ord(char)
        face = next((f for f in self.faces if f.get_char_index(code)), self.faces[0])  # else the "missing" box
        loaded = face.load_glyph(face.get_char_index(code), flags=LoadFlags.NO_HINTING)
        import numpy as np

        vertices, codes = face.get_path()
        advance = loaded.linearHoriAdvance / 65536 / _SCALE
        if len(vertices) == 0:
            return Glyph(None, advance, 0.0, 0.0)
        points = np.asarray(vertices, dtype=float) / _SCALE
        return Glyph(Path(points, codes), advance, float(points[:, 1].max()), float(points[:, 1].min()))


def _pixels(renderer: RendererBase, points: float) -> float:
    """``points`` in the renderer's pixels (matplotlib types the answer as any array)."""
    import numpy as np

    return float(np.asarray(renderer.points_to_pixels(points), dtype=float))


@functools.lru_cache(maxsize=8)
def glyphs_for(families: tuple[str, ...], weight: str = "normal") -> GlyphCache:
    """One cache per font list and weight, for the whole process (every map of an atlas shares it)."""
    return GlyphCache(families, weight)


class Labels(Artist):
    """``texts`` at ``positions`` (in ``transform``'s coordinates), all of ``size`` points,
    ``color`` and ``weight``, aligned as ``ha`` / ``va`` say; a text may have several lines."""

    zorder = 4

    def __init__(self, positions: Sequence[tuple[float, float]], texts: Sequence[str], size: float, color: str,
                 families: Sequence[str], transform: Transform, ha: str = "center", va: str = "top",
                 zorder: float = 4, weight: str = "normal", linespacing: float = 1.2, alpha: float = 1.0,
                 box: LabelBox | None = None) -> None:
        super().__init__()
        if len(positions) != len(texts):
            raise ValueError("one position per label")
        if ha not in ("left", "center", "right") or va not in ("top", "center", "bottom", "baseline"):
            raise ValueError(f"unsupported alignment {ha}/{va}")
        self.positions = [(float(x), float(y)) for x, y in positions]
        self.texts = list(texts)
        self.size, self.color, self.ha, self.va = size, color, ha, va
        self.families, self.weight, self.linespacing = tuple(families), weight, linespacing
        self.text_alpha, self.box = alpha, box
        self.set_transform(transform)
        self.set_zorder(zorder)

    def _baselines(self, cache: GlyphCache, lines: list[str]) -> tuple[list[float], float, float]:
        """Each line's baseline below the anchor, in points at 1 pt, as ``Text`` stacks lines; and
        the top of the text's box below the anchor and the box's height."""
        tops = [max([cache.line_top] + [cache.glyph(c).top for c in line]) for line in lines]
        bottoms = [min([cache.line_bottom] + [cache.glyph(c).bottom for c in line]) for line in lines]
        at, below = [tops[0]], tops[0]
        for i in range(1, len(lines)):
            below += -bottoms[i - 1] + max(cache.line_top, tops[i]) * self.linespacing
            at.append(below)
        height = below - bottoms[-1]
        shift = {"top": 0.0, "bottom": -height, "center": -height / 2, "baseline": -tops[0]}[self.va]
        return [b + shift for b in at], shift, height

    def layout(self, renderer: RendererBase, whole_pixels: bool = False
               ) -> tuple[dict[str, list[tuple[float, float]]], list[tuple[float, float, float, float]]]:
        """Where each glyph goes, in display units (baseline origin), per character; and each
        label's text box (x0, y0, width, height). ``whole_pixels``: advances rounded to pixels, as
        hinted text is set on a raster."""
        cache = glyphs_for(self.families, self.weight)
        px = _pixels(renderer, self.size)
        anchors: list[tuple[float, float]] = ([(float(x), float(y)) for x, y in
                                               self.get_transform().transform(self.positions)]
                                              if self.positions else [])
        places: dict[str, list[tuple[float, float]]] = {}
        boxes: list[tuple[float, float, float, float]] = []
        align = {"left": 0.0, "center": 0.5, "right": 1.0}[self.ha]
        for (ax, ay), text in zip(anchors, self.texts):
            lines = text.split("\n")
            baselines, top, height = self._baselines(cache, lines)
            widest = 0.0
            for line, below in zip(lines, baselines):
                glyphs = [cache.glyph(c) for c in line]
                advances = [float(round(g.advance * px)) if whole_pixels else g.advance * px for g in glyphs]
                width = sum(advances)
                widest = max(widest, width)
                x = ax - align * width
                y = ay - below * px
                if whole_pixels:
                    x, y = float(round(x)), float(round(y))
                for char, g, advance in zip(line, glyphs, advances):
                    if g.path is not None:
                        places.setdefault(char, []).append((x, y))
                    x += advance
            boxes.append((ax - align * widest, ay - (top + height) * px, widest, height * px))
        return places, boxes

    def glyph_positions(self, renderer: RendererBase, whole_pixels: bool = False
                        ) -> dict[str, list[tuple[float, float]]]:
        """Where each glyph goes (see :meth:`layout`)."""
        return self.layout(renderer, whole_pixels)[0]

    def draw(self, renderer: RendererBase) -> None:
        if not self.get_visible() or not self.texts:
            return
        from matplotlib.backends.backend_agg import RendererAgg
        from matplotlib.backends.backend_mixed import MixedModeRenderer

        # SVG and PDF draw through a MixedModeRenderer; the vector renderer inside is what writes.
        inner = renderer._renderer if isinstance(renderer, MixedModeRenderer) else renderer
        svg = type(inner).__name__ == "RendererSVG"
        if isinstance(inner, RendererAgg) or svg:
            self._draw_glyphs(inner, svg)
        else:
            self._draw_texts(renderer)
        self.stale = False

    def _draw_glyphs(self, renderer: RendererBase, svg: bool) -> None:
        import numpy as np
        from matplotlib.colors import to_rgba
        from matplotlib.transforms import Affine2D, IdentityTransform

        cache = glyphs_for(self.families, self.weight)
        found, boxes = self.layout(renderer, whole_pixels=not svg)
        places = sorted(found.items())
        renderer.open_group("labels", gid=self.get_gid())
        if self.box is not None:
            self._draw_boxes(renderer, boxes)
        if svg:
            _write_svg(renderer, cache, self.texts, places, _pixels(renderer, self.size),
                       self.color, self.text_alpha)
        else:
            gc = renderer.new_gc()
            gc.set_linewidth(0)
            gc.set_snap(False)  # a hyphen is a tiny rectangle: snapped to the pixel grid it would vanish
            gc.set_clip_rectangle(None)
            colour = np.array([to_rgba(self.color, self.text_alpha)])
            scale = Affine2D().scale(_pixels(renderer, self.size))
            for char, at in places:
                outline = cache.glyph(char).path
                assert outline is not None  # layout places only glyphs with an outline
                # matplotlib's stubs type these collection arguments narrower than Agg accepts.
                renderer.draw_path_collection(gc, scale, [outline], np.empty((0, 3, 3)),  # type: ignore[arg-type]
                                              np.array(at), IdentityTransform(), colour,  # type: ignore[arg-type]
                                              np.empty((0, 4)), [0], [(0, None)],  # type: ignore[arg-type, list-item]
                                              [True], [None], "screen")  # type: ignore[list-item]
            gc.restore()
        renderer.close_group("labels")

    def _draw_boxes(self, renderer: RendererBase, boxes: list[tuple[float, float, float, float]]) -> None:
        from matplotlib.colors import to_rgba
        from matplotlib.patches import BoxStyle
        from matplotlib.transforms import IdentityTransform

        assert self.box is not None
        size = _pixels(renderer, self.size)
        style = BoxStyle("round", pad=self.box.pad)
        gc = renderer.new_gc()
        gc.set_linewidth(1.0)  # a patch's default edge
        gc.set_foreground(to_rgba(self.box.edge, self.box.alpha), isRGBA=True)
        gc.set_clip_rectangle(None)
        face = to_rgba(self.box.face, self.box.alpha)
        for x0, y0, width, height in boxes:
            # BoxStyle("round", ...) is a factory for a style instance; the stubs take it for the class.
            renderer.draw_path(gc, style(x0, y0, width, height, size), IdentityTransform(), face)  # type: ignore[operator]
        gc.restore()

    def _draw_texts(self, renderer: RendererBase) -> None:
        from matplotlib.text import Text

        for (x, y), text in zip(self.positions, self.texts):
            label = Text(x, y, text, fontsize=self.size, color=self.color, ha=self.ha, va=self.va,
                         fontfamily=list(self.families), fontweight=self.weight, linespacing=self.linespacing,
                         transform=self.get_transform(), alpha=self.text_alpha)
            if self.box is not None:
                label.set_bbox({"boxstyle": f"round,pad={self.box.pad}", "facecolor": self.box.face,
                                "edgecolor": self.box.edge, "alpha": self.box.alpha})
            figure = self.get_figure()
            if figure is not None:
                label.set_figure(figure)
            label.draw(renderer)


# SVG: matplotlib's collection writer copies a graphics context per element; a label's glyphs are
# written here instead, as matplotlib writes text as paths: each outline once in <defs>, then one
# <use> per glyph. Ids are numbered per document, in drawing order (deterministic).
_svg_ids: weakref.WeakKeyDictionary[object, dict[tuple[int, str, float], str]] = weakref.WeakKeyDictionary()


def _path_data(path: Path, scale: float) -> str:
    """SVG path data of an outline at ``scale`` pixels per point, y pointing down."""
    from matplotlib.path import Path as MplPath

    parts = []
    letter = {MplPath.MOVETO: "M", MplPath.LINETO: "L", MplPath.CURVE3: "Q", MplPath.CURVE4: "C"}
    for vertices, code in path.iter_segments(simplify=False, curves=True):
        if code == MplPath.CLOSEPOLY:
            parts.append("z")
            continue
        points = " ".join(f"{x * scale:.3f} {-y * scale:.3f}" for x, y in vertices.reshape(-1, 2))
        parts.append(f"{letter[code]} {points}")
    return " ".join(parts)


def _write_svg(renderer: RendererBase, cache: GlyphCache, texts: Sequence[str],
               places: list[tuple[str, list[tuple[float, float]]]], px: float, colour: str,
               alpha: float = 1.0) -> None:
    from matplotlib.colors import to_hex

    writer = renderer.writer  # type: ignore[attr-defined]
    height = renderer.height  # type: ignore[attr-defined]
    for text in texts:  # the names as text, for search and for tools that read the file
        writer.comment(text)
    ids = _svg_ids.setdefault(renderer, {})
    new = [(char, (id(cache), char, px)) for char, _ in places if (id(cache), char, px) not in ids]
    if new:
        writer.start("defs")
        for char, key in new:
            ids[key] = f"segverify-glyph-{len(ids)}"
            writer.element("path", id=ids[key], d=cache.svg_path(char, px))
        writer.end("defs")
    writer.start("g", style=f"fill: {to_hex(colour)}" + (f"; fill-opacity: {alpha:g}" if alpha < 1 else ""))
    uses = [("#" + ids[(id(cache), char, px)], f"{x:.3f}", f"{height - y:.3f}") for char, at in places for x, y in at]
    if uses:
        _write_uses(writer, uses)
    writer.end("g")


def _write_uses(writer: Any, uses: list[tuple[str, str, str]]) -> None:
    """``<use xlink:href=... x=... y=.../>`` elements, one per glyph drawn (thousands a page).

    matplotlib's writer writes the first (and closes the open ``<g>`` tag); the others are that
    element's line with other values (ids and numbers: nothing to escape), written straight to the
    writer's stream, which is what ``element`` would write for each: through ``element`` they were a
    third of the SVG's time. A writer that does not write the first one as expected writes all."""
    write = getattr(writer, "_XMLWriter__write", None)  # the writer's stream (a private name)
    if write is None:
        _write_each(writer, uses)
        return
    stream: Callable[[str], object] = write
    written: list[str] = []

    def keep(text: str) -> None:
        written.append(text)
        stream(text)

    setattr(writer, "_XMLWriter__write", keep)
    try:
        _write_each(writer, uses[:1])
    finally:
        setattr(writer, "_XMLWriter__write", stream)
    text = "".join(written)
    first_href, first_x, first_y = uses[0]
    line = f'<use xlink:href="{first_href}" x="{first_x}" y="{first_y}"/>\n'
    indent = text[:-len(line)].rpartition("\n")[2] if text.endswith(line) else None
    if indent is None or indent.strip(" "):
        _write_each(writer, uses[1:])
        return
    stream("".join(f'{indent}<use xlink:href="{href}" x="{x}" y="{y}"/>\n' for href, x, y in uses[1:]))


def _write_each(writer: Any, uses: list[tuple[str, str, str]]) -> None:
    for href, x, y in uses:
        writer.element("use", attrib={"xlink:href": href, "x": x, "y": y})
