"""The raw gate checks every committed slice that has not passed it, whichever run loaded it.

A run whose other stream failed commits some slices and stops; the next run's raw
gate must check them before anything built from them is published (issue 13, item 6).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from expectations.gate import run_raw_gate
from segmart.core import warehouse
from tests.gate import synthetic as syn

DAY = timedelta(days=1)


@pytest.fixture
def settings(tmp_path):
    return syn.settings_for(tmp_path)


def gate_log(settings):
    con = warehouse.connect(settings.warehouse, read_only=True)
    try:
        return con.execute(
            """
            select source, stream, interval_start, load_run_id, gate_run_id, passed
            from meta.raw_gate_log order by gated_at, source, stream, interval_start
            """
        ).fetchall()
    finally:
        con.close()


def suites(gate):
    return {o.suite for o in gate.outcomes}


def test_slices_an_earlier_run_committed_without_a_raw_gate_are_gated_by_the_next_run(settings):
    # Run A committed two streams, then stopped before its raw gate (another stream failed).
    syn.add_raw_slice(settings, "shop", "orders", syn.orders(), run_id="run-A")
    syn.add_raw_slice(settings, "shop", "customers", syn.customers(), run_id="run-A")
    # Run B continues from the watermarks: it loads only the next interval of orders.
    later = syn.INTERVAL_START + DAY
    syn.add_raw_slice(
        settings, "shop", "orders", syn.orders(start=later), later, later + DAY, "run-B"
    )

    gate = run_raw_gate(settings, "run-B", syn.STREAM_GATES)

    assert gate.passed, gate.reason()
    assert {"raw.shop__orders", "raw.shop__customers"} <= suites(gate)
    assert gate_log(settings) == [
        ("shop", "customers", syn.INTERVAL_START, "run-A", "run-B", True),
        ("shop", "orders", syn.INTERVAL_START, "run-A", "run-B", True),
        ("shop", "orders", later, "run-B", "run-B", True),
    ]

    again = run_raw_gate(settings, "run-C", syn.STREAM_GATES)
    assert again.outcomes == [] and not again.blocks
    assert len(gate_log(settings)) == 3


def test_a_slice_that_failed_the_gate_stays_pending_until_a_load_of_it_passes(settings):
    bad = syn.orders()
    bad[3]["total"] = "-12.50"
    syn.add_raw_slice(settings, "shop", "orders", bad, run_id="run-A")

    first = run_raw_gate(settings, "run-B", syn.STREAM_GATES)
    second = run_raw_gate(settings, "run-C", syn.STREAM_GATES)

    for gate in (first, second):
        assert gate.blocks
        assert [o.expectation for o in gate.failures] == ["order_total_non_negative"]
    assert [row[3:] for row in gate_log(settings)] == [
        ("run-A", "run-B", False),
        ("run-A", "run-C", False),
    ]

    # The slice is pulled again, clean: that load is gated, passes, and nothing is left.
    syn.add_raw_slice(
        settings,
        "shop",
        "orders",
        syn.orders(),
        run_id="run-D",
        finished_at=syn.INTERVAL_END + timedelta(hours=2),
    )
    fixed = run_raw_gate(settings, "run-E", syn.STREAM_GATES)
    assert fixed.passed, fixed.reason()
    assert gate_log(settings)[-1][3:] == ("run-D", "run-E", True)
    assert run_raw_gate(settings, "run-F", syn.STREAM_GATES).outcomes == []


def test_the_latest_successful_load_of_a_slice_is_the_one_gated(settings):
    bad = syn.orders()
    bad[3]["total"] = "-12.50"
    # Run ids sort against the order of the loads: only finished_at tells which is newer.
    syn.add_raw_slice(settings, "shop", "orders", bad, run_id="run-Z", finished_at=syn.INTERVAL_END)
    syn.add_raw_slice(
        settings,
        "shop",
        "orders",
        syn.orders(),
        run_id="run-A",
        finished_at=syn.INTERVAL_END + timedelta(hours=1),
    )

    gate = run_raw_gate(settings, "run-gate", syn.STREAM_GATES)

    assert gate.passed, gate.reason()
    assert [row[3:] for row in gate_log(settings)] == [("run-A", "run-gate", True)]


def test_a_stream_without_gate_settings_blocks_as_could_not_evaluate(settings):
    syn.add_raw_slice(
        settings, "loyalty", "members", [{"id": 1, "updated_at": "2026-05-31T01:00Z"}]
    )
    syn.add_raw_slice(settings, "shop", "customers", syn.customers())

    gate = run_raw_gate(settings, syn.RUN_ID, syn.STREAM_GATES)

    assert gate.blocks
    [failure] = gate.failures
    assert failure.could_not_evaluate and failure.suite == "raw.loyalty__members"
    assert "loyalty.members" in failure.error and "gate:" in failure.error
    assert {(row[0], row[5]) for row in gate_log(settings)} == {
        ("loyalty", False),
        ("shop", True),
    }


def test_nothing_pending_is_no_outcome_and_does_not_block(settings):
    gate = run_raw_gate(settings, syn.RUN_ID, syn.STREAM_GATES)
    assert gate.outcomes == []
    assert not gate.blocks
    assert gate_log(settings) == []
