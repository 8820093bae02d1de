"""Each pagination style walks every record of a window exactly once, as the world holds it."""

from __future__ import annotations

import pytest

from tests.demo_api.conftest import STREAMS
from tests.demo_api.walk import walk_stream

# Windows wide enough for several pages, small enough to stay quick.
WINDOWS = {
    ("shop", "customers"): (None, None, 100),
    ("shop", "orders"): ("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z", 100),
    ("shop", "products"): (None, None, 50),
    ("crm", "contacts"): (None, None, 100),
    ("esp", "email_events"): ("2026-05-20T00:00:00Z", "2026-06-01T00:00:00Z", 300),
    ("web", "events"): ("2026-05-15T00:00:00Z", "2026-05-25T00:00:00Z", 300),
}


@pytest.mark.parametrize(("source", "stream"), STREAMS, ids=lambda v: v)
def test_walks_every_record_exactly_once(demo_api, world, source, stream):
    start, end, size = WINDOWS[(source, stream)]
    walk = walk_stream(demo_api, source, stream, start, end, page_size=size)
    expected = list(world.records(source, stream, start, end))
    ids = [record["id"] for record in walk.records]
    assert walk.pages >= 3, "the window should span several pages"
    assert len(ids) == len(set(ids)), "a record came twice"
    assert walk.records == expected


def test_shop_next_link_carries_the_window(demo_api):
    walk = walk_stream(
        demo_api, "shop", "orders", "2026-05-01T00:00:00Z", "2026-05-03T00:00:00Z", page_size=20
    )
    assert walk.pages > 1
    assert all(
        "2026-05-01T00:00:00Z" <= o["updated_at"] < "2026-05-03T00:00:00Z" for o in walk.records
    )


def test_esp_page_past_the_end_is_empty(demo_api):
    from tests.demo_api.walk import Walk, get

    body = get(
        demo_api,
        "esp",
        f"{demo_api.url('esp')}/email_events",
        {"since": "2026-05-30T00:00:00Z", "per_page": 1000, "page": 99},
        Walk(),
    ).json()
    assert body["data"] == []
    assert body["total_pages"] < 99


def test_esp_deep_pages_of_a_long_window(demo_api, world):
    window = ("2025-01-01T00:00:00Z", "2025-04-01T00:00:00Z")
    expected = list(world.records("esp", "email_events", *window))
    first = walk_stream(demo_api, "esp", "email_events", *window, page_size=1000)
    again = walk_stream(demo_api, "esp", "email_events", *window, page_size=700)
    assert first.pages >= 3
    assert first.records == expected
    assert again.records == expected
