"""`segmart run`: extract -> load -> raw gate -> dbt build -> marts gate -> publish.

Each step is its own public function so the Airflow DAG can wire the same steps
as separate tasks; `run_pipeline` chains them in one process, closing every
DuckDB connection before the next step opens the file.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from segmart.core import warehouse
from segmart.core.outcomes import GateResult, Outcome
from segmart.core.settings import Settings, SettingsError

# A backfill recorded as history did all it should: it is not a failure.
SUCCEEDED = ("published", "history_only")


def new_run_id() -> str:
    return f"run-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def _naive(value: datetime | str) -> datetime:
    from expectations.gate import to_naive_utc

    return to_naive_utc(value)


def extract_step(
    settings: Settings, start: datetime | None, end: datetime | None, run_id: str
) -> list[dict[str, Any]]:
    """Pull and load the run's slices (extract/ owns windows, watermarks and retries)."""
    from extract import run_extract

    return list(run_extract(settings, start=start, end=end, run_id=run_id))


def run_as_of(
    settings: Settings, end: datetime | None, slices: Sequence[dict[str, Any]]
) -> datetime:
    """The end of the run's data interval: `--end`, else the latest slice end or watermark."""
    if end is not None:
        return _naive(end)
    ends = [_naive(s["interval_end"]) for s in slices if s.get("interval_end")]
    if ends:
        return max(ends)
    con = warehouse.connect(settings.warehouse)
    try:
        row = con.execute("select max(watermark) from meta.watermarks").fetchone()
    finally:
        con.close()
    if row is None or row[0] is None:
        raise SettingsError("no data extracted yet, so there is no as_of; pass --end")
    return row[0]


def extract_outcomes(slices: Sequence[dict[str, Any]]) -> list[Outcome]:
    """A slice that failed to extract leaves the run incomplete: that blocks."""
    return [
        Outcome(
            "extract",
            f"{s.get('source')}.{s.get('stream')}",
            "critical",
            None,
            error=f"slice {s.get('interval_start')}..{s.get('interval_end')} "
            f"{s.get('status')}: {s.get('error')}",
        )
        for s in slices
        if s.get("status") not in (None, "success", "loaded")
    ]


def raw_gate_step(settings: Settings, run_id: str, slices: Sequence[dict[str, Any]]) -> GateResult:
    from expectations.gate import record_outcomes, run_raw_gate

    loaded = [s for s in slices if s.get("status") in (None, "success", "loaded")]
    gate = run_raw_gate(settings, run_id, loaded)
    failed = extract_outcomes(slices)
    if failed:
        extra = GateResult(run_id=run_id, as_of=gate.as_of, outcomes=failed)
        record_outcomes(settings, extra)
        gate = gate.merged(extra)
    return gate


def transform_step(settings: Settings, as_of: datetime) -> tuple[dict[str, Any] | None, str | None]:
    """dbt build at as_of; returns (result, error) where error means dbt could not run."""
    from segmart.transform import dbt_build

    try:
        return dbt_build(settings, as_of), None
    except Exception as error:  # reported as a blocking "could not evaluate"
        return None, f"{type(error).__name__}: {error}"


def marts_gate_step(
    settings: Settings,
    run_id: str,
    as_of: datetime,
    dbt_result: dict[str, Any] | None,
    dbt_error: str | None = None,
) -> GateResult:
    from expectations.gate import run_marts_gate

    if dbt_error is not None:
        dbt_result = {"success": False, "nodes": [], "error": dbt_error}
    return run_marts_gate(settings, run_id, as_of, dbt_result or {"success": False, "nodes": []})


def publish_step(
    settings: Settings, run_id: str, as_of: datetime, gate: GateResult
) -> dict[str, Any]:
    from segmart.publish import publish

    return publish(settings, run_id, as_of, gate)


def run_pipeline(
    settings: Settings,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    run_id: str | None = None,
) -> dict[str, Any]:
    """The whole run; `status` is published, blocked, history_only or failed."""
    from segmart.publish import Decision, log_decision

    run_id = run_id or new_run_id()
    start_dt = _naive(start) if start is not None else None
    end_dt = _naive(end) if end is not None else None
    result: dict[str, Any] = {
        "run_id": run_id,
        "start": start_dt.isoformat(sep=" ") if start_dt else None,
        "end": end_dt.isoformat(sep=" ") if end_dt else None,
        "published": str(settings.published),
    }
    try:
        slices = extract_step(settings, start_dt, end_dt, run_id)
    except Exception as error:
        reason = f"extract failed: {type(error).__name__}: {error}"
        as_of = end_dt or datetime.now(UTC).replace(tzinfo=None)
        log_decision(settings, run_id, as_of, Decision("failed", reason))
        return {**result, "status": "failed", "reason": reason, "as_of": as_of.isoformat(sep=" ")}
    as_of = run_as_of(settings, end_dt, slices)
    result["as_of"] = as_of.isoformat(sep=" ")
    result["extract"] = _extract_summary(slices)
    gate = raw_gate_step(settings, run_id, slices)
    # No new slices means no raw outcomes, which is not a failure: the marts still get built.
    if not gate.failures:
        dbt_result, dbt_error = transform_step(settings, as_of)
        result["dbt"] = _dbt_summary(dbt_result, dbt_error)
        gate = gate.merged(marts_gate_step(settings, run_id, as_of, dbt_result, dbt_error))
    else:
        result["dbt"] = {"skipped": "the raw gate blocked this run"}
    published = publish_step(settings, run_id, as_of, gate)
    return {
        **result,
        "status": published["status"],
        "reason": published["reason"],
        "published": published["published"],
        "tables": published["tables"],
        "docs_path": gate.docs_path,
        "gate": gate.summary(),
        "failures": [o.describe() for o in gate.failures],
        "warnings": [o.describe() for o in gate.warnings],
    }


def _extract_summary(slices: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {
        "slices": len(slices),
        "records": sum(int(s.get("records") or 0) for s in slices),
        "failed": sum(1 for s in slices if s.get("status") not in (None, "success", "loaded")),
    }


def _dbt_summary(dbt_result: dict[str, Any] | None, error: str | None) -> dict[str, Any]:
    if dbt_result is None:
        return {"error": error}
    return {
        "success": dbt_result.get("success"),
        "models_built": dbt_result.get("models_built"),
        "tests_run": dbt_result.get("tests_run"),
        "failed_tests": len(dbt_result.get("failed_tests") or []),
    }
