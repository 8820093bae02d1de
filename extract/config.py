"""Declarative source configs: `extract/sources/<source>.yaml` (see docs/extract.md).

A source is data: auth style, rate budget, history start, stream defaults,
per-stream overrides and the raw gate's knowledge of each stream. A new stream
of an API whose pagination style is known needs YAML only. Every key of every
file is checked when the catalog is read (`list_sources`, `list_streams`), so a
wrong key fails before any request.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import yaml

from extract.drop_spec import FilesSpec
from extract.errors import ConfigError
from extract.push import PushConfig, check_push, read_push
from extract.schema import (
    Where,
    any_number,
    build,
    choice,
    count,
    duration,
    keys_of,
    list_of,
    mapping,
    name,
    number,
    number_pair,
    positive_duration,
    positive_int,
    scalars,
    section_of,
    setting,
    styled,
    text,
    text_or_empty,
    timestamp,
    url_path,
)
from segmart.core.contracts import FieldCheck, FieldRule, Severity, StreamGate, raw_table
from segmart.core.settings import SOURCES_DIR_VARIABLE

PACKAGED_DIR = Path(__file__).resolve().parent / "sources"

# --- auth: one typed config per style ------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class BearerAuth:
    """`Authorization: Bearer <key>`."""

    style: ClassVar[str] = "bearer"

    def headers(self, api_key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key}"}


@dataclass(frozen=True, kw_only=True)
class HeaderAuth:
    """`<header>: <key>` (e.g. `X-Api-Key`)."""

    style: ClassVar[str] = "header"
    header: str = setting(text)

    def headers(self, api_key: str) -> dict[str, str]:
        return {self.header: api_key}


AuthConfig = BearerAuth | HeaderAuth
AUTH_STYLES: dict[str, type[AuthConfig]] = {kind.style: kind for kind in (BearerAuth, HeaderAuth)}

# --- pagination: one typed config per style (the paginators in extract/paginators.py) ------


@dataclass(frozen=True, kw_only=True)
class PageSize:
    """The keys every pagination style shares."""

    # The query parameter of the page size; null when the API takes none.
    limit_param: str | None = setting(text, "limit", optional=True)
    page_size: int = setting(positive_int, 100)


@dataclass(frozen=True, kw_only=True)
class LinkHeaderPagination(PageSize):
    """Shopify/GitHub: `Link: <url>; rel="next"` carries every parameter of the next page."""

    style: ClassVar[str] = "link_header"


@dataclass(frozen=True, kw_only=True)
class BodyCursorPagination(PageSize):
    """HubSpot/Stripe: an opaque cursor at a body path, sent back as a query parameter."""

    style: ClassVar[str] = "body_cursor"
    cursor_path: str = setting(text)  # dotted, e.g. paging.next.after
    cursor_param: str = setting(text)


@dataclass(frozen=True, kw_only=True)
class PageNumberPagination(PageSize):
    """Mailchimp/Zendesk: `page=1..total_pages`; an empty page also ends the stream."""

    style: ClassVar[str] = "page_number"
    page_param: str = setting(text, "page")
    total_pages_path: str | None = setting(text, None, optional=True)


@dataclass(frozen=True, kw_only=True)
class NextUrlPagination(PageSize):
    """Keyset APIs that return the full URL of the next page in the body; null at the end."""

    style: ClassVar[str] = "next_url"
    next_url_path: str = setting(text)


PaginationConfig = (
    LinkHeaderPagination | BodyCursorPagination | PageNumberPagination | NextUrlPagination
)
PAGINATION_STYLES: dict[str, type[PaginationConfig]] = {
    kind.style: kind
    for kind in (
        LinkHeaderPagination,
        BodyCursorPagination,
        PageNumberPagination,
        NextUrlPagination,
    )
}

# --- the rest of a source ------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    max_attempts: int = setting(positive_int, 8)
    backoff_base: float = setting(number(), 0.2)  # seconds; doubles per attempt
    backoff_cap: float = setting(number(), 30.0)
    connect_timeout: float = setting(number(above=True), 10.0)
    read_timeout: float = setting(number(above=True), 120.0)

    def backoff(self, attempt: int) -> float:
        """Exponential with jitter, so parallel streams do not retry in lockstep."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


