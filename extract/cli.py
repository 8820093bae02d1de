"""`segmart extract [--source S] [--stream X] [--start ISO] [--end ISO] [--[no-]fill-gaps]`."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime

from extract.config import list_sources
from extract.errors import ConfigError, ExtractError, ExtractFailed
from extract.progress import Progress
from extract.runner import new_run_id, run_extract
from segmart.core.contracts import SliceResult
from segmart.core.errors import UserError
from segmart.core.settings import Settings
from segmart.core.times import TimeFormatError, parse_utc


def _time(text: str) -> datetime:
    try:
        return parse_utc(text)
    except TimeFormatError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _known_sources() -> str:
    try:
        return ", ".join(list_sources(Settings.from_env().sources_dir))
    except ConfigError:  # `main` reports it in one line; help must still print
        return "the <source>.yaml files in extract/sources and SEGMART_SOURCES_DIR"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", help=f"only this source ({_known_sources()})")
    parser.add_argument("--stream", help="only this stream (a key of the source's streams:)")
    parser.add_argument(
        "--start", type=_time, help="interval start (default: the watermark, else history start)"
    )
    parser.add_argument("--end", type=_time, help="interval end, exclusive (default: now)")
    parser.add_argument(
        "--fill-gaps",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="reach back to a stream's watermark when it is earlier than --start "
        "(default: on without --start, off with it)",
    )
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
            fill_gaps=args.fill_gaps,
        )
    except ExtractFailed as failure:
        print_summary(run_id, failure.results)
        print(f"segmart extract: {failure}", file=sys.stderr)
        return 1
    except UserError as error:
        print(f"segmart extract: {error}", file=sys.stderr)
        return 2
    except ExtractError as error:
        print(f"segmart extract: {error}", file=sys.stderr)
        return 1
    if not results:
        print(f"run {run_id}: every selected stream is up to date (nothing to pull)")
        return 0
    print_summary(run_id, results)
    return 0


def print_summary(run_id: str, results: list[SliceResult]) -> None:
    print(f"run {run_id}")
    header = ("stream", "status", "records", "pages", "requests", "429s", "retries", "watermark")
    rows = [
        (
            f"{r.source}.{r.stream}",
            str(r.status),
            str(r.records),
            str(r.pages),
            str(r.requests),
            str(r.rate_limited),
            str(r.retries),
            r.watermark or "unchanged",
        )
        for r in sorted(results, key=lambda r: (r.source, r.stream))
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
