"""`pull_slice`: HTTP pages of one (stream, interval) → landing files. No database access.

Airflow runs pulls in parallel processes while another task may hold the
DuckDB write lock, so a pull only ever writes its own landing directory.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from extract.config import SourceConfig, StreamConfig, api_stream_config, dig, load_source
from extract.errors import ExtractError, RecordError
from extract.http import SourceClient, redact_url
from extract.landing import LandedSlice, LandingWriter, slice_directory
from extract.paginators import paginator
from extract.ratelimit import RateBudget
from segmart.core.settings import Settings
from segmart.core.times import iso_z, now_utc, parse_utc

OnPage = Callable[[LandedSlice], None]


def rate_budget_variable(source: str) -> str:
    return f"SEGMART_{source.upper()}_RATE_LIMIT"


def requests_per_second(settings: Settings, config: SourceConfig) -> float:
    """The config's budget, unless `SEGMART_<SOURCE>_RATE_LIMIT` overrides it (0 = none)."""
    override = settings.env.get(rate_budget_variable(config.name))
    if not override:
        return config.requests_per_second
    try:
        return float(override)
    except ValueError:
        raise ExtractError(
            f"{rate_budget_variable(config.name)}={override!r} is not a number of requests/s"
        ) from None


def pull_slice(
    settings: Settings,
    source: str,
    stream: str,
    start: datetime,
    end: datetime,
    run_id: str,
    on_page: OnPage | None = None,
) -> LandedSlice:
    """Pull [start - lookback, end) of `source.stream` into landing files; return what landed.

    On failure the exception carries `.landed` (the counts so far) and no
    finished slice is left behind.
    """
    config = api_stream_config(source, stream, settings.sources_dir)
    source_config = load_source(source, settings.sources_dir)
    start, end = parse_utc(start), parse_utc(end)
    if end <= start:
        raise ExtractError(f"{source}.{stream}: empty interval [{start}, {end}); end must be later")
    window_start = start - config.lookback
    directory = slice_directory(settings.landing_dir, source, stream, start, end, run_id)
    landed = LandedSlice(
        source=source,
        stream=stream,
        interval_start=iso_z(start),
        interval_end=iso_z(end),
        window_start=iso_z(window_start),
        window_end=iso_z(end),
        run_id=run_id,
        directory=str(directory),
        started_at=iso_z(now_utc()),
    )
    budget = RateBudget(
        source,
        requests_per_second(settings, source_config),
        settings.rate_budget_url or settings.rate_budget_dir,
    )
    client = SourceClient(settings.source(source), source_config.auth, budget, source_config.retry)
    writer = LandingWriter(directory)
    began = time.monotonic()
    try:
        _pull_pages(
            client, config, settings.source(source).url, window_start, end, landed, writer, on_page
        )
        landed.finished_at = iso_z(now_utc())
        _count(landed, client, began)
        return writer.finish(landed)
    except BaseException as error:
        writer.abort()
        _count(landed, client, began)
        error.landed = landed  # type: ignore[attr-defined]
        raise
    finally:
        client.close()


def sub_windows(
    start: datetime, end: datetime, max_span: timedelta | None
) -> list[tuple[datetime, datetime]]:
    if max_span is None:
        return [(start, end)]
    bounds = []
    while start < end:
        bounds.append((start, min(start + max_span, end)))
        start = bounds[-1][1]
    return bounds


def _pull_pages(
    client: SourceClient,
    config: StreamConfig,
    base_url: str,
    window_start: datetime,
    window_end: datetime,
    landed: LandedSlice,
    writer: LandingWriter,
    on_page: OnPage | None,
) -> None:
    pages = paginator(config.pagination)
    began = time.monotonic()
    for sub_start, sub_end in sub_windows(window_start, window_end, config.window.max_span):
        params = {
            **config.params,
            config.window.start_param: iso_z(sub_start),
            config.window.end_param: iso_z(sub_end),
            **pages.first_params(),
        }
        request: tuple[str, dict[str, str] | None] | None = (base_url + config.path, params)
        while request is not None:
            response = client.get_json(*request)
            landed.pages += 1
            records = dig(response.body, config.records) if config.records else response.body
            check_page(config, records, landed.pages, response.url)
            writer.write_page(records)
            landed.records += len(records)
            if on_page is not None:
                _count(landed, client, began)
                on_page(landed)
            request = pages.next_request(response, records, request)


def check_page(config: StreamConfig, records: object, page: int, url: str) -> None:
    """A page must be a list of records that each carry the primary key: never a silent drop."""
    if not isinstance(records, list):
        raise ExtractError(
            f"{config.source}.{config.name}: page {page} ({redact_url(url)}) has no record "
            f"list at {config.records!r}; fix `records:` in extract/sources/{config.source}.yaml"
        )
    for position, record in enumerate(records):
        if not isinstance(record, dict) or record.get(config.primary_key) in (None, ""):
            raise RecordError(
                f"{config.source}.{config.name}: record {position} of page {page} "
                f"({redact_url(url)}) has no primary key {config.primary_key!r}; "
                "nothing of this slice was committed"
            )


def _count(landed: LandedSlice, client: SourceClient, began: float) -> None:
    landed.requests = client.stats.requests
    landed.rate_limited = client.stats.rate_limited
    landed.retries = client.stats.retries
    landed.seconds = round(time.monotonic() - began, 3)
