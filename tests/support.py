"""Test helpers: the real demo API on loopback (see segmart/local_api.py)."""

from segmart.local_api import DEMO_SOURCES as SOURCES
from segmart.local_api import RunningDemoApi as DemoApi
from segmart.local_api import start_demo_api

FROZEN_NOW = "2026-06-01T00:00:00Z"

__all__ = ["SOURCES", "FROZEN_NOW", "DemoApi", "start_demo_api"]