@dataclass(frozen=True, kw_only=True)
class RateLimit:
    requests_per_second: float = setting(number(), 0.0)  # 0 = no client-side budget


@dataclass(frozen=True, kw_only=True)
class WindowConfig:
    start_param: str = setting(text)
    end_param: str = setting(text)
    # Longest window per request sequence: for APIs whose offset pages rescan the
    # window (or cap the offset), a long slice is pulled as consecutive sub-windows.
    max_span: timedelta | None = setting(positive_duration, None, optional=True)


# --- the raw gate's knowledge of a stream (`gate:`), read into core's StreamGate -------------


@dataclass(frozen=True, kw_only=True)
class _Check:
    name: str = setting(name)
    field: str = setting(text)
    severity: Severity = setting(choice(Severity), Severity.CRITICAL)
    description: str = setting(text_or_empty, "")
    rule: ClassVar[FieldRule]

    def field_check(self) -> FieldCheck:
        return FieldCheck(
            name=self.name,
            field=self.field,
            rule=self.rule,
            severity=self.severity,
            value=getattr(self, "value", None),
            description=self.description,
        )


@dataclass(frozen=True, kw_only=True)
class PresentCheck(_Check):
    rule: ClassVar[FieldRule] = FieldRule.PRESENT


@dataclass(frozen=True, kw_only=True)
class DecimalCheck(_Check):
    rule: ClassVar[FieldRule] = FieldRule.DECIMAL


@dataclass(frozen=True, kw_only=True)
class MinimumCheck(_Check):
    rule: ClassVar[FieldRule] = FieldRule.MINIMUM
    value: float = setting(any_number)


CHECK_RULES: dict[str, type[_Check]] = {
    str(kind.rule): kind for kind in (PresentCheck, DecimalCheck, MinimumCheck)
}
_DEFAULT_GATE = StreamGate("", "", timedelta(0))


@dataclass(frozen=True, kw_only=True)
class VolumeConfig:
    # Records per hour within [low, high] x the trailing average of earlier slices.
    band: tuple[float, float] = setting(number_pair, _DEFAULT_GATE.volume_band)
    min_earlier_slices: int = setting(count, _DEFAULT_GATE.volume_min_earlier_slices)


def _checks(value: Any, where: Where) -> tuple[_Check, ...]:
    checks = list_of(styled(CHECK_RULES, key="rule"))(value, where)
    seen: set[str] = set()
    for index, check in enumerate(checks):
        if check.name in seen:
            raise where.at(index, "name").error(f"{check.name!r} is used twice; names are unique")
        seen.add(check.name)
    return checks


@dataclass(frozen=True, kw_only=True)
class GateConfig:
    # Records may carry times before the pulled window (late events, re-pulls).
    time_tolerance: timedelta = setting(duration, timedelta(0))
    # The field holding a person's email, when the stream has one.
    email_field: str | None = setting(text, None, optional=True)
    checks: tuple[_Check, ...] = setting(_checks, ())
    volume: VolumeConfig = setting(section_of(VolumeConfig), VolumeConfig())


# --- streams and sources -------------------------------------------------------------------


class SourceKind(StrEnum):
    API = "api"  # pulled over HTTP in windows (the default)
    FILES = "files"  # files dropped in a folder, each loaded once (extract/drops.py)


@dataclass(frozen=True, kw_only=True)
class _Stream:
    """The keys every stream has, whatever its source's kind."""

    source: str
    name: str
    primary_key: str = setting(text)
    time_field: str = setting(text)
    gate: GateConfig = setting(section_of(GateConfig), GateConfig())

    @property
    def table(self) -> str:
        return raw_table(self.source, self.name)

    @property
    def stream_gate(self) -> StreamGate:
        return StreamGate(
            source=self.source,
            stream=self.name,
            time_tolerance=self.gate.time_tolerance,
            email_field=self.gate.email_field,
            checks=tuple(check.field_check() for check in self.gate.checks),
            volume_band=self.gate.volume.band,
            volume_min_earlier_slices=self.gate.volume.min_earlier_slices,
        )


