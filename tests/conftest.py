"""Shared test configuration: the import path for helpers, the expected-output switch, and the one
place that decides what a missing part of the environment means.

A test that needs something of the machine (a CJK font, Chromium, root with nftables) calls
``require_environment(what, available, reason)``. Outside CI that skips with the reason; under
``CI=true`` it fails: CI is where the environment is complete, so a missing piece there is a defect,
not a reason to pass quietly. No test skips on its own.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# Test modules import shared helpers (oracle, randomnet, test_cases) by name.
sys.path.insert(0, str(Path(__file__).parent))


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def require_environment(what: str, available: bool, reason: str) -> None:
    """Skip (outside CI) or fail (``CI=true``) unless ``available``; ``reason`` says how to get it."""
    if available:
        return
    message = f"{what} unavailable: {reason}"
    if in_ci():
        pytest.fail(f"{message} (required under CI=true)", pytrace=False)
    pytest.skip(f"{message}; under CI=true this is a failure")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--regen-cases", action="store_true", default=False,
                     help="rewrite tests/data/cases/ from what segverify reports now (review the diff!)")


@pytest.fixture(scope="session")
def regen_cases(request: pytest.FixtureRequest) -> bool:
    """Whether expected outputs are to be rewritten: ``--regen-cases`` or SEGVERIFY_REGEN_CASES=1."""
    return bool(request.config.getoption("--regen-cases")) or os.environ.get("SEGVERIFY_REGEN_CASES") == "1"
