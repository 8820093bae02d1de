"""Till purchases dropped as CSV become orders of their buyers and count in RFM.

The demo world's till exports (demo_api/pos.py) beside its four APIs, through
`run_pipeline` (as `segmart run`): extract, raw gate, dbt, marts gate, publish.
The expected RFM contribution of each buyer is computed here from the CSV files
alone, with the documented customer id (tests/dbt/reference.py).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from demo_api.pos import write_till_exports
from demo_api.world import World
from segmart.core.contracts import PublishStatus
from segmart.core.settings import Settings
from segmart.pipeline import run_pipeline
from tests.dbt.reference import canonical_email, customer_id
from tests.support import FROZEN_NOW, NO_CLIENT_BUDGET

START = "2026-04-01T00:00:00Z"
AS_OF = datetime(2026, 6, 1)


@pytest.fixture(scope="module")
def published(demo_api, tmp_path_factory) -> tuple[Settings, list[dict[str, str]]]:
    directory: Path = tmp_path_factory.mktemp("pos_rfm")
    settings = Settings.from_env(
        {
            **demo_api.env(),
            **NO_CLIENT_BUDGET,
            "SEGMART_WAREHOUSE": str(directory / "segmart.duckdb"),
            "SEGMART_PUBLISHED": str(directory / "published.duckdb"),
            "SEGMART_DROP_DIR": str(directory / "drops"),
        }
    )
    # The world of the session's demo API (tests/conftest.py): the same people.
    world = World(seed=7, customers=500, now=FROZEN_NOW)
    files = write_till_exports(world, settings.drop_dir("pos"), days=20)
    result = run_pipeline(settings, start=START, end=FROZEN_NOW)
    assert result.status is PublishStatus.PUBLISHED, result.reason
    rows = [row for path in files for row in csv.DictReader(path.open())]
    return settings, rows


def query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_every_till_purchase_is_a_paid_order_of_its_buyer(published) -> None:
    settings, rows = published
    orders = query(
        settings.warehouse,
        "select order_id, customer_id, status, order_total from marts.orders "
        "where order_id like 'pos-%'",
    )
    expected = {
        (
            f"pos-{row['purchase_id']}",
            customer_id("pos", row["purchase_id"], row["email"]) if _has_email(row) else None,
            "paid",
            Decimal(row["total"]),
        )
        for row in rows
    }
    assert len(rows) > 50
    assert set(orders) == expected


def test_rfm_counts_till_purchases_beside_shop_orders(published) -> None:
    settings, rows = published
    till: dict[str, list[Decimal]] = defaultdict(list)
    for row in rows:
        when = datetime.fromisoformat(row["purchased_at"].replace("Z", ""))
        if _has_email(row) and AS_OF - timedelta(days=365) <= when < AS_OF:
            till[customer_id("pos", row["purchase_id"], row["email"])].append(Decimal(row["total"]))
    shop = {
        customer: (count, total)
        for customer, count, total in query(
            settings.warehouse,
            "select customer_id, count(*), sum(order_total) from marts.orders "
            "where is_qualifying and order_id not like 'pos-%' "
            f"and created_at >= timestamp '{AS_OF}' - interval 365 day group by 1",
        )
    }
    rfm = {
        customer: (frequency, monetary)
        for customer, frequency, monetary in query(
            settings.published, "select customer_id, frequency, monetary from customer_rfm"
        )
    }
    # Some buyers also order in the shop (the same person by canonical email), some not.
    assert any(c in shop for c in till) and any(c not in shop for c in till)
    for customer, totals in till.items():
        count, total = shop.get(customer, (0, Decimal(0)))
        assert rfm[customer] == (count + len(totals), total + sum(totals)), customer


def test_till_buyers_are_customers_of_the_identity_by_canonical_email(published) -> None:
    settings, rows = published
    identity = set(
        query(
            settings.published,
            "select customer_id, source_customer_id from customer_identity where source = 'pos'",
        )
    )
    buyers = {
        (customer_id("pos", row["purchase_id"], row["email"]), canonical_email(row["email"]))
        for row in rows
        if _has_email(row)
    }
    assert buyers <= identity


def test_a_second_run_loads_no_file_twice(published) -> None:
    settings, rows = published
    result = run_pipeline(settings, end=FROZEN_NOW)
    assert result.status.succeeded, result.reason
    assert query(settings.warehouse, "select count(*) from raw.pos__purchases") == [(len(rows),)]


def _has_email(row: dict[str, str]) -> bool:
    return canonical_email(row["email"]) is not None
