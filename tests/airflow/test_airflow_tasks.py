"""segmart/airflow_tasks.py without a DagBag: what the DAG's tasks do beyond wiring.

What would come from Airflow (a connection, a DAG run's state, the task-failure
exception) is passed in, as the DAG passes Airflow's own; everything of ours runs
for real, on a real warehouse file where one is needed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from extract import list_sources
from segmart import airflow_tasks, marts_lease
from segmart.commands import sources as sources_command
from segmart.core.contracts import (
    WAREHOUSE_POOL,
    DbtBuildResult,
    PublishStatus,
    Severity,
    SliceResult,
    SliceStatus,
    source_pool,
)
from segmart.core.outcomes import GateResult, Outcome
from segmart.core.settings import Settings, SettingsError
from segmart.pipeline import CollectedResult
from segmart.publish import PublishResult

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cret-shop-key"
RUN = "scheduled__2026-06-01T00:00:00+00:00"
AS_OF = datetime(2026, 6, 1, tzinfo=UTC)


class Blocked(Exception):
    """Stands for AirflowFailException: the task fails, never retried."""


def fail(message: str):
    raise Blocked(message)


def connections(**by_id: airflow_tasks.SourceConnection):
    asked: list[str] = []

    def lookup(conn_id: str) -> airflow_tasks.SourceConnection | None:
        asked.append(conn_id)
        return by_id.get(conn_id)

    return lookup, asked


@pytest.fixture
def warehouse_env(tmp_path: Path) -> dict[str, str]:
    return {
        "SEGMART_WAREHOUSE": str(tmp_path / "segmart.duckdb"),
        "SEGMART_PUBLISHED": str(tmp_path / "published.duckdb"),
    }


@pytest.fixture
def settings(warehouse_env: dict[str, str]) -> Settings:
    return Settings.from_env(warehouse_env)


# --- settings from the environment and connections ------------------------------------------


def test_the_module_imports_without_airflow() -> None:
    # The DAG's library is tested in a process that never imports Airflow (conftest.py).
    probe = (
        "import sys, segmart.airflow_tasks; "
        "print(sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.strip() == "[]"


def test_env_vars_come_first_and_no_connection_is_asked(warehouse_env) -> None:
    env = {
        **warehouse_env,
        "SEGMART_SHOP_URL": "http://env.example/shop",
        "SEGMART_SHOP_API_KEY": "env-key",
    }
    lookup, asked = connections()
    masked: list[str] = []
    settings = airflow_tasks.task_settings(["shop"], env, lookup, masked.append)
    assert asked == []
    assert settings.source("shop").url == "http://env.example/shop"
    assert settings.source("shop").api_key == "env-key"
    assert masked == ["env-key"]


def test_a_connection_fills_the_url_and_key_the_env_lacks_and_the_key_is_masked(
    warehouse_env,
) -> None:
    lookup, asked = connections(
        segmart_shop=airflow_tasks.SourceConnection("http://api.example/shop/", password=SECRET)
    )
    masked: list[str] = []
    settings = airflow_tasks.task_settings(["shop"], warehouse_env, lookup, masked.append)
    assert asked == ["segmart_shop"]
    assert settings.source("shop").url == "http://api.example/shop"
    assert settings.source("shop").api_key == SECRET
    # Masked before any log line could show it; never in a repr that might be logged.
    assert masked == [SECRET]
    assert SECRET not in repr(settings)
    assert SECRET not in repr(settings.source("shop"))
    assert SECRET not in repr(lookup("segmart_shop"))


def test_the_env_url_is_kept_when_only_the_key_comes_from_the_connection(warehouse_env) -> None:
    lookup, _ = connections(
        segmart_crm=airflow_tasks.SourceConnection("http://conn.example/crm", password=SECRET)
    )
    env = {**warehouse_env, "SEGMART_CRM_URL": "http://env.example/crm"}
    settings = airflow_tasks.task_settings(["crm"], env, lookup, lambda _: None)
    assert settings.source("crm").url == "http://env.example/crm"
    assert settings.source("crm").api_key == SECRET


def test_a_bare_connection_host_is_completed_from_its_schema_and_port() -> None:
    assert airflow_tasks.SourceConnection("api.example", "https", 8443).url == (
        "https://api.example:8443"
    )
    assert airflow_tasks.SourceConnection("api.example").url == "http://api.example"
    assert airflow_tasks.SourceConnection(None).url is None


def test_without_env_or_connection_the_missing_key_names_the_connection(warehouse_env) -> None:
    lookup, asked = connections()
    settings = airflow_tasks.task_settings(["esp"], warehouse_env, lookup, lambda _: None)
    assert asked == ["segmart_esp"]
    with pytest.raises(SettingsError, match="SEGMART_ESP_API_KEY.*segmart_esp"):
        settings.source("esp").require_api_key()


def test_tasks_that_need_no_source_ask_no_connection(warehouse_env) -> None:
    lookup, asked = connections()
    airflow_tasks.task_settings((), warehouse_env, lookup, lambda _: None)
    assert asked == []


def test_warehouse_paths_are_anchored_to_the_project_not_the_workers_cwd(tmp_path) -> None:
    env = airflow_tasks.anchored_env({"SEGMART_WAREHOUSE": "data/w.duckdb"}, root=tmp_path)
    assert env["SEGMART_WAREHOUSE"] == str(tmp_path / "data" / "w.duckdb")
    assert env["SEGMART_PUBLISHED"] == str(tmp_path / "warehouse" / "published.duckdb")
    assert airflow_tasks.anchored_env({"SEGMART_WAREHOUSE": "/abs/w.duckdb"}, tmp_path)[
        "SEGMART_WAREHOUSE"
    ] == ("/abs/w.duckdb")


def test_parse_settings_honour_the_dbt_project_setting(tmp_path) -> None:
    settings = airflow_tasks.parse_settings({"SEGMART_DBT_PROJECT_DIR": str(tmp_path)})
    assert settings.dbt_project_dir == tmp_path.resolve()
    assert settings.dbt_manifest == tmp_path.resolve() / "target" / "manifest.json"


# --- run ids and the schedule ---------------------------------------------------------------


def test_airflow_run_ids_become_segmart_run_ids_that_name_folders() -> None:
    assert airflow_tasks.segmart_run_id(RUN) == "airflow__scheduled__2026-06-01T00_00_00_00_00"
    assert airflow_tasks.segmart_run_id("manual__2026-06-01T12:30:00.123+00:00") == (
        "airflow__manual__2026-06-01T12_30_00.123_00_00"
    )


def test_the_schedule_defaults_to_hourly_from_2026_without_catchup() -> None:
    schedule = airflow_tasks.schedule_settings({})
    assert schedule.cron == "@hourly"
    assert schedule.start_date == datetime(2026, 1, 1, tzinfo=UTC)
    assert schedule.catchup is False


def test_the_schedule_comes_from_the_environment() -> None:
    schedule = airflow_tasks.schedule_settings(
        {
            "SEGMART_SCHEDULE": " @daily ",
            "SEGMART_START_DATE": "2026-05-01T06:00:00Z",
            "SEGMART_CATCHUP": "True",
        }
    )
    assert schedule.cron == "@daily"
    assert schedule.start_date == datetime(2026, 5, 1, 6, tzinfo=UTC)
    assert schedule.catchup is True


@pytest.mark.parametrize("manual", ["none", "manual", "@once", "NULL"])
def test_a_manual_schedule_means_no_timetable(manual: str) -> None:
    assert airflow_tasks.schedule_settings({"SEGMART_SCHEDULE": manual}).cron is None


def test_a_catchup_that_is_not_a_boolean_is_an_error_naming_the_setting() -> None:
    with pytest.raises(SettingsError, match="SEGMART_CATCHUP='ture': use true or false"):
        airflow_tasks.schedule_settings({"SEGMART_CATCHUP": "ture"})


def test_a_start_date_that_is_not_a_date_is_an_error_naming_the_setting() -> None:
    with pytest.raises(SettingsError, match="SEGMART_START_DATE='yesterday' is not a date"):
        airflow_tasks.schedule_settings({"SEGMART_START_DATE": "yesterday"})


# --- pools and the dbt manifest -------------------------------------------------------------


def test_the_dag_and_segmart_sources_name_the_same_pools() -> None:
    sources = list_sources(None)
    made = set(sources_command.pools(sources))
    used = {WAREHOUSE_POOL} | {source_pool(s) for s in sources}
    assert made == used
    assert sources_command.pools(sources)[WAREHOUSE_POOL]["slots"] == 1


def test_a_pool_the_setup_made_is_accepted() -> None:
    airflow_tasks.require_pool("segmart_shop", ["segmart_warehouse", "segmart_shop"])


def test_a_pool_the_setup_never_made_fails_the_plan_naming_the_pool_and_the_fix() -> None:
    with pytest.raises(airflow_tasks.PoolMissing) as error:
        airflow_tasks.require_pool("segmart_loyalty", ["segmart_warehouse", "segmart_shop"])
    message = str(error.value)
    assert "'segmart_loyalty'" in message and "never be scheduled" in message
    assert "make airflow" in message and "segmart sources --pools" in message
    with pytest.raises(airflow_tasks.PoolMissing, match="not set"):
        airflow_tasks.require_pool("segmart_shop", None)


def test_the_pools_the_setup_recorded_are_read_from_its_json() -> None:
    recorded = json.dumps(sources_command.pools(["shop"]))
    assert airflow_tasks.parse_pools(recorded) == ["segmart_shop", "segmart_warehouse"]
    for unreadable in ("", "gAAAAABn-encrypted-with-another-key", "3"):
        with pytest.raises(airflow_tasks.PoolMissing, match="run the setup again"):
            airflow_tasks.parse_pools(unreadable)


def test_a_missing_manifest_names_its_path_and_the_command_that_builds_it(tmp_path) -> None:
    settings = Settings.from_env({"SEGMART_DBT_PROJECT_DIR": str(tmp_path)})
    with pytest.raises(airflow_tasks.ManifestMissing) as error:
        airflow_tasks.require_manifest(settings)
    message = str(error.value)
    assert str(tmp_path.resolve() / "target" / "manifest.json") in message
    assert "`segmart manifest`" in message
    assert "\n" not in message
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "manifest.json").write_text("{}")
    assert airflow_tasks.require_manifest(settings) == settings.dbt_manifest


# --- extraction windows ---------------------------------------------------------------------


def test_the_plan_reaches_back_to_history_start_on_a_fresh_warehouse(settings) -> None:
    windows = airflow_tasks.plan_source(settings, "crm", datetime(2026, 5, 31, tzinfo=UTC), AS_OF)
    assert windows == [
        {
            "source": "crm",
            "stream": "contacts",
            "start": "2024-01-01T00:00:00Z",
            "end": "2026-06-01T00:00:00Z",
        }
    ]
    assert json.loads(json.dumps(windows)) == windows


def test_a_manual_run_without_a_schedule_plans_from_history_to_its_run_after(settings) -> None:
    # No timetable: the run's data interval starts and ends at its run_after, microseconds
    # included. The windows and the as_of are whole seconds, as dbt's as_of var is.
    run_after = datetime(2026, 6, 1, 12, 30, 5, 948199, tzinfo=UTC)
    windows = airflow_tasks.plan_source(settings, "crm", run_after, run_after)
    assert [(w["start"], w["end"]) for w in windows] == [
        ("2024-01-01T00:00:00Z", "2026-06-01T12:30:05Z")
    ]
    assert airflow_tasks.run_as_of(run_after) == datetime(2026, 6, 1, 12, 30, 5, tzinfo=UTC)


@dataclass
class AirflowDagRun:
    """The fields of Airflow's `dag_run` (task context) that the run window reads."""

    run_after: datetime
    data_interval_start: datetime | None = None
    data_interval_end: datetime | None = None


