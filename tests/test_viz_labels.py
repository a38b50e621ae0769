"""The cheap parts of the pictures: labels drawn from cached glyphs, the PNG encoder.

They replace matplotlib's own text and PNG writer for speed; these tests check that what a reader
sees is the same: the names are drawn where ``Text`` would draw them, in every format, and the PNG
holds exactly the pixels Agg rendered.
"""

from __future__ import annotations

import io
import re
import zlib

import numpy as np
import pytest

from segverify.viz import fonts
from segverify.viz.labels import Labels, glyphs_for
from segverify.viz.output import png_bytes


def figure_bytes(fig, fmt: str, dpi: float = 110) -> bytes:  # type: ignore[no-untyped-def]
    """As the pictures are written (viz.map.render): with segverify's rcParams."""
    from matplotlib import rc_context

    from segverify.viz import output

    with rc_context(fonts.rc_params()):
        return output.figure_bytes(fig, fmt, dpi)


def _figure(texts: list[str], with_labels: bool = True):  # type: ignore[no-untyped-def]
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    with rc_context(fonts.rc_params()):
        fig = Figure(figsize=(6, 2))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        ax.set_xlim(0, len(texts))
        ax.set_ylim(1, 0)
        if with_labels:
            ax.add_artist(Labels([(i + 0.5, 0.4) for i in range(len(texts))], texts, 9, "#222222",
                                 fonts.font_families(), ax.transData))
    return fig


def _dark_columns(fig) -> np.ndarray:  # type: ignore[no-untyped-def]
    from PIL import Image

    image = np.asarray(Image.open(io.BytesIO(figure_bytes(fig, "png", dpi=100))).convert("L"))
    return np.flatnonzero((image < 128).any(axis=0))


def test_labels_are_drawn_centred_where_text_would_be() -> None:
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    names = ["m01-fw-mn", "lan:m01-lg-office1", "住民記録"]
    fig = _figure(names)
    drawn = _dark_columns(fig)
    assert drawn.size > 0
    # The same names as matplotlib Text: each label's ink spans about the same columns.
    ref = _figure(names, with_labels=False)
    ax = ref.axes[0]
    with rc_context(fonts.rc_params()):
        for i, name in enumerate(names):
            ax.text(i + 0.5, 0.4, name, ha="center", va="top", fontsize=9, color="#222222")
        FigureCanvasAgg(ref)
        expected = _dark_columns(ref)
    for i in range(len(names)):  # per label slot (200 px each at 100 dpi)
        ours = drawn[(drawn >= i * 200) & (drawn < (i + 1) * 200)]
        theirs = expected[(expected >= i * 200) & (expected < (i + 1) * 200)]
        assert ours.size and theirs.size, names[i]
        width, ref_width = ours.max() - ours.min(), theirs.max() - theirs.min()
        assert abs(width - ref_width) <= max(3, 0.06 * ref_width), (names[i], width, ref_width)
        assert abs((ours.max() + ours.min()) - (theirs.max() + theirs.min())) / 2 <= 3


def test_labels_keep_names_in_svg_and_pdf() -> None:
    names = ["pc<01>&", "住民記録"]
    svg = figure_bytes(_figure(names), "svg").decode()
    comments = re.findall(r"<!-- (.*?) -->", svg)
    assert "pc&lt;01&gt;&amp;" in comments and "住民記録" in comments  # escaped, searchable
    assert "<01>" not in svg
    pdf = figure_bytes(_figure(names), "pdf")
    assert pdf.startswith(b"%PDF") and b"DejaVuSans" in pdf  # real text, in the embedded font


def test_svg_glyph_uses_are_what_matplotlibs_writer_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The glyph references written straight to the stream are the bytes ``element`` writes."""
    from segverify.viz import labels

    names = ["m01-fw-mn", "lan:m01-lg-office1", "住民記録", "a b"] * 3
    through_element: list[int] = []
    each = labels._write_each
    monkeypatch.setattr(labels, "_write_each", lambda writer, uses: (through_element.append(len(uses)),
                                                                      each(writer, uses)))
    fast = figure_bytes(_figure(names), "svg")
    assert through_element == [1]  # only the first of the label artist's glyphs went through element()
    assert fast.count(b"<use ") == sum(len(n.replace(" ", "")) for n in names)
    monkeypatch.setattr(labels, "_write_uses", each)
    assert figure_bytes(_figure(names), "svg") == fast


def test_labels_of_missing_and_repeated_glyphs() -> None:
    cache = glyphs_for(tuple(fonts.font_families()))
    assert cache.glyph(" ").path is None and cache.glyph(" ").advance > 0
    assert cache.glyph("a") is cache.glyph("a")
    with pytest.raises(ValueError):
        Labels([(0, 0)], ["a", "b"], 7, "black", fonts.font_families(), None)  # type: ignore[arg-type]


def test_labels_output_is_deterministic() -> None:
    names = [f"m{i:02d}-lg-pc{i:04d}" for i in range(30)]
    for fmt in ("png", "svg", "pdf"):
        assert figure_bytes(_figure(names), fmt) == figure_bytes(_figure(names), fmt)


def test_png_bytes_hold_the_rendered_pixels() -> None:
    from PIL import Image

    rng = np.random.default_rng(7)
    rgba = rng.integers(0, 256, size=(5, 7, 4), dtype=np.uint8)
    rgba[:, :, 3] = 255
    data = png_bytes(rgba.tobytes(), 7, 5)
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and b"tIME" not in data and b"tEXt" not in data
    image = Image.open(io.BytesIO(data))
    assert image.mode == "RGB" and image.size == (7, 5)
    assert (np.asarray(image) == rgba[:, :, :3]).all()
    with pytest.raises(ValueError):
        png_bytes(b"\x00" * 12, 7, 5)
    # Each chunk's CRC is right (a strict decoder refuses the file otherwise).
    at = 8
    while at < len(data):
        length = int.from_bytes(data[at:at + 4], "big")
        kind, body = data[at + 4:at + 8], data[at + 8:at + 8 + length]
        assert int.from_bytes(data[at + 8 + length:at + 12 + length], "big") == zlib.crc32(kind + body)
        at += 12 + length


def test_boxed_labels_draw_their_box_in_every_format() -> None:
    from PIL import Image
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    from segverify.viz.labels import LabelBox

    with rc_context(fonts.rc_params()):
        fig = Figure(figsize=(3, 1))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        ax.add_artist(Labels([(0.5, 0.5)], ["SEG001 #1\n✕ dropped"], 9, "white", fonts.font_families(), ax.transData,
                             va="bottom", weight="bold", box=LabelBox("#d62020", "#d62020")))
    image = np.asarray(Image.open(io.BytesIO(figure_bytes(fig, "png", dpi=100))).convert("RGB")).astype(int)
    red = (image[:, :, 0] > 190) & (image[:, :, 1] < 70) & (image[:, :, 2] < 70)
    rows, cols = np.flatnonzero(red.any(axis=1)), np.flatnonzero(red.any(axis=0))
    assert rows.max() <= 54 and rows.min() > 10  # above the anchor (va=bottom) but its pad, two lines tall
    assert cols.min() < 150 < cols.max()  # and centred on it
    inside = image[rows.min():rows.max(), cols.min():cols.max()]
    assert ((inside > 230).all(axis=2)).sum() > 20  # white glyphs on the red box
    svg = figure_bytes(fig, "svg").decode()
    assert "#d62020" in svg and "SEG001 #1" in svg
    assert figure_bytes(fig, "pdf").startswith(b"%PDF")
