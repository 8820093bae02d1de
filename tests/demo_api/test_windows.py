"""Window filters are half-open `[start, end)` on each stream's time field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from demo_api.world import TIME_FIELDS, World
from tests.demo_api.conftest import STREAMS
from tests.demo_api.walk import walk_stream
from tests.support import FROZEN_NOW


def _shift(ts: str, seconds: int) -> str:
    moment = datetime.fromisoformat(ts.replace("Z", "+00:00")) + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(("source", "stream"), STREAMS, ids=lambda v: v)
def test_window_holds_exactly_the_records_timed_inside_it(demo_api, world, source, stream):
    field = TIME_FIELDS[(source, stream)]
    recent = list(world.records(source, stream, "2026-04-01T00:00:00Z", None))
    # Bounds on real record times: the record at `start` is in, the one at `end` is out.
    start = recent[len(recent) // 4][field]
    end = recent[len(recent) // 2][field]
    walk = walk_stream(demo_api, source, stream, start, end, page_size=100)
    times = [record[field] for record in walk.records]
    assert times and all(start <= t < end for t in times)
    assert start in times and end not in times
    assert times == sorted(times)
    inside = [r["id"] for r in recent if start <= r[field] < end]
    assert [r["id"] for r in walk.records] == inside


def test_record_found_once_at_its_latest_update(world):
    orders = list(world.records("shop", "orders"))
    ids = [order["id"] for order in orders]
    assert len(ids) == len(set(ids))
    statuses = {order["status"] for order in orders}
    assert statuses == {"pending", "paid", "fulfilled", "cancelled", "refunded"}


def test_orders_move_on_as_the_clock_moves():
    before = World(seed=7, customers=500, now="2026-05-20T00:00:00Z")
    after = World(seed=7, customers=500, now="2026-06-01T00:00:00Z")
    earlier = {o["id"]: o for o in before.records("shop", "orders", "2026-05-18T00:00:00Z")}
    later = {o["id"]: o for o in after.records("shop", "orders", "2026-05-18T00:00:00Z")}
    moved = [i for i in earlier if i in later and later[i]["status"] != earlier[i]["status"]]
    assert moved, "some orders should have changed status since"
    for i in moved:
        assert later[i]["updated_at"] > earlier[i]["updated_at"]
    assert set(later) - set(earlier), "new orders should keep arriving"


def test_late_events_appear_after_their_time(world):
    later = World(seed=7, customers=500, now=_shift(FROZEN_NOW, 3 * 86_400))
    window = ("2026-05-29T00:00:00Z", "2026-06-01T00:00:00Z")
    for source, stream in (("esp", "email_events"), ("web", "events")):
        seen_now = {e["id"] for e in world.records(source, stream, *window)}
        seen_later = {e["id"] for e in later.records(source, stream, *window)}
        assert seen_now < seen_later, f"{source}: late events should arrive after the fact"


def test_nothing_from_the_future_or_before_history(world):
    for source, stream in STREAMS:
        field = TIME_FIELDS[(source, stream)]
        records = list(world.records(source, stream, "2026-05-31T00:00:00Z", "2027-01-01"))
        assert all(r[field] <= FROZEN_NOW for r in records)
    assert list(world.records("shop", "orders", "2020-01-01", "2024-01-01")) == []
    assert World.history_start == datetime(2024, 1, 1, tzinfo=UTC)


def test_bad_timestamp_is_a_json_400(demo_api):
    import requests

    response = requests.get(
        f"{demo_api.url('web')}/events",
        params={"occurred_after": "yesterday"},
        headers={"Authorization": "Bearer demo-web-key"},
        timeout=10,
    )
    assert response.status_code == 400
    assert "occurred_after" in response.json()["message"]


def test_forged_cursors_are_a_json_400(demo_api):
    import base64
    import json

    import requests

    def forge(payload: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()

    cases = [
        ("shop", "/shop/orders", {"page_info": forge({"t": 1, "id": "x"})}),
        ("shop", "/shop/orders", {"page_info": forge({"t": 1, "id": 1, "a": "soon"})}),
        ("shop", "/shop/orders", {"page_info": "not-a-cursor"}),
        ("crm", "/crm/contacts", {"after": forge({"t": 1, "id": 5})}),
        ("crm", "/crm/contacts", {"after": forge([1, 2])}),
        ("web", "/web/events", {"after_id": "ev_x_1_2"}),
    ]
    for source, path, params in cases:
        response = requests.get(
            demo_api.base_url + path,
            params=params,
            headers={"Authorization": f"Bearer demo-{source}-key"},
            timeout=10,
        )
        assert response.status_code == 400, (path, params)
        assert response.json()["error"] in ("invalid_cursor", "invalid_parameter")
