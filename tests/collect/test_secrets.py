"""The webhook secret and the write key appear in no log, answer, landing file or table."""

from __future__ import annotations

import json

import requests
from segment.analytics.client import Client

from tests.collect.support import WEBHOOK_SECRET, WRITE_KEY, load, query, start_collector
from tests.collect.test_webhooks import ORDER

SECRETS = (WEBHOOK_SECRET, WRITE_KEY)


def test_secrets_appear_nowhere(tmp_path) -> None:
    collector = start_collector(tmp_path)
    answers = [
        collector.webhook("orders/create", ORDER, "d-ok"),
        collector.webhook("orders/create", ORDER, "d-wrong", secret="wrong"),
        collector.webhook("orders/create", {**ORDER, "id": None}, "d-invalid"),
        collector.webhook("nope/nope", ORDER, "d-topic"),
        collector.batch([{"type": "track", "event": "x", "messageId": "m", "anonymousId": "a"}]),
        collector.batch([], write_key="wrong-key"),
        requests.post(
            f"{collector.base_url}/v1/batch",
            json={"writeKey": WRITE_KEY, "batch": [{"type": "bogus", "messageId": "m2"}]},
            timeout=30,
        ),
        requests.post(
            f"{collector.base_url}/v1/track",
            json={
                "writeKey": WRITE_KEY,
                "event": "viewed",
                "messageId": "m3",
                "userId": "7",
                "timestamp": "2026-05-31T00:00:00Z",
            },
            timeout=30,
        ),
    ]
    assert answers[-1].status_code == 200, answers[-1].text
    client = Client(WRITE_KEY, host=collector.base_url, sync_mode=True, max_retries=0)
    client.track(user_id="1", event="viewed", properties={"product_id": 1})
    texts = [answer.text for answer in answers]
    texts.append(json.dumps(collector.stats()))
    settings = collector.settings
    texts.append(collector.stop())  # everything the collector printed
    load(collector.env)
    files = [p for p in settings.landing_dir.rglob("*") if p.is_file()]
    assert any("dead_letter" in p.parts for p in files)
    texts += [p.read_text(errors="replace") for p in files]
    for schema, table, column in query(
        settings,
        "select table_schema, table_name, column_name from information_schema.columns "
        "where data_type in ('VARCHAR', 'JSON')",
    ):
        texts += [
            str(value)
            for (value,) in query(settings, f'select "{column}" from "{schema}"."{table}"')
        ]
    assert len(texts) > 20
    for secret in SECRETS:
        assert not [text for text in texts if secret in text], f"{secret[:6]}... leaked"
