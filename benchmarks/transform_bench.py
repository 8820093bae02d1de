"""Transform benchmark: full dbt build, incremental build after ~1% new data,
and a hand-written DuckDB script computing customer_rfm from the same raw tables.

Data comes straight from the demo world's generator into raw tables (no HTTP).
Not a test: run it by hand and record the numbers in docs/benchmarks.md.

    .venv/bin/python benchmarks/transform_bench.py --customers 5000
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from demo_api.world import World
from segmart.settings import Settings
from segmart.transform import _invoke, dbt_build
from segmart.warehouse import connect

STREAMS = {
    ("shop", "customers"): "updated_at",
    ("shop", "products"): "updated_at",
    ("shop", "orders"): "updated_at",
    ("crm", "contacts"): "updated_at",
    ("esp", "email_events"): "occurred_at",
    ("web", "events"): "occurred_at",
}
HISTORY_START = datetime(2024, 1, 1, tzinfo=UTC)
# One batch stands for one extracted slice: each gets its own _extracted_at, as
# the extractor stamps each slice with its pull time.
BATCH = 50_000

RAW_DDL = """
create table if not exists raw.{table} (
    record JSON, record_id VARCHAR, record_updated_at TIMESTAMP, _source VARCHAR,
    _stream VARCHAR, _interval_start TIMESTAMP, _interval_end TIMESTAMP,
    _run_id VARCHAR, _extracted_at TIMESTAMP
)
"""

# The hand-written yardstick: DESIGN.md's RFM straight from raw, in one script.
HAND_RFM = """
create or replace table bench_hand_rfm as
with
customers as (
    select record_id as shop_customer_id,
        lower(regexp_replace(json_extract_string(record, '$.email'),
            '^[[:space:]]+|[[:space:]]+$', '', 'g')) as email,
        row_number() over (partition by record_id
            order by record_updated_at desc, _extracted_at desc) as rn
    from raw.shop__customers
),
canonical as (
    select shop_customer_id,
        case when regexp_full_match(email, '^[^[:space:]@]+@[^[:space:]@]+\\.[^[:space:]@]+$') then
            case when split_part(email, '@', 2) in ('gmail.com', 'googlemail.com')
                then replace(split_part(split_part(email, '@', 1), '+', 1), '.', '')
                    || '@' || split_part(email, '@', 2)
                else email end
        end as email_canonical
    from customers where rn = 1
),
owners as (
    select shop_customer_id,
        md5(case when email_canonical is not null then 'email:' || email_canonical
            else 'shop:' || shop_customer_id end) as customer_id
    from canonical
),
orders as (
    select json_extract_string(record, '$.customer_id') as shop_customer_id,
        lower(json_extract_string(record, '$.status')) as status,
        cast(json_extract_string(record, '$.total') as decimal(18, 2)) as total,
        cast(cast(json_extract_string(record, '$.created_at') as timestamptz)
            at time zone 'UTC' as timestamp) as created_at,
        row_number() over (partition by record_id
            order by record_updated_at desc, _extracted_at desc) as rn
    from raw.shop__orders
),
window_orders as (
    select owners.customer_id, orders.total, orders.created_at
    from orders join owners using (shop_customer_id)
    where orders.rn = 1 and orders.status in ('paid', 'fulfilled')
        and orders.created_at >= $as_of - interval 365 day and orders.created_at < $as_of
),
agg as (
    select customer_id,
        cast(date_diff('microsecond', max(created_at), $as_of) // 86400000000 as integer)
            as recency_days,
        count(*) as frequency, sum(total) as monetary
    from window_orders group by customer_id
),
ranked as (
    select *, count(*) over () as n,
        rank() over (order by recency_days desc) as rr,
        rank() over (order by frequency) as fr,
        rank() over (order by monetary) as mr
    from agg
)
select customer_id, recency_days, frequency, monetary,
    case when n = 1 then 1 else least(5, 1 + 5 * (rr - 1) // (n - 1)) end as r_score,
    case when n = 1 then 1 else least(5, 1 + 5 * (fr - 1) // (n - 1)) end as f_score,
    case when n = 1 then 1 else least(5, 1 + 5 * (mr - 1) // (n - 1)) end as m_score
from ranked
"""


def insert_batch(con, source: str, stream: str, rows: list[tuple], labels: list) -> None:
    frame = pd.DataFrame(rows, columns=["record", "record_id", "t"])
    con.register("batch", frame)
    con.execute(
        f"insert into raw.{source}__{stream} select record::JSON, record_id,"
        " cast(cast(t as timestamptz) at time zone 'UTC' as timestamp),"
        " ?, ?, ?, ?, ?, ? from batch",
        [source, stream, *labels],
    )
    con.unregister("batch")


def load_window(settings: Settings, world: World, start: datetime, end: datetime, run: str) -> int:
    """Generate every stream's records for [start, end) into raw, in batches."""
    con = connect(settings.warehouse)
    total = 0
    interval = [start.replace(tzinfo=None), end.replace(tzinfo=None), run]

    def labels() -> list:
        return [*interval, datetime.now(UTC).replace(tzinfo=None)]

    try:
        for (source, stream), time_field in STREAMS.items():
            con.execute(RAW_DDL.format(table=f"{source}__{stream}"))
            rows: list[tuple] = []
            for record in world.records(source, stream, start, end):
                rows.append((json.dumps(record), str(record["id"]), record[time_field]))
                total += 1
                if len(rows) >= BATCH:
                    insert_batch(con, source, stream, rows, labels())
                    rows = []
            if rows:
                insert_batch(con, source, stream, rows, labels())
    finally:
        con.close()
    return total


def timed(label: str, fn, results: dict):
    started = time.perf_counter()
    value = fn()
    results[label] = round(time.perf_counter() - started, 2)
    print(f"{label}: {results[label]} s", flush=True)
    return value


def slowest(build: dict, count: int = 6) -> dict[str, float]:
    nodes = sorted(build["nodes"], key=lambda n: n["seconds"], reverse=True)[:count]
    return {n["name"]: n["seconds"] for n in nodes}


def row_counts(settings: Settings) -> dict[str, int]:
    con = connect(settings.warehouse, read_only=True)
    try:
        return {
            f"{s}__{t}": con.execute(f"select count(*) from raw.{s}__{t}").fetchone()[0]
            for s, t in STREAMS
        }
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", default="2026-06-01T00:00:00+00:00")
    parser.add_argument("--new-days", type=float, default=4.0, help="days of new data for step 2")
    parser.add_argument("--dir", help="working folder (default: a temporary one)")
    args = parser.parse_args(argv)

    as_of = datetime.fromisoformat(args.as_of)
    later = as_of + timedelta(days=args.new_days)
    folder = Path(args.dir or tempfile.mkdtemp(prefix="segmart-transform-bench-"))
    settings = Settings.from_env({"SEGMART_WAREHOUSE": str(folder / "segmart.duckdb")})
    results: dict[str, object] = {"customers": args.customers}

    world = World(seed=args.seed, customers=args.customers, now=as_of)
    timed(
        "generate_raw_s", lambda: load_window(settings, world, HISTORY_START, as_of, "r1"), results
    )
    results["raw_rows"] = row_counts(settings)
    # Parse once first: the timings below are builds, not dbt's one-off full parse.
    timed("dbt_parse_s", lambda: _invoke(settings, ["parse"]), results)
    models = "resource_type:model resource_type:seed"
    timed("full_models_only_s", lambda: dbt_build(settings, as_of, models, True), results)
    build = timed("full_build_s", lambda: dbt_build(settings, as_of, full_refresh=True), results)
    assert build["success"], build["failed_tests"] or build["errored_nodes"]
    results["full_build_slowest"] = slowest(build)

    def hand_script() -> None:
        con = connect(settings.warehouse)
        try:
            con.execute(HAND_RFM.replace("$as_of", f"timestamp '{as_of:%Y-%m-%d %H:%M:%S}'"))
        finally:
            con.close()

    timed("hand_rfm_script_s", hand_script, results)
    con = connect(settings.warehouse, read_only=True)
    try:
        differences = con.execute(
            "select count(*) from (select customer_id, recency_days, frequency, monetary,"
            " r_score, f_score, m_score from marts.customer_rfm"
            " except select * from bench_hand_rfm)"
        ).fetchone()[0]
    finally:
        con.close()
    results["hand_script_disagreements"] = differences

    newer = World(seed=args.seed, customers=args.customers, now=later)
    new_rows = timed(
        "generate_new_s", lambda: load_window(settings, newer, as_of, later, "r2"), results
    )
    results["new_rows"] = new_rows
    results["new_share"] = round(new_rows / sum(results["raw_rows"].values()), 4)
    build = timed("incremental_build_s", lambda: dbt_build(settings, later), results)
    assert build["success"], build["failed_tests"] or build["errored_nodes"]
    results["incremental_build_slowest"] = slowest(build)
    timed("incremental_models_only_s", lambda: dbt_build(settings, later, models), results)
    results["full_over_hand"] = round(results["full_build_s"] / results["hand_rfm_script_s"], 1)
    results["incremental_over_full"] = round(
        results["incremental_build_s"] / results["full_build_s"], 3
    )
    usage = resource.getrusage(resource.RUSAGE_SELF)
    results["peak_rss_mib"] = round(usage.ru_maxrss / 1024)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
