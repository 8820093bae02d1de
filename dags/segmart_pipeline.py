"""Airflow DAG `segmart_pipeline`: extract -> load -> raw gate -> dbt -> marts gate -> publish.

Wiring only: every task calls the same library code as `segmart run`. The data
interval sets the extraction window and `as_of` (its end). Pulls run in one pool
per source (`segmart_<source>`, the source's shared rate budget) and touch no
database; every task that writes the working DuckDB file takes the one-slot pool
`segmart_warehouse`. dbt runs through Cosmos from the pre-built manifest
(`dbt_project/target/manifest.json`), so parsing this file never runs dbt.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import (
    Asset,
    CronDataIntervalTimetable,
    TaskGroup,
    dag,
    get_current_context,
    task,
)

import extract
from extract.config import load_source
from segmart.core.settings import Settings, api_key_variable, url_variable
from segmart.pipeline import marts_gate_step, publish_step, raw_gate_step

log = logging.getLogger(__name__)

PROJECT_DIR = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = Path(os.environ.get("SEGMART_DBT_PROJECT_DIR") or PROJECT_DIR / "dbt_project")
DBT_MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
WAREHOUSE_POOL = "segmart_warehouse"
RUN_RESULTS_XCOM = "segmart_run_results"
PUBLISHED_SEGMENTS = Asset("segmart://published/segments")

STREAMS: list[tuple[str, str]] = [tuple(s) for s in extract.list_streams()]  # type: ignore[misc]
SOURCES: list[str] = sorted({source for source, _ in STREAMS})
STREAMS_BY_SOURCE = {source: [x for s, x in STREAMS if s == source] for source in SOURCES}


def _schedule() -> CronDataIntervalTimetable | None:
    # A data-interval timetable: each run covers [previous tick, this tick), which is
    # exactly the extraction window and makes `as_of` the interval end.
    value = os.environ.get("SEGMART_SCHEDULE", "@hourly").strip()
    if value.lower() in ("", "none", "null", "@once", "manual"):
        return None
    return CronDataIntervalTimetable(value, timezone="UTC")


def _start_date() -> datetime:
    return pendulum.parse(os.environ.get("SEGMART_START_DATE") or "2026-01-01", tz="UTC")  # type: ignore[return-value]


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes", "on")


def _base_env() -> dict[str, str]:
    """The environment with warehouse paths anchored to the project, not the worker's cwd."""
    env = dict(os.environ)
    env.setdefault("SEGMART_WAREHOUSE", str(PROJECT_DIR / "warehouse" / "segmart.duckdb"))
    env.setdefault("SEGMART_PUBLISHED", str(PROJECT_DIR / "warehouse" / "published.duckdb"))
    for name in ("SEGMART_WAREHOUSE", "SEGMART_PUBLISHED"):
        path = Path(env[name]).expanduser()
        env[name] = str(path if path.is_absolute() else PROJECT_DIR / path)
    return env


def _settings(sources: list[str] | None = None) -> Settings:
    """Settings from env vars; a missing URL or API key comes from connection `segmart_<source>`.

    Only ever called inside a running task: the API key stays in this process's
    memory and never reaches XCom, the DAG's serialised form or a log line.
    """
    env = _base_env()
    for source in sources if sources is not None else SOURCES:
        if env.get(url_variable(source)) and env.get(api_key_variable(source)):
            continue
        connection = _connection(f"segmart_{source}")
        if connection is None:
            continue
        if not env.get(url_variable(source)) and connection.host:
            env[url_variable(source)] = _connection_url(connection)
        if not env.get(api_key_variable(source)) and connection.password:
            env[api_key_variable(source)] = connection.password
    for source in sources if sources is not None else SOURCES:
        if env.get(api_key_variable(source)):
            _mask(env[api_key_variable(source)])
    return Settings.from_env(env)


def _connection(conn_id: str) -> Any:
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return Connection.get(conn_id)
    except AirflowNotFoundException:
        return None


def _connection_url(connection: Any) -> str:
    # `host` holds the whole base URL (http://host:port/source); a bare host name is
    # completed from the connection's other fields.
    host = connection.host.rstrip("/")
    if "://" in host:
        return host
    scheme = connection.schema if connection.schema in ("http", "https") else "http"
    port = f":{connection.port}" if connection.port else ""
    return f"{scheme}://{host}{port}"


