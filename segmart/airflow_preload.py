"""Modules every segmart task needs, imported once before the executor forks tasks.

Each Airflow task is a process that parses the DAG file and imports what its step
needs: Cosmos and the extractors for every task, dbt for the producer, Great
Expectations for the gates (13 s on 2 cores). scripts/airflow.sh and
docker-compose.yml start the scheduler's LocalExecutor workers from a forkserver
that imports this module first (`[scheduler] mp_start_method = forkserver`,
`[core] mp_forkserver_preload = segmart.airflow_preload`); Airflow forks each task
from a worker, so the task inherits these modules instead of importing them again.
Measured: raw_gate 23 s -> 7 s, marts_gate 23 s -> 5 s (docs/benchmarks.md).

Import only: no threads, connections or open files, which a fork would copy.
"""

from __future__ import annotations

import cosmos.converter  # noqa: F401
import cosmos.operators.watcher  # noqa: F401
import dbt.cli.main  # noqa: F401
import great_expectations  # noqa: F401

import expectations  # noqa: F401
import extract  # noqa: F401
from segmart import airflow_tasks, pipeline  # noqa: F401