def test_a_run_with_a_data_interval_covers_it_and_its_end_is_the_as_of() -> None:
    run = AirflowDagRun(
        run_after=datetime(2026, 6, 1, 1, 0, 2, 5, tzinfo=UTC),
        data_interval_start=datetime(2026, 5, 31, 23, tzinfo=UTC),
        data_interval_end=datetime(2026, 6, 1, tzinfo=UTC),
    )
    window = airflow_tasks.run_window(run)
    assert (window.start, window.as_of) == (run.data_interval_start, run.data_interval_end)
    assert airflow_tasks.as_of_var(run) == "2026-06-01 00:00:00"


def test_a_run_without_a_logical_date_covers_from_the_watermark_to_its_run_after(
    settings,
) -> None:
    # Airflow 3's manual and API runs without a logical date have no data interval.
    run = AirflowDagRun(run_after=datetime(2026, 6, 1, 12, 30, 5, 948199, tzinfo=UTC))
    window = airflow_tasks.run_window(run)
    assert window.start is None
    assert window.as_of == datetime(2026, 6, 1, 12, 30, 5, tzinfo=UTC)
    assert airflow_tasks.as_of_var(run) == "2026-06-01 12:30:05"
    windows = airflow_tasks.plan_source(settings, "crm", window.start, window.end)
    assert [(w["start"], w["end"]) for w in windows] == [
        ("2024-01-01T00:00:00Z", "2026-06-01T12:30:05Z")
    ]


