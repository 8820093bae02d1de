"""Scale: a million customers start fast and serve any page without building the world."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta

import requests

from tests.support import start_demo_api

HEADERS = {"Authorization": "Bearer demo-shop-key"}


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_million_customers_start_and_serve_a_page_from_the_last_year():
    began = time.monotonic()
    with start_demo_api("--customers", "1000000", "--rate-limit", "shop=0") as api:
        started = time.monotonic() - began
        since = _iso(datetime.now(UTC) - timedelta(days=200))
        response = requests.get(
            f"{api.url('shop')}/orders",
            params={"limit": 250, "updated_at_min": since},
            headers=HEADERS,
            timeout=30,
        )
        served = time.monotonic() - began
        orders = response.json()["orders"]
        assert response.status_code == 200
        assert len(orders) == 250 and all(o["updated_at"] >= since for o in orders)
        assert 'rel="next"' in response.headers["Link"]
    assert started < 10, f"started in {started:.1f}s"
    assert served < 10, f"first page after {served:.1f}s"


def test_a_page_of_250_orders_is_fast_at_default_scale():
    with start_demo_api("--customers", "5000", "--rate-limit", "shop=0") as api:
        url = f"{api.url('shop')}/orders"
        params: dict | None = {"limit": 250, "updated_at_min": "2025-06-01T00:00:00Z"}
        timings = []
        with requests.Session() as session:
            for _ in range(15):
                began = time.monotonic()
                response = session.get(url, params=params, headers=HEADERS, timeout=30)
                timings.append(time.monotonic() - began)
                assert len(response.json()["orders"]) == 250
                url, params = response.links["next"]["url"], None
    # Typically ~20 ms; the bound leaves room for a loaded CI machine.
    assert statistics.median(timings) < 0.1, timings
