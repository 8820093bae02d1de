"""Per-source rate limits: 429 + Retry-After over the limit, RateLimit-* on every answer."""

from __future__ import annotations

import requests

from tests.demo_api.walk import walk_stream
from tests.support import FROZEN_NOW

FLAGS = ("--customers", "300", "--now", FROZEN_NOW)
RATE_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")


def test_burst_over_the_limit_gets_429_with_retry_after(demo_api_factory):
    api = demo_api_factory(*FLAGS, "--rate-limit", "shop=5,crm=0,esp=0,web=0")
    headers = {"Authorization": "Bearer demo-shop-key"}
    with requests.Session() as session:
        answers = [
            session.get(f"{api.url('shop')}/products?limit=1", headers=headers, timeout=10)
            for _ in range(30)
        ]
    codes = [a.status_code for a in answers]
    limited = [a for a in answers if a.status_code == 429]
    assert limited, codes
    for answer in limited:
        assert int(answer.headers["Retry-After"]) >= 1
        assert answer.json()["error"] == "rate_limited"
        assert answer.headers["RateLimit-Remaining"] == "0"
    for answer in answers:
        assert all(name in answer.headers for name in RATE_HEADERS)
        assert answer.headers["RateLimit-Limit"] == "5"
    shop = api.stats()["shop"]
    assert shop["requests"] == 30
    assert shop["rate_limited"] == len(limited)
    assert shop["accepted"] == codes.count(200) == 30 - len(limited)
    assert shop["max_accepted_per_second"] <= 5


def test_limits_are_per_source(demo_api_factory):
    api = demo_api_factory(*FLAGS, "--rate-limit", "shop=1,crm=0,esp=0,web=0")
    shop = {"Authorization": "Bearer demo-shop-key"}
    web = {"Authorization": "Bearer demo-web-key"}
    with requests.Session() as session:
        session.get(f"{api.url('shop')}/products", headers=shop, timeout=10)
        assert (
            session.get(f"{api.url('shop')}/products", headers=shop, timeout=10).status_code == 429
        )
        for _ in range(20):
            answer = session.get(f"{api.url('web')}/events", headers=web, timeout=10)
            assert answer.status_code == 200
    assert api.stats()["web"]["rate_limited"] == 0


def test_a_client_that_honours_retry_after_gets_everything(demo_api_factory):
    api = demo_api_factory(*FLAGS, "--rate-limit", "shop=0,crm=4,esp=0,web=0")
    walk = walk_stream(api, "crm", "contacts", page_size=10)
    from demo_api.world import World

    expected = list(World(seed=7, customers=300, now=FROZEN_NOW).records("crm", "contacts"))
    assert walk.records == expected
    assert walk.rate_limited > 0, "the walk should have run into the limit"
    stats = api.stats()["crm"]
    assert stats["max_accepted_per_second"] <= 4
    assert stats["rate_limited"] == walk.rate_limited


def test_stats_has_the_exact_shape(demo_api):
    stats = requests.get(f"{demo_api.base_url}/_stats", timeout=10).json()
    assert set(stats) == {"shop", "crm", "esp", "web"}
    for counters in stats.values():
        assert set(counters) == {
            "requests",
            "accepted",
            "rate_limited",
            "faults",
            "max_accepted_per_second",
        }
        assert all(isinstance(v, int) for v in counters.values())
