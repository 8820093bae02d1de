"""Airflow DAG `segmart_pipeline`: extract -> load -> raw gate -> dbt -> marts gate -> publish.

Wiring only: every task calls the same library code as `segmart run` (the glue in
`segmart/airflow_tasks.py`). A run covers its data interval and `as_of` is its end;
a manual or API run without a logical date (so without a data interval) covers
what each stream has not loaded yet, up to its `run_after`, its `as_of`. Each
configured source (a YAML file, `segmart sources`) gets a group `extract_<source>`
whose pulls run in its pool `segmart_<source>` (the source's shared rate budget) and
touch no database; a file source's group is one task, `load_files`, that loads its
new files; `load_collected` loads the pushed micro-batches (`segmart collect`) that
the DAG `segmart_collected` has not loaded yet. Every task that writes the working
DuckDB file takes the one-slot pool `segmart_warehouse`. dbt runs through Cosmos from
the pre-built manifest (`segmart manifest`), so parsing this file never runs dbt. A
source whose pool the setup never made fails its `plan` task.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Asset, dag, get_current_context, task, task_group
from airflow.sdk.exceptions import AirflowSkipException
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import PRODUCER_WATCHER_TASK_ID as PRODUCER
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

import extract
from segmart import airflow_tasks as glue
from segmart.core.contracts import WAREHOUSE_POOL, SliceResult, source_pool
from segmart.core.outcomes import GateResult
from segmart.core.times import parse_utc
from segmart.pipeline import (
    CollectedResult,
    collect_step,
    marts_gate_step,
    publish_step,
    raw_gate_step,
)

SETTINGS = glue.parse_settings()  # paths only: secrets are read inside running tasks
DBT_MANIFEST = glue.require_manifest(SETTINGS)
SCHEDULE = glue.schedule_settings()
SOURCES = extract.list_sources(SETTINGS.sources_dir)
DROPPED = extract.list_sources(SETTINGS.sources_dir, kind=extract.SourceKind.FILES)
PUBLISHED_SEGMENTS = Asset("segmart://published/segments")
AS_OF = "{{ segmart_as_of(dag_run) }}"
# Every task that writes the working DuckDB file: its one-slot pool and, with Celery,
# the queue of the one worker beside the file (SEGMART_WAREHOUSE_QUEUE).
QUEUE = glue.warehouse_queue()
WAREHOUSE = glue.warehouse_task_args()


def run_ids() -> tuple[str, str, str]:
    """(DAG id, Airflow run id, segmart run id) of the running task."""
    context = get_current_context()
    return context["dag"].dag_id, context["run_id"], glue.segmart_run_id(context["run_id"])


def run_window() -> glue.RunWindow:
    return glue.run_window(get_current_context()["dag_run"])


@task(**WAREHOUSE)
def plan(source: str) -> list:
    """One window per stream: the run's window, reaching back to the stream's
    watermark when earlier intervals were never loaded (first run, catchup off)."""
    glue.require_pool(source_pool(source), glue.registered_pools())
    window = run_window()
    return glue.plan_source(glue.task_settings(), source, window.start, window.end)


@task(
    retries=3,
    retry_delay=timedelta(seconds=10),
    retry_exponential_backoff=True,
    max_retry_delay=timedelta(minutes=5),
    map_index_template="{{ window['stream'] }}",
)
def pull(source: str, window: dict) -> dict:
    """HTTP -> landing files only; no database access, so pulls run in parallel."""
    start, end = parse_utc(window["start"]), parse_utc(window["end"])
    settings = glue.task_settings([source])
    landed = extract.pull_slice(settings, source, window["stream"], start, end, run_ids()[2])
    return glue.xcom_safe(landed)


@task(**WAREHOUSE, map_index_template="{{ landed['stream'] }}")
def load(landed: dict) -> dict:
    """One transaction: replace the slice in raw, record the run, advance the watermark."""
    landed_slice = extract.LandedSlice.from_dict(landed)
    return glue.xcom_safe(extract.load_slice(glue.task_settings(), landed_slice))


@task_group
def extract_source(source: str):  # returns the mapped loads' XComArg
    # The source's pulls share its pool: its rate budget.
    windows = plan(source)
    pulled = pull.override(pool=source_pool(source)).partial(source=source)
    return load.expand(landed=pulled.expand(window=windows))


@task(**WAREHOUSE)
def load_files(source: str) -> list:
    """A file source: every new file in its drop folder, one transaction each; a file
    with a problem moves to rejected/ with its reason (a warning at the raw gate)."""
    results = extract.load_drops(glue.task_settings(), source, run_ids()[2])
    return [glue.xcom_safe(result) for result in results]


@task_group
def drop_source(source: str):  # returns the file loads' XComArg
    return load_files(source)


@task(**WAREHOUSE)
def load_collected() -> dict:
    """Pushed events (`segmart collect`): every closed micro-batch into raw, one
    transaction each; one that cannot load is a warning at the raw gate."""
    return collect_step(glue.task_settings()).to_dict()


@task(**WAREHOUSE, retries=0)
def raw_gate(loads: list, collected: dict) -> dict:
    """GX suites on every committed slice not yet passed; a critical failure stops the run."""
    settings, run_id = glue.task_settings(), run_ids()[2]
    extracted = [SliceResult.from_dict(item) for group in loads for item in (group or [])]
    gate = raw_gate_step(settings, run_id, extracted, CollectedResult.from_dict(collected))
    return glue.gate_outcome("raw gate", settings, gate, run_window().as_of)


@task.sensor(**WAREHOUSE, mode="reschedule", poke_interval=10, timeout=24 * 3600, retries=0)
def claim_marts() -> bool:
    """Wait until no other run is between dbt and publish, then hold the marts."""
    dag_id, airflow_run_id, _ = run_ids()
    as_of = run_window().as_of
    return glue.claim_marts(glue.task_settings(), dag_id, airflow_run_id, as_of)


@task(**WAREHOUSE, retries=2, retry_delay=timedelta(seconds=5))
def release_marts() -> None:
    dag_id, airflow_run_id, _ = run_ids()
    glue.release_marts(glue.task_settings(), dag_id, airflow_run_id)


@task(**WAREHOUSE, retries=0, trigger_rule="all_done")
def marts_gate() -> dict:
    """GX suites on the marts plus the dbt test results; blocks publish on a failure."""
    ti = get_current_context()["ti"]
    # all_done lets failed dbt tests reach the gate; a blocked raw gate or a failed
    # load means there is nothing of this run to audit.
    if not ti.xcom_pull(task_ids="raw_gate"):
        raise AirflowSkipException("raw gate did not pass: nothing to audit or publish")
    settings, run_id, as_of = glue.task_settings(), run_ids()[2], run_window().as_of
    packed = ti.xcom_pull(task_ids=f"dbt.{PRODUCER}", key=glue.RUN_RESULTS_XCOM)
    gate = marts_gate_step(settings, run_id, as_of, glue.unpack_run_results(packed, as_of))
    return glue.gate_outcome("marts gate", settings, gate, as_of)


@task(**WAREHOUSE, retries=0, outlets=[PUBLISHED_SEGMENTS])
def publish_segments(raw: dict, marts: dict) -> dict:
    """Atomically replace published.duckdb; an older as_of only records history."""
    gate = GateResult.from_dict(raw).merged(GateResult.from_dict(marts))
    as_of = run_window().as_of
    return glue.publish_outcome(publish_step(glue.task_settings(), run_ids()[2], as_of, gate))


def dbt_build_group() -> DbtTaskGroup:
    """Cosmos WATCHER: one `dbt build` process, every model and test visible in the grid.

    Only the producer takes the warehouse slot. The model and test tasks read its
    progress from XCom: in the one-slot pool they waited for the producer to finish
    and then ran one by one (58 tasks, 89 s measured); outside it they follow the
    build as it goes, each failure on its model's task. They keep the warehouse
    queue: a cleared model task runs `dbt` on its model itself (Cosmos's fallback),
    which needs the worker that holds the file (docs/architecture.md, Airflow).
    """
    project = SETTINGS.dbt_project_dir
    group = DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig(
            dbt_project_path=project,
            manifest_path=DBT_MANIFEST,
            install_dbt_deps=False,
            partial_parse=False,
        ),
        profile_config=ProfileConfig(
            profile_name="segmart",
            target_name="duckdb",
            profiles_yml_filepath=project / "profiles.yml",
        ),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.WATCHER,
            invocation_mode=InvocationMode.DBT_RUNNER,
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=TestBehavior.AFTER_EACH,
        ),
        operator_args={
            "retries": 0,
            "install_deps": False,
            # The dbt build's run_results.json, pushed to XCom for the marts gate.
            "callback": glue.push_run_results,
            # How model/test tasks wait for the producer: SEGMART_DBT_SENSORS (glue).
            **glue.dbt_sensor_args(),
            # Only non-secret settings: the dbt profile reads SEGMART_WAREHOUSE.
            "env": {"SEGMART_WAREHOUSE": str(SETTINGS.warehouse)},
            "vars": {"as_of": AS_OF},
        },
    )
    for operator in group.iter_tasks():
        if QUEUE:
            operator.queue = QUEUE
        if operator.task_id == f"dbt.{PRODUCER}":
            operator.pool = WAREHOUSE_POOL
    return group


@dag(
    dag_id="segmart_pipeline",
    description="API pulls -> raw DuckDB -> dbt marts -> quality gate -> published segments",
    schedule=glue.data_interval_timetable(SCHEDULE.cron),
    start_date=SCHEDULE.start_date,
    catchup=SCHEDULE.catchup,
    # Scheduled runs one at a time: a run's dbt -> gate -> publish must see its own marts.
    max_active_runs=1,
    default_args={"owner": "segmart", "retries": 0},
    # dbt's as_of var for runs with and without a data interval (AS_OF).
    user_defined_macros={"segmart_as_of": glue.as_of_var},
    tags=["segmart"],
    doc_md=__doc__,
)
def segmart_pipeline() -> None:
    loaded = [
        (drop_source if s in DROPPED else extract_source).override(group_id=f"extract_{s}")(s)
        for s in SOURCES
    ]
    gate_raw = raw_gate(loaded, load_collected())
    # The marts lease spans dbt -> marts gate -> publish: one run at a time, across
    # the schedule and every backfill. Setup/teardown: the release runs whatever
    # happens in between, clearing a dbt task claims again, and the release never
    # decides the run's state.
    claim = claim_marts()
    dbt = dbt_build_group()
    marts = marts_gate()
    gate_raw >> claim >> dbt >> marts
    gate_raw >> marts
    published = publish_segments(gate_raw, marts)
    published >> release_marts().as_teardown(setups=claim)


segmart_pipeline()
