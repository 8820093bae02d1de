"""The `push:` section of a source file: which streams take pushed events (`segmart collect`).

A source that pushes declares here how its sender signs or authenticates,
which webhook topic or tracking call lands in which stream, and the JSON Schema
of each pushed event. Secrets are never in the file: only the name of the
environment variable that holds them. Read with the rest of the file, so a
wrong key or a JSON Schema that does not compile fails before anything listens.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any, ClassVar

import jsonschema_rs

from extract.schema import (
    Where,
    build,
    choice,
    list_of,
    mapping,
    positive_duration,
    positive_int,
    setting,
    styled,
    text,
)

ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
# Segment's documented limits: https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/
SEGMENT_EVENT_BYTES = 32 * 1024
SEGMENT_BATCH_BYTES = 500 * 1024


class Signature(StrEnum):
    """How a webhook sender signs the raw body."""

    SHOPIFY = "shopify"  # base64 HMAC-SHA256 in X-Shopify-Hmac-Sha256, no timestamp
    STANDARD_WEBHOOKS = "standard_webhooks"  # webhook-id/-timestamp/-signature (v1)


class Call(StrEnum):
    """Segment's call types (the `type` of an event in /v1/batch)."""

    TRACK = "track"
    PAGE = "page"
    SCREEN = "screen"
    IDENTIFY = "identify"
    GROUP = "group"
    ALIAS = "alias"


def env_name(value: Any, where: Where) -> str:
    """The name of an environment variable that holds a secret (never the secret)."""
    if not isinstance(value, str) or not ENV_NAME.match(value):
        raise where.error(
            "must name an environment variable in capitals (e.g. SEGMART_SHOP_WEBHOOK_SECRET), "
            "not a value: secrets stay in the environment"
        )
    return value


def json_schema(value: Any, where: Where) -> Mapping[str, Any]:
    section = mapping(value, where, "a JSON Schema (a mapping)")
    try:
        jsonschema_rs.validator_for(dict(section), validate_formats=True)
    except (jsonschema_rs.ValidationError, ValueError, TypeError) as error:
        raise where.error(f"is not a valid JSON Schema: {error}") from None
    return section


def field_paths(value: Any, where: Where) -> dict[str, tuple[str, ...]]:
    """`field: dotted.path` or `field: [path, fallback path]` (the first present wins)."""
    section = mapping(value, where, "a mapping of record fields to event paths")
    paths: dict[str, tuple[str, ...]] = {}
    for key, item in section.items():
        if isinstance(item, str):
            item = [item]
        paths[key] = list_of(text)(item, where.at(key))
    return paths


@dataclass(frozen=True, kw_only=True)
class WebhookStream:
    topics: tuple[str, ...] = setting(list_of(text))
    event_schema: Mapping[str, Any] = setting(json_schema)


@dataclass(frozen=True, kw_only=True)
class TrackingStream:
    calls: tuple[Call, ...] = setting(list_of(choice(Call)))
    event_schema: Mapping[str, Any] = setting(json_schema)
    # The stream's record from a tracking event; the whole event stays under `event`.
    record: Mapping[str, tuple[str, ...]] = setting(field_paths)


def _streams(kind: type) -> Any:
    def read(value: Any, where: Where) -> dict[str, Any]:
        section = mapping(value, where, "a mapping of stream names to their push settings")
        if not section:
            raise where.error("needs at least one stream")
        return {key: build(kind, item, where.at(key)) for key, item in section.items()}

    return read


@dataclass(frozen=True, kw_only=True)
class WebhookPush:
    """Shop-style webhooks: one record per request, the topic in a header, a signed body."""

    style: ClassVar[str] = "webhook"
    signatures: tuple[Signature, ...] = setting(list_of(choice(Signature)), [Signature.SHOPIFY])
    secret_env: str = setting(env_name)
    topic_header: str = setting(text, "X-Shopify-Topic")
    # Shopify's delivery id; Standard Webhooks senders put theirs in webhook-id.
    delivery_id_header: str = setting(text, "X-Shopify-Webhook-Id")
    # Standard Webhooks: a signed timestamp further than this from now is a replay.
    tolerance: timedelta = setting(positive_duration, timedelta(minutes=5))
    max_body_bytes: int = setting(positive_int, 1024 * 1024)
    streams: Mapping[str, WebhookStream] = setting(_streams(WebhookStream))

    def topic_streams(self, where: Where) -> dict[str, str]:
        """topic -> stream; a topic named twice is an error."""
        return _routing(self.streams, "topics", where)


@dataclass(frozen=True, kw_only=True)
class TrackingPush:
    """Segment-compatible tracking: `POST /v1/batch`, `/v1/track`, ... with a write key."""

    style: ClassVar[str] = "segment"
    write_key_env: str = setting(env_name)
    max_event_bytes: int = setting(positive_int, SEGMENT_EVENT_BYTES)
    max_batch_bytes: int = setting(positive_int, SEGMENT_BATCH_BYTES)
    streams: Mapping[str, TrackingStream] = setting(_streams(TrackingStream))

    def call_streams(self, where: Where) -> dict[str, str]:
        """call type -> stream; a call named twice is an error."""
        return _routing(self.streams, "calls", where)


def _routing(streams: Mapping[str, Any], key: str, where: Where) -> dict[str, str]:
    routes: dict[str, str] = {}
    for stream, config in streams.items():
        for value in getattr(config, key):
            if value in routes:
                raise where.at("streams", stream, key).error(
                    f"{str(value)!r} is already taken by stream {routes[value]!r}"
                )
            routes[str(value)] = stream
    return routes


PushConfig = WebhookPush | TrackingPush
PUSH_STYLES: dict[str, type[PushConfig]] = {
    kind.style: kind for kind in (WebhookPush, TrackingPush)
}
read_push = styled(PUSH_STYLES)


def check_push(push: PushConfig, streams: Mapping[str, Any], where: Where) -> None:
    """Every push stream is a stream of the source; no topic or call lands in two."""
    for stream in push.streams:
        if stream not in streams:
            raise where.at("streams", stream).error(
                f"{stream!r} is not a stream of this source (streams: {', '.join(streams)})"
            )
    if isinstance(push, WebhookPush):
        push.topic_streams(where)
    else:
        push.call_streams(where)