def _mask(secret: str) -> None:
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # pragma: no cover - older task SDKs
        return
    mask_secret(secret)


def _watermarks(settings: Settings) -> dict[tuple[str, str], datetime]:
    from segmart.core import warehouse

    # A writable open like every other warehouse task (this one holds the warehouse pool):
    # DuckDB refuses a read-only open in a process that already has the file open for
    # writing, which is what `airflow dags test` (all tasks in one process) does.
    con = warehouse.connect(settings.warehouse)
    try:
        rows = con.execute("select source, stream, watermark from meta.watermarks").fetchall()
    finally:
        con.close()
    return {(source, stream): mark.replace(tzinfo=UTC) for source, stream, mark in rows}


def _as_of(value: datetime | str) -> datetime:
    """A plain UTC datetime (not pendulum's subclass, which the library code need not know)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(value.timestamp(), tz=UTC)


def _segmart_run_id(airflow_run_id: str) -> str:
    # Airflow run ids carry ':' and '+'; segmart run ids name landing folders.
    return "airflow__" + re.sub(r"[^A-Za-z0-9_.-]+", "_", airflow_run_id)


def _iso(value: datetime) -> str:
    return _as_of(value).strftime("%Y-%m-%dT%H:%M:%SZ")


DEFAULT_ARGS = {
    "owner": "segmart",
    "retries": 0,
}


@dag(
    dag_id="segmart_pipeline",
    description="API pulls -> raw DuckDB -> dbt marts -> quality gate -> published segments",
    schedule=_schedule(),
    start_date=_start_date(),
    catchup=_flag("SEGMART_CATCHUP", False),
    # Scheduled runs one at a time: a run's dbt -> gate -> publish must see its own marts.
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["segmart"],
    doc_md=__doc__,
)
def segmart_pipeline() -> None:
    @task(pool=WAREHOUSE_POOL)
    def plan(source: str, data_interval_start: datetime, data_interval_end: datetime) -> list:
        """One window per stream of `source`: the data interval, reaching back to the
        stream's watermark when earlier intervals were never loaded (first run, catchup off)."""
        start, end = _as_of(data_interval_start), _as_of(data_interval_end)
        watermarks = _watermarks(_settings(sources=[]))
        windows = []
        for stream in STREAMS_BY_SOURCE[source]:
            mark = watermarks.get((source, stream)) or load_source(source).history_start
            window_start = mark if mark < start else start
            windows.append({"stream": stream, "start": _iso(window_start), "end": _iso(end)})
        log.info("extraction windows for %s: %s", source, json.dumps(windows))
        return windows

    @task(
        retries=3,
        retry_delay=timedelta(seconds=10),
        retry_exponential_backoff=True,
        max_retry_delay=timedelta(minutes=5),
        map_index_template="{{ window['stream'] }}",
    )
    def pull(source: str, window: dict) -> dict:
        """HTTP -> landing files only; no database access, so pulls run in parallel."""
        context = get_current_context()
        landed = extract.pull_slice(
            _settings([source]),
            source,
            window["stream"],
            _as_of(window["start"]),
            _as_of(window["end"]),
            _segmart_run_id(context["run_id"]),
        )
        return _plain(landed)

    @task(pool=WAREHOUSE_POOL, map_index_template="{{ landed['stream'] }}")
    def load(landed: dict) -> dict:
        """One transaction: replace the slice in raw, record the run, advance the watermark."""
        result = extract.load_slice(_settings(sources=[]), extract.LandedSlice.from_dict(landed))
        return _plain(result)

    loaded = []
    for source in SOURCES:
        # One group per source: its pulls share the source's pool (its rate budget).
        with TaskGroup(group_id=f"extract_{source}"):
            windows = plan.override(task_id="plan")(source)
            pulled = (
                pull.override(task_id="pull", pool=f"segmart_{source}")
                .partial(source=source)
                .expand(window=windows)
            )
            loaded.append(load.override(task_id="load").expand(landed=pulled))

    @task(pool=WAREHOUSE_POOL, retries=0)
    def raw_gate(loads: list) -> dict:
        """GX suites on the raw slices this run loaded; a critical failure stops the run."""
        context = get_current_context()
        settings, run_id = _settings(sources=[]), _segmart_run_id(context["run_id"])
        slices = [item for group in loads for item in (group or [])]
        result = raw_gate_step(settings, run_id, slices)
        return _gate_outcome("raw gate", settings, result, _as_of(context["data_interval_end"]))

    gate_raw = raw_gate(loaded)

    dbt_group = _dbt_task_group()
    marts = _marts_gate(dbt_group)

    @task(pool=WAREHOUSE_POOL, retries=0, outlets=[PUBLISHED_SEGMENTS])
    def publish_segments(raw: dict, marts: dict, data_interval_end: datetime) -> dict:
        """Atomically replace published.duckdb; an older as_of only records history."""
        from segmart.core.outcomes import GateResult

        context = get_current_context()
        gate = GateResult.from_dict(raw).merged(GateResult.from_dict(marts))
        result = publish_step(
            _settings(sources=[]),
            _segmart_run_id(context["run_id"]),
            _as_of(data_interval_end),
            gate,
        )
        result = _plain(result)
        log.info("publish: %s", json.dumps(result, default=str))
        if result["status"] == "failed":
            raise RuntimeError(f"publish failed, published.duckdb unchanged: {result['reason']}")
        return result

    # The marts lease spans dbt -> marts gate -> publish: one run at a time, across
    # the schedule and every backfill. Setup/teardown: the release runs whatever
    # happens in between, clearing a dbt task claims again, and the release never
    # decides the run's state.
    claim = claim_marts()
    gate_raw >> claim >> dbt_group
    gate_raw >> marts
    published = publish_segments(gate_raw, marts)
    published >> release_marts().as_teardown(setups=claim)