@dataclass(frozen=True, kw_only=True)
class StreamConfig(_Stream):
    """A stream of an API source."""

    path: str = setting(url_path)
    records: str = setting(text_or_empty, "")  # dotted path of the record list ("" = the body)
    lookback: timedelta = setting(duration, timedelta(0))
    window: WindowConfig = setting(section_of(WindowConfig))
    pagination: PaginationConfig = setting(styled(PAGINATION_STYLES))
    params: Mapping[str, str] = setting(scalars, {})


@dataclass(frozen=True, kw_only=True)
class FileStreamConfig(_Stream):
    """A stream of a file source: files matching `files.glob` in the source's drop folder."""

    files: FilesSpec = setting(section_of(FilesSpec))


AnyStream = StreamConfig | FileStreamConfig


@dataclass(frozen=True)
class SourceConfig:
    name: str
    auth: AuthConfig
    requests_per_second: float  # 0 = no client-side budget
    # API: where a first run starts; files: no record may be older.
    history_start: datetime
    streams: Mapping[str, AnyStream]
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    push: PushConfig | None = None  # the streams that take pushed events (segmart collect)
    kind: SourceKind = SourceKind.API


@dataclass(frozen=True, kw_only=True)
class _SourceFile:
    """The top level of a source file; `defaults` and `streams` are read by `parse_source`."""

    source: str = setting(name)
    kind: SourceKind = setting(choice(SourceKind), SourceKind.API)
    auth: AuthConfig = setting(styled(AUTH_STYLES), BearerAuth())
    rate_limit: RateLimit = setting(section_of(RateLimit), RateLimit())
    history_start: datetime = setting(timestamp)
    retry: RetryPolicy = setting(section_of(RetryPolicy), RetryPolicy())
    defaults: Mapping[str, Any] = setting(mapping, {})
    streams: Mapping[str, Any] = setting(mapping)
    push: PushConfig | None = setting(read_push, None, optional=True)


STREAM_KINDS: dict[SourceKind, type[AnyStream]] = {
    SourceKind.API: StreamConfig,
    SourceKind.FILES: FileStreamConfig,
}
# Top-level keys that only an API source has.
API_ONLY_KEYS = ("auth", "rate_limit", "retry")


def parse_source(document: Any, origin: str, expected_name: str | None = None) -> SourceConfig:
    """Check every key of one source file; `expected_name` is the file's stem."""
    where = Where(origin)
    if document is None:
        raise where.error("the file is empty; a source file needs source, history_start, streams")
    top = build(_SourceFile, document, where)
    if expected_name is not None and top.source != expected_name:
        raise where.at("source").error(
            f"{top.source!r} does not match the file name {expected_name}.yaml; a source "
            f"file is named <source>.yaml"
        )
    stream_kind = STREAM_KINDS[top.kind]
    stream_keys = tuple(f.name for f in keys_of(stream_kind))
    for key in top.defaults:
        if key not in stream_keys:
            raise where.at("defaults").error(
                f"unknown key {key!r} (allowed: {', '.join(sorted(stream_keys))})"
            )
    if top.kind is SourceKind.FILES:
        for key in API_ONLY_KEYS:
            if key in document:
                raise where.at(key).error("is a key of API sources; this source is kind files")
    if not top.streams:
        raise where.at("streams").error("needs at least one stream")
    streams: dict[str, AnyStream] = {}
    for stream_name, overrides in top.streams.items():
        at = where.at("streams", stream_name)
        name(stream_name, at)
        own = mapping(overrides or {}, at)
        merged = deep_merge(top.defaults, own)
        inside = at.inside_stream(own, top.defaults)
        given = {"source": top.source, "name": stream_name}
        built = build(stream_kind, merged, inside, given=given)
        if isinstance(built, FileStreamConfig):
            built.files.check(inside.at("files"))
        streams[stream_name] = built
    if top.push is not None:
        check_push(top.push, streams, where.at("push"))
    return SourceConfig(
        name=top.source,
        auth=top.auth,
        requests_per_second=top.rate_limit.requests_per_second,
        history_start=top.history_start,
        streams=streams,
        retry=top.retry,
        push=top.push,
        kind=top.kind,
    )


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; any other value (a list of checks too) replaces."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


# --- the catalog: every file, validated whole ----------------------------------------------


