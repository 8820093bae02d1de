"""Segment-compatible tracking over real HTTP: Segment's own Python library as the sender."""

from __future__ import annotations

import gzip
import json

import pytest
import requests
from segment.analytics.client import Client
from segment.analytics.request import APIError

from tests.collect.support import WRITE_KEY, Collector, load, query


def event(message_id: str, **fields) -> dict:
    return {
        "type": "track",
        "event": "add_to_cart",
        "messageId": message_id,
        "anonymousId": "anon-1",
        "timestamp": "2026-05-31T12:00:00.000Z",
        "properties": {"product_id": 12, "session_id": "s_1"},
        **fields,
    }


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_segment_library_calls_land_as_web_events(collector: Collector, compressed) -> None:
    client = Client(
        WRITE_KEY, host=collector.base_url, sync_mode=True, gzip=compressed, max_retries=0
    )
    client.track(
        user_id="17",
        event="add_to_cart",
        properties={"product_id": 12, "session_id": "s_9"},
        message_id="m-track",
    )
    client.page(anonymous_id="anon-9", name="Home", message_id="m-page")
    client.identify(
        user_id="17", anonymous_id="anon-9", traits={"email": "a@example.com"}, message_id="m-id"
    )
    assert collector.stats()["accepted"] == {"web.events": 3}
    collector.stop()
    load(collector.env)
    rows = query(
        collector.settings,
        "select record_id, record ->> 'type', record ->> 'customer_id', "
        "record ->> 'anonymous_id', record ->> 'product_id', record_updated_at is not null "
        "from raw.web__events order by record_id",
    )
    assert rows == [
        ("m-id", "identify", "17", "anon-9", None, True),
        ("m-page", "page", None, "anon-9", None, True),
        ("m-track", "add_to_cart", "17", None, "12", True),
    ]


def test_single_track_call_endpoint(shared: Collector) -> None:
    collector = shared
    single = {key: value for key, value in event("m-single").items() if key != "type"}
    answer = requests.post(
        f"{collector.base_url}/v1/track", json=single, auth=(WRITE_KEY, ""), timeout=30
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"success": True}


def test_write_key_in_the_body_is_accepted_and_never_landed(collector: Collector) -> None:
    body = {"batch": [event("m-body")], "writeKey": WRITE_KEY}
    answer = requests.post(f"{collector.base_url}/v1/batch", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    settings = collector.settings
    collector.stop()
    landed = "".join(p.read_text() for p in settings.landing_dir.rglob("*.jsonl"))
    assert "m-body" in landed and WRITE_KEY not in landed


def test_wrong_and_missing_write_keys_are_refused(shared: Collector) -> None:
    collector = shared
    counts = collector.counting()
    wrong = collector.batch([event("m1")], write_key="not-the-key")
    assert wrong.status_code == 401
    assert wrong.json()["reason"] == "write_key"
    assert "wrong write key" in wrong.json()["error"]
    missing = collector.batch([event("m2")], write_key=None)
    assert missing.status_code == 401
    assert "missing write key" in missing.json()["error"]
    assert counts["rejected"] == {"write_key": 2}


def test_segment_library_sees_a_refusal(shared: Collector) -> None:
    collector = shared
    client = Client("not-the-key", host=collector.base_url, sync_mode=True, max_retries=0)
    with pytest.raises(APIError) as refused:
        client.track(user_id="1", event="x")
    assert refused.value.status == 401


def test_an_event_over_32_kb_refuses_the_batch(shared: Collector) -> None:
    collector = shared
    counts = collector.counting()
    big = event("m-big", properties={"blob": "x" * (33 * 1024)})
    answer = collector.batch([event("m-ok"), big])
    assert answer.status_code == 413
    assert "event 1" in answer.json()["error"] and "m-big" in answer.json()["error"]
    assert answer.json()["limit_bytes"] == 32 * 1024
    assert counts["accepted"] == {}


def test_a_batch_over_500_kb_is_refused(shared: Collector) -> None:
    collector = shared
    events = [event(f"m{i}", properties={"blob": "x" * 20_000}) for i in range(30)]
    answer = collector.batch(events)
    assert answer.status_code == 413
    assert answer.json()["limit_bytes"] == 500 * 1024


def test_a_gzip_bomb_is_stopped_at_the_limit(shared: Collector) -> None:
    collector = shared
    body = gzip.compress(
        json.dumps({"batch": [event("m", properties={"b": "x" * 2_000_000})]}).encode()
    )
    answer = requests.post(
        f"{collector.base_url}/v1/batch",
        data=body,
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        auth=(WRITE_KEY, ""),
        timeout=30,
    )
    assert answer.status_code == 413


def test_malformed_json_is_refused(shared: Collector) -> None:
    collector = shared
    answer = requests.post(
        f"{collector.base_url}/v1/batch", data=b"[1,", auth=(WRITE_KEY, ""), timeout=30
    )
    assert answer.status_code == 400
    assert answer.json()["reason"] == "malformed"
    no_batch = requests.post(
        f"{collector.base_url}/v1/batch", json={"events": []}, auth=(WRITE_KEY, ""), timeout=30
    )
    assert no_batch.status_code == 400
    assert "batch" in no_batch.json()["error"]


def test_invalid_events_are_dead_lettered_and_the_valid_ones_kept(collector: Collector) -> None:
    events = [
        event("m-good"),
        event("m-no-event", event=None),
        {k: v for k, v in event("m-no-user").items() if k != "anonymousId"},
        event("m-screen", type="screen"),
    ]
    answer = collector.batch(events)
    assert answer.status_code == 400
    body = answer.json()
    assert body["accepted"] == 1 and body["dead_lettered"] == 3
    reasons = {item["messageId"]: item["reason"] for item in body["invalid"]}
    assert "event" in reasons["m-no-event"]
    assert "anonymousId" in reasons["m-no-user"] or "userId" in reasons["m-no-user"]
    assert "screen" in reasons["m-screen"]
    stats = collector.stats()
    assert stats["accepted"] == {"web.events": 1}
    assert stats["dead_lettered"] == {"web.events": 2, "web._unrouted": 1}
    settings = collector.settings
    collector.stop()
    letters = [
        json.loads(line)
        for path in settings.landing_dir.glob("web/*/dead_letter/*.jsonl")
        for line in path.read_text().splitlines()
    ]
    assert sorted(entry["delivery_id"] for entry in letters) == [
        "m-no-event",
        "m-no-user",
        "m-screen",
    ]
    assert all(entry["reason"] for entry in letters)
    load(collector.env)
    assert query(settings, "select record_id from raw.web__events") == [("m-good",)]
