"""Transform benchmark: full dbt build, incremental build after ~1% new data,
and a hand-written DuckDB script computing customer_rfm from the same raw tables.

Raw tables come straight from the demo world's generator, vectorised
(benchmarks/raw_generator.py), in a child process: no HTTP, and this process's
peak memory is dbt's and the hand script's. Not a test: run it by hand and
record the numbers in docs/benchmarks.md.

    .venv/bin/python benchmarks/transform_bench.py                   # 5k customers
    SEGMART_DUCKDB_MEMORY_LIMIT=4GB .venv/bin/python benchmarks/transform_bench.py \
        --customers 1000000 --orders 10000000 --web-events 20000000 \
        --email-events 5000000 --dir /work/bench-tmp/transform
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from raw_generator import TABLES  # this folder: the bench runs as a script

from segmart import transform
from segmart.core.contracts import DbtBuildResult, DbtNode
from segmart.core.settings import Settings
from segmart.core.warehouse import connect
from segmart.transform import dbt_build, parse_project

ROOT = Path(__file__).resolve().parent.parent

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


generator_peaks: list[int] = []


def generate(args, settings: Settings, start: datetime | None, end: datetime) -> dict:
    command = [
        sys.executable, "-m", "benchmarks.raw_generator", str(settings.warehouse),
        "--customers", str(args.customers), "--orders", str(args.orders),
        "--web-events", str(args.web_events), "--email-events", str(args.email_events),
        "--seed", str(args.seed), "--as-of", args.as_of, "--end", end.isoformat(),
    ]  # fmt: skip
    if start is not None:
        command += ["--start", start.isoformat()]
    done = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    generator_peaks.append(summary["peak_rss_mib"])
    return summary


def reset(settings: Settings, as_of: datetime) -> None:
    """Back to the state after step 1's generation: raw up to as_of, nothing built."""
    con = connect(settings.warehouse)
    try:
        for table in TABLES:
            con.execute(
                f"delete from raw.{table} where _interval_end > ?", [as_of.replace(tzinfo=None)]
            )
        for schema in ("staging", "intermediate", "marts"):
            con.execute(f"drop schema if exists {schema} cascade")
        con.execute("drop table if exists bench_hand_rfm")
        con.execute("checkpoint")
    finally:
        con.close()


def timed(label: str, fn, results: dict):
    load = os.getloadavg()[0]
    started = time.perf_counter()
    value = fn()
    results[label] = round(time.perf_counter() - started, 2)
    results.setdefault("load_average_1min", {})[label] = [
        round(load, 1),
        round(os.getloadavg()[0], 1),
    ]
    print(f"{label}: {results[label]} s (load {load:.1f} -> {os.getloadavg()[0]:.1f})", flush=True)
    return value


def slowest(nodes: tuple[DbtNode, ...], count: int = 8) -> dict[str, float]:
    return {n.name: n.seconds for n in sorted(nodes, key=lambda n: n.seconds, reverse=True)[:count]}


def row_counts(settings: Settings) -> dict[str, int]:
    con = connect(settings.warehouse, read_only=True)
    try:
        return {t: con.execute(f"select count(*) from raw.{t}").fetchone()[0] for t in TABLES}
    finally:
        con.close()


def run_dbt(settings: Settings, as_of: datetime, args: list[str]) -> DbtBuildResult:
    """One dbt command at `as_of` that must succeed (a failed build is no timing)."""
    result = transform.run_dbt(settings, args, as_of)
    assert result.success, result.error or result.failed_tests or result.errored_nodes
    return result


