"""A fifth source takes a YAML file and a staging model, nothing else (docs/add-a-source.md).

Both live in temporary folders (`SEGMART_SOURCES_DIR`, and a copy of the dbt project
in `SEGMART_DBT_PROJECT_DIR`); no file of the repository is touched. `segmart run`
then pulls it beside the four demo sources, raw-gates it with the checks its YAML
declares, builds its staging model and publishes; the Airflow DAG schedules it in a
pool of its own, which `segmart sources --pools` creates for `make airflow` and compose.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from segmart import cli
from segmart.core.settings import DEFAULT_DBT_PROJECT_DIR, PROJECT_ROOT
from tests.airflow.conftest import AirflowHome
from tests.fifth_source.loyalty_api import API_KEY, LoyaltyApi, members_between
from tests.support import FROZEN_NOW, NO_CLIENT_BUDGET, start_demo_api

pytestmark = pytest.mark.slow

START, END = "2026-01-01T00:00:00Z", "2026-04-01T00:00:00Z"

LOYALTY_YAML = """\
# A loyalty programme: API key header, `next_cursor` in the body.
source: loyalty
auth:
  style: header
  header: X-Loyalty-Key
rate_limit:
  requests_per_second: 20
history_start: 2026-01-01T00:00:00Z
defaults:
  primary_key: id
  time_field: updated_at
  lookback: PT0S
  window:
    start_param: changed_since
    end_param: changed_before
  pagination:
    style: body_cursor
    cursor_path: next_cursor
    cursor_param: cursor
    limit_param: per_page
    page_size: 40
  gate:
    time_tolerance: PT0S
streams:
  members:
    path: /members
    records: members
    gate:
      email_field: email
      checks:
        - name: points_not_negative
          field: points
          rule: minimum
          value: 0
          description: loyalty points are never negative
"""

LOYALTY_SOURCES_YML = """\
version: 2

sources:
  - name: loyalty
    description: "Loyalty programme API (X-Loyalty-Key, body cursor)."
    schema: raw
    tables:
      - name: members
        identifier: loyalty__members
        description: "Programme members and their points."
"""

STG_LOYALTY_MEMBERS = """\
with

latest as (
    {{ latest_raw_version(source('loyalty', 'members')) }}
),

parsed as (
    select
        record_id,
        record_updated_at,
        _extracted_at,
        {{ json_fields('record', {'email': 'varchar', 'points': 'bigint', 'tier': 'varchar'}) }}
    from latest
),

final as (
    select
        cast(record_id as varchar) as member_id,
        lower(trim(email)) as email,
        tier,
        points,
        record_updated_at as updated_at,
        _extracted_at
    from parsed
)

