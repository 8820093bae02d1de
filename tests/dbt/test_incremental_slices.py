"""stg_crm__contact_versions, incremental by extraction slice, follows raw
when slices are reloaded: a slice pulled again with fewer versions replaces
its rows, a slice gone from raw leaves staging, and the result equals a full
refresh."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pytest

from segmart.core.settings import Settings
from segmart.core.warehouse import connect
from segmart.transform import dbt_build
from tests.dbt.conftest import AS_OF, BuiltWarehouse

pytestmark = pytest.mark.slow

MODEL = "stg_crm__contact_versions"


def staged_versions(settings: Settings) -> list[tuple]:
    con = connect(settings.warehouse, read_only=True)
    try:
        return con.execute(f"select * from staging.{MODEL} order by all").fetchall()
    finally:
        con.close()


def test_contact_versions_follow_reloaded_and_vanished_slices(
    built_warehouse: BuiltWarehouse, tmp_path
) -> None:
    shutil.copy(built_warehouse.settings.warehouse, tmp_path / "segmart.duckdb")
    settings = Settings.from_env({"SEGMART_WAREHOUSE": str(tmp_path / "segmart.duckdb")})
    con = connect(settings.warehouse)
    try:
        slices = con.execute(
            "select _interval_start, _interval_end, count(*) from raw.crm__contacts"
            " group by all order by 1"
        ).fetchall()
        assert len(slices) >= 2, slices
        (kept_start, kept_end, kept_rows), (gone_start, gone_end, _) = slices[0], slices[-1]
        # What load_slice does for a reload: the slice's rows replaced in one go.
        # The first slice comes back with every other version, the last with none.
        con.execute(
            "create temp table reloaded as select * from raw.crm__contacts"
            " where _interval_start = ? and _interval_end = ?"
            " qualify row_number() over (order by record_id, record_updated_at) % 2 = 0",
            [kept_start, kept_end],
        )
        # A reload is stamped with the time it ran, as every load is.
        reloaded_at = datetime.now(UTC).replace(tzinfo=None)
        con.execute("update reloaded set _extracted_at = ?", [reloaded_at])
        for start, end in [(kept_start, kept_end), (gone_start, gone_end)]:
            con.execute(
                "delete from raw.crm__contacts where _interval_start = ? and _interval_end = ?",
                [start, end],
            )
        con.execute("insert into raw.crm__contacts select * from reloaded")
    finally:
        con.close()

    incremental = dbt_build(settings, AS_OF, select=MODEL)
    assert incremental.success, incremental
    after_incremental = staged_versions(settings)
    full_refresh = dbt_build(settings, AS_OF, select=MODEL, full_refresh=True)
    assert full_refresh.success, full_refresh

    assert after_incremental == staged_versions(settings)
    con = connect(settings.warehouse, read_only=True)
    try:
        per_slice = dict(
            con.execute(
                f"select _interval_end, count(*) from staging.{MODEL} group by all"
            ).fetchall()
        )
    finally:
        con.close()
    assert gone_end not in per_slice
    assert 0 < per_slice[kept_end] < kept_rows
