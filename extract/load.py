"""`load_slice`: landing files of one (stream, interval) → `raw.<source>__<stream>`.

One transaction replaces exactly that slice, records the run in
`meta.extract_runs` and advances `meta.watermarks`: state moves only with the
data it describes. DuckDB reads the gzipped JSONL itself (bulk, parallel over
parts); Python never touches a row.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import duckdb

from extract.config import stream_config
from extract.errors import ExtractError
from extract.landing import LandedSlice
from extract.watermarks import advance_watermark
from segmart.core import warehouse
from segmart.core.contracts import SliceResult, SliceStatus
from segmart.core.settings import Settings
from segmart.core.sql import json_path, sql_string
from segmart.core.times import iso_z, naive_utc, naive_utc_or_none, now_naive

RAW_DDL = """
create table if not exists {table} (
    record             json,
    record_id          varchar,
    record_updated_at  timestamp,
    _source            varchar,
    _stream            varchar,
    _interval_start    timestamp,
    _interval_end      timestamp,
    _run_id            varchar,
    _extracted_at      timestamp
)
"""

INSERT_SQL = """
insert into {table}
select
    json as record,
    json_extract_string(json, {key_path}) as record_id,
    timezone('UTC', cast(json_extract_string(json, {time_path}) as timestamptz))
        as record_updated_at,
    $source, $stream, $interval_start, $interval_end, $run_id, $extracted_at
from read_ndjson_objects({files}, compression = 'gzip')
"""

RUN_SQL = """
insert into meta.extract_runs (
    run_id, source, stream, interval_start, interval_end, window_start, window_end,
    pages, records, requests, rate_limited, retries, seconds, status, error,
    started_at, finished_at
) values (
    $run_id, $source, $stream, $interval_start, $interval_end, $window_start, $window_end,
    $pages, $records, $requests, $rate_limited, $retries, $seconds, $status, $error,
    $started_at, $finished_at
)
"""


def load_slice(
    settings: Settings,
    landed: LandedSlice | dict[str, Any],
    con: duckdb.DuckDBPyConnection | None = None,
    within: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> SliceResult:
    """Replace the slice in raw, record the run, advance the watermark: one transaction.

    `landed` may be the dict form of a LandedSlice (as it travels through XCom).
    `within` writes more state of the same data in that transaction (a dropped
    file's registration); what it raises rolls the whole load back.
    """
    if isinstance(landed, dict):
        landed = LandedSlice.from_dict(landed)
    config = stream_config(landed.source, landed.stream, settings.sources_dir)
    own = con is None
    con = warehouse.connect(settings.warehouse) if con is None else con
    began = time.monotonic()
    try:
        con.execute(RAW_DDL.format(table=config.table))
        con.begin()
        try:
            interval = [naive_utc(landed.interval_start), naive_utc(landed.interval_end)]
            con.execute(
                f"delete from {config.table} where _interval_start = ? and _interval_end = ?",
                interval,
            )
            loaded = 0
            if landed.files:
                files = "[" + ", ".join(sql_string(f) for f in landed.files) + "]"
                loaded = con.execute(
                    INSERT_SQL.format(
                        table=config.table,
                        key_path=json_path(config.primary_key),
                        time_path=json_path(config.time_field),
                        files=files,
                    ),
                    {
                        "source": landed.source,
                        "stream": landed.stream,
                        "interval_start": interval[0],
                        "interval_end": interval[1],
                        "run_id": landed.run_id,
                        "extracted_at": naive_utc_or_none(landed.finished_at),
                    },
                ).fetchone()[0]  # type: ignore[index]
            if loaded != landed.records:
                raise ExtractError(
                    f"{landed.source}.{landed.stream}: landing files in {landed.directory} hold "
                    f"{loaded} records, the pull counted {landed.records}; pull the slice again"
                )
            if within is not None:
                within(con)
            seconds = round(landed.seconds + time.monotonic() - began, 3)
            record_run(con, landed, SliceStatus.SUCCESS, None, seconds)
            watermark = advance_watermark(
                con, landed.source, landed.stream, interval[1], landed.run_id
            )
            con.commit()
        except BaseException:
            con.rollback()
            raise
    finally:
        if own:
            con.close()
    return _result(
        landed,
        SliceStatus.SUCCESS,
        records=loaded,
        load_seconds=round(time.monotonic() - began, 3),
        watermark=iso_z(watermark),
    )


def record_run(
    con: duckdb.DuckDBPyConnection,
    landed: LandedSlice,
    status: SliceStatus,
    error: str | None,
    seconds: float | None = None,
) -> None:
    con.execute(
        RUN_SQL,
        {
            "run_id": landed.run_id,
            "source": landed.source,
            "stream": landed.stream,
            "interval_start": naive_utc(landed.interval_start),
            "interval_end": naive_utc(landed.interval_end),
            "window_start": naive_utc(landed.window_start),
            "window_end": naive_utc(landed.window_end),
            "pages": landed.pages,
            "records": landed.records,
            "requests": landed.requests,
            "rate_limited": landed.rate_limited,
            "retries": landed.retries,
            "seconds": landed.seconds if seconds is None else seconds,
            "status": str(status),
            "error": error,
            "started_at": naive_utc_or_none(landed.started_at),
            "finished_at": naive_utc_or_none(landed.finished_at) or now_naive(),
        },
    )


def record_failure(
    settings: Settings,
    landed: LandedSlice | dict[str, Any],
    error: BaseException,
    con: duckdb.DuckDBPyConnection | None = None,
) -> SliceResult:
    """Record a failed pull in `meta.extract_runs`; raw and the watermark stay as they were."""
    if isinstance(landed, dict):
        landed = LandedSlice.from_dict(landed)
    message = f"{type(error).__name__}: {error}"
    own = con is None
    con = warehouse.connect(settings.warehouse) if con is None else con
    try:
        record_run(con, landed, SliceStatus.FAILED, message)
    finally:
        if own:
            con.close()
    return _result(landed, SliceStatus.FAILED, error=message)


def _result(landed: LandedSlice, status: SliceStatus, **outcome: Any) -> SliceResult:
    return SliceResult(
        source=landed.source,
        stream=landed.stream,
        interval_start=landed.interval_start,
        interval_end=landed.interval_end,
        run_id=landed.run_id,
        status=status,
        pages=landed.pages,
        requests=landed.requests,
        rate_limited=landed.rate_limited,
        retries=landed.retries,
        pull_seconds=landed.seconds,
        **outcome,
    )
