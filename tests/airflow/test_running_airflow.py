"""`make airflow` as people use it: PostgreSQL, LocalExecutor, a running scheduler.

On SQLite, Airflow's own writes made `airflow backfill create` fail with "database is
locked" (a 49-run backfill 5 times out of 5) and the UI's backfill dialog needed
retries. Here every backfill, by the CLI and by the UI, is made at the first try
while the schedule's run writes, and every way a person starts a run ends in a
publish: the schedule, the UI's Trigger button with and without a logical date, the
CLI trigger and the REST API trigger (the last three without a logical date, so
without a data interval). `airflow dags test` and a backfill's runs in order are
tests/airflow/test_pipeline_runs.py.

One Airflow for the module: its start-up (PostgreSQL, migrations, parsing) costs
minutes on 2 cores, and the tests follow one story in order on one warehouse.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
import requests

from segmart.core.settings import Settings
from segmart.pipeline import run_pipeline
from tests.airflow.browser import CHROMIUM, CHROMIUM_ARGS, fill_backfill_dialog, log_in
from tests.airflow.conftest import (
    LOGIN,
    AirflowHome,
    free_port,
    start_airflow_script,
    stop_airflow_script,
    wait_until,
)
from tests.support import FROZEN_NOW, NO_CLIENT_BUDGET, start_demo_api

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("running_airflow"),
    # The first test also pays the module's Airflow start-up (PostgreSQL, migrations).
    pytest.mark.timeout(1800),
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium (.ci/run installs it)"
    ),
]

DAG = "segmart_pipeline"
WORLD = ("--seed", "7", "--customers", "150", "--now", FROZEN_NOW)
FAST = ("--rate-limit", "shop=1000,crm=1000,esp=1000,web=1000")
HISTORY_START = datetime(2024, 1, 1, tzinfo=UTC)
# Loaded before Airflow starts (by `segmart run`'s code), so each run pulls one interval.
HISTORY_END = datetime(2026, 5, 30, tzinfo=UTC)
TERMINAL = {"success", "failed"}
ATTEMPTS = 5


@dataclass
class LiveAirflow:
    base: str
    env: dict[str, str]  # the CLI's, as README has a person export it
    log: Path
    warehouse: Path
    token: str = ""

    def headers(self) -> dict[str, str]:
        if not self.token:
            self.token = requests.post(
                f"{self.base}/auth/token",
                json={"username": LOGIN[0], "password": LOGIN[1]},
                timeout=30,
            ).json()["access_token"]
        return {"Authorization": f"Bearer {self.token}"}

    def api(self, method: str, path: str, **kwargs) -> dict:
        response = requests.request(
            method, self.base + path, headers=self.headers(), timeout=60, **kwargs
        )
        assert response.ok, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [str(Path(sys.executable).parent / "airflow"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        output = done.stdout + done.stderr
        assert done.returncode == 0, f"airflow {' '.join(args)} exited {done.returncode}:\n{output}"
        return output

    def runs(self, **params: str) -> list[dict]:
        params = {"limit": "200", "order_by": "run_after", **params}
        return self.api("GET", f"/api/v2/dags/{DAG}/dagRuns", params=params)["dag_runs"]

    def backfills(self) -> list[dict]:
        return self.api("GET", "/api/v2/backfills", params={"dag_id": DAG, "limit": "100"})[
            "backfills"
        ]

    def publish_state(self, run_id: str) -> str:
        path = f"/api/v2/dags/{DAG}/dagRuns/{run_id}/taskInstances/publish_segments"
        return self.api("GET", path)["state"]

    def follow_until(
        self, select: Callable[[], list[dict]], count: int, timeout: float = 120
    ) -> list[dict]:
        """Poll until `select` finds `count` runs, in any state."""
        deadline = time.monotonic() + timeout
        while len(runs := select()) < count:
            if time.monotonic() > deadline:
                pytest.fail(f"{count} runs not made after {timeout} s: {runs}")
            time.sleep(1)
        return runs

    def follow(self, select: Callable[[], list[dict]], count: int, timeout: float) -> list[dict]:
        """Poll real run states until `count` runs are terminal (no fixed sleeps)."""
        deadline = time.monotonic() + timeout
        runs: list[dict] = []
        while time.monotonic() < deadline:
            runs = select()
            if len(runs) == count and all(run["state"] in TERMINAL for run in runs):
                return runs
            time.sleep(2)
        states = [(run["run_id"], run["state"]) for run in runs]
        pytest.fail(f"runs not done after {timeout} s: {states}\n{self.log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveAirflow]:
    root = tmp_path_factory.mktemp("live_airflow")
    # As root, PostgreSQL runs as user postgres, which must reach its data directory.
    for folder in (root, *root.parents):
        with contextlib.suppress(OSError):
            folder.chmod(folder.stat().st_mode | 0o055)
    api = start_demo_api(*WORLD, *FAST)
    home = AirflowHome(root / "home")
    home.path.mkdir()
    warehouse = home.path / "warehouse"
    settings = Settings.from_env(
        {
            **api.env(),
            **NO_CLIENT_BUDGET,
            "SEGMART_WAREHOUSE": str(warehouse / "segmart.duckdb"),
            "SEGMART_PUBLISHED": str(warehouse / "published.duckdb"),
        }
    )
    assert run_pipeline(settings, start=HISTORY_START, end=HISTORY_END).status == "published"
    pg_port = free_port()
    log = root / "airflow.log"
    process, base, env = start_airflow_script(
        home,
        log,
        SEGMART_AIRFLOW_METADATA="postgres",
        SEGMART_POSTGRES_PORT=str(pg_port),
        SEGMART_AIRFLOW_NO_DEMO_API="1",
        SEGMART_DEMO_API_PORT=api.base_url.rsplit(":", 1)[1],
        SEGMART_SCHEDULE="@hourly",
        # Before every date the tests use: a run whose logical date is before the DAG's
        # start_date gets no tasks and "succeeds" empty. Unpausing makes the schedule's
        # run for the latest hour (catchup off).
        SEGMART_START_DATE="2026-05-01T00:00:00Z",
        **NO_CLIENT_BUDGET,
    )
    try:
        wait_until(
            lambda: requests.get(f"{base}/api/v2/monitor/health", timeout=5).ok,
            "api-server",
            log,
            timeout=600,
        )
        url = subprocess.run(
            ["bash", "scripts/postgres.sh", "url", str(home.path / "postgres"), str(pg_port)],
            cwd=Path(__file__).resolve().parents[2],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        cli_env = {**env, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url}
        airflow = LiveAirflow(base=base, env=cli_env, log=log, warehouse=warehouse)
        wait_until(
            lambda: requests.get(f"{base}/api/v2/dags/{DAG}", headers=airflow.headers()).ok,
            "segmart_pipeline parsed by the dag-processor",
            log,
        )
        airflow.api("PATCH", f"/api/v2/dags/{DAG}", json={"is_paused": False})
        yield airflow
    finally:
        stop_airflow_script(process)
        api.stop()


def publish_log(warehouse: Path) -> list[tuple[str, str]]:
    """(as_of, status) of every publish decision, in order (read while no run writes)."""
    con = duckdb.connect(str(warehouse / "segmart.duckdb"), read_only=True)
    try:
        return con.execute(
            "select strftime(as_of, '%Y-%m-%dT%H:%M'), status from meta.publish_log "
            "order by decided_at"
        ).fetchall()
    finally:
        con.close()


def backfill_by_cli(airflow: LiveAirflow, start: str, end: str) -> dict:
    """README's command, at the first try; the backfill it made."""
    before = {item["id"] for item in airflow.backfills()}
    output = airflow.cli(
        "backfill", "create", "--dag-id", DAG, "--from-date", start, "--to-date", end,
        "--max-active-runs", "1",
    )  # fmt: skip
    assert "database is locked" not in output.lower(), output
    made = [item for item in airflow.backfills() if item["id"] not in before]
    assert len(made) == 1, made
    return made[0]


