"""The rate budget in Redis (SEGMART_RATE_BUDGET_URL): one budget for pulls on several hosts.

Two "hosts" here are two processes with their own warehouse folders, so their file
buckets could not see each other: only the Redis budget keeps them within the limit.
A real redis-server on a free port (tests/extract/redis_server.py), the real demo API.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
import redis

from extract import pull_slice
from extract.errors import ExtractError
from extract.ratelimit import RateBudget, redis_key
from segmart.core.settings import Settings
from tests.extract.pull_process import limited_shop, load_all, pull_together
from tests.extract.redis_server import RedisServer, free_port, running_redis
from tests.extract.support import make_settings, subprocess_env, utc
from tests.support import FROZEN_NOW

LIMIT = 10
START, END = "2024-01-01T00:00:00Z", "2026-06-01T00:00:00Z"
# Small pages: about 80 requests for each stream, so both stay busy for the whole run.
PAGE_SIZES = {"customers": 6, "products": 4}
PASSWORD = "redis-s3cret-pw"


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    # No skip: a machine without redis-server fails here, saying how to install it.
    with running_redis() as server:
        yield server


@pytest.mark.slow
def test_pulls_on_two_hosts_sharing_a_redis_budget_stay_within_and_use_the_limit(
    demo_api_factory, redis_server, tmp_path
):
    api, sources = limited_shop(demo_api_factory, tmp_path, LIMIT, PAGE_SIZES)
    url = redis_server.url(3)
    shared = {
        "SEGMART_SOURCES_DIR": str(sources),
        "SEGMART_RATE_BUDGET_URL": url,
        "SEGMART_LANDING_DIR": str(tmp_path / "shared-landing"),
    }
    hosts = {
        stream: make_settings(api, tmp_path / f"host-{stream}", **shared) for stream in PAGE_SIZES
    }
    pulls = [(subprocess_env(settings), "shop", stream) for stream, settings in hosts.items()]
    landed, wall = pull_together(pulls, START, END, "r")

    stats = api.stats()["shop"]
    assert stats["max_accepted_per_second"] <= LIMIT, stats
    assert stats["rate_limited"] < 0.01 * stats["requests"], stats
    assert stats["accepted"] >= 0.85 * LIMIT * wall, (stats, wall)

    # The budget lived in Redis under the source's key, not in either host's file bucket.
    client = redis.Redis.from_url(url)
    try:
        assert client.exists(redis_key("shop")) == 1
    finally:
        client.close()
    for settings in hosts.values():
        assert not settings.rate_budget_dir.exists()

    # Both landed in the shared folder; the one warehouse-writing host loads both.
    assert sum(s.requests for s in landed) == stats["requests"]
    loader = hosts["customers"]
    for piece in landed:
        assert piece.directory.startswith(str(loader.landing_dir))
    assert load_all(loader, landed) == sorted(PAGE_SIZES)


def closed_port_url() -> str:
    port = free_port()  # nothing listens there once the probe is closed
    return f"redis://:{PASSWORD}@127.0.0.1:{port}/0"


def test_an_unreachable_redis_fails_the_extract_naming_the_setting_without_the_password(
    demo_api, tmp_path
):
    url = closed_port_url()
    settings = make_settings(demo_api, tmp_path, SEGMART_RATE_BUDGET_URL=url)
    process = subprocess.run(
        [sys.executable, "-m", "segmart", "extract", "--source", "shop", "--stream", "customers"],
        env=subprocess_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = process.stdout + process.stderr
    assert process.returncode == 1, output
    assert "SEGMART_RATE_BUDGET_URL=redis://:***@127.0.0.1:" in output, output
    assert "cannot reach the rate budget store" in output
    assert PASSWORD not in output
    assert PASSWORD not in repr(settings)


def test_a_budget_whose_redis_stops_mid_pull_names_the_setting(tmp_path):
    with running_redis() as server:
        url = server.url(0).replace("redis://", f"redis://default:{PASSWORD}@")
        client = redis.Redis.from_url(server.url(0))
        client.config_set("requirepass", PASSWORD)
        client.close()
        budget = RateBudget("stopping", 1000, url)
        budget.acquire()  # reached: the bucket is in Redis
    with pytest.raises(ExtractError) as failed:
        budget.acquire()
    assert "SEGMART_RATE_BUDGET_URL=redis://default:***@127.0.0.1:" in str(failed.value)
    assert PASSWORD not in str(failed.value)


def test_without_the_url_the_budget_is_the_file_bucket_under_the_warehouse(demo_api, tmp_path):
    settings = make_settings(demo_api, tmp_path, SEGMART_SHOP_RATE_LIMIT="1000")
    assert settings.rate_budget_url is None
    assert settings.landing_dir == settings.warehouse_dir / "landing"
    landed = pull_slice(
        settings, "shop", "customers", utc("2026-05-01T00:00:00Z"), utc(FROZEN_NOW), "file"
    )
    assert landed.requests > 0
    assert (settings.rate_budget_dir / "shop.sqlite").is_file()
    assert landed.directory.startswith(str(settings.warehouse_dir / "landing"))


def test_landing_and_budget_url_settings(tmp_path):
    settings = Settings.from_env(
        {
            "SEGMART_WAREHOUSE": str(tmp_path / "wh" / "segmart.duckdb"),
            "SEGMART_LANDING_DIR": str(tmp_path / "shared"),
            "SEGMART_RATE_BUDGET_URL": f" redis://:{PASSWORD}@redis:6379/1 ",
        }
    )
    assert settings.landing_dir == tmp_path / "shared"
    assert settings.rate_budget_url == f"redis://:{PASSWORD}@redis:6379/1"
    assert PASSWORD not in repr(settings)
    assert Settings.from_env({"SEGMART_RATE_BUDGET_URL": "  "}).rate_budget_url is None


def test_a_url_that_is_not_redis_is_refused_naming_the_setting(tmp_path):
    with pytest.raises(ExtractError, match="SEGMART_RATE_BUDGET_URL=postgresql://x:\\*\\*\\*@db"):
        RateBudget("shop", 10, f"postgresql://x:{PASSWORD}@db/budget")