class _Loader(yaml.SafeLoader):
    """Safe YAML that rejects a key given twice (PyYAML would keep the last silently)."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if isinstance(key, str) and key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} appears twice (first on line {seen[key]})",
                key_node.start_mark,
            )  # fmt: skip
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path, origin: str) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - safe loader
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{origin}: {line}not valid YAML: {problem}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{origin}: cannot be read: {error}") from None


def _source_files(sources_dir: Path | None) -> dict[str, tuple[Path, str]]:
    """name -> (file, how messages name it); `sources_dir` adds to or replaces packaged files."""
    files = {p.stem: (p, f"extract/sources/{p.name}") for p in PACKAGED_DIR.glob("*.yaml")}
    if sources_dir is not None:
        folder = Path(sources_dir)
        if not folder.is_dir():
            raise ConfigError(
                f"{SOURCES_DIR_VARIABLE}={str(sources_dir)!r} is not a folder: point it at a "
                "folder of <source>.yaml files, or unset it"
            )
        for misnamed in sorted(folder.glob("*.yml")):
            raise ConfigError(f"{misnamed}: source files end in .yaml; rename it")
        files.update({p.stem: (p, str(p)) for p in folder.glob("*.yaml")})
    return files


@cache
def _parse_file(path: Path, origin: str, stamp: tuple[int, int]) -> SourceConfig:
    # `stamp` (mtime, size) makes an edited file be read again.
    return parse_source(read_yaml(path, origin), origin, expected_name=path.stem)


def catalog(sources_dir: Path | str | None = None) -> dict[str, SourceConfig]:
    """Every source, each file checked whole: one wrong key anywhere fails here."""
    folder = Path(sources_dir) if sources_dir is not None else None
    configs = {}
    for source, (path, origin) in sorted(_source_files(folder).items()):
        stat = path.stat()
        configs[source] = _parse_file(path, origin, (stat.st_mtime_ns, stat.st_size))
    return configs


def list_sources(
    sources_dir: Path | str | None = None, kind: SourceKind | None = None
) -> list[str]:
    return sorted(s for s, config in catalog(sources_dir).items() if kind in (None, config.kind))


def load_source(name: str, sources_dir: Path | str | None = None) -> SourceConfig:
    """The config of source `name` (`sources_dir` first, then the packaged files)."""
    configs = catalog(sources_dir)
    if name not in configs:
        raise ConfigError(
            f"unknown source {name!r}: no {name}.yaml in extract/sources"
            + (f" or {sources_dir}" if sources_dir else "")
            + f" (known: {', '.join(configs)})"
        )
    return configs[name]


def stream_config(source: str, stream: str, sources_dir: Path | str | None = None) -> AnyStream:
    config = load_source(source, sources_dir)
    if stream not in config.streams:
        raise ConfigError(
            f"source {source!r} has no stream {stream!r} (known: {', '.join(config.streams)})"
        )
    return config.streams[stream]


def api_stream_config(
    source: str, stream: str, sources_dir: Path | str | None = None
) -> StreamConfig:
    config = stream_config(source, stream, sources_dir)
    if not isinstance(config, StreamConfig):
        raise ConfigError(f"{source}.{stream} is a stream of files: it is loaded, not pulled")
    return config


def list_streams(
    source: str | None = None,
    sources_dir: Path | str | None = None,
    kind: SourceKind | None = None,
) -> list[tuple[str, str]]:
    """Every (source, stream) pair, or those of one source (or of one kind of source);
    every file is checked first."""
    configs = catalog(sources_dir)
    sources = [load_source(source, sources_dir).name] if source else sorted(configs)
    return [
        (s, x)
        for s in sources
        if kind is None or configs[s].kind is kind
        for x in configs[s].streams
    ]


def stream_gates(sources_dir: Path | str | None = None) -> dict[tuple[str, str], StreamGate]:
    """What the raw gate knows of every stream, from the `gate:` key beside it."""
    return {
        (s, x): stream.stream_gate
        for s, config in catalog(sources_dir).items()
        for x, stream in config.streams.items()
    }


def dig(document: Any, dotted: str) -> Any:
    """`dig(body, "paging.next.after")`; None when any step is missing."""
    value = document
    for part in dotted.split(".") if dotted else []:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value
