"""JSON: the whole report, keys sorted, so the same input gives the same bytes."""

from __future__ import annotations

import json

from ..findings import Report


def dumps(data: object) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def render_json(report: Report) -> str:
    return dumps(report.to_dict())
