"""`dag.test()` of segmart_collected: the closed micro-batches of `segmart collect` reach
raw in its one task; a batch that cannot be loaded fails the task, naming the file."""

from __future__ import annotations

import pytest

from segmart.core.settings import Settings
from tests.airflow.conftest import AirflowHome
from tests.collect.support import query, write_batch

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