def test_warehouse_tasks_go_to_the_queue_the_environment_names() -> None:
    assert airflow_tasks.warehouse_queue({}) is None
    assert airflow_tasks.warehouse_queue({"SEGMART_WAREHOUSE_QUEUE": " "}) is None
    assert airflow_tasks.warehouse_queue({"SEGMART_WAREHOUSE_QUEUE": "warehouse"}) == "warehouse"


# --- the marts lease ------------------------------------------------------------------------


def test_the_lease_holder_names_airflow_the_dag_and_the_run() -> None:
    assert airflow_tasks.lease_holder("segmart_pipeline", RUN) == (
        f"airflow:segmart_pipeline:{RUN}"
    )


def test_an_airflow_holder_is_active_while_its_run_is_queued_or_running() -> None:
    asked: list[tuple[str, str]] = []

    def state(value: str):
        def lookup(dag_id: str, run_id: str) -> str:
            asked.append((dag_id, run_id))
            return value

        return lookup

    holder = airflow_tasks.lease_holder("segmart_pipeline", RUN)
    assert airflow_tasks.holder_run_is_active(holder, state("running"))
    assert airflow_tasks.holder_run_is_active(holder, state("DagRunState.QUEUED"))
    assert not airflow_tasks.holder_run_is_active(holder, state("success"))
    assert not airflow_tasks.holder_run_is_active(holder, state("failed"))
    # The run id's own ':' stay in it.
    assert set(asked) == {("segmart_pipeline", RUN)}


