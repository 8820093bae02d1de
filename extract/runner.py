"""`run_extract`: the command-line path. Pulls run concurrently; loads run one at a time.

Windows come from the arguments, else from each stream's watermark, else from
the source's `history_start`; the end defaults to now (UTC, whole seconds).
Each finished pull is loaded at once in this thread, so one failing stream
never holds back the others' commits.
"""

from __future__ import annotations

import secrets
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from extract.config import format_time, list_streams, load_source, sources_dir
from extract.errors import ExtractError, ExtractFailed
from extract.landing import LandedSlice
from extract.load import load_slice, record_failure
from extract.progress import Progress
from extract.pull import as_utc, pull_slice
from extract.watermarks import read_watermark
from segmart.core import warehouse
from segmart.core.settings import Settings

MAX_CONCURRENT_PULLS = 8


@dataclass(frozen=True)
class PlannedSlice:
    source: str
    stream: str
    start: datetime
    end: datetime


def new_run_id(prefix: str = "extract") -> str:
    return f"{prefix}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def select_streams(
    source: str | None = None, stream: str | None = None, extra_dir: str | None = None
) -> list[tuple[str, str]]:
    pairs = list_streams(source, extra_dir)
    if stream is not None:
        pairs = [(s, x) for s, x in pairs if x == stream]
        if not pairs:
            where = f"source {source!r}" if source else "any source"
            raise ExtractError(
                f"no stream {stream!r} in {where} (known: {list_streams(source, extra_dir)})"
            )
    return pairs


def plan_slices(
    settings: Settings,
    pairs: list[tuple[str, str]],
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[PlannedSlice]:
    """One slice per stream: [start or watermark or history_start, end or now)."""
    end = as_utc(end) if end else datetime.now(UTC).replace(microsecond=0)
    watermarks: dict[tuple[str, str], datetime | None] = {}
    if start is None:
        con = warehouse.connect(settings.warehouse)
        try:
            watermarks = {pair: read_watermark(con, *pair) for pair in pairs}
        finally:
            con.close()
    planned = []
    extra = sources_dir(settings.env)
    for source, stream in pairs:
        mark = watermarks.get((source, stream))
        begin = as_utc(start or mark or load_source(source, extra).history_start)
        if begin < end:
            planned.append(PlannedSlice(source, stream, begin, end))
    return planned


def run_extract(
    settings: Settings,
    source: str | None = None,
    stream: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    run_id: str | None = None,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """Extract and load the selected streams; raises `ExtractFailed` if any stream failed
    (after committing the streams that succeeded)."""
    run_id = run_id or new_run_id()
    progress = progress or Progress()
    pairs = select_streams(source, stream, sources_dir(settings.env))
    planned = plan_slices(settings, pairs, start, end)
    results: list[dict[str, Any]] = []
    if not planned:
        return results
    # Fail fast on a missing key before any thread starts (the error names the variable).
    for source_name in {p.source for p in planned}:
        settings.source(source_name).require_api_key()
    with ThreadPoolExecutor(max_workers=min(MAX_CONCURRENT_PULLS, len(planned))) as pool:
        futures: dict[Future[LandedSlice], PlannedSlice] = {}
        for p in planned:
            progress.start(p.source, p.stream, f"[{format_time(p.start)}, {format_time(p.end)})")
            future = pool.submit(
                pull_slice, settings, p.source, p.stream, p.start, p.end, run_id, progress.page
            )
            futures[future] = p
        try:
            for future in as_completed(futures):
                results.append(_load_or_record(settings, future))
                progress.done(results[-1])
        except BaseException:
            for pending in futures:
                pending.cancel()
            raise
    failed = [r for r in results if r["status"] == "failed"]
    if failed:
        lines = "\n".join(f"  {r['source']}.{r['stream']}: {r['error']}" for r in failed)
        raise ExtractFailed(
            f"{len(failed)} of {len(results)} streams failed (run {run_id}); their raw tables "
            f"and watermarks are unchanged, the other streams were loaded:\n{lines}",
            results,
        )
    return results


def _load_or_record(settings: Settings, future: Future[LandedSlice]) -> dict[str, Any]:
    landed = None
    try:
        landed = future.result()
        return load_slice(settings, landed)
    except ExtractError as error:
        landed = getattr(error, "landed", landed)
        if landed is None:
            raise
        return record_failure(settings, landed, error)
