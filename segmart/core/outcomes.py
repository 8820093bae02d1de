"""What the gate decided, expectation by expectation.

`success` is None when the expectation could not be evaluated (an exception in
the query or inside GX): that blocks whatever the severity, because "unknown"
is not "clean".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Outcome:
    suite: str
    expectation: str
    severity: str
    success: bool | None
    observed_value: str | None = None
    unexpected_count: int | None = None
    examples: str | None = None
    error: str | None = None

    @property
    def blocks(self) -> bool:
        return self.success is None or (self.success is False and self.severity == "critical")

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


@dataclass
class GateResult:
    run_id: str
    as_of: str | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    docs_path: str | None = None

    @property
    def passed(self) -> bool:
        return bool(self.outcomes) and not any(o.blocks for o in self.outcomes)

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
            "outcomes": [asdict(o) for o in self.outcomes],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GateResult:
        return cls(
            run_id=data["run_id"],
            as_of=data.get("as_of"),
            outcomes=[Outcome(**o) for o in data.get("outcomes", [])],
            docs_path=data.get("docs_path"),
        )