def _marts_lease_holder(context: Any) -> str:
    return f"airflow:{context['dag'].dag_id}:{context['run_id']}"


def _holder_run_is_active(holder: str) -> bool:
    """An Airflow holder is active while its DAG run is queued or running; anything
    else (another tool's run) is assumed active and waited for."""
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    kind, _, rest = holder.partition(":")
    dag_id, _, run_id = rest.partition(":")
    if kind != "airflow" or not run_id:
        return True
    try:
        state = RuntimeTaskInstance.get_dagrun_state(dag_id, run_id)
    except Exception as error:  # a deleted run holds nothing
        log.warning("state of %s unknown (%s): treating it as over", holder, error)
        return False
    return str(state).lower().rsplit(".", 1)[-1] in ("queued", "running")


@task.sensor(
    pool=WAREHOUSE_POOL,
    mode="reschedule",
    poke_interval=10,
    timeout=timedelta(hours=24).total_seconds(),
    retries=0,
)
def claim_marts(data_interval_end: datetime) -> bool:
    """Wait until no other run is between dbt and publish, then hold the marts."""
    from segmart import marts_lease

    context = get_current_context()
    holder = _marts_lease_holder(context)
    other = marts_lease.claim(
        _settings(sources=[]), holder, _as_of(data_interval_end), _holder_run_is_active
    )
    if other is not None:
        log.info("waiting for the marts: held by %s", other.describe())
        return False
    log.info("marts lease taken by %s", holder)
    return True


@task(pool=WAREHOUSE_POOL, retries=2, retry_delay=timedelta(seconds=5))
def release_marts() -> None:
    from segmart import marts_lease

    holder = _marts_lease_holder(get_current_context())
    if not marts_lease.release(_settings(sources=[]), holder):
        log.warning("%s no longer held the marts lease", holder)


def _dbt_task_group() -> Any:
    """Cosmos WATCHER: one `dbt build` process, every model and test visible in the grid."""
    from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
    from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

    env = _base_env()
    return DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig(
            dbt_project_path=DBT_PROJECT_DIR,
            manifest_path=DBT_MANIFEST,
            install_dbt_deps=False,
            partial_parse=False,
        ),
        profile_config=ProfileConfig(
            profile_name="segmart",
            target_name="duckdb",
            profiles_yml_filepath=DBT_PROJECT_DIR / "profiles.yml",
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
            "pool": WAREHOUSE_POOL,
            "retries": 0,
            "install_deps": False,
            # The dbt build's run_results.json, pushed to XCom for the marts gate.
            "callback": _push_run_results,
            # Model/test sensors poke in reschedule mode: between pokes they hold no worker
            # and no pool slot, need no triggerer, and `airflow dags test` (which runs tasks
            # one at a time) gets to the producer instead of blocking on a deferred sensor.
            "deferrable": False,
            "mode": "reschedule",
            "poke_interval": 5,
            # Only non-secret settings: the dbt profile reads SEGMART_WAREHOUSE.
            "env": {"SEGMART_WAREHOUSE": env["SEGMART_WAREHOUSE"]},
            "vars": {"as_of": "{{ data_interval_end.strftime('%Y-%m-%d %H:%M:%S') }}"},
        },
    )


