"""Airflow test fixtures: one prepared AIRFLOW_HOME per session, Airflow in subprocesses.

Airflow reads its configuration once per process, so every Airflow step (DagBag,
`dag.test()`, `airflow standalone`) runs in a child process with AIRFLOW_HOME in
a temporary directory; the test process itself never imports Airflow.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.extract.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "airflow.sh"
HERE = Path(__file__).resolve().parent
# One Fernet key for every home of the session: a home's copy of a prepared metadata
# database must decrypt the Variables and connections its setup stored.
LOGIN = ("admin", "admin")  # what scripts/airflow.sh prints
FERNET_KEY = base64.urlsafe_b64encode(os.urandom(32)).decode()


@dataclass(frozen=True)
class AirflowHome:
    path: Path

    def env(self, **extra: str) -> dict[str, str]:
        """The environment `make airflow` gives Airflow, pointed at this home."""
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("AIRFLOW", "SEGMART_"))
        }
        env.update(
            {
                "AIRFLOW_HOME": str(self.path),
                "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__FERNET_KEY": FERNET_KEY,
                # As scripts/airflow.sh: an import error is its one-line message.
                "AIRFLOW__CORE__DAGBAG_IMPORT_ERROR_TRACEBACKS": "False",
                # A copyable SQLite file per test; the PostgreSQL-backed Airflow overrides this.
                "SEGMART_AIRFLOW_METADATA": "sqlite",
                "AIRFLOW__USAGE_DATA_COLLECTION__ENABLED": "False",
                "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
                "DO_NOT_TRACK": "1",
                "SCARF_ANALYTICS": "false",
                "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
                "GX_ANALYTICS_ENABLED": "false",
                "SEGMART_WAREHOUSE": str(self.path / "warehouse" / "segmart.duckdb"),
                "SEGMART_PUBLISHED": str(self.path / "warehouse" / "published.duckdb"),
            }
        )
        env.update(extra)
        return env

    def python(self, script: str, *args: str, env: dict[str, str], timeout: float = 600) -> dict:
        """Run a helper script of this folder with Airflow configured; return its JSON line."""
        done = subprocess.run(
            [sys.executable, str(HERE / script), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        assert done.returncode == 0 and lines, (
            f"{script} exited {done.returncode}\n--- stdout\n{done.stdout[-6000:]}"
            f"\n--- stderr\n{done.stderr[-6000:]}"
        )
        return json.loads(lines[-1])


@pytest.fixture(scope="session")
def prepared_airflow_home(tmp_path_factory: pytest.TempPathFactory) -> AirflowHome:
    """`scripts/airflow.sh` setup only: manifest, `airflow db migrate`, pools, connections.

    Read-only use (parsing the DAG); a test that runs the DAG takes `airflow_home`.
    """
    home = AirflowHome(tmp_path_factory.mktemp("airflow_home"))
    done = subprocess.run(
        ["bash", str(SCRIPT)],
        env=home.env(SEGMART_AIRFLOW_SETUP_ONLY="1"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"airflow setup failed:\n{done.stdout}\n{done.stderr}"
    return home


@pytest.fixture
def airflow_home(prepared_airflow_home: AirflowHome, tmp_path: Path) -> AirflowHome:
    """A copy of the prepared home with its own metadata database.

    Runs one test creates (a dag.test of 2026-05-30, a backfill) must not change
    what the next test sees: the UI's backfill dry run skips logical dates that
    already have a run.
    """
    home = AirflowHome(tmp_path / "airflow_home")
    home.path.mkdir()
    # airflow.cfg holds the template's absolute paths: Airflow writes a new one for this home.
    for name in ("airflow.db", "simple_auth_manager_passwords.json"):
        shutil.copy2(prepared_airflow_home.path / name, home.path / name)
    return home


def wait_until(check, what: str, log: Path, timeout: float = 240) -> None:
    """Poll a readiness check (a server coming up has no event to wait on)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    pytest.fail(f"{what} not ready after {timeout} s; log:\n{log.read_text()[-4000:]}")


def start_airflow_script(
    home: AirflowHome, log: Path, **extra: str
) -> tuple[subprocess.Popen, str, dict[str, str]]:
    """`scripts/airflow.sh` on free ports in a session of its own (stop_airflow_script
    checks it empties); returns it, its base URL and its environment."""
    port = free_port()
    env = home.env(
        SEGMART_AIRFLOW_PORT=str(port),
        SEGMART_AIRFLOW_WORKER_LOG_PORT=str(free_port()),
        SEGMART_AIRFLOW_TRIGGER_LOG_PORT=str(free_port()),
        **extra,
    )
    with log.open("w") as out:
        process = subprocess.Popen(
            ["bash", str(SCRIPT)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process, f"http://127.0.0.1:{port}", env


def stop_airflow_script(process: subprocess.Popen, grace: float = 90) -> None:
    """SIGTERM to the script alone, as a service manager sends it; every Airflow process
    it started must then be gone (seen before: a scheduler outlived the script).

    They all share the script's session (its Airflow runs in a process group of its own).
    """
    process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        process.poll()  # reap the script, or its session never looks empty
        if not session_members(process.pid):
            return
        time.sleep(0.5)  # non-children's exits have no event to wait on
    left = session_members(process.pid)
    while members := session_members(process.pid):
        # By group, so that children forked meanwhile go too.
        for pid in members:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(os.getpgid(pid), signal.SIGKILL)
        process.poll()
    process.wait()
    pytest.fail(f"{len(left)} processes outlived SIGTERM to scripts/airflow.sh by {grace} s")


def session_members(session: int) -> list[int]:
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # pid (comm) state ppid pgrp session ...; comm may hold spaces.
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == session and fields[0] != "Z":
                members.append(int(stat.parent.name))
    return members
