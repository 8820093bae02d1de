"""`segmart transform [--as-of ISO] [--select ...] [--full-refresh]`: dbt build, in-process.

Builds the dbt project in SEGMART_DBT_PROJECT_DIR (default: the packaged
dbt_project/) against SEGMART_WAREHOUSE.
"""

from __future__ import annotations

import argparse

from segmart.core.settings import Settings
from segmart.core.times import parse_utc
from segmart.transform import dbt_build, latest_interval_end


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = __doc__.split("\n\n", 1)[1].strip()
    parser.add_argument(
        "--as-of",
        help="UTC ISO timestamp (default: the latest extracted interval end in raw)",
    )
    parser.add_argument("--select", nargs="+", help="dbt selection, e.g. marts.customer_rfm+")
    parser.add_argument("--full-refresh", action="store_true", help="rebuild incremental models")


def main(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    as_of = parse_utc(args.as_of) if args.as_of else latest_interval_end(settings)
    result = dbt_build(settings, as_of, select=args.select, full_refresh=args.full_refresh)
    if result.error is not None:
        print(f"segmart transform: as_of {result.as_of}: {result.error}")
        return 1
    print(
        f"segmart transform: as_of {result.as_of}: {result.models_built} models built, "
        f"{result.tests_run} tests, {len(result.failed_tests)} failed, "
        f"{len(result.errored_nodes)} errored or skipped"
    )
    for test in result.failed_tests:
        print(f"  {test.status}: {test.unique_id} ({test.failures} failing rows)")
    errors = [n for n in result.nodes if n.status == "error" and n.resource_type == "model"]
    for node in errors:
        print(f"  error: {node.name}: {node.message}")
    if any("out of sync" in str(node.message) for node in errors):
        # An upgrade changed an incremental model's columns (on_schema_change: fail).
        print(
            "  an incremental model's columns changed since this warehouse was built: "
            "run `segmart transform --full-refresh` once"
        )
    return 0 if result.success else 1