def _push_run_results(project_dir: str, context: Any = None, **_: Any) -> None:
    path = Path(project_dir) / "target" / "run_results.json"
    if context is None or not path.exists():
        return
    packed = base64.b64encode(zlib.compress(path.read_bytes())).decode()
    context["ti"].xcom_push(key=RUN_RESULTS_XCOM, value=packed)


def _marts_gate(dbt_group: Any) -> Any:
    @task(pool=WAREHOUSE_POOL, retries=0, trigger_rule="all_done")
    def marts_gate(data_interval_end: datetime) -> dict:
        """GX suites on the marts plus the dbt test results; blocks publish on a failure."""
        from airflow.sdk.exceptions import AirflowSkipException

        context = get_current_context()
        # all_done lets failed dbt tests reach the gate; a blocked raw gate or a failed
        # load means there is nothing of this run to audit.
        if not context["ti"].xcom_pull(task_ids="raw_gate"):
            raise AirflowSkipException("raw gate did not pass: nothing to audit or publish")
        settings, run_id = _settings(sources=[]), _segmart_run_id(context["run_id"])
        as_of = _as_of(data_interval_end)
        result = marts_gate_step(settings, run_id, as_of, _dbt_result(context))
        return _gate_outcome("marts gate", settings, result, as_of)

    gate = marts_gate()
    dbt_group >> gate
    return gate


def _dbt_result(context: Any) -> dict:
    """The dbt build's run_results (pushed to XCom by the Cosmos producer) as the
    node/test summary that `segmart.transform.dbt_build` returns."""
    from cosmos.constants import PRODUCER_WATCHER_TASK_ID

    raw = context["ti"].xcom_pull(task_ids=f"dbt.{PRODUCER_WATCHER_TASK_ID}", key=RUN_RESULTS_XCOM)
    if not raw:
        return {
            "success": False,
            "nodes": [],
            "failed_tests": [],
            "error": "dbt produced no run results: see the dbt tasks' logs",
        }
    run_results = json.loads(zlib.decompress(base64.b64decode(raw)))
    nodes = []
    failed_tests = []
    for item in run_results.get("results", []):
        unique_id = str(item.get("unique_id") or "")
        node = {
            "unique_id": unique_id,
            "resource_type": unique_id.split(".")[0],
            "status": item.get("status"),
            "failures": item.get("failures"),
            "message": item.get("message"),
        }
        nodes.append(node)
        if node["resource_type"] in ("test", "unit_test") and node["status"] in ("fail", "error"):
            failed_tests.append(node)
    errors = [n for n in nodes if n["status"] in ("error", "fail")]
    return {
        "success": not errors,
        "nodes": nodes,
        "failed_tests": failed_tests,
    }


def _gate_outcome(name: str, settings: Settings, result: Any, as_of: datetime) -> dict:
    """Fail the task, with the reasons in its log, when the gate blocks the run."""
    from airflow.sdk.exceptions import AirflowFailException

    if not result.passed:
        for failure in result.failures:
            log.error("%s: %s", name, failure.describe())
        # Logged like `segmart run` does: meta.publish_log says why nothing was published.
        publish_step(settings, result.run_id, as_of, result)
        # AirflowFailException: a quality block is never retried.
        raise AirflowFailException(f"{name} blocked this run: {result.reason()}")
    log.info("%s passed: %s", name, result.reason())
    return result.to_dict()


def _plain(value: Any) -> Any:
    """A JSON-serialisable copy for XCom (dataclasses and datetimes included)."""
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    return json.loads(json.dumps(value, default=str))


segmart_pipeline()
