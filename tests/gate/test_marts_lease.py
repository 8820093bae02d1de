"""The marts lease on a real warehouse file: one holder from dbt to publish."""

from __future__ import annotations

from datetime import datetime

import pytest

from segmart import marts_lease
from segmart.core.settings import Settings

A = "airflow:segmart_pipeline:scheduled__2026-06-01T00:00:00+00:00"
B = "airflow:segmart_pipeline:backfill__2026-05-31T00:00:00+00:00"


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings.from_env({"SEGMART_WAREHOUSE": str(tmp_path / "segmart.duckdb")})


def active(*holders: str):
    return lambda holder: holder in holders


def test_a_second_run_waits_while_the_first_is_active(settings: Settings) -> None:
    assert marts_lease.claim(settings, A, datetime(2026, 6, 1), active(A, B)) is None
    waiting_for = marts_lease.claim(settings, B, datetime(2026, 5, 31), active(A, B))
    assert waiting_for is not None and waiting_for.holder == A
    assert waiting_for.as_of == datetime(2026, 6, 1)
    assert marts_lease.current(settings).holder == A

    assert marts_lease.release(settings, A) is True
    assert marts_lease.claim(settings, B, datetime(2026, 5, 31), active(A, B)) is None
    assert marts_lease.current(settings).holder == B


def test_the_holder_claims_again_when_its_dbt_task_is_cleared(settings: Settings) -> None:
    assert marts_lease.claim(settings, A, datetime(2026, 6, 1), active(A)) is None
    assert marts_lease.claim(settings, A, datetime(2026, 6, 1), active(A)) is None
    assert marts_lease.current(settings).holder == A


def test_a_lease_of_a_run_that_is_over_is_taken_over(settings: Settings) -> None:
    assert marts_lease.claim(settings, A, datetime(2026, 6, 1), active()) is None
    # A's worker died before its release ran: A is no longer active.
    assert marts_lease.claim(settings, B, datetime(2026, 5, 31), active(B)) is None
    assert marts_lease.current(settings).holder == B
    # A's late release must not free B's lease.
    assert marts_lease.release(settings, A) is False
    assert marts_lease.current(settings).holder == B


def test_release_without_a_lease_is_harmless(settings: Settings) -> None:
    assert marts_lease.current(settings) is None
    assert marts_lease.release(settings, A) is False


def test_a_holder_is_named_by_its_tool_first_and_the_tool_is_read_back() -> None:
    holder = marts_lease.holder_name(
        "airflow", "segmart_pipeline", "manual__2026-06-01T00:00:00+00:00"
    )
    assert holder == "airflow:segmart_pipeline:manual__2026-06-01T00:00:00+00:00"
    assert marts_lease.holder_tool(holder) == (
        "airflow",
        "segmart_pipeline:manual__2026-06-01T00:00:00+00:00",
    )
    assert marts_lease.holder_tool("segmart-run") == ("segmart-run", "")


def test_a_tool_name_with_the_separator_is_refused() -> None:
    with pytest.raises(ValueError, match="without ':'"):
        marts_lease.holder_name("air:flow", "x")


def test_an_aware_as_of_is_stored_as_naive_utc(settings: Settings) -> None:
    from datetime import timedelta, timezone

    berlin = timezone(timedelta(hours=2))
    assert marts_lease.claim(settings, A, datetime(2026, 6, 1, 2, tzinfo=berlin), active()) is None
    assert marts_lease.current(settings).as_of == datetime(2026, 6, 1, 0, 0)