def backfill_runs(airflow: LiveAirflow, start: str, end: str) -> list[dict]:
    # "Z", not "+00:00": a "+" in a query string is a space.
    start, end = (moment.replace("+00:00", "Z") for moment in (start, end))
    return airflow.runs(run_type="backfill", logical_date_gte=start, logical_date_lte=end)


def cancel(airflow: LiveAirflow, backfill: dict) -> None:
    """Cancel a backfill made only to show it can be made: its queued runs fail, and a run
    the scheduler started meanwhile is failed too, so that only the backfill under
    test runs."""
    airflow.api("PUT", f"/api/v2/backfills/{backfill['id']}/cancel")
    for run in backfill_runs(airflow, backfill["from_date"], backfill["to_date"]):
        if run["state"] not in TERMINAL:
            path = f"/api/v2/dags/{DAG}/dagRuns/{run['dag_run_id']}"
            airflow.api("PATCH", path, json={"state": "failed"})


def test_backfills_are_made_at_the_first_try_while_the_scheduled_run_runs(
    live: LiveAirflow,
) -> None:
    """Unpausing made the schedule's run (the latest hour); while its tasks write, five
    backfills of 3 and five of 49 runs by the CLI (README's command) and five by the
    UI's dialog, each made at the first try. Airflow runs one backfill of a DAG at a
    time, so each is cancelled before the next: that a backfill's runs publish in
    order is tests/airflow/test_pipeline_runs.py's backfill test."""
    from playwright.sync_api import sync_playwright

    [scheduled] = live.follow_until(lambda: live.runs(run_type="scheduled"), 1)
    assert scheduled["state"] not in TERMINAL, scheduled
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 2400})
            log_in(page, live.base)
            every_model_is_a_task(page, live)
            for attempt in range(ATTEMPTS):
                day = 20 + attempt
                three = backfill_by_cli(live, f"2026-05-{day}T00:00:00", f"2026-05-{day}T02:00:00")
                assert len(backfill_runs(live, three["from_date"], three["to_date"])) == 3
                cancel(live, three)
                # 49 hourly runs: two days and the midnight after.
                day = 2 + 3 * attempt
                many = backfill_by_cli(
                    live, f"2026-05-{day:02d}T00:00:00", f"2026-05-{day + 2:02d}T00:00:00"
                )
                assert len(backfill_runs(live, many["from_date"], many["to_date"])) == 49
                cancel(live, many)
            for attempt in range(ATTEMPTS):
                backfill_in_ui(page, live, f"2026/05/{25 + attempt:02d}", attempt)
        finally:
            browser.close()
    run = finished(live, scheduled["dag_run_id"])
    assert publish_log(live.warehouse)[-1] == (run["data_interval_end"][:16], "published")


