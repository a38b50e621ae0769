"""The pictures of a large network (several municipality files, more than 150 devices): the
overview, one map per municipality, the aggregated matrix, and the report that embeds them.

What an auditor needs from them: every device's name on its municipality's map (in the SVG, as
the text matplotlib keeps for outlined glyphs), every finding's rule on the pictures, every name
in the report, and the same bytes for the same input.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from html import unescape
from pathlib import Path

import pytest

from segverify import load
from segverify.analysis import Analysis, analyse
from segverify.generate import generate
from segverify.viz import atlas
from segverify.viz.map import map_figure, render
from segverify.viz.report import render_report

TODAY = _dt.date(2026, 4, 1)


@functools.lru_cache(maxsize=1)
def _prefecture(directory: str) -> Analysis:
    generate(3, 60, 20, "alpha", 2026, 3, Path(directory))
    return analyse(load(str(Path(directory) / "network.yaml")), today=TODAY)


@pytest.fixture(scope="module")
def found(tmp_path_factory: pytest.TempPathFactory) -> Analysis:
    return _prefecture(str(tmp_path_factory.mktemp("prefecture")))


def _comments(svg: bytes) -> set[str]:
    return {unescape(c) for c in re.findall(r"<!-- (.*?) -->", svg.decode("utf-8"), flags=re.S)}


def test_every_municipality_map_names_its_devices_and_findings(found: Analysis) -> None:
    assert atlas.at_scale(found.topology)
    groups = atlas.municipalities(found.topology, list(found.network.graph.nodes))
    assert len(groups) == 4  # the prefecture's own file and three municipalities
    seen: set[str] = set()
    for name, members in groups.items():
        svg = render(map_figure(found.topology, found.network, found.report, nodes=members, subtitle=name), "svg")
        texts = _comments(svg)
        assert set(members) <= texts, name
        seen |= set(members)
        drawn = " ".join(texts)
        for f in found.report.active:
            if f.path is not None and {h.node for h in f.path.hops} <= set(members) and len(set(f.path.nodes)) >= 2:
                assert f.rule in drawn
    assert seen == set(found.network.graph.nodes)


def test_atlas_pages_are_written_and_deterministic(found: Analysis, tmp_path: Path) -> None:
    from PIL import Image

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = atlas.write_atlas(found.topology, found.network, found.report, str(tmp_path / "a" / "map.png"))
    second = atlas.write_atlas(found.topology, found.network, found.report, str(tmp_path / "b" / "map.png"))
    assert len(first) == 5
    for one, two in zip(first, second):
        data = Path(one).read_bytes()
        assert data == Path(two).read_bytes()
        image = Image.open(Path(one))
        assert image.mode == "RGB" and max(image.size) <= atlas.MAX_PX
        assert len(image.getcolors(maxcolors=1 << 20) or []) > 20  # drawn, not blank


def test_aggregated_matrix_shows_every_crossing_symbol(found: Analysis) -> None:
    from segverify.matrix import Crossing
    from segverify.viz.heatmap import render as render_heatmap

    svg = render_heatmap(atlas.aggregate_figure(found.matrix, found.topology), "svg")
    texts = _comments(svg)
    _, _, by_segment, by_town = atlas.aggregate(found.matrix, found.topology)
    for crossing in set(by_segment.values()) | set(by_town.values()):
        if crossing is not Crossing.NONE:
            assert crossing.symbol in texts


def test_report_at_scale_keeps_every_name(found: Analysis) -> None:
    html = render_report(found.topology, found.report, found.matrix, lang="en", network=found.network)
    page = unescape(html)
    for name in found.topology.nodes:
        assert name in page
    pictures = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)
    assert len(pictures) == 2 + 4  # the overview, the aggregated matrix, one map per municipality
