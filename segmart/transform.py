"""`segmart transform`: dbt build of staging, intermediate and marts, in-process.

dbt runs through `dbtRunner` with absolute project/profiles paths and
SEGMART_WAREHOUSE set to the absolute warehouse path, so the working directory
never matters. Test failures are reported, not raised: the gate decides.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from segmart.core.settings import Settings, SettingsError

PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
MANIFEST = PROJECT_DIR / "target" / "manifest.json"

# dbt's in-process runner keeps global state; one invocation at a time.
_DBT_LOCK = threading.Lock()


class TransformError(RuntimeError):
    """dbt could not run at all (bad project, missing warehouse), as opposed to failed tests."""


def format_as_of(as_of: datetime | str) -> str:
    """UTC 'YYYY-MM-DD HH:MM:SS', the form dbt's var('as_of') expects."""
    if isinstance(as_of, str):
        as_of = parse_as_of(as_of)
    if as_of.tzinfo is not None:
        as_of = as_of.astimezone(UTC).replace(tzinfo=None)
    return as_of.strftime("%Y-%m-%d %H:%M:%S")


def parse_as_of(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as error:
        raise SettingsError(
            f"as_of {text!r} is not an ISO 8601 timestamp; use e.g. 2026-06-01T00:00:00Z"
        ) from error
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


@contextmanager
def _dbt_environment(settings: Settings) -> Iterator[None]:
    overrides = {
        "SEGMART_WAREHOUSE": str(settings.warehouse),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }
    saved = {name: os.environ.get(name) for name in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def dbt_work_dir(settings: Settings) -> Path:
    """dbt's target/ and logs/ for runs against this warehouse: concurrent runs
    against different warehouses (tests, backfills) never share artefacts."""
    return settings.warehouse_dir / "dbt"


def _invoke(settings: Settings, args: list[str], isolated: bool = True) -> Any:
    from dbt.cli.main import dbtRunner

    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    common = ["--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)]
    if isolated:
        work = dbt_work_dir(settings)
        common += ["--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    with _DBT_LOCK, _dbt_environment(settings):
        try:
            return dbtRunner().invoke([*args, *common, "--no-use-colors", "--quiet"])
        finally:
            _release_duckdb()


def _release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in-process after a run.

    Otherwise this process would hold the warehouse's write lock across steps
    and no other connection (the gate, publish, an Airflow task) could open it.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:
        return
    with DuckDBConnectionManager._LOCK:
        environment = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
    if environment is not None:
        environment.close()


def _node_results(result: Any) -> list[dict[str, Any]]:
    nodes = []
    for node_result in result.result or []:
        node = node_result.node
        status = str(getattr(node_result.status, "value", node_result.status))
        nodes.append(
            {
                "unique_id": node.unique_id,
                "name": node.name,
                "resource_type": str(getattr(node.resource_type, "value", node.resource_type)),
                "status": status,
                "failures": node_result.failures,
                "message": node_result.message,
                "seconds": round(float(node_result.execution_time or 0.0), 3),
            }
        )
    return nodes


def dbt_build(
    settings: Settings,
    as_of: datetime | str,
    select: Sequence[str] | str | None = None,
    full_refresh: bool = False,
) -> dict[str, Any]:
    """`dbt build` at `as_of`; returns per-node status and the failed tests with counts.

    Raises TransformError only when dbt could not run (no result at all).
    """
    as_of_text = format_as_of(as_of)
    args = ["build", "--vars", json.dumps({"as_of": as_of_text})]
    if select:
        args += ["--select", *([select] if isinstance(select, str) else list(select))]
    if full_refresh:
        args.append("--full-refresh")
    result = _invoke(settings, args)
    if result.result is None:
        raise TransformError(
            f"dbt build could not run for {settings.warehouse}: {result.exception}. "
            f"Check the dbt project in {PROJECT_DIR} and that the warehouse exists."
        )
    nodes = _node_results(result)
    failed_tests = [
        {
            "unique_id": n["unique_id"],
            "name": n["name"],
            "status": n["status"],
            "failures": n["failures"],
        }
        for n in nodes
        if n["resource_type"] in ("test", "unit_test") and n["status"] in ("fail", "error", "warn")
    ]
    errors = [
        n for n in nodes if n["status"] in ("error", "skipped") and n["resource_type"] != "test"
    ]
    return {
        "as_of": as_of_text,
        "success": bool(result.success),
        "nodes": nodes,
        "failed_tests": failed_tests,
        "errored_nodes": [n["unique_id"] for n in errors],
        "models_built": sum(
            1 for n in nodes if n["resource_type"] == "model" and n["status"] == "success"
        ),
        "tests_run": sum(1 for n in nodes if n["resource_type"] in ("test", "unit_test")),
    }


def build_manifest(settings: Settings) -> Path:
    """`dbt parse` and return target/manifest.json (Cosmos LoadMode.DBT_MANIFEST).

    Parsed into a folder of its own, then moved into place in one rename: a running
    Airflow parses the DAG (and so reads this file) at any moment, and a half-written
    manifest fails every task that starts meanwhile.
    """
    MANIFEST.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".parse-", dir=MANIFEST.parent))
    try:
        paths = ["--target-path", str(scratch), "--log-path", str(scratch / "logs")]
        result = _invoke(settings, ["parse", *paths], isolated=False)
        parsed = scratch / MANIFEST.name
        if not result.success or not parsed.exists():
            raise TransformError(f"dbt parse failed for {PROJECT_DIR}: {result.exception}")
        os.replace(parsed, MANIFEST)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return MANIFEST


def latest_interval_end(settings: Settings) -> datetime:
    """The default as_of: the latest extracted interval end in raw."""
    from segmart.core.warehouse import connect

    if not settings.warehouse.exists():
        raise SettingsError(
            f"warehouse {settings.warehouse} does not exist: run `segmart extract` first "
            "(or set SEGMART_WAREHOUSE to the right file)"
        )
    con = connect(settings.warehouse, read_only=True)
    try:
        tables = [
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables where table_schema = 'raw'"
            ).fetchall()
        ]
        ends = [
            row[0]
            for table in tables
            for row in con.execute(f'select max(_interval_end) from raw."{table}"').fetchall()
            if row[0] is not None
        ]
    finally:
        con.close()
    if not ends:
        raise SettingsError(
            f"no extracted data in {settings.warehouse}: "
            "run `segmart extract` first or pass --as-of"
        )
    return max(ends).replace(tzinfo=UTC)
