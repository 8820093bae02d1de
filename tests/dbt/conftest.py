"""One warehouse for the dbt tests: real extraction from the demo API, real dbt.

Two extraction runs (to 2026-05-25, then on to the frozen now) with a build
after each, so incremental models see new data; then a --full-refresh build
at the same as_of. Snapshots of every mart after the incremental and the full
refresh build are kept for comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

import extract
from segmart.core.contracts import DbtBuildResult
from segmart.core.settings import Settings
from segmart.core.warehouse import connect
from segmart.transform import dbt_build
from tests.support import NO_CLIENT_BUDGET

FIRST_AS_OF = datetime(2026, 5, 25, tzinfo=UTC)
AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
HISTORY_START = datetime(2024, 1, 1, tzinfo=UTC)
# High-volume event streams are pulled for recent weeks only, to keep the
# test fast; every definition looks back at most 30 days into events.
EVENTS_START = datetime(2026, 4, 15, tzinfo=UTC)
EVENT_STREAMS = [("esp", "email_events"), ("web", "events")]
PROFILE_STREAMS = [
    ("shop", "customers"),
    ("shop", "products"),
    ("shop", "orders"),
    ("crm", "contacts"),
    # A file source with no drops here: its raw table exists and stays empty (the
    # reference knows API records only; tests/files/ builds with till files).
    ("pos", "purchases"),
]

MARTS = [
    "customer_profiles",
    "customer_identity",
    "orders",
    "order_items",
    "customer_rfm",
    "customer_segments",
    "segment_changes",
    "email_audience",
]


@dataclass
class BuiltWarehouse:
    settings: Settings
    as_of: datetime
    first_build: DbtBuildResult
    incremental_build: DbtBuildResult
    full_refresh_build: DbtBuildResult
    incremental_marts: dict[str, list[tuple]]
    full_refresh_marts: dict[str, list[tuple]]

    def query(self, sql: str) -> list[tuple]:
        con = connect(self.settings.warehouse, read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()


def snapshot_marts(settings: Settings) -> dict[str, list[tuple]]:
    con = connect(settings.warehouse, read_only=True)
    try:
        return {
            table: sorted(
                con.execute(f"select * from marts.{table}").fetchall(),
                key=lambda row: tuple(str(value) for value in row),
            )
            for table in MARTS
        }
    finally:
        con.close()


def extract_streams(settings: Settings, streams, start, end) -> None:
    for source, stream in streams:
        extract.run_extract(settings, source=source, stream=stream, start=start, end=end)


@pytest.fixture(scope="session")
def built_warehouse(demo_api, tmp_path_factory) -> BuiltWarehouse:
    directory: Path = tmp_path_factory.mktemp("dbt_warehouse")
    settings = Settings.from_env(
        {
            **demo_api.env(),
            **NO_CLIENT_BUDGET,
            "SEGMART_WAREHOUSE": str(directory / "segmart.duckdb"),
            "SEGMART_PUBLISHED": str(directory / "published.duckdb"),
        }
    )
    extract_streams(settings, PROFILE_STREAMS, HISTORY_START, FIRST_AS_OF)
    extract_streams(settings, EVENT_STREAMS, EVENTS_START, FIRST_AS_OF)
    first = dbt_build(settings, FIRST_AS_OF)
    # Second run continues every stream from its watermark.
    extract_streams(settings, PROFILE_STREAMS + EVENT_STREAMS, None, AS_OF)
    incremental = dbt_build(settings, AS_OF)
    incremental_marts = snapshot_marts(settings)
    full_refresh = dbt_build(settings, AS_OF, full_refresh=True)
    return BuiltWarehouse(
        settings=settings,
        as_of=AS_OF,
        first_build=first,
        incremental_build=incremental,
        full_refresh_build=full_refresh,
        incremental_marts=incremental_marts,
        full_refresh_marts=snapshot_marts(settings),
    )
