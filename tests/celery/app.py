"""A tiny Celery app whose tasks are segmart's real pull and load, for the two-worker test
and benchmarks/celery_budget_bench.py.

Airflow's CeleryExecutor runs each task as `airflow tasks run` inside a worker; what
matters for the rate budget is the same: pulls of one source in several worker
processes on several hosts. Broker and result backend come from CELERY_BROKER_URL and
CELERY_RESULT_BACKEND; segmart's own settings from the SEGMART_* environment.
"""

from __future__ import annotations

import os

from celery import Celery

from extract import LandedSlice, pull_slice
from segmart.core.settings import Settings
from segmart.core.times import parse_utc
from tests.extract.pull_process import load_all

# The queue of the one worker beside the warehouse file (SEGMART_WAREHOUSE_QUEUE in the DAG).
WAREHOUSE_QUEUE = "warehouse"

app = Celery(
    "segmart_budget_test",
    broker=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"),
    backend=os.environ.get("CELERY_RESULT_BACKEND", "redis://127.0.0.1:6379/0"),
)
app.conf.update(
    task_default_queue="default",
    task_routes={"tests.celery.app.load": {"queue": WAREHOUSE_QUEUE}},
    # One task per free process: a worker never holds pulls another one could run now.
    worker_prefetch_multiplier=1,
    task_acks_late=True,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
)


@app.task(bind=True)
def pull(self, source: str, stream: str, start: str, end: str, run_id: str) -> dict:
    """segmart's pull of one slice into SEGMART_LANDING_DIR, within the shared budget."""
    settings = Settings.from_env()
    landed = pull_slice(settings, source, stream, parse_utc(start), parse_utc(end), run_id)
    return {"landed": landed.to_dict(), "worker": self.request.hostname}


@app.task(bind=True)
def load(self, slices: list[dict]) -> dict:
    """Load landed slices into this worker's warehouse (the one writer of the file)."""
    settings = Settings.from_env()
    streams = load_all(settings, [LandedSlice.from_dict(piece) for piece in slices])
    return {"streams": streams, "worker": self.request.hostname}
