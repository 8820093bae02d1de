"""Errors name the stream and what to fix; a failed slice commits nothing."""

from __future__ import annotations

import pytest

from extract import ExtractFailed, run_extract
from extract.errors import ClientError, RecordError, RetriesExhausted
from segmart.core import warehouse
from tests.extract.support import make_settings, utc, write_sources
from tests.support import FROZEN_NOW, NO_CLIENT_BUDGET

START, END = utc("2026-01-01T00:00:00Z"), utc("2026-06-01T00:00:00Z")


def failure_of(settings, **selection) -> ExtractFailed:
    with pytest.raises(ExtractFailed) as caught:
        run_extract(settings, start=START, end=END, **selection)
    return caught.value


def state(settings) -> tuple:
    con = warehouse.connect(settings.warehouse, read_only=True)
    try:
        raw = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'raw'"
        ).fetchone()
        marks = con.execute("select count(*) from meta.watermarks").fetchone()
        runs = con.execute("select status, error from meta.extract_runs").fetchall()
    finally:
        con.close()
    return raw[0], marks[0], runs


def test_exhausted_retries_commit_nothing_and_leave_the_watermark(demo_api_factory, tmp_path):
    broken = demo_api_factory("--now", FROZEN_NOW, "--customers", "50", "--fault-rate", "1")
    sources = write_sources(
        tmp_path / "sources", shop={"retry": {"max_attempts": 3, "backoff_base": 0.01}}
    )
    settings = make_settings(broken, tmp_path, SEGMART_SOURCES_DIR=str(sources), **NO_CLIENT_BUDGET)
    failure = failure_of(settings, source="shop", stream="orders")
    assert "shop" in str(failure) and "3 attempts" in str(failure)
    assert failure.results[0].requests == 3
    tables, watermarks, runs = state(settings)
    assert (tables, watermarks) == (0, 0)
    assert [r[0] for r in runs] == ["failed"] and "RetriesExhausted" in runs[0][1]
    assert not list(settings.landing_dir.rglob("_manifest.json"))


def test_a_record_without_its_primary_key_names_the_stream_and_page(demo_api, tmp_path):
    sources = write_sources(tmp_path / "sources", crm={"defaults": {"primary_key": "crm_id"}})
    settings = make_settings(
        demo_api, tmp_path, SEGMART_SOURCES_DIR=str(sources), **NO_CLIENT_BUDGET
    )
    failure = failure_of(settings, source="crm")
    message = failure.results[0].error
    assert RecordError.__name__ in message
    assert "crm.contacts" in message and "page 1" in message and "'crm_id'" in message
    assert state(settings)[:2] == (0, 0)


def test_another_4xx_fails_at_once_with_the_url_and_the_body(demo_api, tmp_path):
    sources = write_sources(
        tmp_path / "sources", shop={"defaults": {"pagination": {"page_size": 9999}}}
    )
    settings = make_settings(
        demo_api, tmp_path, SEGMART_SOURCES_DIR=str(sources), **NO_CLIENT_BUDGET
    )
    failure = failure_of(settings, source="shop", stream="customers")
    message = failure.results[0].error
    assert ClientError.__name__ in message
    assert f"{demo_api.url('shop')}/customers?" in message and "limit" in message
    assert "demo-shop-key" not in message
    assert failure.results[0].requests == 1


def test_retries_are_exhausted_only_after_backing_off(demo_api_factory, tmp_path):
    broken = demo_api_factory("--now", FROZEN_NOW, "--customers", "50", "--fault-rate", "1")
    sources = write_sources(
        tmp_path / "sources", esp={"retry": {"max_attempts": 2, "backoff_base": 0.01}}
    )
    settings = make_settings(broken, tmp_path, SEGMART_SOURCES_DIR=str(sources), **NO_CLIENT_BUDGET)
    failure = failure_of(settings, source="esp")
    assert failure.results[0].retries == 1
    assert RetriesExhausted.__name__ in failure.results[0].error
