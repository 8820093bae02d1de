"""The layers contract in pyproject.toml holds, and `lint-imports` catches a planted breach.

Each breach is planted in a copy of the packages, so the repository is never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("segmart", "extract", "expectations", "demo_api")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_copy(tmp_path: Path, plant: tuple[str, str] | None = None) -> subprocess.CompletedProcess:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    if plant is not None:
        module, line = plant
        (tmp_path / module).write_text(f'"""A planted breach."""\n\n{line}\n')
    # The copy comes first on the path, ahead of the installed project.
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_repository_keeps_the_contract(tmp_path):
    result = lint_copy(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "breach"),
    [
        # The core imports no room.
        (
            "segmart/core/planted.py",
            "import segmart.pipeline",
            "segmart.core.planted -> segmart.pipeline",
        ),
        (
            "segmart/core/planted.py",
            "import extract",
            "segmart.core.planted -> extract",
        ),
        # Rooms share only the core, never each other.
        (
            "extract/planted.py",
            "import expectations.gate",
            "extract.planted -> expectations.gate",
        ),
        # A room never reaches up into the application.
        (
            "expectations/planted.py",
            "import segmart.cli",
            "expectations.planted -> segmart.cli",
        ),
    ],
)
def test_a_wrong_direction_import_breaks_the_contract(tmp_path, module, line, breach):
    result = lint_copy(tmp_path, (module, line))
    assert result.returncode != 0
    assert "BROKEN" in result.stdout and breach in result.stdout, result.stdout
