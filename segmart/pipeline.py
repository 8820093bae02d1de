"""The pipeline: extract -> load (pulls and collected pushes) -> raw gate -> dbt build ->
marts gate -> publish.

Each step is a public function so `segmart run` chains them in one process and
the Airflow DAG wires the same steps as tasks. Steps open and close their own
DuckDB connections, so the next step can open the file.

A user error (a bad window, a wrong source file, a missing setting, a locked
warehouse) is raised before anything is written. Anything else that goes wrong is
recorded: a failed stream blocks the publish, and every slice it did commit is
raw-gated now or by the next run before anything built from it is published.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from segmart.core import warehouse
from segmart.core.contracts import (
    DbtBuildResult,
    PublishStatus,
    Severity,
    SliceResult,
    SliceStatus,
    StreamGate,
)
from segmart.core.errors import UserError
from segmart.core.outcomes import GateResult, Outcome
from segmart.core.settings import Settings, SettingsError
from segmart.core.times import as_of_text, naive_utc, now_naive, now_utc
from segmart.publish import Decision, PublishResult, log_decision, publish


def new_run_id() -> str:
    return f"run-{now_utc():%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class CollectedResult:
    """What a load of the collected (pushed) micro-batches did; JSON-safe for XCom.

    `error`: a micro-batch that could not be loaded (nothing of it is in raw, the file
    stays, later ones wait behind it); the batches before it are committed."""

    batches: int = 0
    loaded: int = 0
    duplicates: int = 0
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CollectedResult:
        return cls(**data)


@dataclass
class RunResult:
    """What one `run_pipeline` did, step by step, and what it decided."""

    run_id: str
    status: PublishStatus
    reason: str
    as_of: datetime | None
    published: Path
    extracted: list[SliceResult] = field(default_factory=list)
    collected: CollectedResult = field(default_factory=CollectedResult)
    dbt: DbtBuildResult | None = None
    gate: GateResult | None = None
    tables: dict[str, int] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.status.succeeded

    @property
    def records(self) -> int:
        return sum(s.records for s in self.extracted)

    @property
    def failed_slices(self) -> list[SliceResult]:
        return [s for s in self.extracted if not s.succeeded]


# --- the steps ------------------------------------------------------------------------------


def extract_step(
    settings: Settings,
    start: datetime | None,
    end: datetime | None,
    run_id: str,
    fill_gaps: bool | None = None,
) -> list[SliceResult]:
    """Pull and load the run's slices. A stream that fails does not stop the others:
    its failed SliceResult is returned beside the committed ones."""
    from extract import ExtractFailed, run_extract

    try:
        return run_extract(settings, start=start, end=end, run_id=run_id, fill_gaps=fill_gaps)
    except ExtractFailed as failure:
        return list(failure.results)


def collect_step(settings: Settings) -> CollectedResult:
    """Load every closed micro-batch of pushed events into raw (`segmart collect --load`'s
    loader: one transaction per batch, each delivery once); what is still open waits for
    the next load. A batch that cannot be loaded is a warning at the raw gate, not a stop:
    none of it is in raw, and the scheduled pull covers its records."""
    from collect.load import CollectedLoadError, load_collected

    error = None
    try:
        loads: Sequence[Any] = load_collected(settings)
    except CollectedLoadError as failure:
        loads, error = failure.loaded, str(failure)
    return CollectedResult(
        batches=len(loads),
        loaded=sum(load.loaded for load in loads),
        duplicates=sum(load.duplicates for load in loads),
        error=error,
    )


def stream_gates(settings: Settings) -> dict[tuple[str, str], StreamGate]:
    """Every stream's raw-gate settings, from its source YAML."""
    from extract import stream_gates as gates_from_yaml

    return gates_from_yaml(settings.sources_dir)


def identity_sources(gates: Mapping[tuple[str, str], StreamGate]) -> list[str]:
    """Sources whose records carry a person's email: those identity resolution joins."""
    return sorted({gate.source for gate in gates.values() if gate.email_field})


def run_as_of(
    settings: Settings, end: datetime | None, extracted: Sequence[SliceResult]
) -> datetime:
    """The end of the run's data interval: `--end`, else the latest slice end or watermark."""
    if end is not None:
        return naive_utc(end)
    ends = [naive_utc(s.interval_end) for s in extracted]
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


