"""Report renderers. Each takes a Report and returns text; all are deterministic."""

from __future__ import annotations

from typing import Callable

from ..findings import Report
from .json import render_json
from .text import render_text

RENDERERS: dict[str, Callable[[Report], str]] = {"text": render_text, "json": render_json}

__all__ = ["RENDERERS", "render_json", "render_text"]
