"""The DAG file parses fast, without errors, and wires every step as DESIGN.md requires."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from extract import SourceKind, list_sources
from segmart.commands.sources import pools
from segmart.core.settings import DEFAULT_DBT_PROJECT_DIR
from tests.airflow.conftest import AirflowHome
from tests.fifth_source.test_fifth_source import LOYALTY_YAML

WAREHOUSE_WRITERS = (
    "extract_shop.load",
    "extract_crm.load",
    "extract_esp.load",
    "extract_web.load",
    "extract_pos.load_files",
    "load_collected",
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
    assert report["dag_ids"] == ["segmart_collected", "segmart_pipeline"]
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
    # Only the producer runs dbt. The per-model and per-test tasks are deferrable sensors
    # that read its progress from XCom: in the one-slot pool they would queue behind it
    # and then run one by one.
    watchers = [
        t
        for t in tasks.values()
        if t["task_id"].startswith("dbt.") and t["type"] != "DbtProducerWatcherOperator"
    ]
    assert len(watchers) > 20
    assert {t["pool"] for t in watchers} == {"default_pool"}


def test_with_celery_every_warehouse_writer_goes_to_the_warehouse_queue(
    airflow_home: AirflowHome,
) -> None:
    env = airflow_home.env(SEGMART_WAREHOUSE_QUEUE="segmart_warehouse")
    queued = {t["task_id"]: t for t in airflow_home.python("dagbag_report.py", env=env)["tasks"]}
    for task_id in (*WAREHOUSE_WRITERS, "claim_marts", "release_marts"):
        assert queued[task_id]["queue"] == "segmart_warehouse", task_id
    assert queued["extract_shop.pull"]["queue"] == "default"
    # Outside the pool but on the queue: a cleared model task runs dbt on its model.
    assert queued["dbt.customer_rfm.run"]["queue"] == "segmart_warehouse"
    assert queued["dbt.customer_rfm.run"]["pool"] == "default_pool"


def test_each_dbt_model_is_its_own_task_fed_as_of_from_the_run_window(tasks: dict) -> None:
    models = {t.split(".")[1].removesuffix("_run") for t in tasks if t.startswith("dbt.")}
    for model in ("stg_shop__orders", "customer_rfm", "customer_segments", "email_audience"):
        assert model in models, sorted(models)
    producer = tasks["dbt.dbt_producer_watcher"]
    assert producer["type"] == "DbtProducerWatcherOperator"
    assert producer["upstream"] == ["claim_marts"]
    # The DAG's macro: the data interval's end, or run_after for a run without one.
    assert producer["vars"]["as_of"] == "{{ segmart_as_of(dag_run) }}"


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


def test_every_pool_the_dag_uses_is_one_the_setups_make(tasks: dict) -> None:
    # `make airflow` and compose make exactly `segmart sources --pools`: the API sources'.
    pulled = list_sources(None, kind=SourceKind.API)
    made = set(pools(pulled)) | {"default_pool"}
    used = {t["pool"] for t in tasks.values()}
    assert used <= made, sorted(used - made)
    assert {f"segmart_{source}" for source in pulled} <= used


def test_a_file_source_is_one_load_in_the_warehouse_pool_before_the_raw_gate(
    tasks: dict,
) -> None:
    group = sorted(t for t in tasks if t.startswith("extract_pos."))
    assert group == ["extract_pos.load_files"]
    load = tasks["extract_pos.load_files"]
    assert load["pool"] == "segmart_warehouse"
    assert not load["mapped"]
    assert "extract_pos.load_files" in tasks["raw_gate"]["upstream"]


def test_collected_pushes_load_in_the_warehouse_pool_before_the_raw_gate(tasks: dict) -> None:
    load = tasks["load_collected"]
    assert load["pool"] == "segmart_warehouse"
    assert not load["mapped"] and load["upstream"] == []
    assert "load_collected" in tasks["raw_gate"]["upstream"]


def test_a_dag_of_its_own_loads_collected_pushes_every_5_minutes_one_run_at_a_time(
    report: dict,
) -> None:
    collected = report["dags"]["segmart_collected"]
    assert collected["schedule"] == "*/5 * * * *"
    assert collected["max_active_runs"] == 1
    assert collected["catchup"] is False
    (load,) = collected["tasks"]
    assert load["task_id"] == "load_collected"
    assert load["pool"] == "segmart_warehouse"
    assert load["retries"] == 0


def test_a_fifth_source_yaml_gets_its_own_group_and_pool(
    prepared_airflow_home: AirflowHome, tmp_path: Path
) -> None:
    sources_dir = tmp_path / "sources"
    sources_dir.mkdir()
    (sources_dir / "loyalty.yaml").write_text(LOYALTY_YAML)
    env = prepared_airflow_home.env(SEGMART_SOURCES_DIR=str(sources_dir))
    report = prepared_airflow_home.python("dagbag_report.py", env=env)
    assert report["import_errors"] == {}
    tasks = {t["task_id"]: t for t in report["tasks"]}
    assert tasks["extract_loyalty.plan"]["pool"] == "segmart_warehouse"
    pull = tasks["extract_loyalty.pull"]
    assert pull["mapped"] and pull["pool"] == "segmart_loyalty"
    assert tasks["extract_loyalty.load"]["upstream"] == ["extract_loyalty.pull"]
    assert tasks["extract_loyalty.load"]["pool"] == "segmart_warehouse"
    assert "extract_loyalty.load" in tasks["raw_gate"]["upstream"]
    # ... and the pool is one the setups make from the same YAML.
    assert "segmart_loyalty" in pools(list_sources(str(sources_dir)))


def test_a_missing_dbt_manifest_is_one_line_naming_it_and_the_command_that_builds_it(
    prepared_airflow_home: AirflowHome, tmp_path: Path
) -> None:
    project = tmp_path / "dbt_project"
    shutil.copytree(
        DEFAULT_DBT_PROJECT_DIR,
        project,
        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", ".user.yml"),
    )
    env = prepared_airflow_home.env(SEGMART_DBT_PROJECT_DIR=str(project))
    report = prepared_airflow_home.python("dagbag_report.py", env=env)
    assert report["dag_ids"] == ["segmart_collected"]  # loading pushes needs no dbt
    manifest = project.resolve() / "target" / "manifest.json"
    assert list(report["import_errors"].values()) == [
        f"dbt manifest {manifest} is missing: build it with `segmart manifest` "
        f"(dbt project {project.resolve()}, SEGMART_DBT_PROJECT_DIR)"
    ]
    assert Path(next(iter(report["import_errors"]))).name == "segmart_pipeline.py"


def test_a_schedule_that_is_not_cron_is_one_line_naming_the_setting(
    prepared_airflow_home: AirflowHome,
) -> None:
    env = prepared_airflow_home.env(SEGMART_SCHEDULE="every hour")
    report = prepared_airflow_home.python("dagbag_report.py", env=env)
    (error,) = report["import_errors"].values()
    assert error.startswith("SEGMART_SCHEDULE='every hour' is not a cron expression or preset")
    assert "\n" not in error
