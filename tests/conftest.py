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
