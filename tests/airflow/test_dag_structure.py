"""The DAG file parses fast, without errors, and wires every step as DESIGN.md requires."""

from __future__ import annotations

import pytest

from tests.airflow.conftest import AirflowHome

WAREHOUSE_WRITERS = (
    "extract_shop.load",
    "extract_crm.load",
    "extract_esp.load",
    "extract_web.load",
    "raw_gate",
    "dbt.dbt_producer_watcher",
    "marts_gate",
    "publish_segments",
)


@pytest.fixture(scope="module")
def report(prepared_airflow_home: AirflowHome) -> dict:
    return prepared_airflow_home.python("dagbag_report.py", env=prepared_airflow_home.env())


@pytest.fixture(scope="module")
def tasks(report: dict) -> dict[str, dict]:
    return {t["task_id"]: t for t in report["tasks"]}


def test_dagbag_has_no_import_errors_and_parses_in_under_5_seconds(report: dict) -> None:
    assert report["import_errors"] == {}
    assert report["dag_ids"] == ["segmart_pipeline"]
    assert report["seconds"] < 5, f"DagBag took {report['seconds']:.1f} s"


def test_defaults_are_hourly_data_intervals_without_catchup(report: dict) -> None:
    assert report["timetable"] == "CronDataIntervalTimetable"
    assert report["schedule"] == "0 * * * *"
    assert report["catchup"] is False


def test_schedule_and_catchup_come_from_the_environment(airflow_home: AirflowHome) -> None:
    env = airflow_home.env(SEGMART_SCHEDULE="@daily", SEGMART_CATCHUP="true")
    daily = airflow_home.python("dagbag_report.py", env=env)
    assert daily["import_errors"] == {}
    assert daily["catchup"] is True
    assert daily["schedule"] == "0 0 * * *"


def test_pulls_are_mapped_per_stream_in_one_pool_per_source_with_retries(tasks: dict) -> None:
    for source in ("shop", "crm", "esp", "web"):
        pull = tasks[f"extract_{source}.pull"]
        assert pull["mapped"], pull
        assert pull["pool"] == f"segmart_{source}"
        assert pull["retries"] >= 2
        assert tasks[f"extract_{source}.load"]["upstream"] == [f"extract_{source}.pull"]


def test_every_task_that_writes_the_warehouse_takes_the_one_slot_pool(tasks: dict) -> None:
    for task_id in WAREHOUSE_WRITERS:
        assert tasks[task_id]["pool"] == "segmart_warehouse", task_id
    dbt_models = [t for t in tasks.values() if t["task_id"].startswith("dbt.")]
    assert dbt_models
    assert all(t["pool"] in ("segmart_warehouse", "default_pool") for t in dbt_models)
    runs = [t for t in dbt_models if t["type"] == "DbtRunWatcherOperator"]
    assert all(t["pool"] == "segmart_warehouse" for t in runs)


def test_each_dbt_model_is_its_own_task_fed_as_of_from_the_data_interval(tasks: dict) -> None:
    models = {t.split(".")[1].removesuffix("_run") for t in tasks if t.startswith("dbt.")}
    for model in ("stg_shop__orders", "customer_rfm", "customer_segments", "email_audience"):
        assert model in models, sorted(models)
    producer = tasks["dbt.dbt_producer_watcher"]
    assert producer["type"] == "DbtProducerWatcherOperator"
    assert producer["upstream"] == ["claim_marts"]
    assert "data_interval_end" in producer["vars"]["as_of"]


def test_quality_gates_never_retry_and_publish_updates_the_segments_asset(tasks: dict) -> None:
    assert tasks["raw_gate"]["retries"] == 0
    assert tasks["marts_gate"]["retries"] == 0
    assert tasks["marts_gate"]["trigger_rule"].lower().endswith("all_done")
    publish = tasks["publish_segments"]
    assert publish["upstream"] == ["marts_gate", "raw_gate"]
    assert publish["outlets"] == ["segmart://published/segments"]


def test_one_run_at_a_time_holds_the_marts_from_dbt_to_publish(tasks: dict) -> None:
    # Backfills run beside the schedule: the lease, not the pool, keeps another run's
    # dbt from rebuilding the marts between this run's gate and publish.
    claim, release = tasks["claim_marts"], tasks["release_marts"]
    assert claim["upstream"] == ["raw_gate"]
    assert claim["is_setup"] and claim["mode"] == "reschedule"
    assert release["is_teardown"]
    assert release["upstream"] == ["claim_marts", "publish_segments"]
    assert {claim["pool"], release["pool"]} == {"segmart_warehouse"}
