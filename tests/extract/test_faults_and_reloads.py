"""Faults cost retries, never records; reloading a window replaces it exactly."""

from __future__ import annotations

import pytest

from extract import SourceKind, list_streams, run_extract
from segmart.core import warehouse
from tests.extract.support import (
    make_settings,
    raw_snapshot,
    utc,
    write_sources,
)
from tests.support import FROZEN_NOW, NO_CLIENT_BUDGET

START, END = utc("2026-03-01T00:00:00Z"), utc("2026-06-01T00:00:00Z")
TABLES = [f"raw.{source}__{stream}" for source, stream in list_streams(kind=SourceKind.API)]
FAST = "shop=1000,crm=1000,esp=1000,web=1000"
PAGES = [("shop", 50), ("crm", 5), ("esp", 250), ("web", 250)]


def snapshot(settings) -> dict[str, list]:
    con = warehouse.connect(settings.warehouse, read_only=True)
    try:
        return {table: raw_snapshot(con, table) for table in TABLES}
    finally:
        con.close()


@pytest.fixture(scope="module")
def clean_run(demo_api, tmp_path_factory):
    settings = make_settings(demo_api, tmp_path_factory.mktemp("clean"), **NO_CLIENT_BUDGET)
    run_extract(settings, start=START, end=END, run_id="clean-1")
    return settings, snapshot(settings)


def test_a_fault_rate_of_ten_percent_gives_the_same_raw_content(
    clean_run, demo_api_factory, tmp_path
):
    _, clean = clean_run
    faulty = demo_api_factory(
        "--seed", "7", "--customers", "500", "--now", FROZEN_NOW,
        "--rate-limit", FAST, "--fault-rate", "0.1",
    )  # fmt: skip
    # Smaller pages: more requests, so more faults; the records must not depend on paging.
    sources = write_sources(
        tmp_path / "sources",
        **{source: {"defaults": {"pagination": {"page_size": size}}} for source, size in PAGES},
    )
    settings = make_settings(faulty, tmp_path, SEGMART_SOURCES_DIR=str(sources), **NO_CLIENT_BUDGET)
    results = run_extract(settings, start=START, end=END, run_id="faulty")
    faults = sum(counter["faults"] for counter in faulty.stats().values())
    assert faults >= 5
    assert sum(r.retries for r in results) >= faults
    assert snapshot(settings) == clean
    assert all(rows for rows in clean.values())


def test_loading_the_same_window_twice_gives_identical_raw_tables(clean_run):
    settings, first = clean_run
    run_extract(settings, start=START, end=END, run_id="clean-2")
    assert snapshot(settings) == first
    con = warehouse.connect(settings.warehouse, read_only=True)
    try:
        runs = con.execute("select distinct _run_id from raw.shop__orders").fetchall()
    finally:
        con.close()
    assert runs == [("clean-2",)]
