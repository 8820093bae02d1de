"""The quality gate: GX suites on raw slices and marts, plus dbt test results.

Every outcome lands in `meta.validation_results`; the decision is read from the
outcomes (`GateResult.blocks` stops a run, `GateResult.passed` lets it publish;
see segmart/core/outcomes.py), never from a GX checkpoint's overall success.
Connections are opened per step and closed before GX runs or dbt starts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from expectations import gx_runner
from expectations.suites import RfmMap, Suite, marts_suites, raw_suites
from segmart.core import warehouse
from segmart.core.contracts import (
    MARTS_SCHEMA,
    PUBLISHED_TABLES,
    DbtBuildResult,
    Severity,
    SliceRef,
    StreamGate,
    raw_table,
)
from segmart.core.outcomes import GateResult, Outcome
from segmart.core.settings import Settings
from segmart.core.times import as_of_text, naive_utc, naive_utc_or_none, now_naive

__all__ = [
    "GateResult",
    "Outcome",
    "PendingSlice",
    "dbt_outcomes",
    "evaluate_suites",
    "load_gate_result",
    "pending_slices",
    "record_outcomes",
    "run_marts_gate",
    "run_raw_gate",
]


@dataclass(frozen=True)
class PendingSlice:
    """A committed slice whose latest load has not passed the raw gate yet."""

    ref: SliceRef
    load_run_id: str  # the run whose load of the slice is in raw now


PENDING_SQL = """
with loads as (
    select source, stream, interval_start, interval_end, run_id,
        row_number() over (
            partition by source, stream, interval_start, interval_end
            order by finished_at desc nulls last, started_at desc nulls last, run_id desc
        ) as newest
    from meta.extract_runs
    where status = 'success'
)
select source, stream, interval_start, interval_end, run_id
from loads
where newest = 1
    and not exists (
        select 1 from meta.raw_gate_log as gated
        where gated.passed
            and gated.source = loads.source
            and gated.stream = loads.stream
            and gated.interval_start = loads.interval_start
            and gated.interval_end = loads.interval_end
            and gated.load_run_id = loads.run_id
    )
