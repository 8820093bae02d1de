"""`run_extract`: the command-line path. Pulls run concurrently; loads run one at a time.

Windows come from `extract.planning.plan_windows` (the rule the DAG uses too).
Each finished pull is loaded at once in this thread, so one failing stream
never holds back the others' commits.
"""

from __future__ import annotations

import secrets
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from datetime import datetime
from pathlib import Path

from extract.config import ConfigError, SourceKind, list_streams
from extract.drops import load_drops
from extract.errors import ExtractError, ExtractFailed
from extract.landing import LandedSlice
from extract.load import load_slice, record_failure
from extract.planning import PlannedSlice, plan_windows
from extract.progress import Progress
from extract.pull import pull_slice
from segmart.core.contracts import SliceResult
from segmart.core.settings import Settings
from segmart.core.times import iso_z, now_utc

MAX_CONCURRENT_PULLS = 8


def new_run_id(prefix: str = "extract") -> str:
    return f"{prefix}-{now_utc():%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def select_streams(
    source: str | None = None, stream: str | None = None, sources_dir: Path | None = None
) -> list[tuple[str, str]]:
    pairs = list_streams(source, sources_dir)
    if stream is not None:
        pairs = [(s, x) for s, x in pairs if x == stream]
        if not pairs:
            where = f"source {source!r}" if source else "any source"
            known = ", ".join(f"{s}.{x}" for s, x in list_streams(source, sources_dir))
            raise ConfigError(f"no stream {stream!r} in {where} (known: {known})")
    return pairs


def run_extract(
    settings: Settings,
    source: str | None = None,
    stream: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    run_id: str | None = None,
    progress: Progress | None = None,
    fill_gaps: bool | None = None,
) -> list[SliceResult]:
    """Extract and load the selected streams; raises `ExtractFailed` if any stream failed
    (after committing the streams that succeeded).

    `fill_gaps` (see `plan_windows`) defaults to on without `start` and off with it.
    """
    run_id = run_id or new_run_id()
    progress = progress or Progress()
    pairs = select_streams(source, stream, settings.sources_dir)
    dropped = set(list_streams(source, settings.sources_dir, kind=SourceKind.FILES))
    if fill_gaps is None:
        fill_gaps = start is None
    pulled = [pair for pair in pairs if pair not in dropped]
    planned = plan_windows(settings, pulled, start, end, fill_gaps=fill_gaps) if pulled else []
    # Files first: their loads are quick, and no pull is waiting to be loaded meanwhile.
    results: list[SliceResult] = [
        result
        for source_name, stream_name in pairs
        if (source_name, stream_name) in dropped
        for result in load_drops(settings, source_name, run_id, stream_name)
    ]
    for result in results:
        progress.done(result)
    if not planned:
        return _checked_results(results, run_id)
    # Fail fast on a missing key before any thread starts (the error names the variable).
    for source_name in {p.source for p in planned}:
        settings.source(source_name).require_api_key()
    with ThreadPoolExecutor(max_workers=min(MAX_CONCURRENT_PULLS, len(planned))) as pool:
        futures: dict[Future[LandedSlice], PlannedSlice] = {}
        for p in planned:
            progress.start(p.source, p.stream, f"[{iso_z(p.start)}, {iso_z(p.end)})")
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
    return _checked_results(results, run_id)


def _checked_results(results: list[SliceResult], run_id: str) -> list[SliceResult]:
    failed = [r for r in results if not r.succeeded]
    if failed:
        lines = "\n".join(f"  {r.source}.{r.stream}: {r.error}" for r in failed)
        raise ExtractFailed(
            f"{len(failed)} of {len(results)} streams failed (run {run_id}); their raw tables "
            f"and watermarks are unchanged, the other streams were loaded:\n{lines}",
            results,
        )
    return results


def _load_or_record(settings: Settings, future: Future[LandedSlice]) -> SliceResult:
    landed = None
    try:
        landed = future.result()
        return load_slice(settings, landed)
    except ExtractError as error:
        landed = getattr(error, "landed", landed)
        if landed is None:
            raise
        return record_failure(settings, landed, error)
