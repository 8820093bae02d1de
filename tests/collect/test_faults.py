"""Faults: the collector killed under load loses no acknowledged event; a full writer says 503."""

from __future__ import annotations

import itertools
import json
import threading
from datetime import UTC, datetime

import pytest
import requests
import uvicorn

from collect.app import create_app
from collect.writer import GroupCommitWriter, recover
from segmart.core.serving import bind
from segmart.core.settings import Settings
from segmart.transform import dbt_build
from tests.collect.support import (
    WRITE_KEY,
    collector_env,
    load,
    query,
    start_collector,
    wait_until,
)

SENDERS = 4
BATCH = 25
ACKED_BEFORE_KILL = 1500


def batch_of(sender: int, number: int) -> list[dict]:
    return [
        {
            "type": "track",
            "event": "product_view",
            "messageId": f"s{sender}-b{number}-e{i}",
            "anonymousId": f"anon-{sender}",
            "timestamp": "2026-05-31T12:00:00Z",
            "properties": {"product_id": i},
        }
        for i in range(BATCH)
    ]


@pytest.mark.slow
def test_sigkill_under_load_loses_no_acknowledged_event(tmp_path) -> None:
    collector = start_collector(tmp_path, SEGMART_COLLECT_ROTATE_SECONDS="0.2")
    url = [collector.base_url]
    acked: set[str] = set()
    unacked: list[list[dict]] = []  # batches whose answer never came: the sender retries them
    lock = threading.Lock()
    enough = threading.Event()
    stop = threading.Event()

    def send(sender: int) -> None:
        session = requests.Session()
        for number in itertools.count():
            if stop.is_set():
                return
            events = batch_of(sender, number)
            try:
                answer = session.post(
                    f"{url[0]}/v1/batch", json={"batch": events}, auth=(WRITE_KEY, ""), timeout=30
                )
                ok = answer.status_code == 200
            except requests.ConnectionError:
                ok = False
            with lock:
                if ok:
                    acked.update(event["messageId"] for event in events)
                    if len(acked) >= ACKED_BEFORE_KILL:
                        enough.set()
                else:
                    unacked.append(events)
                    stop.set()  # the collector is gone: stop sending until it is back
                    return

    threads = [threading.Thread(target=send, args=(n,)) for n in range(SENDERS)]
    for thread in threads:
        thread.start()
    assert enough.wait(timeout=120), "the collector never acknowledged enough events"
    collector.kill()  # SIGKILL while the senders are mid-request
    for thread in threads:
        thread.join(timeout=60)
    acked_before = set(acked)
    assert len(acked_before) >= ACKED_BEFORE_KILL

    restarted = start_collector(tmp_path)
    output = "".join(restarted.output)
    # Retry what got no answer, and send one acknowledged batch again: at-least-once senders.
    again = [*unacked, batch_of(0, 0)]
    for events in again:
        answer = restarted.batch(events)
        assert answer.status_code == 200, answer.text
        acked.update(event["messageId"] for event in events)
    restarted.stop()
    assert "left open by an earlier collector" in output or not list(
        tmp_path.glob("landing/**/*.open")
    )

    load(restarted.env)
    settings = restarted.settings
    in_raw = {row[0] for row in query(settings, "select record_id from raw.web__events")}
    assert acked <= in_raw, f"{len(acked - in_raw)} acknowledged events are missing"
    assert query(settings, "select count(*) - count(distinct record_id) from raw.web__events") == [
        (0,)
    ]
    result = dbt_build(settings, datetime(2026, 6, 1, tzinfo=UTC), select="stg_web__events")
    assert result.success, result
    assert query(
        settings,
        "select count(*), count(distinct web_event_id) from staging.stg_web__events",
    ) == [(len(in_raw), len(in_raw))]


def test_recover_cuts_a_torn_last_line_and_closes_the_file(tmp_path) -> None:
    folder = tmp_path / "web" / "events" / "collected"
    folder.mkdir(parents=True)
    whole = json.dumps({"delivery_id": "m1", "received_at": "2026-06-01T00:00:00Z", "record": {}})
    (folder / "a.jsonl.open").write_text(whole + "\n" + '{"delivery_id": "m2", "rec')
    (folder / "b.jsonl.open").write_text('{"torn')  # nothing answered: nothing to keep
    closed = recover(tmp_path)
    assert [p.name for p in closed] == ["a.jsonl"]
    assert (folder / "a.jsonl").read_text() == whole + "\n"
    assert sorted(p.name for p in folder.iterdir()) == ["a.jsonl"]


def test_a_full_writer_queue_answers_503_with_retry_after(tmp_path) -> None:
    settings = Settings.from_env(collector_env(tmp_path))
    writer = GroupCommitWriter(settings.landing_dir, queue_size=1)  # not started yet
    app = create_app(settings, writer)
    sock = bind("127.0.0.1", 0)
    sock.listen()  # connections wait in the backlog until the server accepts them
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1/batch"
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    serving = threading.Thread(target=server.run, kwargs={"sockets": [sock]})
    serving.start()
    first: dict[str, requests.Response] = {}

    def post_first() -> None:
        first["answer"] = requests.post(
            url, json={"batch": batch_of(0, 0)}, auth=(WRITE_KEY, ""), timeout=60
        )

    waiting = threading.Thread(target=post_first)
    try:
        waiting.start()
        wait_until(lambda: writer.depth == 1)  # the first request holds the only place
        second = requests.post(
            url, json={"batch": batch_of(0, 1)}, auth=(WRITE_KEY, ""), timeout=30
        )
        assert second.status_code == 503
        assert second.headers["Retry-After"] == "1"
        assert second.json()["reason"] == "overloaded"
        writer.start()  # the writer catches up: the waiting request is answered
        waiting.join(timeout=60)
        assert first["answer"].status_code == 200
        stats = requests.get(url.replace("/v1/batch", "/_stats"), timeout=10).json()
        assert stats["rejected"] == {"overloaded": 1}
        assert stats["accepted"] == {"web.events": BATCH}
    finally:
        server.should_exit = True
        serving.join(timeout=30)
        writer.stop()
