"""`segmart publish [--run-id R] [--as-of ISO]`: publish a recorded gate decision if it passed."""

from __future__ import annotations

import argparse
import sys

from segmart.core.contracts import PublishStatus
from segmart.core.settings import Settings
from segmart.core.times import as_of_text
from segmart.publish import PublishResult, publish


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run-id", help="run whose gate decision to publish (default: latest)")
    parser.add_argument("--as-of", help="as_of to publish (default: the run's gate as_of)")


def main(args: argparse.Namespace) -> int:
    from expectations.gate import load_gate_result

    settings = Settings.from_env()
    gate = load_gate_result(settings, args.run_id)
    if gate is None:
        print(
            "segmart publish: no gate result found in meta.validation_results. "
            "Run `segmart validate` (or `segmart run`) first.",
            file=sys.stderr,
        )
        return 2
    as_of = args.as_of or gate.as_of
    if as_of is None:
        print("segmart publish: the gate result has no as_of; pass --as-of.", file=sys.stderr)
        return 2
    result = publish(settings, gate.run_id, as_of, gate)
    print_publish_result(result)
    return 0 if result.status is PublishStatus.PUBLISHED else 1


def print_publish_result(result: PublishResult) -> None:
    print(f"publish {result.status} (run {result.run_id}, as_of {as_of_text(result.as_of)})")
    print(f"  reason: {result.reason}")
    if result.tables:
        print(f"  {result.published}:")
        for table, rows in result.tables.items():
            print(f"    {table:<20} {rows:>10} rows")
