"""`segmart manifest`: `dbt parse` into the dbt project's target/manifest.json.

The Airflow DAG renders every dbt model and test from this file, so parsing the
DAG never runs dbt; `make airflow` and docker-compose build it before Airflow starts.
"""

from __future__ import annotations

import argparse

from segmart.core.settings import Settings
from segmart.transform import build_manifest


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options: the project is SEGMART_DBT_PROJECT_DIR (default dbt_project/)."""


def main(args: argparse.Namespace) -> int:
    print(build_manifest(Settings.from_env()))
    return 0
