from __future__ import annotations

import pytest

from demo_api.world import World
from tests.support import FROZEN_NOW

STREAMS = [
    ("shop", "customers"),
    ("shop", "orders"),
    ("shop", "products"),
    ("crm", "contacts"),
    ("esp", "email_events"),
    ("web", "events"),
]


@pytest.fixture(scope="session")
def world() -> World:
    """The world the session `demo_api` fixture serves (seed 7, 500 customers, frozen now)."""
    return World(seed=7, customers=500, now=FROZEN_NOW)
