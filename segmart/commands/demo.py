"""`segmart demo`: the bundled demo API on a free port, a full run against it, a summary.

The demo freezes the demo world's clock at the start of the current hour and
runs the pipeline over the whole history up to it, so a re-run reloads the same
slices (idempotently) and `--scenario bad-orders` shows the gate blocking a
publish while the last published version stays as it was. Beside the pulls, the demo
shop and tracker push the last 24 hours into `segmart collect` (push_demo_events), and
the run loads those micro-batches too.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests

from segmart.core import warehouse
from segmart.core.contracts import PublishStatus
from segmart.core.errors import UserError
from segmart.core.settings import Settings
from segmart.local_api import start_collector, start_demo_api
from segmart.pipeline import CollectedResult


def history_start(settings: Settings) -> datetime:
    """The earliest history of any source: the demo reloads all of it, every time."""
    from extract.config import list_sources, load_source

    sources = list_sources(settings.sources_dir)
    return min(load_source(source, settings.sources_dir).history_start for source in sources)


def drop_till_exports(settings: Settings, world_flags: list[str]) -> None:
    """The demo world's till exports (demo_api/pos.py, in its own process as a till
    system would be) into the drop folder of the file source `pos`."""
    from extract.config import SourceKind, list_sources, load_source

    if "pos" not in list_sources(settings.sources_dir):
        return
    if load_source("pos", settings.sources_dir).kind is not SourceKind.FILES:
        return
    folder = settings.drop_dir("pos")
    command = [sys.executable, "-m", "demo_api.pos", *world_flags, "--folder", str(folder)]
    print(subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip())


PUSHED_HOURS = 24  # the demo shop and tracker push the last hours before the frozen now


@dataclass(frozen=True)
class DemoPushes:
    """What the demo's senders sent (their own counts) and what the collector took."""

    sent: dict[str, int]
    accepted: dict[str, int]
    dead_lettered: dict[str, int]


