"""Extraction: declarative API sources and file drops → landing files → raw DuckDB tables.

Contract entry points (DESIGN.md): `list_sources`, `list_streams`, `stream_gates`,
`check_window`, `plan_windows`, `pull_slice`, `load_slice`, `load_drops`, `record_failure`,
`run_extract`, `LandedSlice`, `PlannedSlice`.
"""

from extract.config import SourceKind, list_sources, list_streams, load_source, stream_gates
from extract.drops import load_drops
from extract.errors import ConfigError, ExtractError, ExtractFailed, WindowError
from extract.landing import LandedSlice
from extract.load import load_slice, record_failure
from extract.planning import PlannedSlice, check_window, plan_windows
from extract.pull import pull_slice
from extract.runner import new_run_id, run_extract

__all__ = [
    "ConfigError",
    "ExtractError",
    "ExtractFailed",
    "LandedSlice",
    "PlannedSlice",
    "SourceKind",
    "WindowError",
    "check_window",
    "list_sources",
    "list_streams",
    "load_drops",
    "load_source",
    "load_slice",
    "new_run_id",
    "plan_windows",
    "pull_slice",
    "record_failure",
    "run_extract",
    "stream_gates",
]
