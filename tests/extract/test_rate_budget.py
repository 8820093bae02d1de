"""Streams of one source in separate processes share its rate budget and use nearly all of it."""

from __future__ import annotations

import pytest

from tests.extract.pull_process import limited_shop, load_all, pull_together
from tests.extract.support import make_settings, subprocess_env

LIMIT = 10
START, END = "2024-01-01T00:00:00Z", "2026-06-01T00:00:00Z"
# Small pages give each stream about 50 requests, so all three stay busy for the whole run.
PAGE_SIZES = {"customers": 6, "orders": 120, "products": 4}


@pytest.mark.slow
def test_shop_streams_in_separate_processes_stay_within_and_use_the_limit(
    demo_api_factory, tmp_path
):
    api, sources = limited_shop(demo_api_factory, tmp_path, LIMIT, PAGE_SIZES)
    settings = make_settings(api, tmp_path, SEGMART_SOURCES_DIR=str(sources))
    env = subprocess_env(settings)
    landed, wall = pull_together([(env, "shop", stream) for stream in PAGE_SIZES], START, END, "r")

    stats = api.stats()["shop"]
    assert stats["max_accepted_per_second"] <= LIMIT, stats
    assert stats["rate_limited"] < 0.01 * stats["requests"], stats
    assert stats["accepted"] >= 0.85 * LIMIT * wall, (stats, wall)

    # The three slices were pulled in parallel; their loads are sequential and complete.
    assert sum(s.requests for s in landed) == stats["requests"]
    assert load_all(settings, landed) == sorted(PAGE_SIZES)
