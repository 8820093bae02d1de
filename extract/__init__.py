"""Extraction: declarative API sources → landing files → raw DuckDB tables.

Contract entry points (DESIGN.md): `list_streams`, `pull_slice`, `load_slice`,
`run_extract`, `LandedSlice`.
"""

from extract.config import list_streams
from extract.errors import ExtractError, ExtractFailed
from extract.landing import LandedSlice
from extract.load import load_slice, record_failure
from extract.pull import pull_slice
from extract.runner import new_run_id, run_extract

__all__ = [
    "ExtractError",
    "ExtractFailed",
    "LandedSlice",
    "list_streams",
    "load_slice",
    "new_run_id",
    "pull_slice",
    "record_failure",
    "run_extract",
]