def test_every_way_to_trigger_a_run_ends_in_a_publish(live: LiveAirflow) -> None:
    """The UI's Trigger with the logical date it offers (now: the run gets the latest
    hour as its data interval) and with it cleared, README's CLI trigger and the REST
    API's: the last three have no logical date and cover every stream from its
    watermark to the run's run_after, its as_of. Made at once, they run one at a time
    (max_active_runs), in the order made."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 2400})
            log_in(page, live.base)
            with_date = trigger_in_ui(page, live, clear_logical_date=False)
            without = trigger_in_ui(page, live, clear_logical_date=True)
        finally:
            browser.close()
    output = live.cli("dags", "trigger", DAG)
    [by_cli] = [r["dag_run_id"] for r in live.runs(run_type="manual") if r["dag_run_id"] in output]
    by_rest = live.api("POST", f"/api/v2/dags/{DAG}/dagRuns", json={"logical_date": None})
    assert by_rest["logical_date"] is None, by_rest
    runs = [
        finished(live, run_id) for run_id in (with_date, without, by_cli, by_rest["dag_run_id"])
    ]
    decisions = publish_log(live.warehouse)[-4:]
    assert [status for _, status in decisions] == ["published"] * 4, decisions
    # With a logical date, as_of is the data interval's end; without, the run_after.
    expected = [runs[0]["data_interval_end"][:16]] + [run["run_after"][:16] for run in runs[1:]]
    assert [as_of for as_of, _ in decisions] == expected


def finished(live: LiveAirflow, run_id: str) -> dict:
    """Follow a run to its end: it succeeded and published."""

    def select() -> list[dict]:
        return [live.api("GET", f"/api/v2/dags/{DAG}/dagRuns/{run_id}")]

    [run] = live.follow(select, 1, timeout=600)
    assert run["state"] == "success", run
    assert live.publish_state(run_id) == "success"
    return run


def backfill_in_ui(page, live: LiveAirflow, day: str, attempt: int) -> None:
    """The Trigger dialog's Backfill tab, once: no retry."""
    page.goto(f"{live.base}/dags/{DAG}", timeout=60_000)
    dialog = fill_backfill_dialog(page, day, day, "00:00", "02:00", runs=3)
    before = {item["id"] for item in live.backfills()}
    dialog.get_by_role("button", name="Run Backfill").click()
    # Made: the dialog closes (its "Backfill generated" toast may be one of several).
    # Refused: it stays open with the error.
    try:
        dialog.wait_for(state="hidden", timeout=90_000)
    except Exception as error:
        raise AssertionError(f"attempt {attempt}: {dialog.inner_text()}") from error
    deadline = time.monotonic() + 30
    while not (made := [item for item in live.backfills() if item["id"] not in before]):
        assert time.monotonic() < deadline, f"attempt {attempt}: the dialog closed, no backfill"
        time.sleep(0.5)
    assert len(made) == 1, (attempt, made)
    assert len(backfill_runs(live, made[0]["from_date"], made[0]["to_date"])) == 3
    cancel(live, made[0])


