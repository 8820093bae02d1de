"""Airflow DAG `segmart_collected`: pushed events into raw every 5 minutes.

Wiring only. `segmart collect` (a service beside Airflow) lands webhooks and tracking
batches as micro-batch files; this DAG's one task loads every closed one into its
`raw.<source>__<stream>` table with the loader of `segmart collect --load` (one
transaction per batch, each delivery once), in the warehouse pool like every writer
of the DuckDB file. So nothing pushed waits more than one interval to reach raw; the
hourly `segmart_pipeline` loads whatever is left before its raw gate, then builds and
publishes. A batch that cannot be loaded fails the task, naming the file.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from segmart import airflow_tasks as glue
from segmart.pipeline import collect_step

SCHEDULE = glue.schedule_settings()


@task(**glue.warehouse_task_args(), retries=0)
def load_collected() -> dict:
    """Every closed micro-batch of pushed events into raw, one transaction each."""
    return glue.collected_outcome(collect_step(glue.task_settings()))


@dag(
    dag_id="segmart_collected",
    description="pushed events (segmart collect) -> raw DuckDB, every 5 minutes",
    schedule=glue.COLLECTED_SCHEDULE,
    start_date=SCHEDULE.start_date,
    catchup=False,
    # One load at a time, and no queue of late runs behind a slow one.
    max_active_runs=1,
    default_args={"owner": "segmart", "retries": 0},
    tags=["segmart"],
    doc_md=__doc__,
)
def segmart_collected() -> None:
    load_collected()


segmart_collected()
