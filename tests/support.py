"""Test helpers: the real demo API on loopback (see segmart/local_api.py)."""

from demo_api.traffic import SOURCES
from extract.pull import rate_budget_variable
from segmart.local_api import RunningDemoApi as DemoApi
from segmart.local_api import start_demo_api

FROZEN_NOW = "2026-06-01T00:00:00Z"
# The client budgets of the packaged configs match the demo API's default limits
# (esp: 10 requests/s); tests that run the API with fast or no limits lift the
# client budget the same way (`SEGMART_<SOURCE>_RATE_LIMIT=0`).
NO_CLIENT_BUDGET = {rate_budget_variable(source): "0" for source in SOURCES}

__all__ = ["SOURCES", "FROZEN_NOW", "NO_CLIENT_BUDGET", "DemoApi", "start_demo_api"]
