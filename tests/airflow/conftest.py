"""Airflow test fixtures: one prepared AIRFLOW_HOME per session, Airflow in subprocesses.

Airflow reads its configuration once per process, so every Airflow step (DagBag,
`dag.test()`, `airflow standalone`) runs in a child process with AIRFLOW_HOME in
a temporary directory; the test process itself never imports Airflow.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "airflow.sh"
HERE = Path(__file__).resolve().parent
# One Fernet key for every home of the session: a home's copy of a prepared metadata
# database must decrypt the Variables and connections its setup stored.
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
