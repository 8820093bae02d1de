"""Write-audit-publish: copy audited marts into a new file and rename it over the old one.

The new database is built next to the target (same directory, so the rename
stays on one file system), its row counts are checked against the marts, it is
closed, fsynced, renamed with `os.replace`, and the directory is fsynced. A
reader with the old file open keeps its version; a crash at any point leaves the
old file or the new one, never a mix. Every decision is logged in
`meta.publish_log` (and in `publish_info` for a published version).
"""

from __future__ import annotations

import json
import os
import signal
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from segmart.core import warehouse
from segmart.core.contracts import MARTS_SCHEMA, PUBLISHED_TABLES, PublishStatus
from segmart.core.durable import fsync_path
from segmart.core.outcomes import GateResult
from segmart.core.settings import Settings
from segmart.core.times import naive_utc, now_naive

# Test hook: a child publish SIGKILLs itself at this named point (tests/gate/).
KILL_AT_VARIABLE = "SEGMART_PUBLISH_KILL_AT"
KILL_POINTS = (
    "start",
    "new_file_created",
    "tables_copied",
    "counts_checked",
    "new_file_closed",
    "new_file_synced",
    "replaced",
    "directory_synced",
)


class PublishError(RuntimeError):
    """The new published file failed its checks; the old one is untouched."""


@dataclass(frozen=True)
class Decision:
    status: PublishStatus
    reason: str


@dataclass(frozen=True)
class PublishResult:
    """What a publish decided and, when it published, the rows of each table."""

    run_id: str
    as_of: datetime
    status: PublishStatus
    reason: str
    published: Path
    tables: dict[str, int] = field(default_factory=dict)
    docs_path: str | None = None