order by source, stream, interval_start, interval_end
"""


def pending_slices(con: duckdb.DuckDBPyConnection) -> list[PendingSlice]:
    """Slices committed to raw (latest successful load) that have not passed the raw gate.

    Not just this run's: a run that stopped after committing some streams leaves
    their slices here, and the next gate checks them before anything is published.
    """
    return [
        PendingSlice(SliceRef(source, stream, start, end), load_run_id)
        for source, stream, start, end, load_run_id in con.execute(PENDING_SQL).fetchall()
    ]


def run_raw_gate(
    settings: Settings, run_id: str, gates: Mapping[tuple[str, str], StreamGate]
) -> GateResult:
    """Raw suites on every pending slice (see `pending_slices`), recorded in meta.raw_gate_log.

    Nothing pending is a result with no outcomes: it does not block (`GateResult.blocks`).
    A slice that fails stays pending, so the next gate checks it again.
    """
    con = warehouse.connect(settings.warehouse)
    try:
        pending = pending_slices(con)
        if not pending:
            return GateResult(run_id=run_id)
        by_stream: dict[tuple[str, str], list[tuple[datetime, datetime]]] = {}
        for item in pending:
            key = (item.ref.source, item.ref.stream)
            by_stream.setdefault(key, []).append((item.ref.interval_start, item.ref.interval_end))
        suites: list[Suite] = []
        undeclared: list[Outcome] = []
        for (source, stream), intervals in sorted(by_stream.items()):
            gate = gates.get((source, stream))
            if gate is None:
                undeclared.append(_undeclared_stream(source, stream, len(intervals)))
            else:
                suites += raw_suites(gate, intervals)
        batches = gx_runner.load_batches(con, suites)
    finally:
        con.close()
    as_of = max(item.ref.interval_end for item in pending)
    result = evaluate_suites(settings, run_id, as_of, batches, undeclared)
    record_raw_gate(settings, run_id, pending, result)
    return result


def _undeclared_stream(source: str, stream: str, slices: int) -> Outcome:
    table = raw_table(source, stream)
    return Outcome(
        table,
        "stream_gate_declared",
        Severity.CRITICAL,
        None,
        error=(
            f"{source}.{stream} has {slices} committed slice(s) in {table} waiting for the raw "
            f"gate, but no stream {source}.{stream} is declared in the source YAML files: "
            "declare it (with its `gate:` key) in its source's YAML, or point "
            "SEGMART_SOURCES_DIR at the folder that holds it, then run again"
        ),
    )


def record_raw_gate(
    settings: Settings, run_id: str, pending: Sequence[PendingSlice], result: GateResult
) -> None:
    """One meta.raw_gate_log row per gated slice: passed unless its stream's suites blocked."""
    blocked = {o.suite for o in result.outcomes if o.blocks}
    now = now_naive()
    rows = []
    for item in pending:
        table = item.ref.table
        # A stream's suites are named by its table: `raw.s__x`, `raw.s__x.volume`, ...
        passed = not any(suite == table or suite.startswith(f"{table}.") for suite in blocked)
        rows.append(
            (
                item.ref.source,
                item.ref.stream,
                item.ref.interval_start,
                item.ref.interval_end,
                item.load_run_id,
                run_id,
                passed,
                now,
            )
        )
    con = warehouse.connect(settings.warehouse)
    try:
        con.executemany("insert into meta.raw_gate_log values (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    finally:
        con.close()


def read_rfm_map(settings: Settings, con: duckdb.DuckDBPyConnection) -> RfmMap:
    """The RFM map seed as dbt loaded it into marts; the grid lives there and nowhere else."""
    table = rfm_map_table(con)
    seeds = sorted((settings.dbt_project_dir / "seeds").glob("*rfm*map*.csv"))
    seed = ", ".join(str(p) for p in seeds) or (
        f"a *rfm*map*.csv seed in {settings.dbt_project_dir / 'seeds'}"
    )
    todo = "run `segmart transform` (dbt build loads seeds) or `dbt seed`, then gate again"
    if table is None:
        return RfmMap(
            None,
            missing=(
                f"no RFM map seed table in {MARTS_SCHEMA} (r_score, f_score, segment, loaded "
                f"from {seed}): {todo}"
            ),
        )
    segments = rfm_map_segments(con, table)
    if not segments:
        return RfmMap(
            None, missing=f"the RFM map seed {MARTS_SCHEMA}.{table} has no rows ({seed}): {todo}"
        )
    return RfmMap(table, tuple(segments))


def run_marts_gate(
    settings: Settings,
    run_id: str,
    as_of: datetime | str,
    dbt: DbtBuildResult | None,
    rule_segments: Sequence[str],
    identity_sources: Sequence[str],
) -> GateResult:
    """Marts suites for `as_of` plus the dbt build's test results (none when `dbt` is None).

    `rule_segments` and `identity_sources` are the project's (the dbt manifest, the
    source YAML): the gate keeps no copy of either.
    """
    as_of = naive_utc(as_of)
    published_counts = published_row_counts(settings.published)
    con = warehouse.connect(settings.warehouse)
    try:
        suites = marts_suites(
            as_of,
            rule_segments=rule_segments,
            identity_sources=identity_sources,
            rfm_map=read_rfm_map(settings, con),
            published_counts=published_counts,
        )
        batches = gx_runner.load_batches(con, suites)
    finally:
        con.close()
    extra = dbt_outcomes(dbt) if dbt is not None else []
    return evaluate_suites(settings, run_id, as_of, batches, extra)


def evaluate_suites(
    settings: Settings,
    run_id: str,
    as_of: datetime | None,
    batches: Sequence[tuple[Suite, Any, str | None]],
    extra_outcomes: Sequence[Outcome] = (),
) -> GateResult:
    """GX-validate loaded batches, add other outcomes, record them all, build Data Docs."""
    outcomes, docs_path = gx_runner.validate_batches(batches, run_id, settings.docs_dir)
    result = GateResult(
        run_id=run_id,
        as_of=as_of_text(as_of) if as_of else None,
        outcomes=[*outcomes, *extra_outcomes],
        docs_path=docs_path,
    )
    record_outcomes(settings, result)
    return result


def record_outcomes(settings: Settings, result: GateResult) -> None:
    now = now_naive()
    as_of = naive_utc_or_none(result.as_of)
    rows = [
        (
            result.run_id,
            as_of,
            o.suite,
            o.expectation,
            str(o.severity),
            o.success,
            o.observed_value,
            o.unexpected_count,
            o.examples,
            o.error,
            now,
        )
        for o in result.outcomes
    ]
    if not rows:
        return
    con = warehouse.connect(settings.warehouse)
    try:
        con.executemany(
            "insert into meta.validation_results values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
        )
    finally:
        con.close()


def load_gate_result(settings: Settings, run_id: str | None = None) -> GateResult | None:
    """Rebuild a run's gate decision from `meta.validation_results` (latest run by default)."""
    con = warehouse.connect(settings.warehouse)
    try:
        if run_id is None:
            row = con.execute(
                "select run_id from meta.validation_results order by evaluated_at desc limit 1"
            ).fetchone()
            if row is None:
                return None
            run_id = row[0]
        rows = con.execute(
            """
            select suite, expectation, severity, success, observed_value, unexpected_count,
                   examples, error, as_of
            from meta.validation_results where run_id = ? order by evaluated_at, suite
            """,
            [run_id],
        ).fetchall()
    finally:
        con.close()
    if not rows:
        return None
    as_of = max((r[8] for r in rows if r[8] is not None), default=None)
    return GateResult(
        run_id=run_id,
        as_of=as_of_text(as_of) if as_of else None,
        outcomes=[Outcome(*r[:8]) for r in rows],
    )


def published_row_counts(published: Path) -> dict[str, int]:
    if not published.exists():
        return {}
    counts: dict[str, int] = {}
    con = duckdb.connect(str(published), read_only=True)
    try:
        present = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
        for table in PUBLISHED_TABLES:
            if table in present:
                row = con.execute(f'select count(*) from "{table}"').fetchone()
                counts[table] = int(row[0]) if row else 0
    finally:
        con.close()
    return counts


def rfm_map_table(con: duckdb.DuckDBPyConnection) -> str | None:
    """The RFM map seed in marts (r_score, f_score, segment), if dbt has loaded it."""
    row = con.execute(
        """
        select table_name from information_schema.columns
        where table_schema = ? and table_name like '%rfm%map%'
        group by table_name
        having count(*) filter (where column_name in ('r_score', 'f_score', 'segment')) = 3
        order by table_name limit 1
        """,
        [MARTS_SCHEMA],
    ).fetchone()
    return row[0] if row else None


def rfm_map_segments(con: duckdb.DuckDBPyConnection, table: str) -> list[str] | None:
    names = con.execute(
        f'select distinct segment from {MARTS_SCHEMA}."{table}" where segment is not null'
    ).fetchall()
    return [n[0] for n in names] or None


# --- dbt ------------------------------------------------------------------------------------

_DBT_OK = {"success", "pass", "no-op"}


def dbt_outcomes(dbt: DbtBuildResult) -> list[Outcome]:
    """dbt tests are gate expectations: `fail`/`error` block, `warn` is a warning.

    A model that errored or was skipped means the marts are not what this run
    built, so it blocks as "could not evaluate"; so does a dbt that could not run.
    """
    outcomes: list[Outcome] = []
    for node in dbt.nodes:
        name = node.unique_id
        status = node.status.lower()
        if node.is_test:
            if status == "warn":
                outcomes.append(
                    Outcome("dbt", name, Severity.WARNING, False, unexpected_count=node.failures)
                )
            elif status in _DBT_OK:
                outcomes.append(
                    Outcome("dbt", name, Severity.CRITICAL, True, unexpected_count=node.failures)
                )
            elif status == "fail":
                outcomes.append(
                    Outcome(
                        "dbt",
                        name,
                        Severity.CRITICAL,
                        False,
                        unexpected_count=node.failures,
                        examples=node.message or None,
                    )
                )
            else:
                outcomes.append(
                    Outcome(
                        "dbt",
                        name,
                        Severity.CRITICAL,
                        None,
                        error=f"dbt test {status}: {node.message}",
                    )
                )
        elif status and status not in _DBT_OK:
            outcomes.append(
                Outcome(
                    "dbt",
                    name,
                    Severity.CRITICAL,
                    None,
                    error=f"dbt {node.resource_type} {status}: {node.message}",
                )
            )
    if not dbt.success and not any(o.blocks for o in outcomes):
        error = dbt.error or "dbt build did not succeed"
        outcomes.append(Outcome("dbt", "dbt_build", Severity.CRITICAL, None, error=error))
    return outcomes
