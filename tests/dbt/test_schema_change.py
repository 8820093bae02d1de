"""A warehouse built before an incremental model's columns changed (an
upgrade) gets a clear stop with the fix named, not mismatched rows; the
named fix works."""

from __future__ import annotations

import shutil

import pytest

from segmart import cli
from segmart.core.warehouse import connect
from tests.dbt.conftest import BuiltWarehouse

pytestmark = pytest.mark.slow

MODEL = "stg_crm__contact_versions"


def test_changed_columns_stop_the_build_and_full_refresh_repairs_it(
    built_warehouse: BuiltWarehouse, tmp_path, monkeypatch, capsys
) -> None:
    warehouse = tmp_path / "segmart.duckdb"
    shutil.copy(built_warehouse.settings.warehouse, warehouse)
    monkeypatch.setenv("SEGMART_WAREHOUSE", str(warehouse))
    con = connect(warehouse)
    try:  # the versions table as releases before slice columns built it
        for column in ("_interval_start", "_interval_end"):
            con.execute(f"alter table staging.{MODEL} drop column {column}")
        rows_before = con.execute(f"select count(*) from staging.{MODEL}").fetchone()
    finally:
        con.close()
    build = ["transform", "--as-of", "2026-06-01T00:00:00Z", "--select", MODEL]

    assert cli.main(build) == 1
    out = capsys.readouterr().out
    assert f"error: {MODEL}" in out and "out of sync" in out
    assert "run `segmart transform --full-refresh` once" in out

    assert cli.main([*build, "--full-refresh"]) == 0
    con = connect(warehouse, read_only=True)
    try:
        columns = {
            name
            for (name,) in con.execute(
                "select column_name from information_schema.columns where table_name = ?",
                [MODEL],
            ).fetchall()
        }
        assert {"_interval_start", "_interval_end"} <= columns
        assert con.execute(f"select count(*) from staging.{MODEL}").fetchone() == rows_before
    finally:
        con.close()
