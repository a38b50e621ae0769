"""Find a font with Japanese glyphs at run time, so names like 住民記録 render as glyphs, not boxes.

matplotlib's default font (DejaVu Sans) has no CJK glyphs. We look for a Japanese-capable font
among the fonts matplotlib knows, then among the system's font files (a font installed after
matplotlib built its cache is not in the cache), and put it after DejaVu Sans in the fallback
list: Latin text keeps its usual look, Japanese falls through to the CJK font. When none is
found, one clear warning says what to install; the pictures are still written.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Callable

# Preferred first. Noto Sans CJK JP and IPAexGothic are the Debian packages fonts-noto-cjk and
# fonts-ipaexfont-gothic; the rest are what other systems ship.
CJK_FAMILIES = (
    "Noto Sans CJK JP",
    "IPAexGothic",
    "IPAGothic",
    "Source Han Sans JP",
    "Noto Sans JP",
    "TakaoGothic",
    "VL Gothic",
    "Hiragino Sans",
    "Hiragino Kaku Gothic ProN",
    "Yu Gothic",
    "Meiryo",
    "MS Gothic",
    "Noto Sans CJK SC",
    "Noto Sans CJK TC",
    "Noto Sans CJK KR",
)
# File names to look for when the family is not in matplotlib's cache yet.
_FILE_HINTS = ("notosanscjk", "ipaexg", "ipag", "sourcehansans", "notosansjp", "takaogothic", "vl-gothic")

INSTALL_HINT = ("no font with Japanese glyphs found; Japanese labels will show as boxes. Install one, e.g. "
                "`apt-get install fonts-noto-cjk` or `fonts-ipaexfont-gothic` (Debian/Ubuntu), then run again")


class FontWarning(UserWarning):
    """No CJK font: Japanese text in pictures will not render."""


_found: str | None = None
_searched = False
_warned = False


def cjk_font() -> str | None:
    """The family name of a Japanese-capable font matplotlib can use, or None. Cached."""
    global _found, _searched
    if _searched:
        return _found
    from matplotlib import font_manager

    _searched = True
    known = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in known:
            _found = family
            return _found
    # Not in the cache: register matching system font files, then look again.
    for path in sorted(font_manager.findSystemFonts()):
        if any(hint in os.path.basename(path).lower() for hint in _FILE_HINTS):
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue
    known = {f.name for f in font_manager.fontManager.ttflist}
    _found = next((family for family in CJK_FAMILIES if family in known), None)
    return _found


def font_families() -> list[str]:
    """The font fallback list for ``font.sans-serif``: Latin first, then the CJK font if any."""
    family = cjk_font()
    return ["DejaVu Sans"] + ([family] if family else [])


def check(warn: Callable[[str], None] | None = None) -> str | None:
    """Find the CJK font; warn once per process if there is none (through ``warn`` if given)."""
    global _warned
    family = cjk_font()
    if family is None and not _warned:
        _warned = True
        if warn is not None:
            warn(INSTALL_HINT)
        else:
            warnings.warn(INSTALL_HINT, FontWarning, stacklevel=2)
    return family


def rc_params() -> dict[Any, Any]:  # matplotlib types its keys as a Literal of every rc name
    """rcParams for every picture segverify draws: fonts, and no randomness or dates in the files."""
    return {
        # A list of families (not the generic "sans-serif") is what makes matplotlib fall back per glyph.
        "font.family": font_families(),
        "svg.hashsalt": "segverify",  # ids in SVG files are otherwise random
        "svg.fonttype": "path",  # glyphs as outlines: the SVG shows Japanese on any machine
        "pdf.fonttype": 42,  # TrueType embedding: text stays selectable and searchable
        "axes.unicode_minus": False,
    }
