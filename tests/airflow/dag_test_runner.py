"""Child process: `dag.test()` of segmart_pipeline (or the DAG in SEGMART_TEST_DAG) for
each logical date given, in order.

Prints one JSON line: per run, the run state and every task instance's state.
"""

from __future__ import annotations

import json
import os
import sys

import pendulum
from airflow.dag_processing.dagbag import DagBag
from airflow.models.dagrun import DagRun
from airflow.utils.session import create_session

bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
if bag.import_errors:
    raise SystemExit(f"DAG import errors: {bag.import_errors}")
dag = bag.dags[os.environ.get("SEGMART_TEST_DAG", "segmart_pipeline")]
runs = []
for logical_date in sys.argv[1:]:
    run = dag.test(logical_date=pendulum.parse(logical_date))
    with create_session() as session:
        run = session.get(DagRun, run.id)
        tasks = {}
        for ti in run.get_task_instances(session=session):
            key = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
            tasks[key] = str(ti.state)
        runs.append(
            {
                "logical_date": logical_date,
                "run_id": run.run_id,
                "state": str(run.state),
                "data_interval_end": run.data_interval_end and run.data_interval_end.isoformat(),
                "tasks": tasks,
            }
        )
print(json.dumps({"runs": runs}))
