"""Pushed and pulled versions of a record become one staging row: the latest updated_at wins.

Real pull from the demo API, real webhooks into a real collector, real dbt staging.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import extract
from segmart.core.settings import Settings
from segmart.transform import dbt_build
from tests.collect.support import Collector, collector_env, load, query, start_collector
from tests.collect.test_webhooks import ORDER
from tests.support import NO_CLIENT_BUDGET

pytestmark = pytest.mark.slow

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)


def stage_orders(settings: Settings) -> None:
    result = dbt_build(settings, AS_OF, select="stg_shop__orders")
    assert result.success, result


def staged(settings: Settings, order_id: str) -> list[tuple]:
    return query(
        settings,
        "select status, cast(updated_at as varchar) from staging.stg_shop__orders "
        "where order_id = ?",
        [order_id],
    )


def test_a_webhook_delivered_twice_and_out_of_order_is_one_row(collector: Collector) -> None:
    first = {**ORDER, "status": "pending", "updated_at": "2026-05-30T10:00:00Z"}
    later = {**ORDER, "status": "paid", "updated_at": "2026-05-30T11:00:00Z"}
    for record, delivery in ((later, "d-later"), (first, "d-first"), (later, "d-later")):
        answer = collector.webhook("orders/updated", record, delivery)
        assert answer.status_code == 200, answer.text
    settings = collector.settings
    collector.stop()
    assert "2 loaded, 1 duplicates" in load(collector.env)
    assert load(collector.env).strip() == ""  # loaded again: nothing
    assert query(settings, "select count(*) from raw.shop__orders") == [(2,)]
    assert query(settings, "select count(*) from meta.collected_deliveries") == [(2,)]
    stage_orders(settings)
    assert staged(settings, "9001") == [("paid", "2026-05-30 11:00:00")]


def test_pushed_and_pulled_versions_reconcile(demo_api, tmp_path) -> None:
    env = collector_env(tmp_path, **demo_api.env(), **NO_CLIENT_BUDGET)
    settings = Settings.from_env(env)
    extract.run_extract(
        settings,
        source="shop",
        stream="orders",
        start=datetime(2026, 5, 20, tzinfo=UTC),
        end=datetime(2026, 5, 21, tzinfo=UTC),
    )
    pulled = query(
        settings,
        "select record_id, record ->> 'status', record_updated_at from raw.shop__orders "
        "qualify row_number() over (partition by record_id order by record_updated_at desc) = 1 "
        "order by record_id limit 2",
    )
    assert len(pulled) == 2
    (newer_id, _, newer_at), (older_id, older_status, older_at) = pulled
    collector = start_collector(tmp_path, **demo_api.env())
    try:
        newer = {
            **ORDER,
            "id": int(newer_id),
            "status": "cancelled",
            "updated_at": "2026-05-31T09:00:00Z",
        }
        stale = {
            **ORDER,
            "id": int(older_id),
            "status": "pending",
            "updated_at": "2026-01-01T00:00:00Z",
        }
        assert collector.webhook("orders/cancelled", newer, "d-newer").status_code == 200
        assert collector.webhook("orders/updated", stale, "d-stale").status_code == 200
    finally:
        collector.stop()
    load(collector.env)
    stage_orders(settings)
    assert staged(settings, newer_id) == [("cancelled", "2026-05-31 09:00:00")]
    assert staged(settings, older_id) == [(older_status, str(older_at))]
    # The pull's own slice, pulled and loaded again, keeps the pushed rows.
    extract.run_extract(
        settings,
        source="shop",
        stream="orders",
        start=datetime(2026, 5, 20, tzinfo=UTC),
        end=datetime(2026, 5, 21, tzinfo=UTC),
    )
    assert query(
        settings, "select count(*) from raw.shop__orders where _run_id like 'collect:%'"
    ) == [(2,)]