select * from final
"""


def repository_state() -> str:
    """What git sees as changed in the repository (empty outside a git checkout)."""
    if not (PROJECT_ROOT / ".git").exists():
        return ""
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.fixture(scope="module")
def fifth_source(tmp_path_factory):
    """The two files of a new source, in temporary folders only."""
    tmp = tmp_path_factory.mktemp("fifth")
    sources_dir = tmp / "sources"
    sources_dir.mkdir()
    (sources_dir / "loyalty.yaml").write_text(LOYALTY_YAML)
    dbt_dir = tmp / "dbt_project"
    shutil.copytree(
        DEFAULT_DBT_PROJECT_DIR,
        dbt_dir,
        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", ".user.yml"),
    )
    staging = dbt_dir / "models" / "staging" / "loyalty"
    staging.mkdir()
    (staging / "_loyalty__sources.yml").write_text(LOYALTY_SOURCES_YML)
    (staging / "stg_loyalty__members.sql").write_text(STG_LOYALTY_MEMBERS)
    env = {
        "SEGMART_SOURCES_DIR": str(sources_dir),
        "SEGMART_DBT_PROJECT_DIR": str(dbt_dir),
        "SEGMART_WAREHOUSE": str(tmp / "warehouse" / "segmart.duckdb"),
        "SEGMART_PUBLISHED": str(tmp / "warehouse" / "published.duckdb"),
    }
    return tmp, env


@pytest.fixture(scope="module")
def run(fifth_source):
    tmp, env = fifth_source
    before = repository_state()
    world = ("--seed", "7", "--customers", "100", "--now", FROZEN_NOW)
    unlimited = ("--rate-limit", "shop=0,crm=0,esp=0,web=0")
    with start_demo_api(*world, *unlimited) as demo, LoyaltyApi() as loyalty:
        out, err = io.StringIO(), io.StringIO()
        with pytest.MonkeyPatch.context() as patch:
            settings_env = {
                **demo.env(),
                **NO_CLIENT_BUDGET,
                **env,
                "SEGMART_LOYALTY_URL": loyalty.url,
                "SEGMART_LOYALTY_API_KEY": API_KEY,
            }
            for name, value in settings_env.items():
                patch.setenv(name, value)
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = cli.main(["run", "--start", START, "--end", END])
    con = duckdb.connect(env["SEGMART_WAREHOUSE"], read_only=True)
    try:
        facts = {
            "raw": con.execute("select count(*) from raw.loyalty__members").fetchone()[0],
            "staged": con.execute(
                "select count(*), count(distinct member_id), min(points) "
                "from staging.stg_loyalty__members"
            ).fetchone(),
            "raw_gate": con.execute(
                """
                select expectation, success from meta.validation_results
                where suite like 'raw.loyalty__members%' order by expectation
                """
            ).fetchall(),
            "gated_slices": con.execute(
                "select count(*) from meta.raw_gate_log "
                "where source = 'loyalty' and stream = 'members' and passed"
            ).fetchone()[0],
            "decision": con.execute(
                "select status from meta.publish_log order by decided_at desc limit 1"
            ).fetchone()[0],
        }
    finally:
        con.close()
    return {
        "code": code,
        "out": out.getvalue(),
        "err": err.getvalue(),
        **facts,
        "repository_unchanged": repository_state() == before,
    }


def test_the_new_source_is_pulled_into_its_raw_table(run):
    assert run["code"] == 0, run["out"] + run["err"]
    assert run["raw"] == len(members_between(START, END)) > 0


def test_the_new_source_is_raw_gated_with_the_checks_its_yaml_declares(run):
    checks = dict(run["raw_gate"])
    assert checks["points_not_negative"] is True
    assert checks["email_well_formed_or_null"] is True
    assert checks["record_time_in_window"] is True
    assert run["gated_slices"] == 1


def test_the_new_staging_model_is_built_and_the_run_publishes(run):
    rows, members, least_points = run["staged"]
    assert rows == members == run["raw"]
    assert least_points >= 0
    assert run["decision"] == "published"
    assert "published" in run["out"]


def test_no_file_of_the_repository_was_touched(run):
    assert run["repository_unchanged"]


def test_make_airflow_creates_its_pool_and_the_dag_schedules_it_there(fifth_source, tmp_path):
    _, env = fifth_source
    home = AirflowHome(tmp_path / "airflow_home")
    home.path.mkdir()
    airflow_env = home.env(**env)
    setup = subprocess.run(
        ["bash", str(PROJECT_ROOT / "scripts" / "airflow.sh")],
        env={**airflow_env, "SEGMART_AIRFLOW_SETUP_ONLY": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert setup.returncode == 0, setup.stdout + setup.stderr
    pools = subprocess.run(
        [str(Path(sys.executable).with_name("airflow")), "pools", "list", "-o", "json"],
        env=airflow_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert pools.returncode == 0, pools.stderr
    assert "segmart_loyalty" in {pool["pool"] for pool in json.loads(pools.stdout)}
    report = home.python("dagbag_report.py", env=airflow_env)
    assert report["import_errors"] == {}
    tasks = {task["task_id"]: task for task in report["tasks"]}
    assert tasks["extract_loyalty.pull"]["pool"] == "segmart_loyalty"
    assert tasks["extract_loyalty.load"]["pool"] == "segmart_warehouse"
