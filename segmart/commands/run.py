"""`segmart run [--start ISO] [--end ISO]`: the whole pipeline once; exit 0 only when published
(or, for an older as_of, recorded as history)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from segmart.core.settings import Settings, SettingsError
from segmart.pipeline import SUCCEEDED, _naive, run_pipeline


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--start", help="UTC ISO start (default: each stream's watermark)")
    parser.add_argument("--end", help="UTC ISO end, the run's as_of (default: now)")
    parser.add_argument("--run-id", help="run id (default: generated)")


def main(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    try:
        start = _naive(args.start) if args.start else None
        end = _naive(args.end) if args.end else None
    except ValueError as error:
        raise SettingsError(f"--start/--end must be ISO 8601 timestamps: {error}") from error
    result = run_pipeline(settings, start=start, end=end, run_id=args.run_id)
    print_run_result(result)
    return 0 if result["status"] in SUCCEEDED else 1


def print_run_result(result: dict[str, Any]) -> None:
    out = sys.stdout if result["status"] in SUCCEEDED else sys.stderr
    print(f"segmart run {result['run_id']}: {result['status']} (as_of {result.get('as_of')})")
    if "extract" in result:
        e = result["extract"]
        print(f"  extract: {e['slices']} slices, {e['records']} records, {e['failed']} failed")
    if "gate" in result:
        g = result["gate"]
        print(
            f"  gate: {g['expectations']} expectations, {g['failures']} blocking, "
            f"{g['warnings']} warnings"
        )
    for line in result.get("warnings", []):
        print(f"  warning: {line}")
    if result["status"] != "published":
        print(f"NOT PUBLISHED ({result['status']}): {result['reason']}", file=out)
        for line in result.get("failures", []):
            print(f"  blocking: {line}", file=out)
        print(f"  {result.get('published', 'the published database')} is unchanged.", file=out)
    for table, rows in (result.get("tables") or {}).items():
        print(f"  {table:<20} {rows:>10} rows")
    if result.get("docs_path"):
        print(f"Data Docs: {result['docs_path']}")
