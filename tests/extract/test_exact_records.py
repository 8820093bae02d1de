"""Extracting every demo stream yields exactly the API's records for the window."""

from __future__ import annotations

import pytest

from extract import SourceKind, list_streams, run_extract
from segmart.core import warehouse
from tests.extract.support import expected, loaded, make_settings, utc, world
from tests.support import NO_CLIENT_BUDGET

START, END = utc("2024-01-01T00:00:00Z"), utc("2026-06-01T00:00:00Z")
STYLES = {
    ("shop", "orders"): "link_header",
    ("crm", "contacts"): "body_cursor",
    ("esp", "email_events"): "page_number",
    ("web", "events"): "next_url",
}


@pytest.fixture(scope="module")
def extracted(demo_api, tmp_path_factory):
    settings = make_settings(demo_api, tmp_path_factory.mktemp("exact"), **NO_CLIENT_BUDGET)
    results = run_extract(settings, start=START, end=END, run_id="exact")
    return settings, {(r.source, r.stream): r for r in results}


@pytest.mark.parametrize("source,stream", list_streams(kind=SourceKind.API))
def test_every_stream_loads_exactly_the_api_records(extracted, source, stream):
    settings, results = extracted
    con = warehouse.connect(settings.warehouse, read_only=True)
    try:
        got = loaded(con, source, stream, START)
    finally:
        con.close()
    want = expected(world(), source, stream, START, END)
    assert want, "the window should hold records"
    assert got == want
    assert results[(source, stream)].records == len(want)


@pytest.mark.parametrize("source,stream", list(STYLES), ids=list(STYLES.values()))
def test_each_pagination_style_follows_several_pages(extracted, source, stream):
    _, results = extracted
    assert results[(source, stream)].pages > 1


def test_the_run_is_recorded_and_watermarks_move_to_the_end(extracted):
    settings, results = extracted
    con = warehouse.connect(settings.warehouse, read_only=True)
    try:
        runs = con.execute(
            "select source, stream, status, records, pages, requests from meta.extract_runs"
        ).fetchall()
        marks = con.execute("select distinct watermark from meta.watermarks").fetchall()
    finally:
        con.close()
    assert len(runs) == len(list_streams(kind=SourceKind.API))
    assert {r[2] for r in runs} == {"success"}
    assert all(r[5] >= r[4] >= 1 for r in runs)
    assert marks == [(END.replace(tzinfo=None),)]
