"""The gate on real DuckDB files with real GX: what blocks, what only warns."""

from __future__ import annotations

import json

import pytest

from expectations import gx_runner
from expectations.gate import evaluate_suites, run_marts_gate, run_raw_gate
from expectations.suites import Check, Suite, between, not_null
from segmart.core import warehouse
from segmart.core.contracts import DbtBuildResult, DbtNode, Severity
from tests.gate import synthetic as syn


@pytest.fixture
def settings(tmp_path):
    return syn.settings_for(tmp_path)


def recorded(settings, run_id=syn.RUN_ID):
    con = warehouse.connect(settings.warehouse, read_only=True)
    try:
        return con.execute(
            """
            select suite, expectation, severity, success, unexpected_count, examples, error
            from meta.validation_results where run_id = ?
            """,
            [run_id],
        ).fetchall()
    finally:
        con.close()


MARTS_LISTS = (syn.RULE_SEGMENTS, syn.IDENTITY_SOURCES)


def by_name(gate):
    return {(o.suite, o.expectation): o for o in gate.outcomes}


def test_clean_raw_slices_pass_and_every_result_is_recorded(settings):
    syn.add_raw_slice(settings, "shop", "orders", syn.orders())
    syn.add_raw_slice(settings, "shop", "customers", syn.customers())
    gate = run_raw_gate(settings, syn.RUN_ID, syn.STREAM_GATES)
    assert gate.passed, gate.reason()
    assert by_name(gate)[("raw.shop__orders", "order_total_non_negative")].success is True
    rows = recorded(settings)
    assert len(rows) == len(gate.outcomes) >= 10
    assert all(row[3] is True for row in rows)


def test_negative_total_and_orders_without_customer_block_with_counts_and_examples(settings):
    records = syn.orders()
    records[3]["total"] = "-12.50"
    records[5]["customer_id"] = None
    records[6]["customer_id"] = None
    syn.add_raw_slice(settings, "shop", "orders", records)
    gate = run_raw_gate(settings, syn.RUN_ID, syn.STREAM_GATES)
    assert not gate.passed
    failures = {o.expectation: o for o in gate.failures}
    assert set(failures) == {"order_total_non_negative", "order_has_customer"}
    assert failures["order_total_non_negative"].unexpected_count == 1
    assert json.loads(failures["order_total_non_negative"].examples) == [
        {"record_id": "1003", "total": -12.5}
    ]
    assert failures["order_has_customer"].unexpected_count == 2
    assert "order_total_non_negative" in gate.reason()
    stored = {row[1]: row for row in recorded(settings)}
    assert stored["order_total_non_negative"][3] is False
    assert stored["order_has_customer"][4] == 2


def test_record_outside_window_plus_lookback_blocks(settings):
    records = syn.orders()
    records[0]["updated_at"] = "2026-05-01T00:00:00Z"
    syn.add_raw_slice(settings, "shop", "orders", records)
    gate = run_raw_gate(settings, syn.RUN_ID, syn.STREAM_GATES)
    assert [o.expectation for o in gate.failures] == ["record_time_in_window"]


def test_malformed_email_is_a_recorded_warning_that_does_not_block(settings):
    records = syn.customers()
    records[1]["email"] = "not an email"
    syn.add_raw_slice(settings, "shop", "customers", records)
    gate = run_raw_gate(settings, syn.RUN_ID, syn.STREAM_GATES)
    assert gate.passed, gate.reason()
    [warning] = gate.warnings
    assert (warning.expectation, warning.severity, warning.unexpected_count) == (
        "email_well_formed_or_null",
        Severity.WARNING,
        1,
    )
    stored = {row[1]: row for row in recorded(settings)}
    assert stored["email_well_formed_or_null"][2:5] == (Severity.WARNING, False, 1)


def test_volume_far_below_the_trailing_average_is_a_warning(settings):
    day = syn.INTERVAL_START - syn.timedelta(days=5)
    for n in range(4):
        start = day + syn.timedelta(days=n)
        end = start + syn.timedelta(days=1)
        syn.add_raw_slice(settings, "shop", "orders", syn.orders(40, start), start, end, "old")
    syn.add_raw_slice(settings, "shop", "orders", syn.orders(2))
    gate = run_raw_gate(settings, syn.RUN_ID, syn.STREAM_GATES)
    assert gate.passed
    assert [o.expectation for o in gate.warnings] == ["volume_vs_trailing_average"]


