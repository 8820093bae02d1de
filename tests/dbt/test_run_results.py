"""`parse_run_results`, the one reader of dbt's run_results.json: fixed files in,
typed results out, and `success` by dbt's own rule."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from dbt.artifacts.schemas.results import NodeStatus
from dbt.task.runnable import GraphRunnableTask

from segmart.transform import parse_run_results


def item(unique_id: str, status: str, **extra) -> dict:
    return {"unique_id": unique_id, "status": status, "execution_time": 0.25, **extra}


BUILD = {
    "metadata": {"dbt_version": "1.11.16"},
    "args": {"which": "build", "vars": {"as_of": "2026-06-01 00:00:00"}},
    "results": [
        item("seed.segmart.rfm_segment_map", "success"),
        item("model.segmart.customer_rfm", "success", message="OK"),
        item("model.segmart.orders", "no-op"),
        item("test.segmart.not_null_customer_rfm_customer_id.726cd19636", "pass", failures=0),
        item("unit_test.segmart.customer_rfm.scores_ties_alike", "pass", failures=0),
    ],
}


def test_a_clean_build_is_a_success_with_every_node_typed() -> None:
    result = parse_run_results(BUILD)
    assert result.success and result.error is None
    assert result.as_of == "2026-06-01 00:00:00"
    assert [n.unique_id for n in result.nodes] == [i["unique_id"] for i in BUILD["results"]]
    assert result.models_built == 1
    assert result.tests_run == 2
    assert result.failed_tests == [] and result.errored_nodes == []
    assert result.nodes[1].message == "OK" and result.nodes[1].seconds == 0.25


def test_a_failed_test_fails_the_build_and_is_listed_with_its_count() -> None:
    failing = item("test.segmart.accepted_values_x.1a2b3c", "fail", failures=3, message="Got 3")
    result = parse_run_results({**BUILD, "results": [*BUILD["results"], failing]})
    assert not result.success
    assert [(n.unique_id, n.failures) for n in result.failed_tests] == [
        ("test.segmart.accepted_values_x.1a2b3c", 3)
    ]


def test_a_warning_is_listed_but_does_not_fail_the_build() -> None:
    warning = item("test.segmart.freshness_x.9f9f9f", "warn", failures=1)
    result = parse_run_results({**BUILD, "results": [*BUILD["results"], warning]})
    assert result.success
    assert [n.status for n in result.failed_tests] == ["warn"]


def test_an_errored_model_and_the_nodes_it_skipped_fail_the_build() -> None:
    broken = [
        item("model.segmart.customer_rfm", "error", message="Binder Error"),
        item("model.segmart.high_value", "skipped"),
    ]
    result = parse_run_results({"results": broken})
    assert not result.success
    assert [n.name for n in result.errored_nodes] == ["customer_rfm", "high_value"]


def test_as_of_given_wins_over_the_invocation_vars_and_is_none_without_either() -> None:
    assert parse_run_results(BUILD, as_of="2026-05-25 00:00:00").as_of == "2026-05-25 00:00:00"
    assert parse_run_results({"results": []}).as_of is None


@pytest.mark.parametrize("status", list(NodeStatus))
def test_success_follows_dbts_own_rule_for_every_node_status(status: NodeStatus) -> None:
    # What dbtRunner's result.success says for the same node (dbt's interpret_results).
    dbt_says = GraphRunnableTask.interpret_results([SimpleNamespace(status=status, node=None)])
    ours = parse_run_results({"results": [item("model.segmart.m", str(status))]})
    assert ours.success is dbt_says
