"""`segmart transform`: dbt build of staging, intermediate and marts, in-process.

dbt runs through `dbtRunner` on `settings.dbt_project_dir` (SEGMART_DBT_PROJECT_DIR)
with absolute paths and SEGMART_WAREHOUSE set to the absolute warehouse path, so
the working directory never matters. Test failures are reported, not raised: the
gate decides. A build's outcome is read from dbt's run_results.json by
`parse_run_results`, the one reader of that file (the DAG's Cosmos build reaches
the gate through it too).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from segmart.core.contracts import DbtBuildResult, DbtNode
from segmart.core.errors import UserError
from segmart.core.settings import (
    DBT_PROJECT_DIR_VARIABLE,
    DEFAULT_DBT_PROJECT_DIR,
    Settings,
    SettingsError,
)
from segmart.core.times import as_of_text, parse_utc

# dbt_project.yml gives every model in models/segments/ this tag.
RULE_SEGMENT_TAG = "rule_segment"
RUN_RESULTS = "run_results.json"
MANIFEST = "manifest.json"

# dbt's own rule for an invocation that did not succeed (RunnableTask.interpret_results):
# any node that errored, failed or was skipped. The in-process build and the DAG's
# (Cosmos) build both take `success` from this rule over run_results.json, so they
# agree with each other and with dbt's `result.success`. The DAG once counted only
# error/fail; a skipped node blocks the gate on its own either way, so no gate
# outcome changes.
_UNSUCCESSFUL = frozenset({"error", "fail", "runtime error", "skipped", "partial success"})

# dbt's in-process runner keeps global state; one invocation at a time.
_DBT_LOCK = threading.Lock()


class TransformError(UserError, RuntimeError):
    """The dbt project could not be parsed or read; the message names the project and file."""


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


def _work_target(settings: Settings) -> Path:
    return dbt_work_dir(settings) / "target"


def _profiles_dir(settings: Settings) -> Path:
    # profiles.yml only points dbt at SEGMART_WAREHOUSE: a project of one's own may
    # leave it out and use the packaged one.
    project = settings.dbt_project_dir
    return project if (project / "profiles.yml").exists() else DEFAULT_DBT_PROJECT_DIR


def _invoke(settings: Settings, args: Sequence[str], target_dir: Path | None = None) -> Any:
    """One dbt command in-process; artefacts in `target_dir` (default: the work dir's)."""
    from dbt.cli.main import dbtRunner

    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    target = target_dir or _work_target(settings)
    logs = target / "logs" if target_dir else dbt_work_dir(settings) / "logs"
    paths = ["--project-dir", str(settings.dbt_project_dir)]
    paths += ["--profiles-dir", str(_profiles_dir(settings))]
    paths += ["--target-path", str(target), "--log-path", str(logs)]
    with _DBT_LOCK, _dbt_environment(settings):
        try:
            return dbtRunner().invoke([*args, *paths, "--no-use-colors", "--quiet"])
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


def parse_run_results(run_results: Mapping[str, Any], as_of: str | None = None) -> DbtBuildResult:
    """dbt's run_results.json (a build, run or test) as a `DbtBuildResult`.

    `as_of` defaults to the `as_of` var the invocation was given, if any.
    """
    nodes = tuple(
        DbtNode(
            unique_id=str(item.get("unique_id") or ""),
            status=str(item.get("status") or "").lower(),
            failures=item.get("failures"),
            message=item.get("message"),
            seconds=round(float(item.get("execution_time") or 0.0), 3),
        )
        for item in run_results.get("results") or []
    )
    given = (run_results.get("args") or {}).get("vars")
    if as_of is None and isinstance(given, Mapping) and given.get("as_of"):
        as_of = as_of_text(given["as_of"])
    success = not any(n.status in _UNSUCCESSFUL for n in nodes if n.resource_type != "exposure")
    return DbtBuildResult(success=success, nodes=nodes, as_of=as_of)


def run_dbt(
    settings: Settings, args: Sequence[str], as_of: datetime | str | None = None
) -> DbtBuildResult:
    """A dbt command that runs nodes (build, run, test), at `as_of` when given.

    Returns `DbtBuildResult.could_not_run` when dbt could not run at all (a project
    that does not parse, a warehouse it cannot open).
    """
    as_of_value = as_of_text(as_of) if as_of is not None else None
    command = list(args)
    if as_of_value is not None:
        command += ["--vars", json.dumps({"as_of": as_of_value})]
    run_results = _work_target(settings) / RUN_RESULTS
    # A file left by an earlier run must never pass for this one's.
    run_results.unlink(missing_ok=True)
    result = _invoke(settings, command)
    if result.result is None or not run_results.exists():
        return DbtBuildResult.could_not_run(
            f"dbt could not run against {settings.warehouse}: {result.exception}. Check the dbt "
            f"project in {settings.dbt_project_dir} ({DBT_PROJECT_DIR_VARIABLE}) and that the "
            "warehouse exists.",
            as_of=as_of_value,
        )
    return parse_run_results(json.loads(run_results.read_text()), as_of=as_of_value)


def dbt_build(
    settings: Settings,
    as_of: datetime | str,
    select: Sequence[str] | str | None = None,
    full_refresh: bool = False,
) -> DbtBuildResult:
    """`dbt build` at `as_of`: every node's status, failed tests with their counts."""
    args = ["build"]
    if select:
        args += ["--select", *([select] if isinstance(select, str) else list(select))]
    if full_refresh:
        args.append("--full-refresh")
    return run_dbt(settings, args, as_of)


def parse_project(settings: Settings, target_dir: Path | None = None) -> Path:
    """`dbt parse` into `target_dir` (default: this warehouse's work dir); returns the
    manifest it wrote."""
    result = _invoke(settings, ["parse"], target_dir=target_dir)
    manifest = (target_dir or _work_target(settings)) / MANIFEST
    if not result.success or not manifest.exists():
        raise TransformError(
            f"dbt could not parse the project in {settings.dbt_project_dir}: {result.exception}"
        )
    return manifest


def build_manifest(settings: Settings) -> Path:
    """`dbt parse` into `settings.dbt_manifest` (Cosmos LoadMode.DBT_MANIFEST).

    Parsed into a folder of its own, then moved into place in one rename: a running
    Airflow parses the DAG (and so reads this file) at any moment, and a half-written
    manifest fails every task that starts meanwhile.
    """
    manifest = settings.dbt_manifest
    manifest.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".parse-", dir=manifest.parent))
    try:
        os.replace(parse_project(settings, target_dir=scratch), manifest)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return manifest


