"""Incremental builds give the same marts as a full refresh."""

from __future__ import annotations

import pytest

from tests.dbt.conftest import MARTS, BuiltWarehouse

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("mart", MARTS)
def test_full_refresh_and_incremental_marts_are_identical(
    built_warehouse: BuiltWarehouse, mart: str
) -> None:
    incremental = built_warehouse.incremental_marts[mart]
    assert incremental, f"marts.{mart} is empty"
    assert incremental == built_warehouse.full_refresh_marts[mart]


def test_second_build_saw_new_data_incrementally(built_warehouse: BuiltWarehouse) -> None:
    (late_orders,) = built_warehouse.query(
        "select count(*) from marts.orders where updated_at >= '2026-05-25'"
    )[0]
    assert late_orders > 0


def test_segment_changes_compare_with_the_previous_build(built_warehouse: BuiltWarehouse) -> None:
    rows = built_warehouse.query("select distinct previous_as_of, as_of from marts.segment_changes")
    assert [(str(p), str(a)) for p, a in rows] == [("2026-05-25 00:00:00", "2026-06-01 00:00:00")]
    changes = {row[0] for row in built_warehouse.query("select change from marts.segment_changes")}
    assert changes == {"entered", "exited"}
