"""Declarative source configs: `extract/sources/<source>.yaml` (see docs/extract.md).

A source is data: auth style, rate budget, history start, stream defaults and
per-stream overrides. A new stream of an API whose pagination style is known
needs YAML only.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

PAGINATION_STYLES = ("link_header", "body_cursor", "page_number", "next_url")
AUTH_STYLES = ("bearer", "header")


class ConfigError(ValueError):
    """A source config is missing or malformed; the message names the file and key."""


@dataclass(frozen=True)
class AuthConfig:
    style: str = "bearer"  # bearer: `Authorization: Bearer <key>`; header: `<header>: <key>`
    header: str = "Authorization"

    def headers(self, api_key: str) -> dict[str, str]:
        if self.style == "bearer":
            return {"Authorization": f"Bearer {api_key}"}
        return {self.header: api_key}


@dataclass(frozen=True)
class PaginationConfig:
    style: str
    limit_param: str | None = "limit"
    page_size: int = 100
    cursor_path: str | None = None  # body_cursor: dotted path of the next cursor
    cursor_param: str | None = None  # body_cursor: query parameter that takes it
    page_param: str = "page"  # page_number
    total_pages_path: str | None = None  # page_number: dotted path of the page count
    next_url_path: str | None = None  # next_url: dotted path of the next page's URL


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    backoff_base: float = 0.2  # seconds; doubles per attempt
    backoff_cap: float = 30.0
    connect_timeout: float = 10.0
    read_timeout: float = 120.0

    def backoff(self, attempt: int) -> float:
        """Exponential with jitter, so parallel streams do not retry in lockstep."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


@dataclass(frozen=True)
class WindowConfig:
    start_param: str
    end_param: str
    # Longest window per request sequence: for APIs whose offset pages rescan the
    # window (or cap the offset), a long slice is pulled as consecutive sub-windows.
    max_span: timedelta | None = None


@dataclass(frozen=True)
class StreamConfig:
    source: str
    name: str
    path: str
    records: str  # dotted path of the record list in the body ("" = the body is the list)
    primary_key: str
    time_field: str
    lookback: timedelta
    window: WindowConfig
    pagination: PaginationConfig
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def table(self) -> str:
        return f"raw.{self.source}__{self.name}"


@dataclass(frozen=True)
class SourceConfig:
    name: str
    auth: AuthConfig
    requests_per_second: float  # 0 = no client-side budget
    history_start: datetime
    streams: Mapping[str, StreamConfig]
    retry: RetryPolicy = field(default_factory=RetryPolicy)


SOURCES_DIR_VARIABLE = "SEGMART_SOURCES_DIR"


def sources_dir(env: Mapping[str, str] | None = None) -> str | None:
    """Extra folder of `<source>.yaml` files that add to or replace the packaged ones."""
    return (os.environ if env is None else env).get(SOURCES_DIR_VARIABLE) or None


def _config_files(extra_dir: str | None) -> dict[str, Any]:
    packaged = resources.files("extract") / "sources"
    files: dict[str, Any] = {
        p.name[: -len(".yaml")]: p for p in packaged.iterdir() if p.name.endswith(".yaml")
    }
    if extra_dir:
        folder = Path(extra_dir)
        if not folder.is_dir():
            raise ConfigError(f"{SOURCES_DIR_VARIABLE}={extra_dir!r} is not a folder")
        files.update({p.stem: p for p in folder.glob("*.yaml")})
    return files


def list_sources(extra_dir: str | None = None) -> list[str]:
    return sorted(_config_files(extra_dir or sources_dir()))


@cache
def _load_source(name: str, extra_dir: str | None) -> SourceConfig:
    files = _config_files(extra_dir)
    if name not in files:
        raise ConfigError(
            f"unknown source {name!r}: no extract/sources/{name}.yaml "
            f"(known: {', '.join(sorted(files))})"
        )
    origin = (
        str(files[name])
        if extra_dir and isinstance(files[name], Path)
        else (f"extract/sources/{name}.yaml")
    )
    return parse_source(yaml.safe_load(files[name].read_text()), origin=origin)


