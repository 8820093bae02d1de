"""The gate knows no source: raw checks come from each stream's StreamGate, the RFM map
from the dbt seed in marts, rule segments and identity sources from the caller."""

from __future__ import annotations

from datetime import timedelta

import pytest

from expectations.gate import run_marts_gate, run_raw_gate
from segmart.core.contracts import FieldCheck, FieldRule, Severity, StreamGate
from tests.gate import synthetic as syn


@pytest.fixture
def settings(tmp_path):
    return syn.settings_for(tmp_path)


def by_name(gate):
    return {(o.suite, o.expectation): o for o in gate.outcomes}


LOYALTY = StreamGate(
    "loyalty",
    "members",
    time_tolerance=timedelta(hours=12),
    email_field="contact.email",
    checks=(
        FieldCheck("member_points_numeric", "points", FieldRule.DECIMAL),
        FieldCheck(
            "member_points_at_least_10",
            "points",
            FieldRule.MINIMUM,
            severity=Severity.WARNING,
            value=10,
            description="points >= 10",
        ),
        FieldCheck("member_has_tier", "tier", FieldRule.PRESENT),
    ),
)


def members() -> list[dict]:
    start = syn.INTERVAL_START
    return [
        {
            "id": i,
            "points": f"{10 * i}",
            "tier": "gold",
            "contact.email": f"m{i}@example.com",
            "updated_at": (start + timedelta(hours=i)).isoformat() + "Z",
        }
        for i in range(1, 6)
    ]


def test_a_new_streams_declared_checks_are_its_raw_suite(settings):
    records = members()
    records[0]["points"] = "5"  # below the warning minimum
    records[1]["tier"] = None
    records[2]["contact.email"] = "no mail"
    records[3]["updated_at"] = (syn.INTERVAL_START - timedelta(hours=13)).isoformat() + "Z"
    syn.add_raw_slice(settings, "loyalty", "members", records)

    gate = run_raw_gate(settings, syn.RUN_ID, {("loyalty", "members"): LOYALTY})

    outcomes = by_name(gate)
    suite = "raw.loyalty__members"
    assert [name for s, name in outcomes if s == suite] == [
        "record_id_present",
        "record_time_present",
        "record_time_in_window",
        "member_points_numeric",
        "member_points_at_least_10",
        "member_has_tier",
        "email_well_formed_or_null",
    ]
    assert {o.expectation for o in gate.failures} == {"record_time_in_window", "member_has_tier"}
    assert {o.expectation for o in gate.warnings} == {
        "member_points_at_least_10",
        "email_well_formed_or_null",
    }
    assert outcomes[(suite, "member_points_numeric")].success is True
    assert outcomes[(suite, "member_has_tier")].unexpected_count == 1


def test_the_time_tolerance_is_the_streams_own(settings):
    records = members()
    records[0]["updated_at"] = (syn.INTERVAL_START - timedelta(hours=11)).isoformat() + "Z"
    syn.add_raw_slice(settings, "loyalty", "members", records)
    gate = run_raw_gate(settings, syn.RUN_ID, {("loyalty", "members"): LOYALTY})
    assert by_name(gate)[("raw.loyalty__members", "record_time_in_window")].success is True


def test_rule_segments_and_identity_sources_are_the_callers(settings):
    syn.build_marts(settings)
    gate = run_marts_gate(
        settings, syn.RUN_ID, syn.AS_OF, syn.DBT_OK, ("high_value",), ("shop", "crm")
    )
    outcomes = by_name(gate)
    assert outcomes[("marts.customer_identity", "source_known")].success is False  # esp rows
    assert outcomes[("marts.customer_segments", "segment_known")].success is False
    assert outcomes[("marts.customer_segments", "segment_known")].severity is Severity.WARNING


def test_the_rfm_map_is_read_from_the_seed_in_marts(settings):
    syn.build_marts(settings)
    # An analyst renames a segment in the seed; dbt rebuilds customer_rfm from it.
    syn.execute(settings, "update marts.rfm_segment_map set segment = 'Stars' where r_score = 5")
    syn.execute(settings, "update marts.customer_rfm set rfm_segment = 'Stars' where r_score = 5")
    gate = run_marts_gate(
        settings, syn.RUN_ID, syn.AS_OF, syn.DBT_OK, syn.RULE_SEGMENTS, syn.IDENTITY_SOURCES
    )
    assert gate.passed, gate.reason()


def test_without_the_rfm_seed_the_map_checks_cannot_be_evaluated(settings):
    syn.build_marts(settings)
    syn.execute(settings, "drop table marts.rfm_segment_map")
    gate = run_marts_gate(
        settings, syn.RUN_ID, syn.AS_OF, syn.DBT_OK, syn.RULE_SEGMENTS, syn.IDENTITY_SOURCES
    )
    assert gate.blocks
    failures = {o.expectation: o for o in gate.failures}
    assert set(failures) == {
        "rfm_segment_in_map",
        "rfm_cell_in_exactly_one_segment",
        "rfm_segment_matches_map",
    }
    for outcome in failures.values():
        assert outcome.could_not_evaluate and outcome.suite == "marts.customer_rfm"
        assert "rfm_segment_map.csv" in outcome.error and "dbt seed" in outcome.error
    # The checks that do not need the map still ran.
    assert by_name(gate)[("marts.customer_rfm", "r_score_1_to_5")].success is True
