"""Each scenario produces the defects it promises; `clean` has only realistic warts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from demo_api.world import DRIFT_FROM, World, iso
from tests.demo_api.walk import walk_stream
from tests.support import FROZEN_NOW

RECENT = "2026-01-01T00:00:00Z"


def _world(scenario: str) -> World:
    return World(seed=7, customers=400, scenario=scenario, now=FROZEN_NOW)


@pytest.fixture(scope="module")
def clean() -> World:
    return _world("clean")


def _orders(world: World) -> list[dict]:
    return list(world.records("shop", "orders", RECENT))


def test_clean_orders_are_sound(clean):
    orders = _orders(clean)
    assert orders
    for order in orders:
        assert order["customer_id"] is not None
        items = sum(Decimal(i["price"]) * i["quantity"] for i in order["line_items"])
        assert Decimal(order["total"]) == items > 0
        assert order["created_at"].endswith("Z") and order["updated_at"] >= order["created_at"]


def test_clean_has_only_realistic_warts(clean):
    contacts = list(clean.records("crm", "contacts"))
    assert all(
        "phone" in c and "phone_number" not in c and "loyalty_tier" not in c for c in contacts
    )
    emails = [c["email"] for c in clean.records("shop", "customers")]
    emails += [c["email"] for c in contacts]
    emails += [e["email"] for e in clean.records("esp", "email_events", RECENT)]
    assert any(e and e != e.strip() for e in emails), "emails with stray spaces"
    assert any(e and e.strip() != e.strip().lower() for e in emails), "emails in mixed case"
    assert any(e and "+" in e for e in emails), "gmail +tags"
    assert any(not e or "@" not in e.strip()[1:-1] for e in emails), "records without an email"
    assert list(clean.records("esp", "email_events", RECENT))


def test_bad_orders_has_negative_totals_and_orders_without_customer(clean):
    bad = _orders(_world("bad-orders"))
    assert any(Decimal(o["total"]) < 0 for o in bad)
    assert any(o["customer_id"] is None for o in bad)
    good = {o["id"]: o for o in _orders(clean)}
    assert {o["id"] for o in bad} == set(good), "same orders, some broken"


def test_schema_drift_adds_a_field_and_renames_phone_from_a_date():
    contacts = list(_world("schema-drift").records("crm", "contacts"))
    assert all("loyalty_tier" in c for c in contacts)
    before = [c for c in contacts if c["updated_at"] < iso(DRIFT_FROM)]
    after = [c for c in contacts if c["updated_at"] >= iso(DRIFT_FROM)]
    assert before and after
    assert all("phone" in c and "phone_number" not in c for c in before)
    assert all("phone_number" in c and "phone" not in c for c in after)


def test_empty_scenario_empties_esp_only():
    empty = _world("empty")
    assert list(empty.records("esp", "email_events")) == []
    assert list(empty.records("shop", "orders", RECENT))
    assert list(empty.records("web", "events", "2026-05-01T00:00:00Z"))


def test_scenarios_over_http(demo_api_factory):
    flags = ("--customers", "200", "--now", FROZEN_NOW, "--rate-limit", "shop=0,esp=0")
    bad = demo_api_factory(*flags, "--scenario", "bad-orders")
    orders = walk_stream(bad, "shop", "orders", RECENT, page_size=250).records
    assert any(o["customer_id"] is None for o in orders)
    assert any(o["total"].startswith("-") for o in orders)
    empty = demo_api_factory(*flags, "--scenario", "empty")
    walk = walk_stream(empty, "esp", "email_events")
    assert walk.records == [] and walk.pages == 1


def test_every_segment_has_members_at_now(clean):
    """The world is rich enough for each DESIGN.md rule segment to have members."""
    from collections import Counter
    from datetime import datetime, timedelta

    now = datetime.fromisoformat(FROZEN_NOW.replace("Z", "+00:00"))

    def ago(days: int) -> str:
        return iso(int((now - timedelta(days=days)).timestamp()))

    qualifying = [
        o for o in clean.records("shop", "orders") if o["status"] in ("paid", "fulfilled")
    ]
    in_30 = Counter(o["customer_id"] for o in qualifying if o["created_at"] >= ago(30))
    in_60 = {o["customer_id"] for o in qualifying if o["created_at"] >= ago(60)}
    assert any(n >= 4 for n in in_30.values()), "frequent_buyers"
    assert {o["customer_id"] for o in qualifying} - in_60, "lapsed_customers"
    opens = Counter(
        e["email"].strip().lower()
        for e in clean.records("esp", "email_events", ago(30))
        if e["type"] == "open"
    )
    assert any(n > 3 for n in opens.values()), "engaged_browsers"
    carts = [e for e in clean.records("web", "events", ago(7)) if e["type"] == "add_to_cart"]
    assert any(e["customer_id"] for e in carts), "cart_abandoners"
    contacts = list(clean.records("crm", "contacts"))
    assert any(c["signup_at"] >= ago(30) and c["email_consent"] for c in contacts)
    esp_types = {e["type"] for e in clean.records("esp", "email_events", "2025-01-01")}
    assert esp_types == {"sent", "delivered", "open", "click", "bounce", "unsubscribe"}
    web_types = {e["type"] for e in clean.records("web", "events", ago(7))}
    assert web_types == {"page_view", "product_view", "add_to_cart", "checkout_started"}