def test_a_deleted_run_holds_nothing_and_another_tools_holder_is_waited_for() -> None:
    def deleted(dag_id: str, run_id: str) -> str:
        raise LookupError(f"no run {run_id}")

    holder = airflow_tasks.lease_holder("segmart_pipeline", RUN)
    assert not airflow_tasks.holder_run_is_active(holder, deleted)
    assert airflow_tasks.holder_run_is_active("segmart-run:run-20260601", deleted)
    assert airflow_tasks.holder_run_is_active("airflow:no-run-id", deleted)


def test_claim_waits_for_an_active_run_then_holds_and_releases(settings) -> None:
    other = "backfill__2026-05-31T00:00:00+00:00"
    running = {airflow_tasks.lease_holder("segmart_pipeline", other)}
    assert airflow_tasks.claim_marts(
        settings, "segmart_pipeline", other, AS_OF, running.__contains__
    )
    assert not airflow_tasks.claim_marts(
        settings, "segmart_pipeline", RUN, AS_OF, running.__contains__
    )
    airflow_tasks.release_marts(settings, "segmart_pipeline", other)
    assert airflow_tasks.claim_marts(settings, "segmart_pipeline", RUN, AS_OF, running.__contains__)
    assert marts_lease.current(settings).holder == airflow_tasks.lease_holder(
        "segmart_pipeline", RUN
    )
    airflow_tasks.release_marts(settings, "segmart_pipeline", RUN)
    assert marts_lease.current(settings) is None
    # A release of a lease that was taken over is harmless.
    airflow_tasks.release_marts(settings, "segmart_pipeline", RUN)


