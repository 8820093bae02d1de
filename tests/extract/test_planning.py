"""One window-planning rule for `segmart extract`, `segmart run` and the DAG (`plan_windows`)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from extract import PlannedSlice, WindowError, plan_windows, run_extract
from extract.watermarks import advance_watermark
from segmart.core import warehouse
from segmart.core.errors import UserError
from segmart.core.settings import Settings
from segmart.core.times import now_utc
from tests.extract.support import utc

HISTORY_START = utc("2024-01-01T00:00:00Z")  # every packaged source's history_start
ORDERS, CONTACTS = ("shop", "orders"), ("crm", "contacts")
MAY, JUNE = utc("2026-05-01T00:00:00Z"), utc("2026-06-01T00:00:00Z")


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings.from_env({"SEGMART_WAREHOUSE": str(tmp_path / "wh" / "segmart.duckdb")})


def loaded_up_to(settings: Settings, pair: tuple[str, str], watermark) -> None:
    con = warehouse.connect(settings.warehouse)
    try:
        advance_watermark(con, *pair, watermark.replace(tzinfo=None), "earlier-run")
    finally:
        con.close()


def windows(plans: list[PlannedSlice]) -> dict[tuple[str, str], tuple]:
    return {(p.source, p.stream): (p.start, p.end) for p in plans}


def test_a_first_run_without_start_begins_at_the_history_start(settings):
    plans = plan_windows(settings, [ORDERS, CONTACTS], end=JUNE)
    assert windows(plans) == {ORDERS: (HISTORY_START, JUNE), CONTACTS: (HISTORY_START, JUNE)}


def test_a_run_without_start_continues_from_each_watermark(settings):
    loaded_up_to(settings, ORDERS, MAY)
    plans = plan_windows(settings, [ORDERS, CONTACTS], end=JUNE)
    assert windows(plans) == {ORDERS: (MAY, JUNE), CONTACTS: (HISTORY_START, JUNE)}


def test_a_stream_that_is_up_to_date_is_left_out(settings):
    loaded_up_to(settings, ORDERS, JUNE)
    assert windows(plan_windows(settings, [ORDERS, CONTACTS], end=JUNE)) == {
        CONTACTS: (HISTORY_START, JUNE)
    }
    assert plan_windows(settings, [ORDERS], end=MAY) == []


def test_filling_gaps_reaches_back_to_a_watermark_before_the_start(settings):
    # The DAG's rule: a data interval after a gap (first run, catchup off) pulls the gap too.
    april = utc("2026-04-01T00:00:00Z")
    loaded_up_to(settings, ORDERS, april)
    plans = plan_windows(settings, [ORDERS, CONTACTS], start=MAY, end=JUNE, fill_gaps=True)
    assert windows(plans) == {ORDERS: (april, JUNE), CONTACTS: (HISTORY_START, JUNE)}


def test_filling_gaps_keeps_a_start_before_the_watermark(settings):
    loaded_up_to(settings, ORDERS, JUNE)
    plans = plan_windows(settings, [ORDERS], start=MAY, end=JUNE, fill_gaps=True)
    assert windows(plans) == {ORDERS: (MAY, JUNE)}


def test_an_explicit_start_without_filling_gaps_is_exactly_the_window(settings):
    loaded_up_to(settings, ORDERS, utc("2025-01-01T00:00:00Z"))
    plans = plan_windows(settings, [ORDERS, CONTACTS], start=MAY, end=JUNE, fill_gaps=False)
    assert windows(plans) == {ORDERS: (MAY, JUNE), CONTACTS: (MAY, JUNE)}


def test_an_explicit_window_reads_no_watermark(tmp_path):
    settings = Settings.from_env({"SEGMART_WAREHOUSE": str(tmp_path / "wh" / "segmart.duckdb")})
    plan_windows(settings, [ORDERS], start=MAY, end=JUNE, fill_gaps=False)
    assert not settings.warehouse.exists()


def test_without_end_the_window_ends_now_in_whole_seconds(settings):
    [plan] = plan_windows(settings, [ORDERS])
    assert plan.end.microsecond == 0 and plan.end.tzinfo is not None
    assert now_utc() - timedelta(seconds=5) <= plan.end <= now_utc()


@pytest.mark.parametrize(
    "start, end, fill_gaps",
    [(JUNE, MAY, True), (JUNE, MAY, False), (JUNE, JUNE, False)],
    ids=["reversed-filling-gaps", "reversed", "empty"],
)
def test_an_empty_or_reversed_window_is_a_user_error_naming_both_ends(
    settings, start, end, fill_gaps
):
    with pytest.raises(WindowError) as caught:
        plan_windows(settings, [ORDERS], start=start, end=end, fill_gaps=fill_gaps)
    assert isinstance(caught.value, UserError)
    message = str(caught.value)
    assert "--start 2026-06-01T00:00:00Z" in message
    assert f"--end {end:%Y-%m-%dT%H:%M:%SZ}" in message
    assert not settings.warehouse.exists()


def test_filling_gaps_over_a_zero_length_interval_reaches_back_to_the_watermark(settings):
    # A DAG without a schedule: a manual run's data interval starts where it ends.
    loaded_up_to(settings, ORDERS, MAY)
    plans = plan_windows(settings, [ORDERS, CONTACTS], start=JUNE, end=JUNE, fill_gaps=True)
    assert windows(plans) == {ORDERS: (MAY, JUNE), CONTACTS: (HISTORY_START, JUNE)}


def test_filling_gaps_over_a_zero_length_interval_already_loaded_pulls_nothing(settings):
    loaded_up_to(settings, ORDERS, JUNE)
    assert plan_windows(settings, [ORDERS], start=JUNE, end=JUNE, fill_gaps=True) == []


def test_a_start_in_the_future_without_end_is_a_user_error(settings):
    with pytest.raises(WindowError, match=r"--start 2999-01-01T00:00:00Z is not before now"):
        plan_windows(settings, [ORDERS], start=utc("2999-01-01T00:00:00Z"))


def test_run_extract_refuses_a_reversed_window_before_touching_anything(settings):
    with pytest.raises(WindowError):
        run_extract(settings, start=JUNE, end=MAY)
    assert not settings.warehouse.exists()


def test_a_planned_slice_travels_as_plain_text():
    plan = PlannedSlice("shop", "orders", MAY, JUNE)
    assert plan.to_dict() == {
        "source": "shop",
        "stream": "orders",
        "start": "2026-05-01T00:00:00Z",
        "end": "2026-06-01T00:00:00Z",
    }
    assert PlannedSlice.from_dict(plan.to_dict()) == plan
