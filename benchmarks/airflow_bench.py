"""What Airflow costs per run, against `segmart run` of the same intervals (issue 14).

All in one run on the demo world, each bound measured beside what it bounds:

1. one hourly interval after the history is loaded: Airflow's wall time from the
   run's first task start to `publish_segments` done, against `segmart run` of the
   same interval on a copy of the same warehouse (goal <= 1.3x);
2. an hourly backfill of N intervals (default 24): first task start to the last
   publish, against N consecutive `segmart run`s (goal <= 1.3x);
3. two Celery workers pulling one source under its rate limit
   (benchmarks/celery_budget_bench.py, when present).

Airflow runs as `make airflow` runs it (scripts/airflow.sh) on its own home, ports
and warehouse copy, with a schedule that starts after the benchmark, so only the
backfills it creates run. Usage:

    .venv/bin/python benchmarks/airflow_bench.py [--intervals 24] [--keep DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from segmart.local_api import RunningDemoApi, start_demo_api

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DAG_ID = "segmart_pipeline"
LOGIN = {"username": "admin", "password": "admin"}  # scripts/airflow.sh's local login
TERMINAL = {"success", "failed"}


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def quiet_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SEGMART_"))}
    env.update(
        DO_NOT_TRACK="1",
        SCARF_ANALYTICS="false",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        GX_ANALYTICS_ENABLED="false",
        AIRFLOW__USAGE_DATA_COLLECTION__ENABLED="False",
        AIRFLOW__COSMOS__ENABLE_TELEMETRY="False",
    )
    env.update(extra)
    return env


def warehouse_env(api: RunningDemoApi, folder: Path) -> dict[str, str]:
    return quiet_env(
        **api.env(),
        SEGMART_WAREHOUSE=str(folder / "segmart.duckdb"),
        SEGMART_PUBLISHED=str(folder / "published.duckdb"),
    )


def segmart_run(env: dict[str, str], end: datetime) -> float:
    """`segmart run --end END` (each stream from its watermark); its wall time."""
    started = time.monotonic()
    done = subprocess.run(
        [str(BIN / "segmart"), "run", "--end", iso(end)], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"segmart run --end {iso(end)} failed:\n{done.stdout}\n{done.stderr}")
    return time.monotonic() - started


class Airflow:
    """scripts/airflow.sh on free ports; REST calls with the local login."""

    def __init__(self, home: Path, warehouse: Path, api: RunningDemoApi, start_date: datetime):
        self.home = home
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = warehouse_env(api, warehouse) | {
            "AIRFLOW_HOME": str(home),
            "SEGMART_AIRFLOW_PORT": str(self.port),
            "SEGMART_AIRFLOW_WORKER_LOG_PORT": str(free_port()),
            "SEGMART_AIRFLOW_TRIGGER_LOG_PORT": str(free_port()),
            "SEGMART_AIRFLOW_NO_DEMO_API": "1",
            "SEGMART_DEMO_API_PORT": api.base_url.rsplit(":", 1)[1],
            "SEGMART_SCHEDULE": "@hourly",
            # No scheduled run during the benchmark: only its backfills run.
            "SEGMART_START_DATE": iso(start_date),
            "SEGMART_CATCHUP": "false",
        }
        self.process: subprocess.Popen | None = None
        self.headers: dict[str, str] = {}

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        log = (self.home / "bench-airflow.log").open("w")
        self.process = subprocess.Popen(
            ["bash", str(ROOT / "scripts" / "airflow.sh")],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_for("api-server", lambda: requests.get(f"{self.base}/api/v2/monitor/health").ok)
        token = requests.post(f"{self.base}/auth/token", json=LOGIN, timeout=30)
        self.headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        self.wait_for("the DAG parsed", lambda: self.get(f"/api/v2/dags/{DAG_ID}") is not None)
        self.call("PATCH", f"/api/v2/dags/{DAG_ID}", json={"is_paused": False})

    def wait_for(self, what: str, check, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise SystemExit(f"scripts/airflow.sh exited; see {self.home}/bench-airflow.log")
            with contextlib.suppress(requests.RequestException):
                if check():
                    return
            time.sleep(1)  # a server coming up has no event to wait on
        raise SystemExit(f"{what}: not ready after {timeout} s ({self.home}/bench-airflow.log)")

    def get(self, path: str, **params) -> dict | None:
        answer = requests.get(self.base + path, headers=self.headers, params=params, timeout=30)
        return answer.json() if answer.ok else None

    def call(self, method: str, path: str, **kwargs) -> dict:
        answer = requests.request(
            method, self.base + path, headers=self.headers, timeout=60, **kwargs
        )
        if not answer.ok:
            raise SystemExit(f"{method} {path}: {answer.status_code} {answer.text}")
        return answer.json()

    def backfill(self, first_logical: datetime, last_logical: datetime) -> list[dict]:
        """A backfill of hourly runs (logical dates first..last), followed to its end."""
        before = {r["dag_run_id"] for r in self.dag_runs()}
        made = self.call(
            "POST",
            "/api/v2/backfills",
            json={
                "dag_id": DAG_ID,
                "from_date": iso(first_logical),
                "to_date": iso(last_logical),
                "max_active_runs": 1,
                "reprocess_behavior": "none",
            },
        )
        expected = int((last_logical - first_logical) / timedelta(hours=1)) + 1
        runs: list[dict] = []

        def finished() -> bool:
            nonlocal runs
            # The run list carries no backfill id on Airflow 3.3: the backfill's runs are
            # the backfill runs that were not there before it.
            runs = [
                r
                for r in self.dag_runs()
                if r["run_type"] == "backfill" and r["dag_run_id"] not in before
            ]
            return len(runs) == expected and all(r["state"] in TERMINAL for r in runs)

        what = f"backfill {iso(first_logical)}..{iso(last_logical)}"
        self.wait_for(what, finished, timeout=expected * 900)
        # The scheduler marks the backfill complete a loop later; until then Airflow
        # refuses the next backfill of the DAG (409).
        self.wait_for(
            f"{what} marked complete",
            lambda: self.call("GET", f"/api/v2/backfills/{made['id']}")["completed_at"],
        )
        failed = [r["dag_run_id"] for r in runs if r["state"] != "success"]
        if failed:
            raise SystemExit(f"backfill runs did not succeed: {failed} ({self.home})")
        return sorted(runs, key=lambda r: r["logical_date"])

    def dag_runs(self) -> list[dict]:
        listed = self.get(f"/api/v2/dags/{DAG_ID}/dagRuns", limit=1000) or {}
        return listed.get("dag_runs", [])

    def task_instances(self, run_id: str) -> list[dict]:
        listed = self.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances", limit=1000)
        return (listed or {}).get("task_instances", [])

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)


def moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def run_span(tis: list[dict]) -> tuple[datetime, datetime]:
    """First task start to publish_segments done."""
    starts = [s for s in (moment(t["start_date"]) for t in tis) if s]
    publish = next(t for t in tis if t["task_id"] == "publish_segments")
    end = moment(publish["end_date"])
    assert starts and end, f"run without task times: {tis[:3]}"
    return min(starts), end


def task_breakdown(tis: list[dict]) -> str:
    """Task count and summed duration by kind, the serial dbt tail after the producer."""
    kinds: dict[str, list[float]] = defaultdict(list)
    for ti in tis:
        task_id = ti["task_id"]
        kind = task_id.split(".")[0] if task_id.startswith("extract_") else task_id
        if task_id.startswith("dbt."):
            kind = "dbt.producer" if task_id.endswith("dbt_producer_watcher") else "dbt.watchers"
        kinds[kind.rsplit("_", 1)[0] if kind.startswith("extract_") else kind].append(
            ti.get("duration") or 0.0
        )
    parts = [f"{kind} {len(d)}x {sum(d):.0f}s" for kind, d in sorted(kinds.items())]
    producer = next((t for t in tis if t["task_id"].endswith("dbt_producer_watcher")), None)
    publish = next(t for t in tis if t["task_id"] == "publish_segments")
    if producer and producer.get("end_date"):
        tail = moment(publish["end_date"]) - moment(producer["end_date"])  # type: ignore[operator]
        parts.append(f"producer end -> publish {tail.total_seconds():.0f}s")
    return ", ".join(parts)


def ratio_line(what: str, airflow_s: float, bound_s: float, goal: float) -> str:
    ratio = airflow_s / bound_s
    verdict = "meets" if ratio <= goal else "misses"
    return (
        f"{what}: Airflow {airflow_s:.1f} s, segmart run {bound_s:.1f} s -> {ratio:.2f}x "
        f"({verdict} the goal <= {goal}x)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--intervals", type=int, default=24, help="backfill length (24)")
    parser.add_argument("--keep", type=Path, help="work folder to keep (default: temporary)")
    parser.add_argument("--no-celery", action="store_true", help="skip the two-worker part")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="segmart-airflow-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    history_end = now - timedelta(hours=args.intervals + 2)
    print(f"work folder {work}; history to {iso(history_end)}", flush=True)
    results: list[str] = []
    with start_demo_api("--now", iso(now)) as api:
        by_cli, by_airflow = work / "warehouse-cli", work / "warehouse-airflow"
        shutil.rmtree(by_cli, ignore_errors=True)
        shutil.rmtree(by_airflow, ignore_errors=True)
        # The history load is a fixed set-up, not measured: a kept work folder reuses
        # the one it loaded for the same history end.
        history = work / f"warehouse-history-{history_end:%Y%m%dT%H}"
        if not history.is_dir():
            started = time.monotonic()
            segmart_run(warehouse_env(api, history), history_end)
            loaded = time.monotonic() - started
            print(f"history loaded by segmart run in {loaded:.0f} s", flush=True)
        shutil.copytree(history, by_cli)
        shutil.copytree(history, by_airflow)

        cli_env = warehouse_env(api, by_cli)
        ends = [history_end + timedelta(hours=k + 1) for k in range(args.intervals + 1)]
        cli_times = [segmart_run(cli_env, end) for end in ends]
        print("segmart run per interval: " + " ".join(f"{t:.1f}" for t in cli_times), flush=True)

        # A fresh Airflow each time: a kept one remembers an unfinished backfill, and
        # Airflow makes no second backfill of a DAG while one runs.
        shutil.rmtree(work / "airflow-home", ignore_errors=True)
        airflow = Airflow(work / "airflow-home", by_airflow, api, now + timedelta(days=7))
        try:
            airflow.start()
            single = airflow.backfill(history_end, history_end)
            tis = airflow.task_instances(single[0]["dag_run_id"])
            first, last = run_span(tis)
            results.append(
                ratio_line("one hourly interval", (last - first).total_seconds(), cli_times[0], 1.3)
            )
            print(results[-1] + "\n  " + task_breakdown(tis), flush=True)
            if args.intervals:
                runs = airflow.backfill(ends[0], ends[-2])
                spans = [run_span(airflow.task_instances(r["dag_run_id"])) for r in runs]
                total = (max(e for _, e in spans) - min(s for s, _ in spans)).total_seconds()
                results.append(
                    ratio_line(
                        f"{args.intervals}-interval hourly backfill",
                        total,
                        sum(cli_times[1:]),
                        1.3,
                    )
                )
                print(results[-1], flush=True)
        finally:
            airflow.stop()

    celery_bench = ROOT / "benchmarks" / "celery_budget_bench.py"
    if not args.no_celery and celery_bench.exists():
        subprocess.run([sys.executable, str(celery_bench)], check=True)
    print("\n" + "\n".join(results))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
