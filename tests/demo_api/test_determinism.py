"""The same seed, scale and scenario serve the same pages, on any machine."""

from __future__ import annotations

import requests

from demo_api.world import World
from tests.demo_api.conftest import STREAMS
from tests.demo_api.walk import auth_headers, window
from tests.support import FROZEN_NOW

FLAGS = ("--seed", "7", "--customers", "500", "--now", FROZEN_NOW, "--rate-limit", "shop=0")


def _first_page(api, source: str, stream: str) -> str:
    params = {**window(source, "2026-05-01T00:00:00Z", None)}
    response = requests.get(
        f"{api.url(source)}/{stream}", params=params, headers=auth_headers(api, source), timeout=30
    )
    assert response.status_code == 200
    # Cursors hold absolute URLs, which differ by port.
    return response.text.replace(api.base_url, "BASE")


def test_two_servers_with_the_same_seed_serve_identical_pages(demo_api, demo_api_factory):
    twin = demo_api_factory(*FLAGS)
    for source, stream in STREAMS:
        assert _first_page(twin, source, stream) == _first_page(demo_api, source, stream)


def test_another_seed_is_another_world():
    one = list(World(seed=7, customers=200, now=FROZEN_NOW).records("shop", "orders", "2026-05-01"))
    two = list(World(seed=8, customers=200, now=FROZEN_NOW).records("shop", "orders", "2026-05-01"))
    assert one != two


def test_world_is_stable_across_instances():
    window = ("2026-05-01T00:00:00Z", "2026-05-08T00:00:00Z")
    for source, stream in STREAMS:
        a = list(World(seed=3, customers=300, now=FROZEN_NOW).records(source, stream, *window))
        b = list(World(seed=3, customers=300, now=FROZEN_NOW).records(source, stream, *window))
        assert a == b


def test_concurrent_clients_each_get_the_same_records(demo_api_factory):
    from concurrent.futures import ThreadPoolExecutor

    from tests.demo_api.walk import walk_stream

    api = demo_api_factory(*FLAGS[:-2], "--rate-limit", "shop=0,crm=0,esp=0,web=0")
    world = World(seed=7, customers=500, now=FROZEN_NOW)
    jobs = [("shop", "products", None), ("shop", "orders", "2026-05-01T00:00:00Z")] * 3
    jobs += [("web", "events", "2026-05-28T00:00:00Z"), ("esp", "email_events", "2026-05-25")]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        walks = list(pool.map(lambda job: walk_stream(api, *job, page_size=100), jobs))
    for (source, stream, start), walk in zip(jobs, walks, strict=True):
        assert walk.records == list(world.records(source, stream, start))
