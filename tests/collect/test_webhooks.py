"""Shop webhooks over real HTTP: signed and verified, refused with a JSON reason, loaded once."""

from __future__ import annotations

import json
import time

import pytest
from standardwebhooks.webhooks import Webhook

from collect.load import CollectedLoadError, load_collected
from segmart.core.settings import Settings
from tests.collect.support import (
    WEBHOOK_SECRET,
    Collector,
    collector_env,
    landed_files,
    load,
    query,
    raw_tables,
    write_batch,
)

ORDER = {
    "id": 9001,
    "customer_id": 17,
    "status": "paid",
    "total": "42.50",
    "currency": "EUR",
    "line_items": [{"product_id": 3, "sku": "SKU-00003", "quantity": 1, "price": "42.50"}],
    "created_at": "2026-05-30T10:00:00Z",
    "updated_at": "2026-05-30T10:05:00Z",
}


def standard_headers(body: bytes, delivery_id: str, timestamp: float | None = None) -> dict:
    """Signed by the `standardwebhooks` package, as a sender using it would."""
    from datetime import UTC, datetime

    sent_at = datetime.fromtimestamp(time.time() if timestamp is None else timestamp, UTC)
    signature = Webhook(WEBHOOK_SECRET).sign(delivery_id, sent_at, body.decode())
    return {
        "webhook-id": delivery_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature,
        "X-Shopify-Topic": "orders/create",
        "Content-Type": "application/json",
    }


def post_standard(collector: Collector, body: bytes, headers: dict):
    import requests

    return requests.post(
        f"{collector.base_url}/webhooks/shop", data=body, headers=headers, timeout=30
    )


def test_a_signed_webhook_lands_and_loads_with_the_pull_columns(collector: Collector) -> None:
    answer = collector.webhook("orders/create", ORDER, "delivery-1")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"ok": True, "stream": "orders", "delivery_id": "delivery-1"}
    assert collector.stats()["accepted"] == {"shop.orders": 1}
    collector.stop()
    load(collector.env)
    rows = query(
        collector.settings,
        "select record_id, record_updated_at, _source, _stream, _run_id, record "
        "from raw.shop__orders",
    )
    assert len(rows) == 1
    record_id, updated_at, source, stream, run_id, record = rows[0]
    assert (record_id, str(updated_at), source, stream) == (
        "9001",
        "2026-05-30 10:05:00",
        "shop",
        "orders",
    )
    assert run_id.startswith("collect:")
    assert json.loads(record) == ORDER
    columns = query(
        collector.settings,
        "select column_name from information_schema.columns "
        "where table_schema = 'raw' and table_name = 'shop__orders' order by ordinal_position",
    )
    assert [c for (c,) in columns] == [
        "record",
        "record_id",
        "record_updated_at",
        "_source",
        "_stream",
        "_interval_start",
        "_interval_end",
        "_run_id",
        "_extracted_at",
    ]


