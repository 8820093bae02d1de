"""dbt unit tests (given/expect in the folder ymls) run in every build and pass."""

from __future__ import annotations

import pytest

from tests.dbt.conftest import BuiltWarehouse

pytestmark = pytest.mark.slow


def test_every_dbt_unit_test_passes(built_warehouse: BuiltWarehouse) -> None:
    unit_tests = [
        node
        for node in built_warehouse.full_refresh_build.nodes
        if node.resource_type == "unit_test"
    ]
    assert len(unit_tests) >= 15
    assert {node.name: node.status for node in unit_tests} == {
        node.name: "pass" for node in unit_tests
    }


def test_generic_data_tests_run_and_pass(built_warehouse: BuiltWarehouse) -> None:
    tests = [n for n in built_warehouse.full_refresh_build.nodes if n.resource_type == "test"]
    assert len(tests) >= 60
    assert all(n.status == "pass" for n in tests)