def extract_outcomes(extracted: Sequence[SliceResult]) -> list[Outcome]:
    """A slice that failed to extract leaves the run incomplete: that blocks. A dropped
    file that was rejected is a warning: it is moved aside with its reason and none of
    it was loaded, so the run is as if it had not been dropped yet (docs/architecture.md)."""
    return [
        Outcome("extract", f"{s.source}.{s.stream}", Severity.WARNING, False, error=s.error)
        if s.status is SliceStatus.REJECTED
        else Outcome(
            "extract",
            f"{s.source}.{s.stream}",
            Severity.CRITICAL,
            None,
            error=f"slice {s.interval_start}..{s.interval_end} {s.status}: {s.error}",
        )
        for s in extracted
        if not s.succeeded
    ]


def collect_outcomes(collected: CollectedResult | None) -> list[Outcome]:
    if collected is None or collected.error is None:
        return []
    return [Outcome("collect", "micro-batches", Severity.WARNING, False, error=collected.error)]


def raw_gate_step(
    settings: Settings,
    run_id: str,
    extracted: Sequence[SliceResult] = (),
    collected: CollectedResult | None = None,
) -> GateResult:
    """The raw suites on every committed slice not yet passed, plus this run's failed pulls
    and a collected micro-batch that could not be loaded."""
    from expectations.gate import record_outcomes, run_raw_gate

    gate = run_raw_gate(settings, run_id, stream_gates(settings))
    failed = extract_outcomes(extracted) + collect_outcomes(collected)
    if failed:
        extra = GateResult(run_id=run_id, as_of=gate.as_of, outcomes=failed)
        record_outcomes(settings, extra)
        gate = gate.merged(extra)
    return gate


def transform_step(settings: Settings, as_of: datetime) -> DbtBuildResult:
    """dbt build at as_of; a dbt that could not run is a result too (the gate blocks on it)."""
    from segmart.transform import dbt_build

    try:
        return dbt_build(settings, as_of)
    except UserError:
        raise
    except Exception as error:  # reported by the gate as a blocking "could not evaluate"
        return DbtBuildResult.could_not_run(f"{type(error).__name__}: {error}", as_of_text(as_of))


def marts_gate_step(
    settings: Settings, run_id: str, as_of: datetime, dbt: DbtBuildResult | None
) -> GateResult:
    from expectations.gate import run_marts_gate
    from segmart.transform import rule_segments

    return run_marts_gate(
        settings,
        run_id,
        as_of,
        dbt,
        rule_segments=rule_segments(settings),
        identity_sources=identity_sources(stream_gates(settings)),
    )


def publish_step(
    settings: Settings, run_id: str, as_of: datetime, gate: GateResult
) -> PublishResult:
    """Publish if the gate passed; `meta.publish_log` records the decision either way."""
    return publish(settings, run_id, as_of, gate)


def record_block(settings: Settings, run_id: str, as_of: datetime, gate: GateResult) -> None:
    """A gate that blocked ends the run: `meta.publish_log` says why nothing was published."""
    publish(settings, run_id, as_of, gate)


def check_before_writing(
    settings: Settings, start: datetime | None = None, end: datetime | None = None
) -> None:
    """Fail on what a person must fix before anything is pulled or written: the window
    (extract's own rule), every source file read and validated, and the warehouse must
    open for writing (not locked by another process, in a folder that can be written)."""
    from extract import check_window

    check_window(start, end)
    stream_gates(settings)
    warehouse.connect(settings.warehouse).close()


# --- the whole run --------------------------------------------------------------------------


def run_pipeline(
    settings: Settings,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    run_id: str | None = None,
) -> RunResult:
    """The whole run; an explicit `start` pulls from there, else from each watermark."""
    run_id = run_id or new_run_id()
    start_dt = naive_utc(start) if start is not None else None
    end_dt = naive_utc(end) if end is not None else None
    check_before_writing(settings, start_dt, end_dt)
    try:
        extracted = extract_step(settings, start_dt, end_dt, run_id)
    except UserError:
        raise
    except Exception as error:
        reason = f"extract failed: {type(error).__name__}: {error}"
        as_of = end_dt or now_naive()
        log_decision(settings, run_id, as_of, Decision(PublishStatus.FAILED, reason))
        return RunResult(run_id, PublishStatus.FAILED, reason, as_of, settings.published)
    collected = collect_step(settings)
    as_of = run_as_of(settings, end_dt, extracted)
    gate = raw_gate_step(settings, run_id, extracted, collected)
    dbt = None
    if not gate.blocks:
        dbt = transform_step(settings, as_of)
        gate = gate.merged(marts_gate_step(settings, run_id, as_of, dbt))
    published = publish_step(settings, run_id, as_of, gate)
    return RunResult(
        run_id=run_id,
        status=published.status,
        reason=published.reason,
        as_of=as_of,
        published=published.published,
        extracted=extracted,
        collected=collected,
        dbt=dbt,
        gate=gate,
        tables=published.tables,
    )
