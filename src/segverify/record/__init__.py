"""The self-inspection record (自己点検の記録): every run of the check kept in a database, and the
trend over them.

    from segverify.record import open_store, record_run, load_runs, trends
"""

from __future__ import annotations

from .history import Trend, trends
from .runs import git_state, load_runs, record_run
from .store import SCHEMA_VERSION, open_store

__all__ = ["SCHEMA_VERSION", "Trend", "git_state", "load_runs", "open_store", "record_run", "trends"]