def push_demo_events(settings: Settings, world_flags: list[str]) -> DemoPushes | None:
    """The demo shop's signed webhooks and the tracker's batches (demo_api/pushes.py, in
    its own process as a shop would be) into `segmart collect` on a free port, for the
    last PUSHED_HOURS of the world's clock. The collector is stopped at the end, which
    closes its micro-batch files: the pipeline run then loads them beside the pulls.
    The secrets are made for this run and given to the two processes only."""
    from collect.load import push_streams

    if not push_streams(settings):
        return None
    env = {
        **os.environ,
        "SEGMART_SHOP_WEBHOOK_SECRET": secrets.token_urlsafe(24),
        "SEGMART_WEB_WRITE_KEY": secrets.token_urlsafe(16),
    }
    with start_collector(env) as collector:
        command = [sys.executable, "-m", "demo_api.pushes", "--url", collector.base_url]
        command += [*world_flags, "--hours", str(PUSHED_HOURS)]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise UserError(f"the demo's pushes failed: {done.stderr.strip()}")
        stats = requests.get(f"{collector.base_url}/_stats", timeout=10).json()
    return DemoPushes(
        sent=json.loads(done.stdout.strip().splitlines()[-1]),
        accepted=stats["accepted"],
        dead_lettered=stats["dead_lettered"],
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scenario", default="clean", help="demo world scenario (default clean)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--customers", type=int, default=2000, help="demo world size")
    parser.add_argument(
        "--rate-limit",
        help="per-source requests/s of the demo API, e.g. <source>=10,... "
        "(default: the demo API's own limits; 0 = unlimited)",
    )


def main(args: argparse.Namespace) -> int:
    from segmart.pipeline import run_pipeline

    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    flags = ["--seed", str(args.seed), "--customers", str(args.customers)]
    flags += ["--scenario", args.scenario]
    flags += ["--rate-limit", args.rate_limit] if args.rate_limit else []
    flags += ["--now", now.strftime("%Y-%m-%dT%H:%M:%SZ")]
    with start_demo_api(*flags) as api:
        os.environ.update(api.env())
        settings = Settings.from_env()
        print(f"demo API ({args.scenario}, {args.customers} customers) at {api.base_url}")
        print(f"warehouse {settings.warehouse}")
        drop_till_exports(settings, flags)
        pushes = push_demo_events(settings, flags)
        print()
        result = run_pipeline(settings, start=history_start(settings), end=now)
    run_id = result.run_id
    print_summary(settings, run_id)
    if pushes is not None:
        print_pushes(settings, pushes, result.collected)
    published = result.status is PublishStatus.PUBLISHED
    if not published:
        print(f"\nNOT PUBLISHED ({result.status}): {result.reason}")
        print(f"{settings.published} is unchanged.")
    return 0 if published else 1


def print_summary(settings: Settings, run_id: str | None) -> None:
    con = warehouse.connect(settings.warehouse, read_only=True)
    try:
        print_table(
            "Extraction (this run)",
            con.execute(
                """
                select source || '.' || stream as stream, sum(records) as records,
                       sum(pages) as pages, sum(requests) as requests,
                       sum(rate_limited) as "429s", sum(retries) as retries,
                       round(sum(seconds), 1) as seconds
                from meta.extract_runs where run_id = ? group by all order by 1
                """,
                [run_id],
            ),
        )
        if con.execute(
            "select count(*) from duckdb_tables() where schema_name = 'meta' "
            "and table_name in ('file_loads', 'file_rejections')"
        ).fetchone() == (2,):
            print_table(
                "Dropped files (this run; each file is loaded once)",
                con.execute(
                    """
                    select source || '.' || stream as stream, path, 'loaded' as status,
                           records
                    from meta.file_loads where run_id = $run
                    union all
                    select source || '.' || stream, path, 'rejected: see ' || moved_to
                        || '.reason.txt', null
                    from meta.file_rejections where run_id = $run
                    order by 1, 2
                    """,
                    {"run": run_id},
                ),
            )
        print_table(
            "Quality gate (this run)",
            con.execute(
                """
                select severity, success, count(*) as expectations
                from meta.validation_results where run_id = ? group by all order by all
                """,
                [run_id],
            ),
        )
        print_table(
            "Failed expectations (this run; critical ones block the publish)",
            con.execute(
                """
                select severity, suite, expectation, unexpected_count as unexpected
                from meta.validation_results where run_id = ? and success is not true
                order by severity, suite, expectation
                """,
                [run_id],
            ),
        )
    finally:
        con.close()
    if not settings.published.exists():
        print("\nNothing is published yet.")
        return
    published = warehouse.connect(settings.published, read_only=True)
    try:
        print_table(
            f"Published tables ({settings.published})",
            published.execute(
                "select table_name, estimated_size as rows from duckdb_tables() order by 1"
            ),
        )
        print_table(
            "Published run",
            published.execute(
                "select run_id, as_of, published_at, gate_passed, expectations, warnings "
                "from publish_info"
            ),
        )
        print_table(
            "Rule segments",
            published.execute(
                "select segment, count(*) as customers from customer_segments group by 1 order by 1"
            ),
        )
        print_table(
            "RFM segments",
            published.execute(
                """
                select rfm_segment, count(*) as customers from customer_rfm
                group by 1 order by 2 desc
                """
            ),
        )
    finally:
        published.close()
    docs = Path(settings.docs_dir)
    index = next(iter(sorted(docs.rglob("index.html"))), None) if docs.exists() else None
    if index:
        print(f"\nData Docs: {index}")


def print_pushes(settings: Settings, pushes: DemoPushes, collected: CollectedResult) -> None:
    from collect.load import push_streams
    from extract.config import catalog

    sent = pushes.sent
    print(
        f"\nPushed (segmart collect, the last {PUSHED_HOURS} hours): {sent['webhooks']} webhooks "
        f"(+{sent['duplicates_sent']} sent twice, {sent['retries']} retries, "
        f"{sent['failed']} given up), {sent['events']} tracking events; "
        f"dead-lettered {sum(pushes.dead_lettered.values())}; loaded {collected.loaded} in "
        f"{collected.batches} micro-batches, {collected.duplicates} deduplicated"
    )
    con = warehouse.connect(settings.warehouse, read_only=True)
    try:
        parts = []
        tables = {
            f"raw.{name}"
            for (name,) in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'raw'"
            ).fetchall()
        }
        for source, stream in push_streams(settings):
            table = catalog(settings.sources_dir)[source].streams[stream].table
            if table not in tables:
                continue
            parts.append(
                f"""
                select '{source}.{stream}' as stream,
                    count(*) filter (where _run_id not like 'collect:%') as pulled_rows,
                    count(*) filter (where _run_id like 'collect:%') as pushed_rows,
                    count(distinct record_id) filter (where _run_id like 'collect:%')
                        as pushed_records
                from {table}
                """
            )
        if parts:
            print_table(
                "Pulled and pushed rows in raw (staging keeps one row per record, latest wins)",
                con.execute(" union all ".join(parts) + " order by 1"),
            )
    finally:
        con.close()


def print_table(title: str, cursor) -> None:
    rows = cursor.fetchall()
    columns = [d[0] for d in cursor.description]
    print(f"\n{title}")
    if not rows:
        print("  (none)")
        return
    cells = [[str(c) for c in columns]] + [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    for n, row in enumerate(cells):
        print("  " + "  ".join(value.ljust(widths[i]) for i, value in enumerate(row)))
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))
