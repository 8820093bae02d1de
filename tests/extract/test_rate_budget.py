"""Streams of one source in separate processes share its rate budget and use nearly all of it."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from extract import LandedSlice, load_slice
from segmart.core import warehouse
from tests.extract.support import make_settings, subprocess_env, write_sources
from tests.support import FROZEN_NOW

LIMIT = 10
START, END = "2024-01-01T00:00:00Z", "2026-06-01T00:00:00Z"
# Small pages give each stream about 50 requests, so all three stay busy for the whole run.
PAGE_SIZES = {"customers": 6, "orders": 120, "products": 4}


@pytest.mark.slow
def test_shop_streams_in_separate_processes_stay_within_and_use_the_limit(
    demo_api_factory, tmp_path
):
    api = demo_api_factory(
        "--seed", "7", "--customers", "500", "--now", FROZEN_NOW,
        "--rate-limit", f"shop={LIMIT},crm=0,esp=0,web=0",
    )  # fmt: skip
    sources = write_sources(
        tmp_path / "sources",
        shop={"streams": {s: {"pagination": {"page_size": n}} for s, n in PAGE_SIZES.items()}},
    )
    settings = make_settings(api, tmp_path, SEGMART_SOURCES_DIR=str(sources))
    command = [sys.executable, "-m", "tests.extract.pull_process", "shop"]
    processes = [
        subprocess.Popen(
            [*command, stream, START, END, "rate"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=subprocess_env(settings),
        )
        for stream in PAGE_SIZES
    ]
    for process in processes:  # every process has imported everything and waits for "go"
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    began = time.monotonic()
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    outputs = [process.communicate(timeout=120)[0] for process in processes]
    wall = time.monotonic() - began
    assert [p.returncode for p in processes] == [0, 0, 0]

    stats = api.stats()["shop"]
    assert stats["max_accepted_per_second"] <= LIMIT, stats
    assert stats["rate_limited"] < 0.01 * stats["requests"], stats
    assert stats["accepted"] >= 0.85 * LIMIT * wall, (stats, wall)

    # The three slices were pulled in parallel; their loads are sequential and complete.
    landed = [LandedSlice.from_dict(json.loads(out.strip().splitlines()[-1])) for out in outputs]
    assert sum(s.requests for s in landed) == stats["requests"]
    con = warehouse.connect(settings.warehouse)
    try:
        for piece in landed:
            load_slice(settings, piece, con)
        counts = con.execute(
            "select stream, records from meta.extract_runs where status = 'success' order by 1"
        ).fetchall()
    finally:
        con.close()
    assert [c[0] for c in counts] == sorted(PAGE_SIZES)
