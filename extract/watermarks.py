"""`meta.watermarks`: the end of the last committed interval, per (source, stream)."""

from __future__ import annotations

from datetime import datetime

import duckdb

from segmart.core.times import now_naive

UPSERT_SQL = """
insert into meta.watermarks (source, stream, watermark, run_id, updated_at)
values ($source, $stream, $watermark, $run_id, $now)
on conflict (source, stream) do update set
    -- a backfill of an older interval never moves the watermark back
    watermark = greatest(meta.watermarks.watermark, excluded.watermark),
    run_id = case when excluded.watermark >= meta.watermarks.watermark
                  then excluded.run_id else meta.watermarks.run_id end,
    updated_at = excluded.updated_at
"""


def advance_watermark(
    con: duckdb.DuckDBPyConnection, source: str, stream: str, interval_end: datetime, run_id: str
) -> datetime:
    """Call inside the load's transaction; returns the watermark now in force (naive UTC)."""
    con.execute(
        UPSERT_SQL,
        {
            "source": source,
            "stream": stream,
            "watermark": interval_end,
            "run_id": run_id,
            "now": now_naive(),
        },
    )
    return read_watermark(con, source, stream)  # type: ignore[return-value]


def read_watermark(con: duckdb.DuckDBPyConnection, source: str, stream: str) -> datetime | None:
    """Naive UTC, or None before the stream's first committed slice."""
    row = con.execute(
        "select watermark from meta.watermarks where source = ? and stream = ?", [source, stream]
    ).fetchone()
    return row[0] if row else None
