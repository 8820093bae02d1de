from __future__ import annotations

import pytest

from tests.collect.support import Collector, start_collector


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> Collector:
    """One collector for a module's tests that only send and read answers and counters."""
    running = start_collector(tmp_path_factory.mktemp("collector"))
    yield running
    running.stop()


@pytest.fixture
def collector(tmp_path) -> Collector:
    """A collector over its own warehouse folder; micro-batch files close at the stop."""
    running = start_collector(tmp_path)
    yield running
    running.stop()
