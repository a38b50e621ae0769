"""The fast validator with repeated subschemas written once says yes and no exactly as before.

Compared with fastjsonschema on the schema as written, on every topology file we have and on random
changes to a valid one (keys dropped or added, values of the wrong type or out of range). (jsonschema,
which explains errors, does not check formats such as dates; the reader judges those itself.)
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import fastjsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segverify.reader import _python_regexes
from segverify.schema import topology_schema
from segverify.schema_sharing import shared_definitions

ROOT = Path(__file__).parent.parent
FILES = sorted(ROOT.glob("topologies/**/*.yaml")) + sorted((ROOT / "tests" / "data").glob("**/*.yaml"))


def _draft7(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "$schema": "http://json-schema.org/draft-07/schema#"}


WRITTEN = _python_regexes(topology_schema())
SHARED = fastjsonschema.compile(_draft7(shared_definitions(WRITTEN)))
PLAIN = fastjsonschema.compile(_draft7(WRITTEN))


def verdict(validate: Any, data: Any) -> bool:
    try:
        validate(data)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


def _documents() -> list[tuple[str, Any]]:
    out = []
    for path in FILES:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError):
            continue
        if isinstance(data, dict):
            out.append((str(path.relative_to(ROOT)), data))
    return out


DOCUMENTS = _documents()


def test_the_schema_repeats_parts_that_are_now_shared() -> None:
    shared = shared_definitions(WRITTEN)
    assert len(shared["definitions"]) > 5
    assert "$ref" in str(shared["properties"])


@pytest.mark.parametrize("name,data", DOCUMENTS, ids=[n for n, _ in DOCUMENTS])
def test_every_file_gets_the_same_verdict(name: str, data: Any) -> None:
    assert verdict(SHARED, data) == verdict(PLAIN, data)


VALID = [d for _, d in DOCUMENTS if verdict(PLAIN, d)]
ODD_VALUES = st.sampled_from([None, True, 0, -1, 70000, "", "x y", "10.0.0.0/33", "any", [], {}, ["a"], {"k": 1}])


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, prefix + (i,))
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.integers(0, 10**6), where=st.integers(0, 10**9), how=st.sampled_from(["replace", "drop", "add"]),
       value=ODD_VALUES, changes=st.integers(1, 3))
def test_changed_files_get_the_same_verdict(which: int, where: int, how: str, value: Any, changes: int) -> None:
    data = copy.deepcopy(VALID[which % len(VALID)])
    for n in range(changes):
        paths = _paths(data)
        path = paths[(where * (n + 1)) % len(paths)]
        if not path:
            continue
        parent = data
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        if how == "replace":
            parent[last] = value
        elif how == "drop":
            del parent[last]
        elif isinstance(parent, dict):
            parent[f"unknown{n}"] = value
        else:
            parent.append(value)
    assert verdict(SHARED, data) == verdict(PLAIN, data)


def test_data_keywords_are_not_rewritten() -> None:
    big = {"type": "string", "description": "x" * 300}
    schema = {"type": "object", "properties": {"a": big, "b": big, "c": {"enum": [big, big]}, "d": {"const": big}},
              "required": ["a"]}
    shared = shared_definitions(schema)
    assert shared["properties"]["a"] == shared["properties"]["b"] == {"$ref": "#/definitions/shared0"}
    assert shared["properties"]["c"] == {"enum": [big, big]}
    assert shared["properties"]["d"] == {"const": big}
    assert shared["definitions"] == {"shared0": big}
