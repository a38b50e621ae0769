"""A JSON schema with its repeated subschemas written once, for fastjsonschema.

fastjsonschema writes Python code for every place a subschema appears; the topology schema repeats
its address, service and match clauses in many sections (it is written without references so that
editors and jsonschema's messages see each place whole), and the code it generated was 880 KB, whose
compilation was a tenth of a second of every start. Here each subschema that occurs more than once
(and is not tiny) becomes one entry of ``definitions`` and a ``$ref`` at each place: the same
constraints, since a draft-07 ``$ref`` stands for the schema it names. Only positions that hold
schemas are rewritten; ``enum``, ``const``, ``required`` and other values are data and stay as they are.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Callable

# Keywords whose value is a schema, a list of schemas, or a mapping from names to schemas (draft-07).
_ONE = ("additionalItems", "additionalProperties", "contains", "else", "if", "items", "not",
        "propertyNames", "then")
_MANY = ("allOf", "anyOf", "items", "oneOf")
_BY_NAME = ("definitions", "dependencies", "patternProperties", "properties")
# Subschemas shorter than this (as JSON text) are left in place: a function call costs more than
# repeating a type check.
MIN_SHARED = 200


def _key(schema: Any) -> str:
    return json.dumps(schema, sort_keys=True, ensure_ascii=False)


def _map_children(schema: dict[str, Any], visit: Callable[[Any], Any]) -> dict[str, Any]:
    out = {}
    for keyword, value in schema.items():
        if keyword in _ONE and isinstance(value, dict):
            value = visit(value)
        elif keyword in _MANY and isinstance(value, list):
            value = [visit(v) if isinstance(v, dict) else v for v in value]
        elif keyword in _BY_NAME and isinstance(value, dict):
            value = {name: visit(v) if isinstance(v, dict) else v for name, v in value.items()}
        out[keyword] = value
    return out


def shared_definitions(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` (with no ``definitions`` of its own) with every repeated subschema referenced."""
    if "definitions" in schema or "$defs" in schema:
        raise ValueError("the schema already has definitions")
    counts: Counter[str] = Counter()

    def count(sub: Any) -> Any:
        counts[_key(sub)] += 1
        return _map_children(sub, count)

    _map_children(schema, count)
    names: dict[str, str] = {}
    definitions: dict[str, Any] = {}

    def share(sub: Any) -> Any:
        key = _key(sub)
        if counts[key] < 2 or len(key) < MIN_SHARED:
            return _map_children(sub, share)
        if key not in names:
            names[key] = f"shared{len(names)}"
            definitions[names[key]] = _map_children(sub, share)
        return {"$ref": f"#/definitions/{names[key]}"}

    out = _map_children(schema, share)
    if definitions:
        out["definitions"] = definitions
    return out