def test_an_exception_inside_gx_blocks_as_could_not_evaluate(settings):
    con = warehouse.connect(settings.warehouse)
    try:
        suites = [
            Suite(
                name="custom.numbers",
                sql="select i as n from range(5) t(i)",
                checks=(
                    Check("n_in_range", Severity.WARNING, between("n", 0, 10)),
                    # GX raises inside metric resolution: the column does not exist.
                    Check("missing_column_present", Severity.WARNING, not_null("no_such_column")),
                ),
            ),
            Suite(
                name="custom.broken_query",
                sql="select * from no_such_table",
                checks=(Check("anything", Severity.CRITICAL, not_null("x")),),
            ),
        ]
        batches = gx_runner.load_batches(con, suites)
    finally:
        con.close()
    gate = evaluate_suites(settings, syn.RUN_ID, syn.AS_OF, batches)
    assert not gate.passed
    outcomes = by_name(gate)
    assert outcomes[("custom.numbers", "n_in_range")].success is True
    missing = outcomes[("custom.numbers", "missing_column_present")]
    assert missing.success is None and missing.blocks, "a warning GX could not evaluate blocks"
    assert "no_such_column" in missing.error
    assert "could not evaluate" in missing.describe()
    broken = outcomes[("custom.broken_query", "anything")]
    assert broken.success is None and "no_such_table" in broken.error
    stored = {row[1]: row for row in recorded(settings)}
    assert stored["missing_column_present"][3] is None


def test_clean_marts_pass_and_data_docs_are_built(settings):
    syn.build_marts(settings)
    gate = run_marts_gate(settings, syn.RUN_ID, syn.AS_OF, syn.DBT_OK, *MARTS_LISTS)
    assert gate.passed, gate.reason()
    assert ("marts.customer_rfm", "rfm_segment_matches_map") in by_name(gate)
    assert gate.docs_path == str(settings.docs_dir / "index.html")
    assert (settings.docs_dir / "index.html").exists()
    assert list((settings.docs_dir / "validations").rglob("*.html"))


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (
            "update marts.email_audience set customer_id = 1",  # customer 1 has no consent
            {"only_consented_customers", "customer_segment_unique"},
        ),
        ("update marts.customer_rfm set r_score = 7 where customer_id = 3", None),
        (
            "update marts.customer_rfm set rfm_segment = 'Champions' where r_score = 1",
            {"rfm_segment_matches_map"},
        ),
        (
            "insert into marts.customer_profiles select * from marts.customer_profiles limit 1",
            {"customer_id_unique"},
        ),
    ],
    ids=["unconsented-audience", "score-out-of-range", "segment-not-map-cell", "duplicate-key"],
)
def test_broken_marts_block(settings, breakage, expected):
    syn.build_marts(settings)
    syn.execute(settings, breakage)
    gate = run_marts_gate(settings, syn.RUN_ID, syn.AS_OF, syn.DBT_OK, *MARTS_LISTS)
    assert not gate.passed
    names = {o.expectation for o in gate.failures}
    if expected is None:
        assert "r_score_1_to_5" in names
    else:
        assert expected <= names


def test_dbt_test_failures_block_and_dbt_warnings_do_not(settings):
    syn.build_marts(settings)
    failing = DbtBuildResult(
        success=False,
        nodes=(
            DbtNode("model.segmart.customer_rfm", "success"),
            DbtNode(
                "test.segmart.unique_customer_rfm_customer_id",
                "fail",
                failures=3,
                message="Got 3 results",
            ),
            DbtNode("test.segmart.accepted_values_segment", "warn", failures=1),
        ),
    )
    gate = run_marts_gate(settings, syn.RUN_ID, syn.AS_OF, failing, *MARTS_LISTS)
    [failure] = gate.failures
    assert (failure.suite, failure.unexpected_count) == ("dbt", 3)
    assert failure.expectation == "test.segmart.unique_customer_rfm_customer_id"
    assert [w.expectation for w in gate.warnings] == ["test.segmart.accepted_values_segment"]


def test_a_dbt_model_error_blocks_as_could_not_evaluate(settings):
    syn.build_marts(settings)
    errored = DbtBuildResult(
        success=False,
        nodes=(DbtNode("model.segmart.customer_rfm", "error", message="Binder Error"),),
    )
    gate = run_marts_gate(settings, syn.RUN_ID, syn.AS_OF, errored, *MARTS_LISTS)
    [failure] = gate.failures
    assert failure.could_not_evaluate and "Binder Error" in failure.error


def test_an_empty_slice_passes_but_empty_profiles_block(settings):
    syn.add_raw_slice(settings, "shop", "orders", [])
    gate = run_raw_gate(settings, syn.RUN_ID, syn.STREAM_GATES)
    assert gate.passed, gate.reason()
    syn.build_marts(settings, customers=0)
    marts = run_marts_gate(settings, syn.RUN_ID, syn.AS_OF, syn.DBT_OK, *MARTS_LISTS)
    assert [o.expectation for o in marts.failures] == ["profiles_not_empty"]


def test_row_counts_far_from_the_published_version_are_a_warning(settings):
    from segmart.publish import publish

    syn.build_marts(settings, customers=40)
    first = run_marts_gate(settings, syn.RUN_ID, syn.AS_OF, syn.DBT_OK, *MARTS_LISTS)
    assert publish(settings, syn.RUN_ID, syn.AS_OF, first).status == "published"
    syn.build_marts(settings, customers=200)
    gate = run_marts_gate(settings, "run-2", syn.AS_OF, syn.DBT_OK, *MARTS_LISTS)
    assert gate.passed
    [warning] = gate.warnings
    assert warning.expectation == "row_count_within_band_of_published"
    assert warning.unexpected_count == 6  # every published table grew fivefold
