"""Measure the quality gate on DuckDB at scale (docs/architecture.md, docs/benchmarks.md).

    .venv/bin/python -m tests.gate.measure_gate [customers] [orders]

Builds synthetic marts for `customers` and one raw shop.orders slice of
`orders` records in a temporary DuckDB file, then times:
  gx_pandas  - the chosen path: DuckDB query -> pandas DataFrame -> GX pandas engine
  sql_only   - the same checks as plain DuckDB SQL counts, no GX (a floor, for scale)
and checks that both paths agree on the number of unexpected rows.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from expectations import gx_runner
from expectations.gate import read_rfm_map
from expectations.suites import marts_suites, raw_suites
from segmart.core import warehouse
from tests.gate import synthetic as syn


def build(settings, customers: int, orders: int) -> None:
    syn.build_marts(settings, customers=customers)
    con = warehouse.connect(settings.warehouse)
    try:
        con.execute(f"create table raw.shop__orders ({syn.RAW_COLUMNS})")
        con.execute(
            """
            insert into raw.shop__orders
            select to_json({'id': i, 'customer_id': i % 1000, 'status': 'paid',
                            'total': case when i % 100000 = 0 then '-1.00' else '12.50' end}),
                   cast(i as varchar), ? + to_seconds(i % 86000), 'shop', 'orders', ?, ?, 'r', ?
            from range(?) t(i)
            """,
            [syn.INTERVAL_START, syn.INTERVAL_START, syn.INTERVAL_END, syn.INTERVAL_END, orders],
        )
    finally:
        con.close()


SQL_ONLY = {
    "raw.shop__orders": """
        select count(*) filter (where record_id is null),
               count(*) filter (where try_cast(json_extract_string(record, '$.total')
                                as decimal(18,2)) < 0),
               count(*) filter (where json_extract_string(record, '$.customer_id') is null)
        from raw.shop__orders where _interval_start = ? and _interval_end = ?
    """,
    "marts": """
        select (select count(*) - count(distinct customer_id) from marts.customer_profiles),
               (select count(*) from marts.customer_rfm where r_score not between 1 and 5),
               (select count(*) from marts.email_audience a join marts.customer_profiles p
                using (customer_id) where not p.email_consent)
    """,
}


def main(customers: int, orders: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = syn.settings_for(Path(tmp))
        started = time.perf_counter()
        build(settings, customers, orders)
        print(
            f"built {customers} customers, {orders} raw orders in "
            f"{time.perf_counter() - started:.1f} s"
        )
        import great_expectations  # noqa: F401  (import cost is paid once per process)

        orders_gate = syn.STREAM_GATES[("shop", "orders")]
        suites = raw_suites(orders_gate, [(syn.INTERVAL_START, syn.INTERVAL_END)])
        con = warehouse.connect(settings.warehouse)
        try:
            suites += marts_suites(
                syn.AS_OF + timedelta(0),
                rule_segments=syn.RULE_SEGMENTS,
                identity_sources=syn.IDENTITY_SOURCES,
                rfm_map=read_rfm_map(settings, con),
            )
            started = time.perf_counter()
            batches = gx_runner.load_batches(con, suites)
            read = time.perf_counter() - started
            started = time.perf_counter()
            sql = [
                con.execute(
                    SQL_ONLY["raw.shop__orders"], [syn.INTERVAL_START, syn.INTERVAL_END]
                ).fetchone(),
                con.execute(SQL_ONLY["marts"]).fetchone(),
            ]
            sql_seconds = time.perf_counter() - started
        finally:
            con.close()
        rows = sum(len(frame) for _, frame, _ in batches if frame is not None)
        started = time.perf_counter()
        outcomes, _ = gx_runner.validate_batches(batches, "measure", None)
        gx_seconds = time.perf_counter() - started
        started = time.perf_counter()
        gx_runner.validate_batches(batches, "measure-docs", Path(tmp) / "docs")
        docs_seconds = time.perf_counter() - started - gx_seconds
        negative = next(o for o in outcomes if o.expectation == "order_total_non_negative")
        print(
            f"gx_pandas: read {rows} rows into pandas {read:.1f} s, "
            f"GX validate {gx_seconds:.1f} s ({len(outcomes)} expectations), "
            f"Data Docs +{max(docs_seconds, 0):.1f} s"
        )
        print(f"sql_only:  {sql_seconds:.2f} s, counts {sql}")
        print(f"agree on negative totals: GX {negative.unexpected_count} vs SQL {sql[0][1]}")
        failed = [o.describe() for o in outcomes if o.success is not True]
        print("non-passing:", failed)


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(*(args + [1_000_000, 1_000_000][len(args) :]))
