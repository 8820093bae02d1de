"""The demo world pushes (demo_api/pushes.py) into a real collector over loopback HTTP:
signed webhooks and tracking batches, some twice and out of order, deterministic by seed,
each delivery once in raw and one row per record in staging."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from segmart.transform import dbt_build
from tests.collect.support import (
    WEBHOOK_SECRET,
    Collector,
    load,
    query,
    raw_tables,
    start_collector,
)

NOW = "2026-06-01T00:00:00Z"
WORLD = ["--seed", "7", "--customers", "2000", "--now", NOW]


def push(collector: Collector, *flags: str, env: dict[str, str] | None = None) -> dict[str, int]:
    command = [sys.executable, "-m", "demo_api.pushes", "--url", collector.base_url, *flags]
    env = collector.env if env is None else env
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def delivered(collector: Collector) -> list[tuple]:
    return query(
        collector.settings,
        "select stream, delivery_id from meta.collected_deliveries order by all",
    )


@pytest.fixture(scope="module")
def pushed(tmp_path_factory) -> tuple[Collector, dict[str, int], dict]:
    collector = start_collector(tmp_path_factory.mktemp("pushed"))
    sent = push(collector, *WORLD, "--hours", "24")
    stats = collector.stats()
    collector.stop()
    load(collector.env)
    return collector, sent, stats


def test_every_delivery_reaches_raw_once_and_second_sends_are_deduplicated(pushed) -> None:
    collector, sent, stats = pushed
    assert sent["webhooks"] > 10 and sent["events"] > 10
    assert sent["duplicates_sent"] > 0 and sent["failed"] == 0
    settings = collector.settings
    # The collector took every send, second ones included; the load kept each once.
    webhook_sends = sum(n for key, n in stats["accepted"].items() if key.startswith("shop."))
    assert webhook_sends == sent["webhooks"] + sent["duplicates_sent"]
    assert query(settings, "select sum(duplicates) from meta.collected_batches") == [
        (sent["duplicates_sent"],)
    ]
    assert "raw.shop__customers" in [f"raw.{t}" for t in raw_tables(settings)]
    (orders,) = query(settings, "select count(*) from raw.shop__orders")
    (customers,) = query(settings, "select count(*) from raw.shop__customers")
    assert orders[0] + customers[0] == sent["webhooks"]
    assert query(settings, "select count(*) from raw.web__events") == [(sent["events"],)]
    assert sum(stats["dead_lettered"].values()) == sent["dead_lettered"]


def test_the_same_seed_and_window_push_the_same_deliveries(pushed, tmp_path: Path) -> None:
    first, _, _ = pushed
    again = start_collector(tmp_path)
    push(again, *WORLD, "--hours", "24")
    again.stop()
    load(again.env)
    assert delivered(again) == delivered(first)


def test_pushed_orders_are_one_row_per_order_in_staging_latest_version(pushed) -> None:
    collector, _, _ = pushed
    settings = collector.settings
    result = dbt_build(settings, datetime(2026, 6, 1, tzinfo=UTC), select="stg_shop__orders")
    assert result.success, result
    raw_latest = query(
        settings,
        "select record_id, max(record_updated_at) from raw.shop__orders group by 1 order by 1",
    )
    staged = query(
        settings,
        "select cast(order_id as varchar), updated_at from staging.stg_shop__orders order by 1",
    )
    assert staged == raw_latest


def test_a_delivery_without_a_2xx_is_sent_again_then_given_up_and_counted(tmp_path) -> None:
    # The collector serves no shop webhooks without its secret: 503 with Retry-After.
    collector = start_collector(tmp_path, SEGMART_SHOP_WEBHOOK_SECRET="")
    try:
        sender_env = {**collector.env, "SEGMART_SHOP_WEBHOOK_SECRET": WEBHOOK_SECRET}
        sent = push(collector, *WORLD, "--hours", "0.3333", "--attempts", "2", env=sender_env)
        refused = collector.stats()["rejected"]
    finally:
        collector.stop()
    assert sent["webhooks"] == 0 and sent["failed"] >= 1
    assert sent["retries"] == sent["failed"]  # two attempts each
    assert sum(refused.values()) == 2 * sent["failed"]