def load_source(name: str, extra_dir: str | None = None) -> SourceConfig:
    """The config of source `name` (`SEGMART_SOURCES_DIR` first, then the packaged ones)."""
    return _load_source(name, extra_dir or sources_dir())


def stream_config(source: str, stream: str, extra_dir: str | None = None) -> StreamConfig:
    config = load_source(source, extra_dir)
    if stream not in config.streams:
        raise ConfigError(
            f"source {source!r} has no stream {stream!r} (known: {', '.join(config.streams)})"
        )
    return config.streams[stream]


def list_streams(source: str | None = None, extra_dir: str | None = None) -> list[tuple[str, str]]:
    """Every (source, stream) pair, or those of one source."""
    sources = [source] if source else list_sources(extra_dir)
    return [(s, x) for s in sources for x in load_source(s, extra_dir).streams]


def parse_source(document: Mapping[str, Any], origin: str) -> SourceConfig:
    def need(mapping: Mapping[str, Any], key: str, where: str) -> Any:
        if key not in mapping or mapping[key] in (None, ""):
            raise ConfigError(f"{origin}: {where} needs {key!r}")
        return mapping[key]

    name = need(document, "source", "the top level")
    auth = build(AuthConfig, document.get("auth") or {}, origin, "auth")
    if auth.style not in AUTH_STYLES:
        raise ConfigError(f"{origin}: auth.style must be one of {AUTH_STYLES}, not {auth.style!r}")
    rate = (document.get("rate_limit") or {}).get("requests_per_second", 0)
    history_start = parse_time(str(need(document, "history_start", "the top level")))
    defaults = document.get("defaults") or {}
    streams: dict[str, StreamConfig] = {}
    for stream_name, overrides in (need(document, "streams", "the top level") or {}).items():
        merged = deep_merge(defaults, overrides or {})
        where = f"stream {stream_name!r}"
        pagination = build(
            PaginationConfig, need(merged, "pagination", where), origin, f"{where}: pagination"
        )
        if pagination.style not in PAGINATION_STYLES:
            raise ConfigError(
                f"{origin}: {where}: pagination.style must be one of {PAGINATION_STYLES}, "
                f"not {pagination.style!r}"
            )
        streams[stream_name] = StreamConfig(
            source=name,
            name=stream_name,
            path=need(merged, "path", where),
            records=merged.get("records") or "",
            primary_key=need(merged, "primary_key", where),
            time_field=need(merged, "time_field", where),
            lookback=parse_duration(str(merged.get("lookback") or "PT0S")),
            window=parse_window(need(merged, "window", where), origin, where),
            pagination=pagination,
            params={k: str(v) for k, v in (merged.get("params") or {}).items()},
        )
    return SourceConfig(
        name=name,
        auth=auth,
        requests_per_second=float(rate),
        history_start=history_start,
        streams=streams,
        retry=build(RetryPolicy, document.get("retry") or {}, origin, "retry"),
    )


def build(kind: type, values: Mapping[str, Any], origin: str, where: str) -> Any:
    try:
        return kind(**values)
    except TypeError as error:
        raise ConfigError(f"{origin}: {where}: {error}") from None


def parse_window(window: Mapping[str, Any], origin: str, where: str) -> WindowConfig:
    try:
        span = window.get("max_span")
        return WindowConfig(
            start_param=window["start_param"],
            end_param=window["end_param"],
            max_span=parse_duration(str(span)) if span else None,
        )
    except KeyError as missing:
        raise ConfigError(f"{origin}: {where}: window needs {missing}") from None


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def parse_time(text: str) -> datetime:
    """ISO 8601 → aware UTC datetime; a value without offset is taken as UTC."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


def parse_duration(text: str) -> timedelta:
    """ISO 8601 durations of days, hours, minutes, seconds (`PT1H`, `P1DT30M`)."""
    match = _DURATION.match(text.strip().upper())
    if not match or text.strip().upper() in ("P", "PT"):
        raise ConfigError(f"lookback {text!r} is not an ISO 8601 duration such as PT1H or P1D")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def dig(document: Any, dotted: str) -> Any:
    """`dig(body, "paging.next.after")`; None when any step is missing."""
    value = document
    for part in dotted.split(".") if dotted else []:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value