def _kill_point(name: str) -> None:
    if os.environ.get(KILL_AT_VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def published_as_of(path: Path) -> datetime | None:
    """The `as_of` of the current published version, or None when nothing is published."""
    if not path.exists():
        return None
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as error:
        raise PublishError(
            f"{path} exists but does not open as a DuckDB database ({error}); "
            "move it aside and publish again"
        ) from error
    try:
        row = con.execute("select max(as_of) from publish_info").fetchone()
    except duckdb.Error:
        return None
    finally:
        con.close()
    return row[0] if row else None


def publish(
    settings: Settings, run_id: str, as_of: datetime | str, gate_result: GateResult | None
) -> PublishResult:
    """Publish the audited marts for `as_of` if the gate passed; log the decision either way."""
    as_of = naive_utc(as_of)
    target = settings.published
    tables: dict[str, int] = {}
    decision = _decide(target, as_of, gate_result)
    if decision.status is PublishStatus.PUBLISHED:
        try:
            tables = publish_atomically(settings, run_id, as_of, gate_result)  # type: ignore[arg-type]
        except (PublishError, duckdb.Error, OSError) as error:
            decision = Decision(PublishStatus.FAILED, f"{type(error).__name__}: {error}")
    log_decision(settings, run_id, as_of, decision)
    return PublishResult(
        run_id=run_id,
        as_of=as_of,
        status=decision.status,
        reason=decision.reason,
        published=target,
        tables=tables,
        docs_path=gate_result.docs_path if gate_result else None,
    )


def _decide(target: Path, as_of: datetime, gate_result: GateResult | None) -> Decision:
    """What to do before touching any file: block, history only, or publish."""
    if gate_result is None or not gate_result.passed:
        reason = gate_result.reason() if gate_result else "no gate result for this run"
        return Decision(PublishStatus.BLOCKED, reason)
    try:
        current = published_as_of(target)
    except PublishError as error:
        return Decision(PublishStatus.FAILED, str(error))
    if current is not None and as_of < current:
        return Decision(
            PublishStatus.HISTORY_ONLY,
            f"as_of {as_of} is older than the published as_of {current}: "
            "recorded as history, current tables left on the newer version",
        )
    return Decision(PublishStatus.PUBLISHED, gate_result.reason())


def log_decision(settings: Settings, run_id: str, as_of: datetime, decision: Decision) -> None:
    con = warehouse.connect(settings.warehouse)
    try:
        con.execute(
            "insert into meta.publish_log values (?, ?, ?, ?, ?)",
            [run_id, as_of, str(decision.status), decision.reason, now_naive()],
        )
    finally:
        con.close()


def publish_atomically(
    settings: Settings, run_id: str, as_of: datetime, gate_result: GateResult
) -> dict[str, int]:
    """Build the new file beside the target, verify, fsync, rename; returns rows per table."""
    target = settings.published
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_builds(target)
    _kill_point("start")
    building = target.with_name(f".{target.name}.{uuid.uuid4().hex}.building")
    try:
        counts = _build(settings.warehouse, building, run_id, as_of, gate_result)
        _kill_point("new_file_closed")
        fsync_path(building)
        _kill_point("new_file_synced")
        os.replace(building, target)
        _kill_point("replaced")
        fsync_path(target.parent, directory=True)  # the rename is durable only then
        _kill_point("directory_synced")
    finally:
        for leftover in (building, Path(f"{building}.wal")):
            leftover.unlink(missing_ok=True)
    return counts


def remove_stale_builds(target: Path) -> None:
    """Files of publishes that died before their rename are never read; drop them."""
    for stale in target.parent.glob(f".{target.name}.*.building*"):
        stale.unlink(missing_ok=True)


def _build(
    working: Path, building: Path, run_id: str, as_of: datetime, gate_result: GateResult
) -> dict[str, int]:
    # The new file is attached to the working database's connection, not the other way
    # round: in-process dbt-duckdb keeps the working file open, and DuckDB admits one
    # handle per file per process.
    con = warehouse.connect(working)
    try:
        quoted = str(building).replace("'", "''")
        con.execute(f"attach '{quoted}' as building")
        _kill_point("new_file_created")
        con.execute("begin")
        _check_marts_as_of(con, as_of)
        for table in PUBLISHED_TABLES:
            con.execute(
                f"create table building.main.{table} as select * from {MARTS_SCHEMA}.{table}"
            )
        con.execute(
            """
            create table building.main.publish_info (
                run_id varchar, as_of timestamp, published_at timestamp,
                gate_passed boolean, expectations integer, warnings integer,
                gate_summary varchar, docs_path varchar
            )
            """
        )
        summary = gate_result.summary()
        con.execute(
            "insert into building.main.publish_info values (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                as_of,
                now_naive(),
                gate_result.passed,
                summary["expectations"],
                summary["warnings"],
                json.dumps(
                    {**summary, "warning_list": [o.describe() for o in gate_result.warnings]}
                ),
                gate_result.docs_path,
            ],
        )
        con.execute("commit")
        _kill_point("tables_copied")
        counts = _check_counts(con)
        _kill_point("counts_checked")
        con.execute("checkpoint building")
        con.execute("detach building")
    finally:
        con.close()
    return counts


def _check_marts_as_of(con: duckdb.DuckDBPyConnection, as_of: datetime) -> None:
    # Airflow serialises warehouse tasks, not whole runs: a concurrent run (a backfill
    # beside the schedule) may rebuild the marts between this run's gate and its publish.
    # Publishing them under this run's as_of would publish data no gate passed.
    built = [
        row[0]
        for row in con.execute(
            f"select distinct as_of from {MARTS_SCHEMA}.customer_rfm order by 1"
        ).fetchall()
    ]
    if built and built != [as_of]:
        raise PublishError(
            f"the marts hold as_of {', '.join(str(b) for b in built)}, not this run's "
            f"as_of {as_of}: another run rebuilt them after this run's gate; nothing was "
            "replaced. Rerun this interval (segmart run --end, or clear the Airflow run)."
        )


def _check_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in PUBLISHED_TABLES:
        row = con.execute(
            f"select (select count(*) from building.main.{table}), "
            f"(select count(*) from {MARTS_SCHEMA}.{table})"
        ).fetchone()
        published_rows, marts_rows = row if row else (None, None)
        if published_rows != marts_rows:
            raise PublishError(
                f"published table {table} has {published_rows} rows but "
                f"{MARTS_SCHEMA}.{table} has {marts_rows}; nothing was replaced"
            )
        counts[table] = int(published_rows)
    return counts
