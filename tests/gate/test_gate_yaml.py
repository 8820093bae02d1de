"""The demo sources' YAML declares the raw-gate checks the gate tests and the demo name."""

from __future__ import annotations

from datetime import timedelta

from extract import stream_gates
from segmart.core.contracts import FieldCheck, FieldRule, StreamGate
from tests.gate import synthetic as syn

# The file source pos (tests/files): a file's slice spans its own times, a wide band.
POS_PURCHASES = StreamGate(
    "pos",
    "purchases",
    timedelta(0),
    email_field="email",
    checks=(
        FieldCheck(
            "purchase_total_non_negative",
            "total",
            FieldRule.MINIMUM,
            value=0,
            description="total >= 0",
        ),
    ),
    volume_band=(0.01, 100.0),
)


def test_the_packaged_source_files_declare_the_gate_settings_the_tests_use():
    gates = stream_gates(None)
    assert gates.pop(("pos", "purchases")) == POS_PURCHASES
    assert gates == syn.STREAM_GATES
