"""Small synthetic warehouses for gate and publish tests.

Raw tables follow the shared raw contract; marts tables follow DESIGN.md
"Published contract". Values are chosen so every gate expectation passes;
tests then break one thing at a time with plain SQL.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from segmart.core import warehouse
from segmart.core.contracts import DbtBuildResult, FieldCheck, FieldRule, StreamGate
from segmart.core.settings import Settings

INTERVAL_START = datetime(2026, 5, 31, 0, 0)
INTERVAL_END = datetime(2026, 6, 1, 0, 0)
AS_OF = INTERVAL_END
RUN_ID = "run-synthetic-1"

# The demo streams' raw-gate settings, as their source YAML declares them (`gate:`).
TIME_TOLERANCE = timedelta(days=3)
ORDER_CHECKS = (
    FieldCheck("order_total_numeric", "total", FieldRule.DECIMAL, description="total is a decimal"),
    FieldCheck(
        "order_total_non_negative", "total", FieldRule.MINIMUM, value=0, description="total >= 0"
    ),
    FieldCheck(
        "order_has_customer", "customer_id", FieldRule.PRESENT, description="order has a customer"
    ),
)


def stream_gate(
    source: str, stream: str, email_field: str | None = None, checks: tuple = ()
) -> StreamGate:
    return StreamGate(source, stream, TIME_TOLERANCE, email_field=email_field, checks=checks)


STREAM_GATES = {
    (g.source, g.stream): g
    for g in (
        stream_gate("shop", "customers", email_field="email"),
        stream_gate("shop", "orders", checks=ORDER_CHECKS),
        stream_gate("shop", "products"),
        stream_gate("crm", "contacts", email_field="email"),
        stream_gate("esp", "email_events", email_field="email"),
        stream_gate("web", "events"),
    )
}
# The dbt project's rule segments and the sources identity resolution joins.
RULE_SEGMENTS = (
    "frequent_buyers",
    "lapsed_customers",
    "engaged_browsers",
    "cart_abandoners",
    "high_value",
    "new_subscribers",
)
IDENTITY_SOURCES = ("shop", "crm", "esp")
DBT_OK = DbtBuildResult(success=True)

RAW_COLUMNS = """
    record JSON, record_id VARCHAR, record_updated_at TIMESTAMP, _source VARCHAR,
    _stream VARCHAR, _interval_start TIMESTAMP, _interval_end TIMESTAMP, _run_id VARCHAR,
    _extracted_at TIMESTAMP
"""


def settings_for(tmp_path: Path) -> Settings:
    return Settings.from_env(
        {
            "SEGMART_WAREHOUSE": str(tmp_path / "warehouse" / "segmart.duckdb"),
            "SEGMART_PUBLISHED": str(tmp_path / "warehouse" / "published.duckdb"),
        }
    )


def add_raw_slice(
    settings: Settings,
    source: str,
    stream: str,
    records: list[dict],
    start: datetime = INTERVAL_START,
    end: datetime = INTERVAL_END,
    run_id: str = RUN_ID,
    time_field: str = "updated_at",
    finished_at: datetime | None = None,
) -> dict:
    """Load records as one raw slice plus its meta.extract_runs row; returns the slice dict."""
    import json

    finished_at = finished_at or end

    con = warehouse.connect(settings.warehouse)
    try:
        table = f"raw.{source}__{stream}"
        con.execute(f"create table if not exists {table} ({RAW_COLUMNS})")
        con.execute(
            f"delete from {table} where _interval_start = ? and _interval_end = ?", [start, end]
        )
        for record in records:
            con.execute(
                f"insert into {table} values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    json.dumps(record),
                    None if record.get("id") is None else str(record["id"]),
                    datetime.fromisoformat(record[time_field].replace("Z", "")),
                    source,
                    stream,
                    start,
                    end,
                    run_id,
                    end,
                ],
            )
        con.execute(
            """
            insert into meta.extract_runs (run_id, source, stream, interval_start, interval_end,
                window_start, window_end, pages, records, requests, rate_limited, retries,
                seconds, status, started_at, finished_at)
            values (?, ?, ?, ?, ?, ?, ?, 1, ?, 1, 0, 0, 0.1, 'success', ?, ?)
            """,
            [run_id, source, stream, start, end, start, end, len(records), end, finished_at],
        )
    finally:
        con.close()
    return {"source": source, "stream": stream, "interval_start": start, "interval_end": end}


def orders(n: int = 20, start: datetime = INTERVAL_START) -> list[dict]:
    return [
        {
            "id": 1000 + i,
            "customer_id": 1 + i % 7,
            "status": "paid",
            "total": f"{10 + i}.50",
            "currency": "EUR",
            "created_at": (start + timedelta(minutes=30 * i)).isoformat() + "Z",
            "updated_at": (start + timedelta(minutes=30 * i)).isoformat() + "Z",
            "line_items": [],
        }
        for i in range(n)
    ]


def customers(n: int = 10, start: datetime = INTERVAL_START) -> list[dict]:
    return [
        {
            "id": i,
            "email": f"Person.{i}@Example.com " if i % 3 else f"p{i}@gmail.com",
            "first_name": "A",
            "last_name": "B",
            "created_at": (start + timedelta(hours=i)).isoformat() + "Z",
            "updated_at": (start + timedelta(hours=i)).isoformat() + "Z",
        }
        for i in range(1, n + 1)
    ]


MARTS_DDL = """
create schema if not exists marts;
create or replace table marts.customer_profiles as
    select i as customer_id, 'c' || i || '@example.com' as email, 'First' as first_name,
           'Last' as last_name, 'Berlin' as city, 'DE' as country,
           timestamp '2025-01-01' as signup_at, i % 2 = 0 as email_consent,
           i % 4 as orders_count, (i % 4) * 10.0 as orders_total, i % 5 as email_opens
    from range(1, $n + 1) t(i);
