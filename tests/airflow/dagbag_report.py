"""Child process: parse dags/ into a DagBag and print what a test needs as one JSON line."""

from __future__ import annotations

import json
import os
import time

from airflow.dag_processing.dagbag import DagBag

started = time.monotonic()
bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
seconds = time.monotonic() - started


def describe_tasks(dag) -> list[dict]:
    return [
        {
            "task_id": t.task_id,
            "pool": t.pool,
            "queue": t.queue,
            "retries": t.retries,
            "type": type(t).__name__,
            "trigger_rule": str(t.trigger_rule),
            "upstream": sorted(t.upstream_task_ids),
            "outlets": [getattr(o, "uri", str(o)) for o in (t.outlets or [])],
            "vars": getattr(t, "vars", None),
            "mapped": type(t).__name__.endswith("MappedOperator"),
            "is_setup": t.is_setup,
            "is_teardown": t.is_teardown,
            "mode": getattr(t, "mode", None),
        }
        for t in dag.tasks
    ]


def describe_dag(dag) -> dict:
    return {
        "catchup": dag.catchup,
        "schedule": getattr(dag.timetable, "expression", None),
        "timetable": type(dag.timetable).__name__,
        "max_active_runs": dag.max_active_runs,
    }


dag = bag.dags.get("segmart_pipeline")
report = {
    "seconds": seconds,
    "import_errors": {str(k): v for k, v in bag.import_errors.items()},
    "dag_ids": sorted(bag.dags),
    "tasks": describe_tasks(dag) if dag is not None else [],
    # Every DAG but segmart_pipeline, whose fields are the report's own (above and below).
    "dags": {
        dag_id: {**describe_dag(other), "tasks": describe_tasks(other)}
        for dag_id, other in bag.dags.items()
        if dag_id != "segmart_pipeline"
    },
}
if dag is not None:
    report.update(describe_dag(dag))
print(json.dumps(report, default=str))
