"""Names and typed results that cross rooms (DESIGN.md's warehouse and published contracts).

Rooms exchange these, never dicts with string statuses: a load result, a slice's
status, a severity, a publish decision. Each has `to_dict`/`from_dict` where it
travels through XCom.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from segmart.core.times import naive_utc

MARTS_SCHEMA = "marts"

# The published contract's tables, in the order they are copied and shown.
PUBLISHED_TABLES = (
    "customer_profiles",
    "customer_identity",
    "customer_rfm",
    "customer_segments",
    "segment_changes",
    "email_audience",
)


class Severity(StrEnum):
    CRITICAL = "critical"  # blocks the publish
    WARNING = "warning"  # recorded and shown


class SliceStatus(StrEnum):
    SUCCESS = "success"  # committed to raw, watermark advanced
    FAILED = "failed"  # nothing of the slice committed
    REJECTED = "rejected"  # a dropped file refused whole and moved aside; nothing committed


class PublishStatus(StrEnum):
    PUBLISHED = "published"
    BLOCKED = "blocked"  # the gate did not pass: nothing replaced
    HISTORY_ONLY = "history_only"  # an older as_of (a backfill): recorded, not current
    FAILED = "failed"  # the run or the publish itself failed: nothing replaced

    @property
    def succeeded(self) -> bool:
        """A backfill recorded as history did all it should: it is not a failure."""
        return self in (PublishStatus.PUBLISHED, PublishStatus.HISTORY_ONLY)


@dataclass(frozen=True)
class SliceRef:
    """One (stream, interval) of raw: the unit that is loaded, replaced and gated."""

    source: str
    stream: str
    interval_start: datetime  # naive UTC
    interval_end: datetime

    @property
    def table(self) -> str:
        return raw_table(self.source, self.stream)


def raw_table(source: str, stream: str) -> str:
    return f"raw.{source}__{stream}"


@dataclass
class SliceResult:
    """What extracting one (stream, interval) did: loaded, or failed with nothing committed."""

    source: str
    stream: str
    interval_start: str  # ISO UTC with Z
    interval_end: str
    run_id: str
    status: SliceStatus
    records: int = 0
    pages: int = 0
    requests: int = 0
    rate_limited: int = 0
    retries: int = 0
    pull_seconds: float = 0.0
    load_seconds: float | None = None
    watermark: str | None = None  # the stream's watermark after the load
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status is SliceStatus.SUCCESS

    @property
    def ref(self) -> SliceRef:
        return SliceRef(
            self.source, self.stream, naive_utc(self.interval_start), naive_utc(self.interval_end)
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "status": str(self.status)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SliceResult:
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["status"] = SliceStatus(values["status"])
        return cls(**values)


class FieldRule(StrEnum):
    PRESENT = "present"  # the field is there and not null
    DECIMAL = "decimal"  # it reads as a decimal number
    MINIMUM = "minimum"  # as a decimal, at least `value`


@dataclass(frozen=True)
class FieldCheck:
    """One raw-gate expectation on a record field, declared beside its stream in YAML."""

    name: str
    field: str
    rule: FieldRule
    severity: Severity = Severity.CRITICAL
    value: float | None = None
    description: str = ""


@dataclass(frozen=True)
class StreamGate:
    """What the raw gate knows of one stream: all of it from the stream's YAML."""

    source: str
    stream: str
    # Records may carry times before the pulled window (late events, re-pulls).
    time_tolerance: timedelta
    # The field holding a person's email, when the stream has one (checked, warning).
    email_field: str | None = None
    checks: tuple[FieldCheck, ...] = ()
    # Records per hour within [low, high] x the trailing average of earlier slices.
    volume_band: tuple[float, float] = (0.1, 10.0)
    volume_min_earlier_slices: int = 3

    @property
    def table(self) -> str:
        return raw_table(self.source, self.stream)


@dataclass(frozen=True)
class DbtNode:
    """One node of a `dbt build` (model, seed, test, unit test, snapshot) and how it ended."""

    unique_id: str
    status: str  # dbt's own: success, pass, fail, warn, error, skipped, no-op
    failures: int | None = None
    message: str | None = None
    seconds: float = 0.0

    @property
    def resource_type(self) -> str:
        return self.unique_id.split(".", 1)[0]

    @property
    def name(self) -> str:
        """From `model.segmart.<name>`, `test.segmart.<name>.<hash>` or
        `unit_test.segmart.<model>.<name>`."""
        parts = self.unique_id.split(".")
        if self.resource_type == "unit_test" and len(parts) > 3:
            return parts[3]
        return parts[2] if len(parts) > 2 else parts[-1]

    @property
    def is_test(self) -> bool:
        return self.resource_type in ("test", "unit_test")


@dataclass(frozen=True)
class DbtBuildResult:
    """What a `dbt build` did; `error` set means dbt could not run at all."""

    success: bool
    nodes: tuple[DbtNode, ...] = ()
    as_of: str | None = None
    error: str | None = None

    @property
    def failed_tests(self) -> list[DbtNode]:
        return [n for n in self.nodes if n.is_test and n.status in ("fail", "error", "warn")]

    @property
    def errored_nodes(self) -> list[DbtNode]:
        return [n for n in self.nodes if not n.is_test and n.status in ("error", "skipped")]

    @property
    def models_built(self) -> int:
        return sum(1 for n in self.nodes if n.resource_type == "model" and n.status == "success")

    @property
    def tests_run(self) -> int:
        return sum(1 for n in self.nodes if n.is_test)

    @classmethod
    def could_not_run(cls, error: str, as_of: str | None = None) -> DbtBuildResult:
        return cls(success=False, as_of=as_of, error=error)


# Airflow pools: one writer of the warehouse at a time; pulls of one source share its
# rate budget. The DAG and the setups (`segmart sources --pools`) both name them so.
WAREHOUSE_POOL = "segmart_warehouse"


def source_pool(source: str) -> str:
    return f"segmart_{source}"
