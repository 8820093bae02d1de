"""The demo sources' YAML declares the raw-gate checks the gate tests and the demo name."""

from __future__ import annotations

from extract import stream_gates
from tests.gate import synthetic as syn


def test_the_packaged_source_files_declare_the_gate_settings_the_tests_use():
    assert stream_gates(None) == syn.STREAM_GATES