def test_a_standard_webhooks_sender_is_verified(shared: Collector) -> None:
    collector = shared
    body = json.dumps(ORDER).encode()
    answer = post_standard(collector, body, standard_headers(body, "msg_2a"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["delivery_id"] == "msg_2a"


def test_a_stale_standard_webhook_is_a_replay(shared: Collector) -> None:
    collector = shared
    counts = collector.counting()
    body = json.dumps(ORDER).encode()
    headers = standard_headers(body, "msg_old", timestamp=time.time() - 3600)
    answer = post_standard(collector, body, headers)
    assert answer.status_code == 401
    assert answer.json()["reason"] == "stale"
    assert "tolerance" in answer.json()["error"]
    assert counts["rejected"] == {"stale": 1}


def test_a_standard_webhook_signed_with_another_secret_is_refused(shared: Collector) -> None:
    collector = shared
    body = json.dumps(ORDER).encode()
    headers = standard_headers(body, "msg_3")
    headers["webhook-signature"] = Webhook("whsec_" + "A" * 32).sign(
        "msg_3", __import__("datetime").datetime.now(__import__("datetime").UTC), body.decode()
    )
    answer = post_standard(collector, body, headers)
    assert answer.status_code == 401
    assert answer.json()["reason"] == "signature"


def test_a_changed_body_fails_its_signature(shared: Collector) -> None:
    collector = shared
    body = json.dumps(ORDER).encode()
    headers = standard_headers(body, "msg_4")
    tampered = body.replace(b"42.50", b"0.01")
    assert post_standard(collector, tampered, headers).status_code == 401


def test_wrong_and_missing_shopify_signatures_are_refused(shared: Collector) -> None:
    collector = shared
    counts = collector.counting()
    wrong = collector.webhook("orders/create", ORDER, "d-wrong", secret="not-the-secret")
    assert wrong.status_code == 401
    assert wrong.json() == {
        "error": "x-shopify-hmac-sha256 does not match the body (wrong secret?)",
        "reason": "signature",
    }
    missing = collector.webhook(
        "orders/create", ORDER, "d-missing", headers={"X-Shopify-Hmac-Sha256": ""}
    )
    assert missing.status_code == 401
    assert "X-Shopify-Hmac-Sha256".lower() in missing.json()["error"]
    assert counts["rejected"] == {"signature": 2}
    assert counts["accepted"] == {}


def test_malformed_json_is_a_400_naming_it(shared: Collector) -> None:
    collector = shared
    answer = collector.webhook("orders/create", None, "d-bad", body=b'{"id": 1,')
    assert answer.status_code == 400
    assert answer.json()["reason"] == "malformed"
    assert "not valid JSON" in answer.json()["error"]


def test_an_oversized_body_is_a_413_before_it_is_read(shared: Collector) -> None:
    collector = shared
    counts = collector.counting()
    big = {**ORDER, "note": "x" * (1024 * 1024)}
    answer = collector.webhook("orders/create", big, "d-big")
    assert answer.status_code == 413
    assert answer.json()["limit_bytes"] == 1024 * 1024
    assert counts["rejected"] == {"too_large": 1}


def test_a_schema_invalid_event_is_dead_lettered_with_its_reason(collector: Collector) -> None:
    bad = {**ORDER, "updated_at": "yesterday"}
    answer = collector.webhook("orders/updated", bad, "d-schema")
    assert answer.status_code == 400
    assert answer.json()["reason"] == "schema"
    assert "updated_at" in answer.json()["error"]
    assert collector.stats()["dead_lettered"] == {"shop.orders": 1}
    settings = collector.settings
    collector.stop()
    letters = list((settings.landing_dir / "shop" / "orders" / "dead_letter").glob("*.jsonl"))
    [entry] = [json.loads(line) for path in letters for line in path.read_text().splitlines()]
    assert entry["delivery_id"] == "d-schema"
    assert entry["event"] == bad
    assert "updated_at" in entry["reason"] and "date-time" in entry["reason"]
    load(collector.env)
    assert raw_tables(settings) == []


def test_an_unknown_topic_is_refused_and_kept(shared: Collector) -> None:
    collector = shared
    counts = collector.counting()
    answer = collector.webhook("refunds/create", ORDER, "d-topic")
    assert answer.status_code == 400
    assert answer.json()["reason"] == "topic"
    assert "orders/create" in answer.json()["error"]  # the topics it does take
    assert counts["dead_lettered"] == {"shop._unrouted": 1}


def test_a_webhook_without_delivery_id_is_refused(shared: Collector) -> None:
    collector = shared
    answer = collector.webhook("orders/create", ORDER, "", headers={"X-Shopify-Webhook-Id": ""})
    assert answer.status_code == 400
    assert answer.json()["reason"] == "delivery_id"


def test_refused_requests_land_nothing(collector: Collector) -> None:
    collector.webhook("orders/create", ORDER, "d1", secret="wrong")
    collector.webhook("orders/create", None, "d2", body=b"{")
    collector.webhook("orders/create", {**ORDER, "note": "x" * (2 << 20)}, "d3")
    settings = collector.settings
    collector.stop()
    assert [p for p in landed_files(settings) if "collected" in p.parts] == []
    load(collector.env)
    assert raw_tables(settings) == []


def test_a_micro_batch_that_cannot_load_is_named_and_kept(tmp_path) -> None:
    settings = Settings.from_env(collector_env(tmp_path))
    bad = write_batch(settings, "20260601T000000000000Z-00000000", "not a time")
    with pytest.raises(CollectedLoadError) as error:
        load_collected(settings)
    assert str(bad) in str(error.value) and "nothing of it is in raw" in str(error.value)
    assert bad.exists()
    assert query(settings, "select count(*) from raw.shop__orders") == [(0,)]
    assert query(settings, "select count(*) from meta.collected_batches") == [(0,)]
