"""`dag.test()` of segmart_collected: the closed micro-batches of `segmart collect` reach
raw in its one task; a batch that cannot be loaded fails the task, naming the file."""

from __future__ import annotations

import json

import pytest

from segmart.core.settings import Settings
from tests.airflow.conftest import AirflowHome
from tests.collect.support import query, write_batch
from tests.collect.test_webhooks import ORDER

pytestmark = pytest.mark.slow

LOGICAL_DATE = "2026-06-01T00:05:00+00:00"


def run_collected(home: AirflowHome) -> tuple[Settings, dict]:
    env = home.env(SEGMART_TEST_DAG="segmart_collected")
    (run,) = home.python("dag_test_runner.py", LOGICAL_DATE, env=env)["runs"]
    return Settings.from_env(env), run


def test_the_collected_dag_loads_closed_micro_batches_into_raw(airflow_home: AirflowHome) -> None:
    settings = Settings.from_env(airflow_home.env())
    updated = ("2026-05-31T23:59:00Z", "2026-05-31T23:59:30Z")
    write_batch(settings, "20260601T000000000000Z-0000000a", *updated)
    settings, run = run_collected(airflow_home)
    assert run["state"] == "success", run
    assert run["tasks"] == {"load_collected": "success"}
    assert query(settings, "select record_id from raw.shop__orders order by 1") == [("1",), ("2",)]
    assert query(settings, "select loaded from meta.collected_batches") == [(2,)]


def test_a_batch_that_cannot_load_fails_the_task(airflow_home: AirflowHome) -> None:
    settings = Settings.from_env(airflow_home.env())
    write_batch(settings, "20260601T000000000000Z-0000000b", "not a time")
    settings, run = run_collected(airflow_home)
    assert run["state"] == "failed"
    assert run["tasks"] == {"load_collected": "failed"}
    assert query(settings, "select count(*) from meta.collected_batches") == [(0,)]


@pytest.mark.timeout(900)
@pytest.mark.xdist_group("airflow_pipeline_pushes")
def test_the_pipeline_loads_pushed_batches_before_its_raw_gate_and_publishes(
    airflow_home: AirflowHome, demo_api_factory, tmp_path
) -> None:
    from tests.airflow.test_pipeline_runs import FAST, WORLD, dag_env

    api = demo_api_factory(*WORLD, *FAST)
    env = dag_env(airflow_home, api, tmp_path / "warehouse")
    settings = Settings.from_env(env)
    # A whole order, as a webhook delivers it: the dbt tests and gates see it like a pull's.
    folder = settings.landing_dir / "shop" / "orders" / "collected"
    folder.mkdir(parents=True)
    envelope = {
        "delivery_id": "d-pipeline",
        "received_at": "2026-05-30T12:00:00Z",
        "record_id": str(ORDER["id"]),
        "record_updated_at": ORDER["updated_at"],
        "record": ORDER,
    }
    (folder / "20260530T120000000000Z-0000000c.jsonl").write_text(json.dumps(envelope) + "\n")
    (run,) = airflow_home.python("dag_test_runner.py", "2026-05-31T00:00:00Z", env=env)["runs"]
    not_done = {t: s for t, s in run["tasks"].items() if s != "success"}
    assert run["state"] == "success", not_done
    assert run["tasks"]["load_collected"] == "success"
    assert query(
        settings, "select count(*) from raw.shop__orders where _run_id like 'collect:%'"
    ) == [(1,)]
    assert query(settings, "select status from meta.publish_log") == [("published",)]
