"""Report renderers. Each takes a Report and returns text; all are deterministic."""

from __future__ import annotations

from typing import Callable

from ..findings import Report
from .github import render_github
from .json import render_json
from .junit import render_junit
from .sarif import render_sarif
from .text import render_text

RENDERERS: dict[str, Callable[[Report], str]] = {
    "text": render_text, "json": render_json, "sarif": render_sarif, "junit": render_junit, "github": render_github,
}
FORMATS = tuple(RENDERERS)

__all__ = ["FORMATS", "RENDERERS", "render_github", "render_json", "render_junit", "render_sarif", "render_text"]
