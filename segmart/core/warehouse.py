"""The working DuckDB database: connections and the `meta` schema.

All warehouse timestamps are UTC, stored as TIMESTAMP (no time zone), so SQL
compares them without session time-zone surprises.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from segmart.core.errors import UserError

META_DDL = """
create schema if not exists raw;
create schema if not exists meta;

create table if not exists meta.extract_runs (
    run_id          varchar   not null,
    source          varchar   not null,
    stream          varchar   not null,
    interval_start  timestamp not null,
    interval_end    timestamp not null,
    window_start    timestamp,
    window_end      timestamp,
    pages           bigint,
    records         bigint,
    requests        bigint,
    rate_limited    bigint,   -- answers with status 429
    retries         bigint,
    seconds         double,
    status          varchar   not null,  -- success | failed
    error           varchar,
    started_at      timestamp,
    finished_at     timestamp
);

create table if not exists meta.watermarks (
    source      varchar   not null,
    stream      varchar   not null,
    watermark   timestamp not null,  -- end of the last committed interval
    run_id      varchar,
    updated_at  timestamp,
    primary key (source, stream)
);

create table if not exists meta.validation_results (
    run_id          varchar not null,
    as_of           timestamp,
    suite           varchar not null,
    expectation     varchar not null,
    severity        varchar not null,  -- critical | warning
    success         boolean,           -- null: could not evaluate
    observed_value  varchar,
    unexpected_count bigint,
    examples        varchar,
    error           varchar,
    evaluated_at    timestamp
);

-- Which loaded slices passed the raw gate: a committed slice is built into marts and
-- published only after it has passed (a run that failed part-way gates it next time).
create table if not exists meta.raw_gate_log (
    source          varchar   not null,
    stream          varchar   not null,
    interval_start  timestamp not null,
    interval_end    timestamp not null,
    load_run_id     varchar   not null,  -- the run whose load of the slice was gated
    gate_run_id     varchar   not null,
    passed          boolean   not null,
    gated_at        timestamp not null
);

create table if not exists meta.publish_log (
    run_id        varchar   not null,
    as_of         timestamp not null,
    status        varchar   not null,  -- published | blocked | history_only | failed
    reason        varchar,
    decided_at    timestamp not null
);
"""


class WarehouseUnavailable(UserError):
    """The warehouse file cannot be opened: missing, unwritable, or locked by another process."""


def connect(path: Path | str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse; a writable open also makes sure `raw` and `meta` exist."""
    path = Path(path)
    try:
        if read_only:
            return duckdb.connect(str(path), read_only=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(path))
    except (duckdb.IOException, PermissionError, OSError) as error:
        raise WarehouseUnavailable(_why_unavailable(path, read_only, error)) from error
    con.execute(META_DDL)
    return con


def _why_unavailable(path: Path, read_only: bool, error: BaseException) -> str:
    text = str(error)
    if "lock" in text.lower():
        holder = text.split("(PID", 1)[-1].split(")", 1)[0].strip() if "(PID" in text else ""
        who = f" (process {holder})" if holder else ""
        return (
            f"warehouse {path} is in use by another process{who}: one DuckDB writer at a "
            "time. Wait for that run to finish or stop it, then try again."
        )
    if read_only and not path.exists():
        return f"warehouse {path} does not exist: run `segmart run` or `segmart extract` first"
    return (
        f"warehouse {path} cannot be opened for writing ({text.splitlines()[0]}): set "
        "SEGMART_WAREHOUSE to a path in a folder you can write to"
    )
