"""`--fault-rate`: that share of requests fail, in every way a real API fails."""

from __future__ import annotations

from collections import Counter

import requests

from demo_api.world import World
from tests.demo_api.walk import walk_stream
from tests.support import FROZEN_NOW

FLAGS = ("--customers", "300", "--now", FROZEN_NOW, "--rate-limit", "shop=0,crm=0,esp=0,web=0")


def _outcome(session: requests.Session, url: str) -> str:
    try:
        response = session.get(url, headers={"Authorization": "Bearer demo-shop-key"}, timeout=10)
        if response.status_code != 200:
            return str(response.status_code)
        response.json()
        return "ok"
    except requests.exceptions.ChunkedEncodingError:
        return "truncated"
    except requests.ConnectionError:
        return "dropped"


def test_faults_appear_near_the_configured_rate(demo_api_factory):
    api = demo_api_factory(*FLAGS, "--fault-rate", "0.2")
    url = f"{api.url('shop')}/products?limit=250"
    with requests.Session() as session:
        outcomes = Counter(_outcome(session, url) for _ in range(300))
    failed = 300 - outcomes["ok"]
    assert 0.12 * 300 <= failed <= 0.28 * 300, outcomes
    assert {"500", "503", "truncated", "dropped"} <= set(outcomes), outcomes
    assert api.stats()["shop"]["faults"] == failed


def test_faults_do_not_corrupt_pagination(demo_api_factory):
    api = demo_api_factory(*FLAGS, "--fault-rate", "0.3")
    world = World(seed=7, customers=300, now=FROZEN_NOW)
    for source, stream, start in (
        ("shop", "orders", "2026-05-01T00:00:00Z"),
        ("web", "events", "2026-05-25T00:00:00Z"),
    ):
        walk = walk_stream(api, source, stream, start, page_size=50)
        assert walk.faults > 0
        assert walk.records == list(world.records(source, stream, start))


def test_no_faults_by_default(demo_api):
    assert all(counters["faults"] == 0 for counters in demo_api.stats().values())
