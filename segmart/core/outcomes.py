"""What the gate decided, expectation by expectation, and the two rules read from it.

`Outcome.success` is None when the expectation could not be evaluated (an
exception in the query or inside GX): that blocks whatever the severity, because
"unknown" is not "clean".

The rules every caller uses (`segmart run`, `segmart validate`, the DAG):
- `GateResult.blocks`: some outcome blocks (a failed critical expectation, or one
  that could not be evaluated). A gate that blocks stops the run, after the raw gate
  as after the marts gate. A raw gate with no outcomes (no slice was waiting to be
  gated) does not block: the run goes on to build and audit the marts.
- `GateResult.passed`: at least one outcome and none blocks. Only a passed gate
  publishes: an audit that checked nothing is not a pass.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from segmart.core.contracts import Severity


@dataclass
class Outcome:
    suite: str
    expectation: str
    severity: Severity
    success: bool | None
    observed_value: str | None = None
    unexpected_count: int | None = None
    examples: str | None = None
    error: str | None = None

    def __post_init__(self) -> None:
        # Rows from meta.validation_results and XCom carry the severity as text.
        self.severity = Severity(self.severity)

    @property
    def blocks(self) -> bool:
        return self.success is None or (
            self.success is False and self.severity is Severity.CRITICAL
        )

    @property
    def could_not_evaluate(self) -> bool:
        return self.success is None

    def describe(self) -> str:
        name = f"{self.suite}: {self.expectation} [{self.severity}]"
        if self.could_not_evaluate:
            return f"{name} could not evaluate: {self.error}"
        detail = []
        if self.unexpected_count is not None:
            detail.append(f"{self.unexpected_count} unexpected")
        if self.observed_value is not None and self.unexpected_count is None:
            detail.append(f"observed {self.observed_value}")
        if self.examples:
            detail.append(f"e.g. {self.examples}")
        return f"{name} failed" + (f": {', '.join(detail)}" if detail else "")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "severity": str(self.severity)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Outcome:
        return cls(**data)


@dataclass
class GateResult:
    run_id: str
    as_of: str | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    docs_path: str | None = None

    @property
    def blocks(self) -> bool:
        """Stop the run here: some outcome blocks. No outcomes at all does not block."""
        return any(o.blocks for o in self.outcomes)

    @property
    def passed(self) -> bool:
        """May publish: something was checked and nothing blocks."""
        return bool(self.outcomes) and not self.blocks

    @property
    def failures(self) -> list[Outcome]:
        """Outcomes that block the publish (failed critical or could not evaluate)."""
        return [o for o in self.outcomes if o.blocks]

    @property
    def warnings(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.success is False and not o.blocks]

    def merged(self, other: GateResult) -> GateResult:
        return GateResult(
            run_id=self.run_id,
            as_of=other.as_of or self.as_of,
            outcomes=[*self.outcomes, *other.outcomes],
            docs_path=other.docs_path or self.docs_path,
        )

    def reason(self, limit: int = 10) -> str:
        if not self.outcomes:
            return "no expectations were evaluated"
        failures = self.failures
        if not failures:
            return f"{len(self.outcomes)} expectations passed ({len(self.warnings)} warnings)"
        lines = [o.describe() for o in failures[:limit]]
        if len(failures) > limit:
            lines.append(f"... and {len(failures) - limit} more")
        return "; ".join(lines)

    def summary(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "expectations": len(self.outcomes),
            "failures": len(self.failures),
            "warnings": len(self.warnings),
            "could_not_evaluate": sum(o.could_not_evaluate for o in self.outcomes),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "as_of": self.as_of,
            "docs_path": self.docs_path,
            "passed": self.passed,
            "blocks": self.blocks,
            "outcomes": [o.to_dict() for o in self.outcomes],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GateResult:
        return cls(
            run_id=data["run_id"],
            as_of=data.get("as_of"),
            outcomes=[Outcome.from_dict(o) for o in data.get("outcomes", [])],
            docs_path=data.get("docs_path"),
        )
