"""The one rule for a gate's decision (segmart/core/outcomes.py), read by the run and the DAG."""

from __future__ import annotations

import json

import pytest

from expectations.gate import dbt_outcomes
from segmart.core.contracts import DbtBuildResult, DbtNode, Severity
from segmart.core.outcomes import GateResult, Outcome

CRITICAL, WARNING = Severity.CRITICAL, Severity.WARNING


def gate(*outcomes: Outcome) -> GateResult:
    return GateResult("run-1", outcomes=list(outcomes))


@pytest.mark.parametrize(
    ("outcomes", "blocks", "passed"),
    [
        ((), False, False),
        ((Outcome("s", "ok", CRITICAL, True),), False, True),
        ((Outcome("s", "ok", CRITICAL, True), Outcome("s", "warn", WARNING, False)), False, True),
        ((Outcome("s", "ok", CRITICAL, True), Outcome("s", "bad", CRITICAL, False)), True, False),
        ((Outcome("s", "unknown", WARNING, None, error="query failed"),), True, False),
    ],
    ids=["nothing-checked", "clean", "warning-only", "failed-critical", "could-not-evaluate"],
)
def test_blocks_stops_a_run_and_passed_lets_it_publish(outcomes, blocks, passed):
    result = gate(*outcomes)
    assert result.blocks is blocks
    assert result.passed is passed


def test_a_raw_gate_with_nothing_to_check_lets_the_run_go_on_but_publishes_nothing_alone():
    raw = gate()
    assert not raw.blocks
    marts = gate(Outcome("marts.customer_profiles", "customer_id_unique", CRITICAL, True))
    assert raw.merged(marts).passed


def test_severity_is_typed_and_travels_as_plain_text():
    result = gate(Outcome("raw.x", "check", "warning", False, unexpected_count=2))
    assert result.outcomes[0].severity is Severity.WARNING
    text = json.dumps(result.to_dict())
    data = json.loads(text)
    assert data["outcomes"][0]["severity"] == "warning"
    assert type(data["outcomes"][0]["severity"]) is str
    assert (data["passed"], data["blocks"]) == (True, False)
    back = GateResult.from_dict(data)
    assert back.outcomes == result.outcomes and back.outcomes[0].severity is Severity.WARNING


def test_dbt_that_could_not_run_blocks_as_could_not_evaluate():
    [outcome] = dbt_outcomes(DbtBuildResult.could_not_run("FileNotFoundError: dbt"))
    assert (outcome.suite, outcome.expectation, outcome.severity) == ("dbt", "dbt_build", CRITICAL)
    assert outcome.could_not_evaluate and outcome.error == "FileNotFoundError: dbt"
    [unexplained] = dbt_outcomes(DbtBuildResult(success=False))
    assert unexplained.error == "dbt build did not succeed" and unexplained.blocks


def test_dbt_statuses_map_to_outcomes():
    outcomes = dbt_outcomes(
        DbtBuildResult(
            success=False,
            nodes=(
                DbtNode("model.segmart.a", "success"),
                DbtNode("model.segmart.b", "skipped", message="upstream failed"),
                DbtNode("seed.segmart.rfm_segment_map", "no-op"),
                DbtNode("test.segmart.t_pass", "pass", failures=0),
                DbtNode("unit_test.segmart.u_fail", "fail", failures=2, message="diff"),
                DbtNode("test.segmart.t_warn", "warn", failures=1),
                DbtNode("test.segmart.t_error", "error", message="Binder Error"),
            ),
        )
    )
    got = {o.expectation: (o.severity, o.success, o.unexpected_count) for o in outcomes}
    assert got == {
        "model.segmart.b": (CRITICAL, None, None),
        "test.segmart.t_pass": (CRITICAL, True, 0),
        "unit_test.segmart.u_fail": (CRITICAL, False, 2),
        "test.segmart.t_warn": (WARNING, False, 1),
        "test.segmart.t_error": (CRITICAL, None, None),
    }
    by_name = {o.expectation: o for o in outcomes}
    assert by_name["model.segmart.b"].error == "dbt model skipped: upstream failed"
    assert by_name["unit_test.segmart.u_fail"].examples == "diff"
    assert by_name["test.segmart.t_error"].error == "dbt test error: Binder Error"
    # A build that failed with its reasons among the nodes adds no extra dbt_build outcome.
    assert "dbt_build" not in by_name
