"""`segmart run` end to end: demo API on loopback, real extract, dbt, GX and publish.

One warehouse lives through a sequence of runs, as it would in production:
clean run -> later clean run -> backfill of an older as_of -> bad-orders run.
Runs go through the command line's `main` in this process (exit code, stdout,
stderr), so GX and dbt are imported once: a child process per run costs ~15 s of
imports alone.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from segmart import cli
from segmart.core import warehouse
from tests.gate.synthetic import settings_for
from tests.support import FROZEN_NOW, NO_CLIENT_BUDGET

pytestmark = pytest.mark.slow

WORLD = ("--seed", "7", "--customers", "100", "--now", FROZEN_NOW)
UNLIMITED = ("--rate-limit", "shop=0,crm=0,esp=0,web=0")
FIRST_END = datetime(2026, 4, 1)
SECOND_END = datetime(2026, 5, 1)
BACKFILL_END = datetime(2026, 3, 1)


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str


def segmart_run(tmp: Path, api, *args: str) -> Finished:
    settings = settings_for(tmp)
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {**api.env(), **NO_CLIENT_BUDGET}.items():
            patch.setenv(name, value)
        patch.setenv("SEGMART_WAREHOUSE", str(settings.warehouse))
        patch.setenv("SEGMART_PUBLISHED", str(settings.published))
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["run", *args])
    return Finished(code, out.getvalue(), err.getvalue())


def published_as_of(tmp: Path):
    if not settings_for(tmp).published.exists():
        return None
    con = duckdb.connect(str(settings_for(tmp).published), read_only=True)
    try:
        return con.execute("select as_of from publish_info").fetchone()[0]
    finally:
        con.close()


@pytest.fixture(scope="module")
def history(tmp_path_factory, demo_api_module_factory):
    """Runs the sequence once; each test reads one part of what happened."""
    tmp = tmp_path_factory.mktemp("pipeline")
    clean = demo_api_module_factory(*WORLD, *UNLIMITED)
    bad = demo_api_module_factory(*WORLD, *UNLIMITED, "--scenario", "bad-orders")
    steps: dict = {}
    steps["first"] = segmart_run(
        tmp, clean, "--start", "2026-01-01T00:00:00Z", "--end", "2026-04-01T00:00:00Z"
    )
    steps["first_as_of"] = published_as_of(tmp)
    steps["second"] = segmart_run(tmp, clean, "--end", "2026-05-01T00:00:00Z")
    steps["second_as_of"] = published_as_of(tmp)
    steps["backfill"] = segmart_run(
        tmp, clean, "--start", "2026-02-01T00:00:00Z", "--end", "2026-03-01T00:00:00Z"
    )
    steps["backfill_as_of"] = published_as_of(tmp)
    steps["before_bad"] = settings_for(tmp).published.read_bytes()
    steps["bad"] = segmart_run(
        tmp, bad, "--start", "2025-06-01T00:00:00Z", "--end", "2026-05-15T00:00:00Z"
    )
    steps["after_bad"] = settings_for(tmp).published.read_bytes()
    # Writable, like dbt's handle on the file that this process still holds.
    con = warehouse.connect(settings_for(tmp).warehouse)
    try:
        steps["log"] = con.execute(
            "select as_of, status, reason from meta.publish_log order by decided_at"
        ).fetchall()
    finally:
        con.close()
    return steps


@pytest.fixture(scope="module")
def demo_api_module_factory():
    from tests.support import start_demo_api

    started = []

    def start(*args: str):
        api = start_demo_api(*args)
        started.append(api)
        return api

    yield start
    for api in started:
        api.stop()


def test_clean_data_publishes_with_tables_and_data_docs(history):
    first = history["first"]
    assert first.returncode == 0, first.stdout + first.stderr
    assert "published" in first.stdout
    assert "customer_rfm" in first.stdout and "Data Docs:" in first.stdout
    assert history["first_as_of"] == FIRST_END


def test_a_later_clean_run_publishes_the_newer_as_of(history):
    second = history["second"]
    assert second.returncode == 0, second.stdout + second.stderr
    assert history["second_as_of"] == SECOND_END


def test_a_backfill_of_an_older_as_of_leaves_current_tables_on_the_newer_one(history):
    backfill = history["backfill"]
    assert backfill.returncode == 0, backfill.stdout + backfill.stderr
    assert history["backfill_as_of"] == SECOND_END
    assert (BACKFILL_END, "history_only") in [(r[0], r[1]) for r in history["log"]]


def test_bad_orders_block_and_leave_the_published_file_byte_identical(history):
    bad = history["bad"]
    assert bad.returncode != 0
    assert "order_total_non_negative" in bad.stderr and "order_has_customer" in bad.stderr
    assert "unexpected" in bad.stderr
    assert history["after_bad"] == history["before_bad"]
    as_of, status, reason = history["log"][-1]
    assert (as_of, status) == (datetime(2026, 5, 15), "blocked")
    assert "order_total_non_negative" in reason and "order_has_customer" in reason