def run_models(settings: Settings, as_of: datetime, select: str) -> DbtBuildResult:
    """`dbt run --full-refresh` of a selection (no tests): the like-for-like yardstick."""
    return run_dbt(settings, as_of, ["run", "--full-refresh", "--select", select])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--orders", type=int, help="default: 10 per customer (the issue's ratio)")
    parser.add_argument("--web-events", type=int, help="default: 20 per customer")
    parser.add_argument("--email-events", type=int, help="default: 5 per customer")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", default="2026-06-01T00:00:00+00:00")
    parser.add_argument("--new-days", type=int, default=5, help="days of new data for step 2")
    parser.add_argument("--dir", help="working folder (default: a temporary one)")
    parser.add_argument(
        "--skip-models-only", action="store_true", help="no second, models-only incremental build"
    )
    parser.add_argument(
        "--reuse-raw",
        action="store_true",
        help="keep the raw history already in --dir (same sizes): drop step 2's slices and"
        " every dbt-built schema, then measure again",
    )
    args = parser.parse_args(argv)
    args.orders = args.orders or 10 * args.customers
    args.web_events = args.web_events or 20 * args.customers
    args.email_events = args.email_events or 5 * args.customers

    as_of = datetime.fromisoformat(args.as_of)
    later = as_of + timedelta(days=args.new_days)
    folder = Path(args.dir or tempfile.mkdtemp(prefix="segmart-transform-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    settings = Settings.from_env({"SEGMART_WAREHOUSE": str(folder / "segmart.duckdb")})
    results: dict[str, object] = {
        "targets": {
            k: getattr(args, k) for k in ("customers", "orders", "web_events", "email_events")
        },
        "memory_limit": os.environ.get("SEGMART_DUCKDB_MEMORY_LIMIT", "(default)"),
        "dbt_threads": os.environ.get("SEGMART_DBT_THREADS", "(default)"),
        "cpus": os.cpu_count(),
    }
    if args.reuse_raw:
        reset(settings, as_of)
    else:
        timed("generate_raw_s", lambda: generate(args, settings, None, as_of), results)
    results["raw_rows"] = row_counts(settings)
    print(json.dumps(results["raw_rows"]), flush=True)
    # Parse once first: the timings below are builds, not dbt's one-off full parse.
    timed("dbt_parse_s", lambda: parse_project(settings), results)
    build = timed("full_build_s", lambda: dbt_build(settings, as_of, full_refresh=True), results)
    assert build.success, build.error or build.failed_tests or build.errored_nodes
    results["full_build_nodes"] = f"{build.models_built} models, {build.tests_run} tests"
    results["full_build_slowest"] = slowest(build.nodes)
    print(json.dumps(results["full_build_slowest"]), flush=True)
    rfm = timed("rfm_models_s", lambda: run_models(settings, as_of, "+customer_rfm"), results)
    results["rfm_models_slowest"] = slowest(rfm.nodes)

    def hand_script() -> None:
        con = connect(settings.warehouse)
        try:
            limit = os.environ.get("SEGMART_DUCKDB_MEMORY_LIMIT")
            if limit:
                con.execute(f"set memory_limit = '{limit}'")
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

    new = timed("generate_new_s", lambda: generate(args, settings, as_of, later), results)
    results["new_rows"] = sum(new["rows"].values())
    results["new_share"] = round(results["new_rows"] / sum(results["raw_rows"].values()), 4)
    build = timed("incremental_build_s", lambda: dbt_build(settings, later), results)
    assert build.success, build.error or build.failed_tests or build.errored_nodes
    results["incremental_build_slowest"] = slowest(build.nodes)
    if not args.skip_models_only:
        # A second incremental build with no new data, tests left out (dbt's default
        # eager indirect selection would add every test whose parents are selected).
        timed(
            "rebuild_no_new_data_models_only_s",
            lambda: run_dbt(
                settings,
                later,
                ["build", "--select", "resource_type:model resource_type:seed",
                 "--indirect-selection", "empty"],
            ),
            results,
        )  # fmt: skip
    results["full_over_hand"] = round(results["full_build_s"] / results["hand_rfm_script_s"], 2)
    results["rfm_models_over_hand"] = round(
        results["rfm_models_s"] / results["hand_rfm_script_s"], 2
    )
    results["incremental_over_full"] = round(
        results["incremental_build_s"] / results["full_build_s"], 3
    )
    results["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    results["generator_peak_rss_mib"] = generator_peaks
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
