"""Rule segments are the models of models/segments/: `rule_segments` reads them from
the manifest, and a new segment file (plus the one depends_on line dbt needs to
order it) is unioned into customer_segments, in a dbt project of one's own
(SEGMART_DBT_PROJECT_DIR)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from segmart.core.settings import DEFAULT_DBT_PROJECT_DIR, Settings
from segmart.core.warehouse import connect
from segmart.transform import build_manifest, dbt_build, rule_segments
from tests.dbt.conftest import AS_OF, BuiltWarehouse

pytestmark = pytest.mark.slow

# The README's "Add a segment" example.
BIG_BASKET_BUYERS = """\
-- A qualifying order of 200 or more in 30 days.
with

orders as (
    select * from {{ ref('int_orders_attributed') }}
    where
        is_qualifying
        and customer_id is not null
        and order_total >= 200
        and created_at >= {{ add_days(as_of(), -30) }}
        and created_at < {{ as_of() }}
),

final as (
    select distinct
        customer_id,
        '{{ this.name }}' as segment,
        {{ as_of() }} as as_of
    from orders
)

select * from final
"""


def project_copy(tmp_path: Path, warehouse: Path) -> Settings:
    project = tmp_path / "dbt_project"
    shutil.copytree(
        DEFAULT_DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs")
    )
    return Settings.from_env(
        {"SEGMART_WAREHOUSE": str(warehouse), "SEGMART_DBT_PROJECT_DIR": str(project)}
    )


def test_rule_segments_are_the_models_of_the_segments_folder(tmp_path) -> None:
    settings = project_copy(tmp_path, tmp_path / "segmart.duckdb")
    folder = sorted(p.stem for p in (settings.dbt_project_dir / "models/segments").glob("*.sql"))
    assert len(folder) == 6
    # No manifest anywhere yet: the project is parsed.
    assert rule_segments(settings) == tuple(folder)
    assert build_manifest(settings) == settings.dbt_project_dir / "target" / "manifest.json"


def test_a_new_segment_file_is_unioned_into_customer_segments(
    built_warehouse: BuiltWarehouse, tmp_path
) -> None:
    shutil.copy(built_warehouse.settings.warehouse, tmp_path / "segmart.duckdb")
    settings = project_copy(tmp_path, tmp_path / "segmart.duckdb")
    project = settings.dbt_project_dir
    (project / "models/segments/big_basket_buyers.sql").write_text(BIG_BASKET_BUYERS)
    select = ["big_basket_buyers", "customer_segments"]

    unordered = dbt_build(settings, AS_OF, select=select)
    assert not unordered.success
    [error] = [n for n in unordered.errored_nodes if n.name == "customer_segments"]
    assert "-- depends_on: {{ ref('big_basket_buyers') }}" in str(error.message)

    union = project / "models/marts/customer_segments.sql"
    union.write_text(
        union.read_text().replace(
            "with\n", "-- depends_on: {{ ref('big_basket_buyers') }}\nwith\n", 1
        )
    )
    build = dbt_build(settings, AS_OF, select=select)
    assert build.success, build.failed_tests or build.errored_nodes
    assert "big_basket_buyers" in rule_segments(settings)
    con = connect(settings.warehouse, read_only=True)
    try:
        members = con.execute(
            "select count(*), count(*) filter (where segment = 'big_basket_buyers')"
            " from marts.customer_segments"
        ).fetchone()
        alone = con.execute("select count(*) from intermediate.big_basket_buyers").fetchone()
    finally:
        con.close()
    assert members is not None and alone is not None
    assert alone[0] > 0
    assert members[1] == alone[0]
    assert members[0] == alone[0] + len(built_warehouse.full_refresh_marts["customer_segments"])
