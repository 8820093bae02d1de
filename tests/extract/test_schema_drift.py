"""A new or renamed field never breaks a load: it stays in `record`."""

from __future__ import annotations

from extract import run_extract
from segmart.core import warehouse
from tests.extract.support import make_settings, utc, world
from tests.support import FROZEN_NOW, NO_CLIENT_BUDGET


def test_schema_drift_loads_and_keeps_the_new_fields(demo_api_factory, tmp_path):
    api = demo_api_factory(
        "--seed", "7", "--customers", "500", "--now", FROZEN_NOW, "--scenario", "schema-drift"
    )
    settings = make_settings(api, tmp_path, **NO_CLIENT_BUDGET)
    start, end = utc("2025-01-01T00:00:00Z"), utc("2026-06-01T00:00:00Z")
    [result] = run_extract(settings, source="crm", start=start, end=end)
    con = warehouse.connect(settings.warehouse, read_only=True)
    try:
        tiers, renamed, old_phone = con.execute(
            """select count(record->>'loyalty_tier'), count(record->>'phone_number'),
                      count(record->>'phone') filter (where record_updated_at >= '2025-06-01')
               from raw.crm__contacts"""
        ).fetchone()
    finally:
        con.close()
    want = list(world(scenario="schema-drift").records("crm", "contacts", start, end))
    assert result.records == len(want) == tiers
    assert renamed == sum("phone_number" in r for r in want) > 0
    assert old_phone == 0