def rule_segments_in(manifest: Mapping[str, Any]) -> tuple[str, ...]:
    """The rule segments a parsed manifest declares: its models tagged `rule_segment`."""
    project = (manifest.get("metadata") or {}).get("project_name")
    return tuple(
        sorted(
            str(node["name"])
            for node in (manifest.get("nodes") or {}).values()
            if node.get("resource_type") == "model"
            and RULE_SEGMENT_TAG in (node.get("tags") or ())
            and (project is None or node.get("package_name") == project)
        )
    )


def rule_segments(settings: Settings) -> tuple[str, ...]:
    """The rule segments of the dbt project (every model in models/segments/), by name.

    Read from the newer of the manifest the last dbt call against this warehouse wrote
    and `settings.dbt_manifest` (the DAG's; an older work-dir manifest may predate the
    project the DAG builds); the project is parsed when there is neither.
    """
    candidates = [_work_target(settings) / MANIFEST, settings.dbt_manifest]
    present = [path for path in candidates if path.exists()]
    manifest = (
        max(present, key=lambda path: path.stat().st_mtime) if present else parse_project(settings)
    )
    try:
        return rule_segments_in(json.loads(manifest.read_text()))
    except (OSError, ValueError) as error:
        raise TransformError(
            f"dbt manifest {manifest} could not be read ({error}): run `segmart transform` "
            "to rebuild it"
        ) from error


def latest_interval_end(settings: Settings) -> datetime:
    """The default as_of: the latest extracted interval end in raw (aware UTC)."""
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
    return parse_utc(max(ends))