def trigger_in_ui(page, live: LiveAirflow, clear_logical_date: bool) -> str:
    """The DAG page's Trigger button; the id of the run it made."""
    before = {run["dag_run_id"] for run in live.runs(run_type="manual")}
    page.goto(f"{live.base}/dags/{DAG}", timeout=60_000)
    page.get_by_role("button", name="Trigger").first.click()
    dialog = page.get_by_role("dialog")
    # The dialog opens with a logical date of now: a person keeps it or clears it.
    if clear_logical_date:
        dialog.get_by_test_id("datetime-input").click()
        # Clearing the date clears the time too.
        page.get_by_role("button", name="Clear start date").click()
        # Clicking outside the picker closes it (its popover covers what lies below it).
        dialog.get_by_text("Logical Date", exact=True).click()
        page.get_by_placeholder("YYYY/MM/DD").wait_for(state="hidden", timeout=10_000)
    dialog.get_by_role("button", name="Trigger").click()
    dialog.wait_for(state="hidden", timeout=90_000)
    made = [run for run in live.runs(run_type="manual") if run["dag_run_id"] not in before]
    assert len(made) == 1, made
    assert (made[0]["logical_date"] is None) == clear_logical_date, made[0]
    return made[0]["dag_run_id"]


def every_model_is_a_task(page, live: LiveAirflow) -> None:
    """The DAG page shows each source's group, the gates, and every dbt model and test."""
    assert f"login: {LOGIN[0]} / {LOGIN[1]}" in live.log.read_text()
    page.goto(f"{live.base}/dags/{DAG}", timeout=60_000)
    page.get_by_text("dbt", exact=True).first.wait_for(timeout=60_000)
    for group in ("extract_shop", "raw_gate", "marts_gate", "publish_segments"):
        assert page.get_by_text(group, exact=True).count() >= 1, group
    page.get_by_role("button", name="Expand all task groups").click()
    for task in ("dbt_producer_watcher", "stg_shop__orders", "int_customer_records_resolved_run"):
        page.get_by_text(task, exact=True).first.wait_for(timeout=30_000)
    # The lease around dbt -> publish shows as a setup and a teardown task.
    for task in ("claim_marts", "release_marts"):
        assert page.get_by_text(task, exact=True).count() >= 1, task