# --- dbt run results through XCom -----------------------------------------------------------

RUN_RESULTS = {
    "metadata": {"dbt_version": "1.11.0"},
    "results": [
        {
            "unique_id": "model.segmart.customer_rfm",
            "status": "success",
            "failures": None,
            "message": "OK",
            "execution_time": 1.5,
        },
        {
            "unique_id": "test.segmart.not_null_customer_rfm_customer_id.abc",
            "status": "fail",
            "failures": 3,
            "message": "Got 3 results",
            "execution_time": 0.2,
        },
    ],
}


class TaskInstance:
    """The part of Airflow's task instance the Cosmos callback uses."""

    def __init__(self) -> None:
        self.pushed: dict[str, str] = {}

    def xcom_push(self, key: str, value: str) -> None:
        self.pushed[key] = value


def test_the_producers_run_results_travel_through_xcom_as_a_dbt_build_result(tmp_path) -> None:
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "run_results.json").write_text(json.dumps(RUN_RESULTS))
    ti = TaskInstance()
    airflow_tasks.push_run_results(str(tmp_path), context={"ti": ti})
    packed = ti.pushed[airflow_tasks.RUN_RESULTS_XCOM]
    assert isinstance(packed, str) and len(packed) < len(json.dumps(RUN_RESULTS))

    result = airflow_tasks.unpack_run_results(packed, AS_OF)
    assert isinstance(result, DbtBuildResult)
    assert result.success is False
    assert result.models_built == 1
    assert [(n.unique_id, n.failures) for n in result.failed_tests] == [
        ("test.segmart.not_null_customer_rfm_customer_id.abc", 3)
    ]
    assert result.as_of == "2026-06-01 00:00:00"


def test_no_run_results_means_dbt_could_not_run(tmp_path) -> None:
    ti = TaskInstance()
    airflow_tasks.push_run_results(str(tmp_path), context={"ti": ti})
    assert ti.pushed == {}
    result = airflow_tasks.unpack_run_results(None, AS_OF)
    assert result.success is False
    assert "no run results" in (result.error or "")


# --- gate and publish outcomes --------------------------------------------------------------


def outcome(success: bool | None, severity: Severity = Severity.CRITICAL) -> Outcome:
    return Outcome("raw.shop__orders", "total_not_negative", severity, success, error="boom")


def publish_log(settings: Settings) -> list[tuple[str, str]]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute("select run_id, status from meta.publish_log").fetchall()
    finally:
        con.close()


def test_a_passing_gate_hands_its_result_on(settings) -> None:
    gate = GateResult("airflow__r", outcomes=[outcome(True), outcome(False, Severity.WARNING)])
    value = airflow_tasks.gate_outcome("raw gate", settings, gate, AS_OF, fail)
    assert GateResult.from_dict(value).outcomes == gate.outcomes
    assert json.loads(json.dumps(value)) == value


def test_a_raw_gate_with_no_new_slices_lets_the_run_go_on_as_segmart_run_does(settings) -> None:
    # Nothing waited to be gated: no outcomes. `segmart run` builds and audits the marts
    # then; the DAG must not fail the run here (it did: it asked for a pass).
    value = airflow_tasks.gate_outcome("raw gate", settings, GateResult("airflow__r"), AS_OF, fail)
    assert value["outcomes"] == []


def test_a_blocking_gate_records_the_block_and_fails_the_task_with_its_reasons(
    settings, caplog
) -> None:
    gate = GateResult("airflow__r", outcomes=[outcome(True), outcome(False)])
    with pytest.raises(Blocked, match="raw gate blocked this run: .*total_not_negative"):
        airflow_tasks.gate_outcome("raw gate", settings, gate, AS_OF, fail)
    assert publish_log(settings) == [("airflow__r", "blocked")]
    assert "total_not_negative" in caplog.text


