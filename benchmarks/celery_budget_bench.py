"""Two Celery workers, one rate budget: accepted requests/s against shop's limit.

    .venv/bin/python benchmarks/celery_budget_bench.py [--limit 10] [--rounds 3]

A real redis-server (broker, result backend and budget store), two `celery worker`
processes of tests/celery/app.py with two pool processes each and their own warehouse
folders (as if on two hosts), segmart's pull_slice against the demo API holding shop to
--limit requests/s. Goals (issue 14): accepted ≥ 0.9 × the limit, < 1 % 429s.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from segmart.local_api import start_demo_api  # noqa: E402
from tests.celery.app import WAREHOUSE_QUEUE, app, pull  # noqa: E402
from tests.celery.test_two_workers import worker_env  # noqa: E402
from tests.celery.workers import running_workers  # noqa: E402
from tests.extract.pull_process import limited_shop  # noqa: E402
from tests.extract.redis_server import running_redis  # noqa: E402

PAGE_SIZES = {"customers": 6, "orders": 120, "products": 4}
# Four intervals of each stream: 12 pulls for 4 pool processes, ~300 requests a round.
BOUNDS = ["2024-01-01", "2024-08-01", "2025-03-01", "2025-10-01", "2026-06-01"]
INTERVALS = [(f"{a}T00:00:00Z", f"{b}T00:00:00Z") for a, b in pairwise(BOUNDS)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="segmart-celery-bench-"))
    api, sources = limited_shop(start_demo_api, folder, args.limit, PAGE_SIZES)
    shared = {"SEGMART_SOURCES_DIR": str(sources), "SEGMART_LANDING_DIR": str(folder / "land")}
    total_accepted = total_requests = total_429 = 0
    total_wall = 0.0
    try:
        with running_redis() as redis:
            celery = {"CELERY_BROKER_URL": redis.url(0), "CELERY_RESULT_BACKEND": redis.url(1)}
            app.conf.update(broker_url=redis.url(0), result_backend=redis.url(1))
            specs = [
                (name, queues, {**worker_env(api, folder / name, redis.url(2), shared), **celery})
                for name, queues in (("a", ["default", WAREHOUSE_QUEUE]), ("b", ["default"]))
            ]
            with running_workers(specs):
                for round_ in range(args.rounds):
                    before = api.stats()["shop"]
                    began = time.monotonic()
                    tasks = [
                        pull.delay("shop", stream, start, end, f"bench{round_}")
                        for start, end in INTERVALS
                        for stream in PAGE_SIZES
                    ]
                    results = [task.get(timeout=600) for task in tasks]
                    wall = time.monotonic() - began
                    after = api.stats()["shop"]
                    accepted = after["accepted"] - before["accepted"]
                    requests = after["requests"] - before["requests"]
                    limited = after["rate_limited"] - before["rate_limited"]
                    workers = sorted({r["worker"].split("@")[0] for r in results})
                    print(
                        f"round {round_ + 1}: {accepted} accepted in {wall:.1f} s = "
                        f"{accepted / wall:.2f}/s ({accepted / wall / args.limit:.3f} of "
                        f"{args.limit}), {limited} 429s of {requests} ({limited / requests:.2%}), "
                        f"max {after['max_accepted_per_second']} in a second, workers {workers}",
                        flush=True,
                    )
                    total_accepted += accepted
                    total_requests += requests
                    total_429 += limited
                    total_wall += wall
                    # The next round starts on an empty server window (poll, not sleep).
                    _wait_window_empty(redis.url(2))
    finally:
        api.stop()
    ratio = total_accepted / total_wall / args.limit
    share = total_429 / total_requests
    print(
        f"\nall rounds: {ratio:.4f} of the limit (goal >= 0.9), 429 share {share:.2%} "
        f"(goal < 1%); {platform.processor() or platform.machine()}, "
        f"{platform.python_version()}"
    )
    return 0 if ratio >= 0.9 and share < 0.01 else 1


def _wait_window_empty(budget_url: str) -> None:
    """Until the shared budget holds no request of the last 1.1 s."""
    import redis

    from extract.ratelimit import redis_key

    client = redis.Redis.from_url(budget_url)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        now_ms = time.time_ns() // 1_000_000
        if client.zcount(redis_key("shop"), now_ms - 1100, "+inf") == 0:
            break
        time.sleep(0.05)
    client.close()


if __name__ == "__main__":
    sys.exit(main())
