"""Source configs, URL redaction and progress output: the pieces without a server."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from extract.config import (
    ConfigError,
    SourceKind,
    api_stream_config,
    list_streams,
    load_source,
    parse_source,
)
from extract.http import redact_url
from extract.landing import LandedSlice
from extract.progress import Progress
from extract.ratelimit import budget_rates
from segmart.core.contracts import SliceResult, SliceStatus
from segmart.core.times import TimeFormatError, parse_duration


def test_the_four_demo_sources_ship_every_stream():
    assert list_streams(kind=SourceKind.API) == [
        ("crm", "contacts"),
        ("esp", "email_events"),
        ("shop", "customers"),
        ("shop", "orders"),
        ("shop", "products"),
        ("web", "events"),
    ]
    pulled = list_streams(kind=SourceKind.API)
    assert {api_stream_config(s, x).pagination.style for s, x in pulled} == {
        "link_header",
        "body_cursor",
        "page_number",
        "next_url",
    }
    # The demo API makes tracking beacons visible up to 72 h late.
    assert load_source("web").streams["events"].lookback == timedelta(days=3)


def test_a_stream_override_wins_over_the_defaults():
    config = parse_source(
        {
            "source": "x",
            "history_start": "2024-01-01T00:00:00Z",
            "defaults": {
                "primary_key": "id",
                "time_field": "updated_at",
                "window": {"start_param": "a", "end_param": "b"},
                "pagination": {"style": "link_header", "page_size": 100},
            },
            "streams": {"s": {"path": "/s", "pagination": {"page_size": 7}}},
        },
        origin="x.yaml",
    )
    stream = config.streams["s"]
    assert (stream.pagination.style, stream.pagination.page_size) == ("link_header", 7)


def test_a_bad_config_names_the_file_and_the_key():
    with pytest.raises(ConfigError, match=r"x.yaml: streams.s.pagination.style: must be one of"):
        parse_source(
            {
                "source": "x",
                "history_start": "2024-01-01",
                "streams": {
                    "s": {
                        "path": "/s",
                        "primary_key": "id",
                        "time_field": "t",
                        "window": {"start_param": "a", "end_param": "b"},
                        "pagination": {"style": "offset"},
                    }
                },
            },
            origin="x.yaml",
        )
    with pytest.raises(TimeFormatError, match="ISO 8601 duration"):
        parse_duration("1 hour")
    assert parse_duration("P1DT2H30M") == timedelta(days=1, hours=2, minutes=30)


def test_secret_looking_query_values_are_hidden_in_messages():
    shown = redact_url("http://user:pw@h/x?api_key=abc&token=t&limit=5")
    assert shown == "http://h/x?api_key=%2A%2A%2A&token=%2A%2A%2A&limit=5"


def test_the_budget_keeps_a_reserve_and_spaces_requests():
    spacing, window = budget_rates(10)
    assert (spacing.limit, window.limit) == (1, 10)
    assert 1000 < window.interval <= 1100 and spacing.interval == window.interval // 10


def test_a_terminal_gets_one_live_line_per_stream():
    out = io.StringIO()
    progress = Progress(out, live=True)
    progress.start("shop", "orders", "[a, b)")
    progress.start("crm", "contacts", "[a, b)")
    landed = LandedSlice("shop", "orders", "a", "b", "a", "b", "r", "d", pages=3, records=750)
    landed.requests, landed.seconds = 3, 1.5
    done = SliceResult("shop", "orders", "a", "b", "r", SliceStatus.SUCCESS, records=750, pages=3)
    progress.done(done)
    text = out.getvalue()
    assert "\x1b[2F" in text  # redrawn in place
    assert text.count("shop.orders") == 3 and "records=750" in text
