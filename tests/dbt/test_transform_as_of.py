"""as_of handling of `segmart transform`: UTC text for dbt, default from raw."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from segmart.core.settings import Settings, SettingsError
from segmart.core.times import TimeFormatError, as_of_text
from segmart.core.warehouse import connect
from segmart.transform import latest_interval_end


def test_as_of_is_passed_to_dbt_as_utc_text() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert as_of_text(datetime(2026, 6, 1, 2, 0, tzinfo=plus_two)) == "2026-06-01 00:00:00"
    assert as_of_text("2026-06-01T00:00:00Z") == "2026-06-01 00:00:00"


def test_malformed_as_of_names_the_value_and_the_expected_form() -> None:
    with pytest.raises(TimeFormatError, match="'yesterday'.*ISO 8601"):
        as_of_text("yesterday")


def test_default_as_of_is_the_latest_extracted_interval_end(tmp_path) -> None:
    settings = Settings.from_env({"SEGMART_WAREHOUSE": str(tmp_path / "w.duckdb")})
    con = connect(settings.warehouse)
    for table, end in [("shop__orders", "2026-05-01"), ("web__events", "2026-05-03")]:
        con.execute(f"create table raw.{table} (_interval_end timestamp)")
        con.execute(f"insert into raw.{table} values ('2026-04-01'), ('{end}')")
    con.close()
    assert latest_interval_end(settings) == datetime(2026, 5, 3, tzinfo=UTC)


def test_default_as_of_without_a_warehouse_says_to_extract_first(tmp_path) -> None:
    settings = Settings.from_env({"SEGMART_WAREHOUSE": str(tmp_path / "missing.duckdb")})
    with pytest.raises(SettingsError, match="segmart extract"):
        latest_interval_end(settings)
