from __future__ import annotations

import pytest

from tests.collect.support import Collector, start_collector


@pytest.fixture
def collector(tmp_path) -> Collector:
    """A collector over its own warehouse folder; micro-batch files close at the stop."""
    running = start_collector(tmp_path)
    yield running
    running.stop()
