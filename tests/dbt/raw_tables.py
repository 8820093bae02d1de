"""Write records into raw tables with the agreed raw columns (for dbt tests only).

The pipeline fills raw through `extract`; these tests sometimes need raw rows
with exact contents (hand-made fixtures, or a second load to exercise
incremental models).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import duckdb

STREAMS = {
    ("shop", "customers"): "updated_at",
    ("shop", "orders"): "updated_at",
    ("shop", "products"): "updated_at",
    ("crm", "contacts"): "updated_at",
    ("esp", "email_events"): "occurred_at",
    ("web", "events"): "occurred_at",
}

RAW_DDL = """
create table if not exists raw.{table} (
    record JSON, record_id VARCHAR, record_updated_at TIMESTAMP, _source VARCHAR,
    _stream VARCHAR, _interval_start TIMESTAMP, _interval_end TIMESTAMP,
    _run_id VARCHAR, _extracted_at TIMESTAMP
)
"""


def parse_utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


def create_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists raw")
    for source, stream in STREAMS:
        con.execute(RAW_DDL.format(table=f"{source}__{stream}"))


def insert_records(
    con: duckdb.DuckDBPyConnection,
    source: str,
    stream: str,
    records: Iterable[Mapping[str, Any]],
    interval: tuple[datetime, datetime],
    extracted_at: datetime,
    run_id: str = "fixture",
) -> int:
    time_field = STREAMS[(source, stream)]
    rows = [
        (
            json.dumps(record),
            str(record["id"]),
            parse_utc(record[time_field]),
            source,
            stream,
            interval[0],
            interval[1],
            run_id,
            extracted_at,
        )
        for record in records
    ]
    if rows:
        con.executemany(
            f"insert into raw.{source}__{stream} values (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
        )
    return len(rows)
