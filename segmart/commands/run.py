"""`segmart run [--start ISO] [--end ISO]`: the whole pipeline once; exit 0 only when published
(or, for an older as_of, recorded as history)."""

from __future__ import annotations

import argparse
import sys

from segmart.core.contracts import PublishStatus
from segmart.core.settings import Settings
from segmart.core.times import as_of_text, naive_utc
from segmart.pipeline import RunResult, run_pipeline


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--start", help="UTC ISO start (default: each stream's watermark)")
    parser.add_argument("--end", help="UTC ISO end, the run's as_of (default: now)")
    parser.add_argument("--run-id", help="run id (default: generated)")


def main(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    start = naive_utc(args.start) if args.start else None
    end = naive_utc(args.end) if args.end else None
    result = run_pipeline(settings, start=start, end=end, run_id=args.run_id)
    print_run_result(result)
    return 0 if result.succeeded else 1


def print_run_result(result: RunResult) -> None:
    out = sys.stdout if result.succeeded else sys.stderr
    as_of = as_of_text(result.as_of) if result.as_of else None
    print(f"segmart run {result.run_id}: {result.status} (as_of {as_of})")
    if result.extracted or result.gate is not None:
        print(
            f"  extract: {len(result.extracted)} slices, {result.records} records, "
            f"{len(result.failed_slices)} failed"
        )
    collected = result.collected
    if collected.batches or collected.error:
        print(
            f"  collect: {collected.batches} pushed micro-batches, {collected.loaded} loaded, "
            f"{collected.duplicates} duplicates"
        )
    gate = result.gate
    if gate is not None:
        print(
            f"  gate: {len(gate.outcomes)} expectations, {len(gate.failures)} blocking, "
            f"{len(gate.warnings)} warnings"
        )
        for outcome in gate.warnings:
            print(f"  warning: {outcome.describe()}")
    if result.status is not PublishStatus.PUBLISHED:
        print(f"NOT PUBLISHED ({result.status}): {result.reason}", file=out)
        for outcome in gate.failures if gate is not None else []:
            print(f"  blocking: {outcome.describe()}", file=out)
        print(f"  {result.published} is unchanged.", file=out)
    for table, rows in result.tables.items():
        print(f"  {table:<20} {rows:>10} rows")
    if gate is not None and gate.docs_path:
        print(f"Data Docs: {gate.docs_path}")
