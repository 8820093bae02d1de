"""The benchmark's vectorised raw generator writes what the demo API serves.

At a tiny scale, the latest version of every generated record is compared
field by field with `World.records()` for the same id: equal for customers,
contacts, products, email and web events; for orders equal except the line
items (drawn from hash streams, not `random.Random`), whose keys, types and
total are checked instead. The raw columns are the extractor's.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import duckdb
import pytest

from benchmarks.raw_generator import Generator, Plan
from extract.load import RAW_DDL

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
STREAMS = {
    "shop__customers": ("shop", "customers"),
    "shop__products": ("shop", "products"),
    "shop__orders": ("shop", "orders"),
    "crm__contacts": ("crm", "contacts"),
    "esp__email_events": ("esp", "email_events"),
    "web__events": ("web", "events"),
}


@pytest.fixture(scope="module")
def generated():
    plan = Plan(customers=300, orders=3000, web_events=5000, email_events=2000, as_of=AS_OF)
    con = duckdb.connect()
    counts = Generator(plan, con).run(None, AS_OF, log=lambda _: None)
    yield plan, con, counts
    con.close()


def latest(con, table: str) -> dict[str, dict]:
    rows = con.execute(
        f"select record_id, record from raw.{table} qualify row_number() over"
        " (partition by record_id order by record_updated_at desc, _extracted_at desc) = 1"
    ).fetchall()
    return {record_id: json.loads(record) for record_id, record in rows}


def test_raw_columns_are_the_extractors(generated):
    _, con, _ = generated
    con.execute("create schema if not exists expected")
    con.execute(RAW_DDL.format(table="expected.layout"))
    expected = con.execute("select column_name, column_type from (describe expected.layout)")
    expected = expected.fetchall()
    for table in STREAMS:
        described = con.execute(f"select column_name, column_type from (describe raw.{table})")
        assert described.fetchall() == expected, table


def test_sizes_and_repeated_versions(generated):
    plan, con, counts = generated
    assert plan.world.persons_by(int(AS_OF.timestamp())) >= 300
    for table in STREAMS:
        assert counts[table] > 0, table
    for table in ("shop__customers", "shop__orders", "crm__contacts"):
        rows, ids = con.execute(
            f"select count(*), count(distinct record_id) from raw.{table}"
        ).fetchone()
        assert rows > ids, f"{table}: no repeated versions, dedup would have no work"
    orders = con.execute("select count(distinct record_id) from raw.shop__orders").fetchone()[0]
    assert 2000 <= orders <= 4000
    slices = con.execute("select count(distinct _extracted_at) from raw.web__events").fetchone()[0]
    assert slices > 100
    # Nothing after as_of, and every version before its pull.
    late = con.execute(
        "select count(*) from raw.shop__orders"
        " where _interval_end > ? or record_updated_at >= _interval_end",
        [AS_OF.replace(tzinfo=None)],
    ).fetchone()[0]
    assert late == 0


@pytest.mark.parametrize("table", STREAMS)
def test_records_equal_the_demo_apis(generated, table):
    plan, con, _ = generated
    source, stream = STREAMS[table]
    mine = latest(con, table)
    served = {str(r["id"]): r for r in plan.world.records(source, stream, None, AS_OF)}
    common = set(mine) & set(served)
    if table in ("esp__email_events", "web__events"):
        # Thinned or re-rated: the generated events are a part of World's.
        assert len(common) >= 0.9 * len(mine)
    else:
        assert set(mine) == set(served)
    for record_id in sorted(common):
        got, want = mine[record_id], served[record_id]
        assert list(got) == list(want), record_id
        if table != "shop__orders":
            assert got == want, record_id
            continue
        items = got.pop("line_items")
        want_items = want.pop("line_items")
        got_total = got.pop("total")
        total = want.pop("total")
        assert got == want, record_id
        assert 1 <= len(items) <= 4
        for item in items:
            assert list(item) == list(want_items[0])
            assert [type(v) for v in item.values()] == [type(v) for v in want_items[0].values()]
            assert item["sku"] == f"SKU-{item['product_id']:05d}"
        computed = sum(Decimal(i["price"]) * i["quantity"] for i in items)
        assert Decimal(got_total) == computed
        assert isinstance(total, str)
