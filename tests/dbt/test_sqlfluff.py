"""The dbt models lint clean with sqlfluff (dbt templater, duckdb dialect)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from segmart.core.settings import DEFAULT_DBT_PROJECT_DIR

pytestmark = pytest.mark.slow

SQLFLUFF = Path(sys.executable).with_name("sqlfluff")


def test_models_lint_clean(tmp_path) -> None:
    # The dbt templater compiles the project; its profile needs a warehouse path.
    env = {**os.environ, "SEGMART_WAREHOUSE": str(tmp_path / "lint.duckdb")}
    report_file = tmp_path / "lint.json"
    lint = ["lint", "models", "--processes", "2", "--nofail", "--format", "json"]
    result = subprocess.run(
        [str(SQLFLUFF), *lint, "--write-output", str(report_file)],
        cwd=DEFAULT_DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert report_file.exists(), result.stderr[-2000:]
    report = json.loads(report_file.read_text())
    assert len(report) >= 20, result.stderr[-2000:]
    violations = [
        f"{file['filepath']}:{v['start_line_no']} {v['code']} {v['description']}"
        for file in report
        for v in file["violations"]
    ]
    assert violations == []