def test_a_gate_that_could_not_evaluate_blocks_too(settings) -> None:
    gate = GateResult("airflow__r", outcomes=[outcome(None, Severity.WARNING)])
    with pytest.raises(Blocked, match="could not evaluate: boom"):
        airflow_tasks.gate_outcome("marts gate", settings, gate, AS_OF, fail)


def published(status: PublishStatus) -> PublishResult:
    return PublishResult(
        run_id="airflow__r",
        as_of=datetime(2026, 6, 1),
        status=status,
        reason="why",
        published=Path("/w/published.duckdb"),
        tables={"customer_rfm": 3},
    )


@pytest.mark.parametrize("status", [PublishStatus.PUBLISHED, PublishStatus.HISTORY_ONLY])
def test_a_publish_or_a_backfills_history_succeeds(status: PublishStatus) -> None:
    value = airflow_tasks.publish_outcome(published(status), fail)
    assert value["status"] == str(status)
    assert value["as_of"] == "2026-06-01T00:00:00Z"
    assert value["published"] == "/w/published.duckdb"
    assert value["tables"] == {"customer_rfm": 3}


@pytest.mark.parametrize("status", [PublishStatus.FAILED, PublishStatus.BLOCKED])
def test_a_publish_that_did_not_succeed_fails_the_task(status: PublishStatus) -> None:
    with pytest.raises(Blocked, match=f"publish {status}, published.duckdb unchanged: why"):
        airflow_tasks.publish_outcome(published(status), fail)


def test_collected_loads_pass_their_counts_on_and_one_that_cannot_load_fails_the_task() -> None:
    loaded = CollectedResult(batches=2, loaded=5, duplicates=1)
    value = airflow_tasks.collected_outcome(loaded, fail)
    assert json.loads(json.dumps(value)) == value
    assert CollectedResult.from_dict(value) == loaded
    stuck = CollectedResult(batches=1, loaded=3, error="shop.orders: micro-batch /x cannot")
    with pytest.raises(Blocked, match="shop.orders: micro-batch /x cannot"):
        airflow_tasks.collected_outcome(stuck, fail)


def test_warehouse_writers_take_the_pool_and_with_celery_the_queue() -> None:
    assert airflow_tasks.warehouse_task_args({}) == {"pool": "segmart_warehouse"}
    assert airflow_tasks.warehouse_task_args({"SEGMART_WAREHOUSE_QUEUE": "warehouse"}) == {
        "pool": "segmart_warehouse",
        "queue": "warehouse",
    }


# --- XCom values ----------------------------------------------------------------------------


def test_xcom_values_are_json_safe_copies() -> None:
    result = SliceResult(
        "shop", "orders", "2026-05-31T00:00:00Z", "2026-06-01T00:00:00Z", "r", SliceStatus.SUCCESS
    )
    value = airflow_tasks.xcom_safe(result)
    assert value["status"] == "success"
    assert SliceResult.from_dict(value) == result
    assert airflow_tasks.xcom_safe({"at": AS_OF, "path": Path("/w"), "n": 1}) == {
        "at": "2026-06-01T00:00:00Z",
        "path": "/w",
        "n": 1,
    }


def test_dbt_sensors_reschedule_by_default_and_defer_when_a_triggerer_runs() -> None:
    assert airflow_tasks.dbt_sensor_args({}) == {
        "deferrable": False,
        "mode": "reschedule",
        "poke_interval": 5,
    }
    assert (
        airflow_tasks.dbt_sensor_args({"SEGMART_DBT_SENSORS": " Deferrable "})["deferrable"] is True
    )
    with pytest.raises(SettingsError, match="SEGMART_DBT_SENSORS='poll' is not one of"):
        airflow_tasks.dbt_sensor_args({"SEGMART_DBT_SENSORS": "poll"})
