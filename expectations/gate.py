"""The quality gate: GX suites on raw slices and marts, plus dbt test results.

Every outcome lands in `meta.validation_results`; the decision (`GateResult.passed`)
is made from the outcomes here, never from a GX checkpoint's overall success.
Connections are opened per step and closed before GX runs or dbt starts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from expectations import gx_runner
from expectations.suites import MARTS_SCHEMA, PUBLISHED_TABLES, Suite, marts_suites, raw_suites
from segmart.core import warehouse
from segmart.core.outcomes import GateResult, Outcome
from segmart.core.settings import Settings

__all__ = [
    "GateResult",
    "Outcome",
    "SliceRef",
    "dbt_outcomes",
    "evaluate_suites",
    "load_gate_result",
    "record_outcomes",
    "run_marts_gate",
    "run_raw_gate",
]


@dataclass(frozen=True)
class SliceRef:
    source: str
    stream: str
    interval_start: datetime
    interval_end: datetime


def to_naive_utc(value: datetime | str) -> datetime:
    """Warehouse timestamps are naive UTC; accept ISO text (with Z) or aware datetimes."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def _slice_ref(item: Any) -> SliceRef:
    data = item if isinstance(item, Mapping) else getattr(item, "__dict__", {})
    if not data and hasattr(item, "to_dict"):
        data = item.to_dict()
    return SliceRef(
        source=str(data["source"]),
        stream=str(data["stream"]),
        interval_start=to_naive_utc(data["interval_start"]),
        interval_end=to_naive_utc(data["interval_end"]),
    )


def run_raw_gate(
    settings: Settings, run_id: str, slices: Iterable[Any] | None = None
) -> GateResult:
    """Raw suites on each slice just loaded (from `slices`, else this run's extract_runs)."""
    con = warehouse.connect(settings.warehouse)
    try:
        refs = [_slice_ref(s) for s in slices or []]
        if not refs:
            rows = con.execute(
                """
                select distinct source, stream, interval_start, interval_end
                from meta.extract_runs where run_id = ? and status = 'success'
                """,
                [run_id],
            ).fetchall()
            refs = [SliceRef(*row) for row in rows]
        by_stream: dict[tuple[str, str], list[tuple[datetime, datetime]]] = {}
        for ref in refs:
            by_stream.setdefault((ref.source, ref.stream), []).append(
                (ref.interval_start, ref.interval_end)
            )
        suites: list[Suite] = []
        for (source, stream), intervals in sorted(by_stream.items()):
            suites += raw_suites(source, stream, intervals)
        batches = gx_runner.load_batches(con, suites)
    finally:
        con.close()
    as_of = max((r.interval_end for r in refs), default=None)
    return evaluate_suites(settings, run_id, as_of, batches)


def run_marts_gate(
    settings: Settings,
    run_id: str,
    as_of: datetime | str,
    dbt_result: Mapping[str, Any] | None = None,
) -> GateResult:
    """Marts suites for `as_of` plus the dbt build's test results."""
    as_of = to_naive_utc(as_of)
    published_counts = published_row_counts(settings.published)
    con = warehouse.connect(settings.warehouse)
    try:
        map_table = rfm_map_table(con)
        segments = rfm_map_segments(con, map_table) if map_table else None
        suites = marts_suites(as_of, published_counts, segments, map_table, rule_segments())
        batches = gx_runner.load_batches(con, suites)
    finally:
        con.close()
    extra = dbt_outcomes(dbt_result) if dbt_result is not None else []
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
        as_of=as_of.isoformat(sep=" ") if as_of else None,
        outcomes=[*outcomes, *extra_outcomes],
        docs_path=docs_path,
    )
    record_outcomes(settings, result)
    return result


def record_outcomes(settings: Settings, result: GateResult) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    as_of = to_naive_utc(result.as_of) if result.as_of else None
    rows = [
        (
            result.run_id,
            as_of,
            o.suite,
            o.expectation,
            o.severity,
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
        as_of=as_of.isoformat(sep=" ") if as_of else None,
        outcomes=[Outcome(*r[:8]) for r in rows],
    )


DBT_PROJECT_FILE = Path(__file__).resolve().parent.parent / "dbt_project" / "dbt_project.yml"


def rule_segments() -> list[str] | None:
    """The rule segments the dbt project unions (its `rule_segments` var), if readable."""
    import yaml

    try:
        project = yaml.safe_load(DBT_PROJECT_FILE.read_text())
    except (OSError, yaml.YAMLError):
        return None
    names = ((project or {}).get("vars") or {}).get("rule_segments")
    return [str(n) for n in names] if isinstance(names, list) and names else None


def published_row_counts(published: Path) -> dict[str, int]:
    if not published.exists():
        return {}
    import duckdb

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


def rfm_map_table(con: Any) -> str | None:
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


def rfm_map_segments(con: Any, table: str) -> list[str] | None:
    names = con.execute(
        f'select distinct segment from {MARTS_SCHEMA}."{table}" where segment is not null'
    ).fetchall()
    return [n[0] for n in names] or None


# --- dbt ------------------------------------------------------------------------------------

_DBT_OK = {"success", "pass", "no-op"}


def dbt_outcomes(dbt_result: Mapping[str, Any]) -> list[Outcome]:
    """dbt tests are gate expectations: `fail`/`error` block, `warn` is a warning.

    A model that errored or was skipped means the marts are not what this run
    built, so it blocks as "could not evaluate".
    """
    outcomes: list[Outcome] = []
    nodes = dbt_result.get("nodes") or dbt_result.get("results") or []
    for node in nodes:
        name = str(node.get("unique_id") or node.get("name") or "?")
        status = str(node.get("status") or "").lower()
        kind = str(node.get("resource_type") or name.split(".")[0])
        failures = node.get("failures")
        message = node.get("message")
        if kind in ("test", "unit_test"):
            if status == "warn":
                outcomes.append(
                    Outcome("dbt", name, "warning", False, unexpected_count=failures, error=None)
                )
            elif status in _DBT_OK:
                outcomes.append(Outcome("dbt", name, "critical", True, unexpected_count=failures))
            elif status == "fail":
                outcomes.append(
                    Outcome(
                        "dbt",
                        name,
                        "critical",
                        False,
                        unexpected_count=failures,
                        examples=str(message) if message else None,
                    )
                )
            else:
                outcomes.append(
                    Outcome("dbt", name, "critical", None, error=f"dbt test {status}: {message}")
                )
        elif status and status not in _DBT_OK:
            outcomes.append(
                Outcome("dbt", name, "critical", None, error=f"dbt {kind} {status}: {message}")
            )
    for test in dbt_result.get("failed_tests") or []:
        name = str(test.get("unique_id") or test.get("name") or "?")
        if not any(o.expectation == name for o in outcomes):
            outcomes.append(
                Outcome("dbt", name, "critical", False, unexpected_count=test.get("failures"))
            )
    if dbt_result.get("success") is False and not any(o.blocks for o in outcomes):
        error = dbt_result.get("error") or "dbt build did not succeed"
        outcomes.append(Outcome("dbt", "dbt_build", "critical", None, error=str(error)))
    return outcomes
