"""The pipeline's own load of collected micro-batches (`segmart run`, the Airflow tasks):
pushed events reach raw beside the pulls, once; a batch that cannot load is a warning."""

from __future__ import annotations

from segmart.core.contracts import Severity
from segmart.core.settings import Settings
from segmart.pipeline import CollectedResult, collect_outcomes, collect_step
from tests.collect.support import Collector, collector_env, query, write_batch
from tests.collect.test_webhooks import ORDER


def test_collect_step_loads_the_closed_batches_once(collector: Collector) -> None:
    for delivery, order_id in (("d1", 1), ("d2", 2), ("d1", 1)):
        answer = collector.webhook("orders/create", {**ORDER, "id": order_id}, delivery)
        assert answer.status_code == 200, answer.text
    settings = collector.settings
    collector.stop()  # closes the micro-batch file
    assert collect_step(settings) == CollectedResult(batches=1, loaded=2, duplicates=1)
    assert query(settings, "select record_id from raw.shop__orders order by 1") == [
        ("1",),
        ("2",),
    ]
    assert collect_step(settings) == CollectedResult()  # loaded already: nothing
    assert collect_outcomes(CollectedResult()) == []


def test_a_batch_that_cannot_load_is_a_warning_naming_it_and_earlier_ones_stay(
    tmp_path,
) -> None:
    settings = Settings.from_env(collector_env(tmp_path))
    write_batch(settings, "20260601T000000000000Z-00000000", "2026-06-01T00:00:00Z")
    bad = write_batch(settings, "20260601T000001000000Z-00000000", "not a time")

    collected = collect_step(settings)

    assert (collected.batches, collected.loaded) == (1, 1)
    assert collected.error is not None and str(bad) in collected.error
    (outcome,) = collect_outcomes(collected)
    assert outcome.severity is Severity.WARNING and not outcome.blocks
    assert CollectedResult.from_dict(collected.to_dict()) == collected
    assert bad.exists()
    assert query(settings, "select record_id from raw.shop__orders") == [("1",)]
