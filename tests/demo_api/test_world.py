"""The vectorised generators reproduce the one-by-one definitions exactly."""

from __future__ import annotations

from demo_api.world import World, _Stream
from tests.support import FROZEN_NOW


def test_vectorised_orders_index_matches_the_scalar_definition():
    orders = World(seed=5, customers=3000, now=FROZEN_NOW).stream("shop", "orders")
    orders.vectorise_above = 0  # take the path of a large world
    for day in (40, 200, 700, 880):
        vectorised = orders._day_index(day)
        assert vectorised
        assert vectorised == _Stream._day_index(orders, day)


def test_vectorised_email_events_match_the_scalar_definition():
    events = World(seed=5, customers=3000, now=FROZEN_NOW).stream("esp", "email_events")
    campaign_days = [d for d in range(500, 520) if events.scalar_versions_created_on(d)]
    assert len(campaign_days) >= 5
    for day in campaign_days:
        vectorised = events.versions_created_on(day)
        assert sorted(vectorised) == sorted(events.scalar_versions_created_on(day))


def test_people_join_in_id_order_and_keep_arriving():
    world = World(seed=5, customers=1000, now=FROZEN_NOW)
    joined = [world.created_at(i) for i in range(1, 1001)]
    assert joined == sorted(joined)
    assert world.persons_by(joined[499]) >= 500
    assert world.persons_by(world.now()) < world.persons_by(world.now() + 90 * 86_400)


def test_vectorised_web_sessions_match_the_scalar_definition():
    events = World(seed=5, customers=3000, now=FROZEN_NOW).stream("web", "events")
    for day in (0, 1, 300, 640, 881):
        vectorised = events.versions_created_on(day)
        assert sorted(vectorised) == sorted(events.scalar_versions_created_on(day))
    assert vectorised


def test_web_event_ids_sort_like_their_time():
    from demo_api.world import web_event_id, web_event_key

    world = World(seed=5, customers=300, now=FROZEN_NOW)
    events = list(world.records("web", "events", "2026-05-20T00:00:00Z"))
    ids = [e["id"] for e in events]
    assert ids == sorted(ids)
    for event in events[:50]:
        t, key = web_event_key(event["id"])
        assert web_event_id(t, key) == event["id"]
