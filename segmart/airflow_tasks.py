"""Airflow glue: what the DAG needs beyond wiring, testable without a DagBag.

Settings from Airflow connections, run ids, the schedule settings, the marts
lease's holder, the dbt run results the Cosmos producer hands over in XCom, the
gate's verdict as a task outcome, and JSON-safe XCom values. Nothing here imports
Airflow when the module is imported: what comes from Airflow (a connection, a run's
state, a Variable, the task-failure exception) is fetched by a small function that
imports it when called, and passed in as an argument, so tests give their own.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import os
import re
import zlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import extract
from segmart import marts_lease
from segmart.core.contracts import WAREHOUSE_POOL, DbtBuildResult
from segmart.core.errors import UserError
from segmart.core.outcomes import GateResult
from segmart.core.settings import (
    DEFAULT_PUBLISHED,
    DEFAULT_WAREHOUSE,
    PROJECT_ROOT,
    PUBLISHED_VARIABLE,
    WAREHOUSE_VARIABLE,
    Settings,
    SettingsError,
    api_key_variable,
    connection_id,
    url_variable,
)
from segmart.core.times import TimeFormatError, as_of_text, iso_z, parse_utc, whole_seconds
from segmart.pipeline import CollectedResult, record_block
from segmart.publish import PublishResult
from segmart.transform import parse_run_results

log = logging.getLogger(__name__)

# The pools the setups made (`segmart sources --pools`), recorded where a task can read
# them: Airflow 3 lets neither a DAG file nor a task read the pools themselves.
POOLS_VARIABLE = "segmart_pools"
RUN_RESULTS_XCOM = "segmart_run_results"
LEASE_TOOL = "airflow"

SCHEDULE_VARIABLE = "SEGMART_SCHEDULE"
START_DATE_VARIABLE = "SEGMART_START_DATE"
CATCHUP_VARIABLE = "SEGMART_CATCHUP"
WAREHOUSE_QUEUE_VARIABLE = "SEGMART_WAREHOUSE_QUEUE"
DBT_SENSORS_VARIABLE = "SEGMART_DBT_SENSORS"
DBT_SENSOR_MODES = ("reschedule", "deferrable")
DEFAULT_SCHEDULE = "@hourly"
# DAG segmart_collected: how long a pushed event waits, at most, to reach raw (plus the
# collector's SEGMART_COLLECT_ROTATE_SECONDS before its micro-batch closes).
COLLECTED_SCHEDULE = "*/5 * * * *"
DEFAULT_START_DATE = "2026-01-01"
MANUAL_ONLY = ("", "none", "null", "@once", "manual")
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off", "")


# --- settings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceConnection:
    """The fields of an Airflow connection `segmart_<source>` that settings use."""

    host: str | None
    schema: str | None = None
    port: int | None = None
    password: str | None = field(default=None, repr=False)  # the API key: never printed

    @property
    def url(self) -> str | None:
        """`host` holds the whole base URL (http://host:port/source); a bare host name is
        completed from the connection's other fields."""
        if not self.host:
            return None
        host = self.host.rstrip("/")
        if "://" in host:
            return host
        scheme = self.schema if self.schema in ("http", "https") else "http"
        port = f":{self.port}" if self.port else ""
        return f"{scheme}://{host}{port}"


ConnectionLookup = Callable[[str], SourceConnection | None]


def airflow_connection(conn_id: str) -> SourceConnection | None:
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        connection = Connection.get(conn_id)
    except AirflowNotFoundException:
        return None
    return SourceConnection(
        connection.host, connection.schema, connection.port, connection.password
    )


def mask_secret(secret: str) -> None:
    """Airflow's log masker: the value is replaced by *** in every log line after this."""
    from airflow.sdk.log import mask_secret as airflow_mask

    airflow_mask(secret)


def anchored_env(env: Mapping[str, str], root: Path = PROJECT_ROOT) -> dict[str, str]:
    """The environment with warehouse paths anchored to the project, not the worker's cwd."""
    anchored = dict(env)
    defaults = {
        WAREHOUSE_VARIABLE: root / DEFAULT_WAREHOUSE,
        PUBLISHED_VARIABLE: root / DEFAULT_PUBLISHED,
    }
    for name, default in defaults.items():
        path = Path(anchored.get(name) or default).expanduser()
        anchored[name] = str(path if path.is_absolute() else root / path)
    return anchored


def parse_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Settings for parsing the DAG: paths only, no secrets are looked up."""
    return Settings.from_env(anchored_env(os.environ if env is None else env))


def task_settings(
    sources: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    connection: ConnectionLookup = airflow_connection,
    mask: Callable[[str], None] = mask_secret,
) -> Settings:
    """Settings for a running task: env vars first, then connection `segmart_<source>`
    for a source's missing URL or API key.

    Only ever called inside a running task: an API key stays in this process's
    memory, masked in its logs, and never reaches XCom or the DAG's serialised form.
    """
    values = anchored_env(os.environ if env is None else env)
    for source in sources:
        url_name, key_name = url_variable(source), api_key_variable(source)
        if not (values.get(url_name) and values.get(key_name)):
            found = connection(connection_id(source))
            if found is not None:
                if not values.get(url_name) and found.url:
                    values[url_name] = found.url
                if not values.get(key_name) and found.password:
                    values[key_name] = found.password
        if values.get(key_name):
            mask(values[key_name])
    return Settings.from_env(values)


# --- the schedule ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleSettings:
    """SEGMART_SCHEDULE (a cron expression or preset; None: manual runs only),
    SEGMART_START_DATE and SEGMART_CATCHUP."""

    cron: str | None
    start_date: datetime  # aware UTC
    catchup: bool


def schedule_settings(env: Mapping[str, str] | None = None) -> ScheduleSettings:
    env = os.environ if env is None else env
    cron = (env.get(SCHEDULE_VARIABLE) or DEFAULT_SCHEDULE).strip()
    start = env.get(START_DATE_VARIABLE) or DEFAULT_START_DATE
    try:
        start_date = parse_utc(start)
    except TimeFormatError:
        raise SettingsError(
            f"{START_DATE_VARIABLE}={start!r} is not a date; use e.g. 2026-01-01 "
            "or 2026-01-01T00:00:00Z"
        ) from None
    return ScheduleSettings(
        cron=None if cron.lower() in MANUAL_ONLY else cron,
        start_date=start_date,
        catchup=flag(env, CATCHUP_VARIABLE, default=False),
    )


def warehouse_queue(env: Mapping[str, str] | None = None) -> str | None:
    """SEGMART_WAREHOUSE_QUEUE: the executor queue of every task that writes the working
    DuckDB file. One DuckDB file has one writer process, so with Celery those tasks go
    to a queue that one worker, on the file's host, serves. None: Airflow's default."""
    env = os.environ if env is None else env
    return (env.get(WAREHOUSE_QUEUE_VARIABLE) or "").strip() or None


def warehouse_task_args(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The operator arguments of every task that writes the working DuckDB file: its
    one-slot pool and, with Celery, the queue of the one worker beside the file."""
    queue = warehouse_queue(env)
    return {"pool": WAREHOUSE_POOL, **({"queue": queue} if queue else {})}


def dbt_sensor_args(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """How the Cosmos watcher's model and test tasks wait for the producer's `dbt build`
    (SEGMART_DBT_SENSORS, read when the DAG is parsed).

    `reschedule` (the default) pokes every 5 s, each poke a task process; it holds no
    worker or pool slot between pokes and works under `airflow dags test`, which runs
    tasks one at a time and would wait for ever on a deferred sensor. `deferrable`
    starts each task once, leaves the polling to the triggerer and resumes it at the
    end: far fewer task processes while dbt builds. scripts/airflow.sh and
    docker-compose.yml, which run a triggerer, choose it."""
    env = os.environ if env is None else env
    mode = (env.get(DBT_SENSORS_VARIABLE) or "reschedule").strip().lower()
    if mode not in DBT_SENSOR_MODES:
        raise SettingsError(
            f"{DBT_SENSORS_VARIABLE}={mode!r} is not one of {', '.join(DBT_SENSOR_MODES)}"
        )
    if mode == "deferrable":
        return {"deferrable": True, "poke_interval": 5}
    return {"deferrable": False, "mode": "reschedule", "poke_interval": 5}


def flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = env.get(name)
    if value is None:
        return default
    word = value.strip().lower()
    if word not in TRUE_WORDS + FALSE_WORDS:
        raise SettingsError(f"{name}={value!r}: use true or false")
    return word in TRUE_WORDS


def data_interval_timetable(cron: str | None) -> Any:
    """Each run covers [previous tick, this tick): exactly the extraction window, and
    `as_of` is the interval's end. None: manual runs only."""
    if cron is None:
        return None
    from airflow.sdk import CronDataIntervalTimetable

    try:
        timetable = CronDataIntervalTimetable(cron, timezone="UTC")
        timetable.validate()
        return timetable
    except Exception as error:  # Airflow's message names the expression, not our setting
        raise SettingsError(
            f"{SCHEDULE_VARIABLE}={cron!r} is not a cron expression or preset "
            f"(e.g. @hourly, @daily, '0 */6 * * *'): {error}"
        ) from None


# --- run ids, pools and the dbt manifest -----------------------------------------------------


@dataclass(frozen=True)
class RunWindow:
    """What one DAG run covers: [start, end), and `end` is its as_of.

    `start` None: from each stream's watermark (or its source's history start).
    Both in whole seconds, aware UTC: the form of dbt's `as_of` var and of the
    extraction windows, so the marts' as_of and the one publish checks agree.
    """

    start: datetime | None
    end: datetime

    @property
    def as_of(self) -> datetime:
        return self.end


def run_window(dag_run: Any) -> RunWindow:
    """A scheduled run, a backfill run and a manual run with a logical date cover their
    data interval. Airflow 3 gives a manual or API-triggered run without a logical date
    no data interval: it covers what each stream has not loaded yet, from its watermark
    up to the moment the run was asked for (`run_after`), which becomes its as_of."""
    start = getattr(dag_run, "data_interval_start", None)
    end = getattr(dag_run, "data_interval_end", None)
    if end is None:
        return RunWindow(start=None, end=whole_seconds(dag_run.run_after))
    return RunWindow(start=None if start is None else whole_seconds(start), end=whole_seconds(end))


def as_of_var(dag_run: Any) -> str:
    """dbt's `as_of` var for the run (a DAG macro: templates see `dag_run`, and a run
    without a data interval has no `data_interval_end` to format)."""
    return as_of_text(run_window(dag_run).as_of)


def run_as_of(data_interval_end: datetime | str) -> datetime:
    """An interval end as an as_of: whole seconds, aware UTC."""
    return whole_seconds(data_interval_end)


def segmart_run_id(airflow_run_id: str) -> str:
    # Airflow run ids carry ':' and '+'; segmart run ids name landing folders.
    return "airflow__" + re.sub(r"[^A-Za-z0-9_.-]+", "_", airflow_run_id)


class PoolMissing(UserError):
    """A source's pool was never made: its pulls would wait for ever, unscheduled."""


def registered_pools() -> list[str] | None:
    """The pools the setup recorded in Airflow Variable `segmart_pools`, if any."""
    from airflow.sdk import Variable

    recorded = Variable.get(POOLS_VARIABLE, default=None)
    return None if recorded is None else parse_pools(recorded)


def parse_pools(recorded: str) -> list[str]:
    """The pool names in the setup's `segmart sources --pools` JSON."""
    try:
        pools = json.loads(recorded)
    except ValueError:
        pools = None
    if not isinstance(pools, dict | list):
        raise PoolMissing(
            f"Airflow Variable {POOLS_VARIABLE!r} does not hold the pools JSON the setup "
            "writes: run the setup again (`make airflow` or `docker compose up airflow-init`)"
        )
    return sorted(pools)


def require_pool(pool: str, registered: Collection[str] | None) -> None:
    if registered is not None and pool in registered:
        return
    raise PoolMissing(
        f"Airflow pool {pool!r} was not made by the setup (Variable {POOLS_VARIABLE!r}: "
        f"{sorted(registered) if registered is not None else 'not set'}), so this source's "
        "pulls would never be scheduled. Run the setup again with this source's YAML in "
        "place: `make airflow` or `docker compose up airflow-init` (both make every pool of "
        "`segmart sources --pools`)"
    )


class ManifestMissing(UserError):
    """The DAG renders dbt from the pre-built manifest; without it there is no DAG."""


def require_manifest(settings: Settings) -> Path:
    manifest = settings.dbt_manifest
    if not manifest.is_file():
        raise ManifestMissing(
            f"dbt manifest {manifest} is missing: build it with `segmart manifest` "
            f"(dbt project {settings.dbt_project_dir}, SEGMART_DBT_PROJECT_DIR)"
        )
    return manifest


# --- extraction windows ---------------------------------------------------------------------


def plan_source(
    settings: Settings, source: str, start: datetime | None, end: datetime
) -> list[dict[str, str]]:
    """One window per stream of `source`, by the one planning rule of `segmart run`:
    the run's window, reaching back to a stream's watermark when earlier intervals
    were never loaded (`start` None: from the watermark). JSON-safe for XCom (one
    mapped pull each)."""
    pairs = extract.list_streams(source, settings.sources_dir)
    planned = extract.plan_windows(
        settings,
        pairs,
        start=None if start is None else whole_seconds(start),
        end=run_as_of(end),
        fill_gaps=True,
    )
    windows = [window.to_dict() for window in planned]
    log.info("extraction windows for %s: %s", source, json.dumps(windows))
    return windows


# --- the marts lease ------------------------------------------------------------------------


def lease_holder(dag_id: str, airflow_run_id: str) -> str:
    return marts_lease.holder_name(LEASE_TOOL, dag_id, airflow_run_id)


def airflow_dagrun_state(dag_id: str, airflow_run_id: str) -> str:
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    return str(RuntimeTaskInstance.get_dagrun_state(dag_id, airflow_run_id))


def holder_run_is_active(
    holder: str, dagrun_state: Callable[[str, str], str] = airflow_dagrun_state
) -> bool:
    """An Airflow holder is active while its DAG run is queued or running; a holder of
    another tool, which Airflow cannot ask about, is assumed active and waited for."""
    tool, rest = marts_lease.holder_tool(holder)
    # Airflow run ids may hold ':' but DAG ids never do.
    dag_id, _, run_id = rest.partition(":")
    if tool != LEASE_TOOL or not run_id:
        return True
    try:
        state = dagrun_state(dag_id, run_id)
    except Exception as error:  # a deleted run holds nothing
        log.warning("state of %s unknown (%s): treating it as over", holder, error)
        return False
    return str(state).lower().rsplit(".", 1)[-1] in ("queued", "running")


def claim_marts(
    settings: Settings,
    dag_id: str,
    airflow_run_id: str,
    as_of: datetime,
    is_active: Callable[[str], bool] = holder_run_is_active,
) -> bool:
    """The sensor's poke: True once this run holds the marts lease."""
    holder = lease_holder(dag_id, airflow_run_id)
    other = marts_lease.claim(settings, holder, as_of, is_active)
    if other is not None:
        log.info("waiting for the marts: held by %s", other.describe())
        return False
    log.info("marts lease taken by %s", holder)
    return True


def release_marts(settings: Settings, dag_id: str, airflow_run_id: str) -> None:
    holder = lease_holder(dag_id, airflow_run_id)
    if not marts_lease.release(settings, holder):
        log.warning("%s no longer held the marts lease", holder)


# --- dbt run results ------------------------------------------------------------------------


def pack_run_results(project_dir: Path | str) -> str | None:
    """dbt's target/run_results.json, compressed for XCom (it holds every node)."""
    path = Path(project_dir) / "target" / "run_results.json"
    if not path.is_file():
        return None
    return base64.b64encode(zlib.compress(path.read_bytes())).decode()


def push_run_results(project_dir: str, context: Any = None, **_: Any) -> None:
    """The Cosmos producer's callback: its dbt build's run results, into XCom."""
    packed = pack_run_results(project_dir)
    if context is not None and packed is not None:
        context["ti"].xcom_push(key=RUN_RESULTS_XCOM, value=packed)


def unpack_run_results(packed: str | None, as_of: datetime | None = None) -> DbtBuildResult:
    """What the producer's dbt build did, by the one parser of run_results.json."""
    text = as_of_text(as_of) if as_of is not None else None
    if not packed:
        return DbtBuildResult.could_not_run(
            "dbt produced no run results: see the dbt tasks' logs", text
        )
    run_results = json.loads(zlib.decompress(base64.b64decode(packed)))
    return parse_run_results(run_results, as_of=text)


# --- task outcomes --------------------------------------------------------------------------


def fail_task(message: str) -> NoReturn:
    """AirflowFailException: the task fails without a retry (a quality block is final)."""
    from airflow.sdk.exceptions import AirflowFailException

    raise AirflowFailException(message)


def gate_outcome(
    name: str,
    settings: Settings,
    gate: GateResult,
    as_of: datetime,
    fail: Callable[[str], NoReturn] = fail_task,
) -> dict[str, Any]:
    """The gate's XCom value when it passed; when it blocks, the reasons go to the log,
    `meta.publish_log` records the block (as `segmart run` does) and the task fails."""
    if gate.blocks:
        for failure in gate.failures:
            log.error("%s: %s", name, failure.describe())
        record_block(settings, gate.run_id, as_of, gate)
        fail(f"{name} blocked this run: {gate.reason()}")
    log.info("%s passed: %s", name, gate.reason())
    return gate.to_dict()


def publish_outcome(
    result: PublishResult, fail: Callable[[str], NoReturn] = fail_task
) -> dict[str, Any]:
    """The publish's XCom value; a publish that did not succeed fails the task."""
    value = xcom_safe(result)
    log.info("publish: %s", json.dumps(value))
    if not result.status.succeeded:
        fail(f"publish {result.status}, published.duckdb unchanged: {result.reason}")
    return value


# --- collected (pushed) micro-batches --------------------------------------------------------


def collected_outcome(
    collected: CollectedResult, fail: Callable[[str], NoReturn] = fail_task
) -> dict[str, Any]:
    """The load's XCom value; a micro-batch that cannot be loaded fails the task (in the
    DAG `segmart_collected`): later batches of its stream wait behind it until a person
    moves it aside. The pipeline's own load passes it to the raw gate as a warning."""
    log.info(
        "collected: %s micro-batches, %s loaded, %s duplicates",
        collected.batches,
        collected.loaded,
        collected.duplicates,
    )
    if collected.error is not None:
        fail(collected.error)
    return collected.to_dict()


def xcom_safe(value: Any) -> Any:
    """A JSON-serialisable copy for XCom (`to_dict` objects and datetimes included)."""
    return json.loads(json.dumps(_plain(value), default=_json_default))


def _plain(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_z(value)
    plain = _plain(value)
    return str(value) if plain is value else plain
