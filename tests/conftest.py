from __future__ import annotations

import os

import pytest

from tests.support import FROZEN_NOW, DemoApi, start_demo_api

# Tests run with telemetry off, like every segmart entry point.
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

FAST_LIMITS = "shop=1000,crm=1000,esp=1000,web=1000"


@pytest.fixture
def demo_api_factory():
    """Start demo APIs with custom flags; all are stopped at the end of the test."""
    started: list[DemoApi] = []

    def start(*args: str) -> DemoApi:
        api = start_demo_api(*args)
        started.append(api)
        return api

    yield start
    for api in started:
        api.stop()


@pytest.fixture(scope="session")
def demo_api():
    """One shared clean demo API: frozen clock, small world, limits out of the way."""
    api = start_demo_api(
        "--seed", "7", "--customers", "500", "--now", FROZEN_NOW, "--rate-limit", FAST_LIMITS
    )
    yield api
    api.stop()


# Session fixtures that cost tens of seconds: their users run on one worker.
SHARED_SESSION_FIXTURES = ("built_warehouse", "prepared_airflow_home")


def pytest_itemcollected(item: pytest.Item) -> None:
    """Groups for `make test` (`pytest -n 2 --dist loadgroup`): a group runs on one worker.

    A module's tests stay together so its module fixtures are built once; the
    modules that read the session's built dbt warehouse, and those that need the
    prepared Airflow home, share one group each for the same reason. A test
    marked with its own `xdist_group` (a long one) runs apart.
    Marked here, at collection, because xdist reads the marks in its own
    `pytest_collection_modifyitems`.
    """
    if item.get_closest_marker("xdist_group"):
        return
    shared = [name for name in SHARED_SESSION_FIXTURES if name in item.fixturenames]
    group = shared[0] if shared else item.module.__name__
    item.add_marker(pytest.mark.xdist_group(group))
