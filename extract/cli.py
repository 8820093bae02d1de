"""`segmart extract [--source S] [--stream X] [--start ISO] [--end ISO]`."""

from __future__ import annotations

import argparse
import logging
import sys

from extract.config import ConfigError, parse_time
from extract.errors import ExtractError, ExtractFailed
from extract.progress import Progress
from extract.runner import new_run_id, run_extract
from segmart.core.settings import Settings


def _time(text: str):
    try:
        return parse_time(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time such as 2026-06-01T00:00:00Z"
        ) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", help="only this source (shop, crm, esp, web)")
    parser.add_argument("--stream", help="only this stream (e.g. orders)")
    parser.add_argument(
        "--start", type=_time, help="interval start (default: the watermark, else history start)"
    )
    parser.add_argument("--end", type=_time, help="interval end, exclusive (default: now)")
    parser.add_argument("--run-id", help="run id to record (default: generated)")


def main(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr
    )
    settings = Settings.from_env()
    run_id = args.run_id or new_run_id()
    try:
        results = run_extract(
            settings,
            source=args.source,
            stream=args.stream,
            start=args.start,
            end=args.end,
            run_id=run_id,
            progress=Progress(),
        )
    except ExtractFailed as failure:
        print_summary(run_id, failure.results)
        print(f"segmart extract: {failure}", file=sys.stderr)
        return 1
    except (ConfigError, ExtractError) as error:
        print(f"segmart extract: {error}", file=sys.stderr)
        return 1
    if not results:
        print(f"run {run_id}: every selected stream is up to date (nothing to pull)")
        return 0
    print_summary(run_id, results)
    return 0


def print_summary(run_id: str, results: list[dict]) -> None:
    print(f"run {run_id}")
    header = ("stream", "status", "records", "pages", "requests", "429s", "retries", "watermark")
    rows = [
        (
            f"{r['source']}.{r['stream']}",
            r["status"],
            str(r["records"]),
            str(r["pages"]),
            str(r["requests"]),
            str(r["rate_limited"]),
            str(r["retries"]),
            r.get("watermark", "unchanged"),
        )
        for r in sorted(results, key=lambda r: (r["source"], r["stream"]))
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
