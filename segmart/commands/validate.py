"""`segmart validate`: the quality gate on the slices not yet gated and on the current marts.

The decision is recorded in `meta.validation_results` under a new run id, so
`segmart publish` (which publishes the latest gate decision) can follow it.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from segmart.core import warehouse
from segmart.core.settings import Settings
from segmart.core.times import naive_utc, now_utc


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


def main(args: argparse.Namespace) -> int:
    from segmart.pipeline import marts_gate_step, raw_gate_step

    settings = Settings.from_env()
    run_id = f"validate-{now_utc():%Y%m%dT%H%M%SZ}"
    as_of = naive_utc(args.as_of) if args.as_of else marts_as_of(settings)
    if as_of is None:
        print(
            "segmart validate: no marts.customer_rfm to read as_of from; "
            "run `segmart transform` first or pass --as-of.",
            file=sys.stderr,
        )
        return 2
    raw = raw_gate_step(settings, run_id)
    gate = raw.merged(marts_gate_step(settings, run_id, as_of, dbt=None))
    print(f"segmart validate {run_id}: as_of {as_of}, raw slices gated: {len(raw.outcomes) > 0}")
    for outcome in gate.outcomes:
        if outcome.success is not True:
            print(f"  {outcome.describe()}")
    verdict = "PASSED" if gate.passed else "BLOCKED"
    print(f"{verdict}: {gate.reason()}")
    if gate.docs_path:
        print(f"Data Docs: {gate.docs_path}")
    return 0 if gate.passed else 1
