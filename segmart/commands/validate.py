"""`segmart validate`: the quality gate on the latest loaded slices and the current marts.

The decision is recorded in `meta.validation_results` under a new run id, so
`segmart publish` (which publishes the latest gate decision) can follow it.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from segmart.core import warehouse
from segmart.core.settings import Settings


def latest_extract_run(settings: Settings) -> str | None:
    con = warehouse.connect(settings.warehouse)
    try:
        row = con.execute(
            "select run_id from meta.extract_runs order by finished_at desc nulls last limit 1"
        ).fetchone()
    finally:
        con.close()
    return row[0] if row else None


def marts_as_of(settings: Settings) -> datetime | None:
    con = warehouse.connect(settings.warehouse)
    try:
        row = con.execute("select max(as_of) from marts.customer_rfm").fetchone()
    except Exception:  # no marts yet: the caller asks for --as-of
        return None
    finally:
        con.close()
    return row[0] if row else None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as-of", help="UTC ISO as_of of the marts (default: marts' as_of)")
    parser.add_argument(
        "--extract-run", help="extract run whose slices the raw suites check (default: latest)"
    )


def main(args: argparse.Namespace) -> int:
    from expectations.gate import run_marts_gate, run_raw_gate, to_naive_utc

    settings = Settings.from_env()
    run_id = f"validate-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    as_of = to_naive_utc(args.as_of) if args.as_of else marts_as_of(settings)
    if as_of is None:
        print(
            "segmart validate: no marts.customer_rfm to read as_of from; "
            "run `segmart transform` first or pass --as-of.",
            file=sys.stderr,
        )
        return 2
    extract_run = args.extract_run or latest_extract_run(settings)
    gate = run_marts_gate(settings, run_id, as_of)
    if extract_run:
        con = warehouse.connect(settings.warehouse)
        try:
            slices = [
                dict(zip(("source", "stream", "interval_start", "interval_end"), row, strict=True))
                for row in con.execute(
                    """
                    select distinct source, stream, interval_start, interval_end
                    from meta.extract_runs where run_id = ? and status = 'success'
                    """,
                    [extract_run],
                ).fetchall()
            ]
        finally:
            con.close()
        if slices:
            gate = run_raw_gate(settings, run_id, slices).merged(gate)
    print(f"segmart validate {run_id}: as_of {as_of}, extract run {extract_run or '(none)'}")
    for outcome in gate.outcomes:
        if outcome.success is not True:
            print(f"  {outcome.describe()}")
    verdict = "PASSED" if gate.passed else "BLOCKED"
    print(f"{verdict}: {gate.reason()}")
    if gate.docs_path:
        print(f"Data Docs: {gate.docs_path}")
    return 0 if gate.passed else 1