create or replace table marts.customer_identity as
    select customer_id, 'shop' as source, cast(customer_id as varchar) as source_customer_id
    from marts.customer_profiles
    union all
    select customer_id, 'esp', email from marts.customer_profiles;
create or replace table marts.customer_rfm as
    with scored as (
        select customer_id, 1 + customer_id % 5 as r_score, 1 + (customer_id // 5) % 5 as f_score,
               1 + (customer_id // 2) % 5 as m_score
        from marts.customer_profiles where customer_id <= $n * 3 // 4
    )
    select customer_id, $as_of as as_of, 10 * (6 - r_score) as recency_days,
           f_score as frequency, 20.0 * m_score as monetary, r_score, f_score, m_score,
           case
             when r_score = 5 and f_score >= 4 then 'Champions'
             when r_score between 3 and 4 and f_score >= 4 then 'Loyal Customers'
             when r_score >= 4 and f_score between 2 and 3 then 'Potential Loyalist'
             when r_score = 5 and f_score = 1 then 'New Customers'
             when r_score = 4 and f_score = 1 then 'Promising'
             when r_score = 3 and f_score = 3 then 'Need Attention'
             when r_score = 3 and f_score <= 2 then 'About To Sleep'
             when r_score <= 2 and f_score between 3 and 4 then 'At Risk'
             when r_score <= 2 and f_score = 5 then 'Can''t Lose Them'
             else 'Hibernating'
           end as rfm_segment
    from scored;
create or replace table marts.customer_segments as
    select customer_id, case when customer_id % 2 = 0 then 'high_value' else 'lapsed_customers' end
           as segment, $as_of as as_of
    from marts.customer_profiles where customer_id <= $n // 2;
create or replace table marts.segment_changes as
    select customer_id, segment, 'entered' as change, as_of from marts.customer_segments;
create or replace table marts.email_audience as
    select s.customer_id, p.email, s.segment, s.as_of
    from marts.customer_segments s join marts.customer_profiles p using (customer_id)
    where p.email_consent;
"""


RFM_SEED = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "rfm_segment_map.csv"


def build_marts(settings: Settings, as_of: datetime = AS_OF, customers: int = 40) -> None:
    """Marts as dbt would leave them, with the project's real RFM map seed."""
    con = warehouse.connect(settings.warehouse)
    try:
        sql = MARTS_DDL.replace("$as_of", f"timestamp '{as_of.isoformat(sep=' ')}'")
        con.execute(sql.replace("$n", str(customers)))
        if RFM_SEED.exists():
            con.execute(
                "create or replace table marts.rfm_segment_map as select * from read_csv(?)",
                [str(RFM_SEED)],
            )
    finally:
        con.close()


def execute(settings: Settings, sql: str) -> None:
    con = warehouse.connect(settings.warehouse)
    try:
        con.execute(sql)
    finally:
        con.close()
