"""Demo API page latency: 250 orders at 5,000 and 1,000,000 customers, over real HTTP.

Prints start-up time, the first (cold) page and the median/p95 of following pages.
Run: .venv/bin/python benchmarks/demo_api_bench.py
"""

from __future__ import annotations

import statistics
import time

import requests

from segmart.local_api import start_demo_api

HEADERS = {"Authorization": "Bearer demo-shop-key"}
PAGES = 40


def measure(customers: int) -> dict[str, float]:
    began = time.monotonic()
    with start_demo_api("--customers", str(customers), "--rate-limit", "shop=0") as api:
        started = time.monotonic() - began
        url: str | None = f"{api.url('shop')}/orders"
        params: dict | None = {"limit": 250, "updated_at_min": "2026-01-01T00:00:00Z"}
        timings = []
        with requests.Session() as session:
            for _ in range(PAGES + 1):
                assert url is not None
                t = time.monotonic()
                response = session.get(url, params=params, headers=HEADERS, timeout=60)
                timings.append(time.monotonic() - t)
                assert len(response.json()["orders"]) == 250
                url, params = response.links.get("next", {}).get("url"), None
    rest = sorted(timings[1:])
    return {
        "start_s": started,
        "first_page_ms": timings[0] * 1000,
        "median_ms": statistics.median(rest) * 1000,
        "p95_ms": rest[int(len(rest) * 0.95) - 1] * 1000,
    }


def main() -> None:
    print(f"{'customers':>10} {'start s':>8} {'1st page ms':>12} {'median ms':>10} {'p95 ms':>8}")
    for customers in (5_000, 1_000_000):
        m = measure(customers)
        print(
            f"{customers:>10} {m['start_s']:>8.2f} {m['first_page_ms']:>12.1f} "
            f"{m['median_ms']:>10.1f} {m['p95_ms']:>8.1f}"
        )


if __name__ == "__main__":
    main()
