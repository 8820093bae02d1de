"""The receiver: `POST /webhooks/<source>` and Segment's `/v1/batch`, `/v1/track`, ...

Every answer says what happened in JSON. 2xx only once the events are fsynced in a
landing file (collect/writer.py); 400/401/413 name what was wrong; 503 with
Retry-After when the writer cannot keep up. Events that fail their stream's JSON
Schema are kept in a dead-letter file with the reason, counted in `GET /_stats`.
Secrets come from the environment variables the source YAML names and are never
logged, landed or answered.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jsonschema_rs
import msgspec
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from collect.signatures import (
    SHOPIFY_HEADER,
    STANDARD_SIGNATURE,
    SignatureError,
    basic_auth_user,
    matching_key,
    verify_shopify,
    verify_standard,
)
from collect.writer import COLLECTED, DEAD_LETTER, GroupCommitWriter, Key, Overloaded, WriterFailed
from extract.config import catalog
from extract.push import Signature, TrackingPush, WebhookPush
from extract.schema import Where
from segmart.core.settings import Settings

UNROUTED = "_unrouted"  # the dead-letter folder of a webhook whose topic maps to no stream
RETRY_AFTER_SECONDS = 1
MESSAGE_CHARS = 300  # a reason quotes the failing value, cut to this length


class Rejected(Exception):
    """A request answered 4xx/5xx: `reason` is the counter, the message says what to do."""

    def __init__(self, status: int, reason: str, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.detail = detail

    def response(self) -> JSONResponse:
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if self.status in (429, 503) else None
        body = {"error": str(self), "reason": self.reason, **self.detail}
        return JSONResponse(body, status_code=self.status, headers=headers)


@dataclass(frozen=True)
class WebhookRoute:
    source: str
    push: WebhookPush
    secret: str
    topics: Mapping[str, str]  # topic -> stream
    validators: Mapping[str, Any]
    keys: Mapping[str, RecordKeys]


@dataclass(frozen=True)
class TrackingRoute:
    source: str
    push: TrackingPush
    write_key: str
    calls: Mapping[str, str]  # call type -> stream
    validators: Mapping[str, Any]
    plans: Mapping[str, RecordPlan]  # stream -> how its record is taken from an event
    keys: Mapping[str, RecordKeys]


@dataclass(frozen=True)
class Routes:
    webhooks: Mapping[str, WebhookRoute]
    tracking: Mapping[str, TrackingRoute]
    # Sources whose secret variable is unset (source -> variable): named, not served.
    missing_secrets: Mapping[str, str]
    missing_write_keys: Mapping[str, str]

    @property
    def empty(self) -> bool:
        return not self.webhooks and not self.tracking


def _validators(push: WebhookPush | TrackingPush) -> dict[str, Any]:
    return {
        stream: jsonschema_rs.validator_for(dict(config.event_schema), validate_formats=True)
        for stream, config in push.streams.items()
    }


def build_routes(settings: Settings) -> Routes:
    webhooks: dict[str, WebhookRoute] = {}
    tracking: dict[str, TrackingRoute] = {}
    missing: dict[str, str] = {}
    missing_keys: dict[str, str] = {}
    for source, config in catalog(settings.sources_dir).items():
        push = config.push
        if push is None:
            continue
        variable = push.secret_env if isinstance(push, WebhookPush) else push.write_key_env
        secret = settings.env.get(variable) or ""
        if not secret:
            (missing if isinstance(push, WebhookPush) else missing_keys)[source] = variable
            continue
        where = Where(f"extract/sources/{source}.yaml").at("push")
        keys = {
            stream: (
                tuple(config.streams[stream].primary_key.split(".")),
                tuple(config.streams[stream].time_field.split(".")),
            )
            for stream in push.streams
        }
        if isinstance(push, WebhookPush):
            webhooks[source] = WebhookRoute(
                source, push, secret, push.topic_streams(where), _validators(push), keys
            )
        else:
            calls = push.call_streams(where)
            plans = {stream: record_plan(c.record) for stream, c in push.streams.items()}
            tracking[source] = TrackingRoute(
                source, push, secret, calls, _validators(push), plans, keys
            )
    return Routes(webhooks, tracking, missing, missing_keys)


class Stats:
    """The counters of `GET /_stats`: what was taken, dead-lettered and refused, and why."""

    def __init__(self) -> None:
        self.accepted: Counter[str] = Counter()  # "<source>.<stream>" -> events
        self.dead_lettered: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()  # reason -> requests

    def as_dict(self, writer: GroupCommitWriter) -> dict[str, Any]:
        return {
            "accepted": dict(self.accepted),
            "dead_lettered": dict(self.dead_lettered),
            "rejected": dict(self.rejected),
            "writer": {
                "queued": writer.depth,
                "capacity": writer.capacity,
                "commits": writer.commits,
                "requests_synced": writer.synced_jobs,
            },
        }


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# msgspec: the same JSON as the standard library's, several times faster both ways.
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


RecordKeys = tuple[tuple[str, ...], tuple[str, ...]]  # the primary key's and time's paths


def _at(record: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        record = record.get(part) if isinstance(record, dict) else None
    return record


def _as_text(value: Any) -> bytes:
    """A JSON string of the value as DuckDB's json_extract_string gives it (null stays null)."""
    if value is None or isinstance(value, str):
        return _encode(value)
    return _encode(_encode(value).decode())


def landed_line(
    delivery_id: str, received_at: str, record: Any, keys: RecordKeys, record_json: bytes
) -> bytes:
    """One line of a micro-batch: the dedupe key, when it came, the record as sent.

    The record's id and update time travel beside it, so the load reads typed
    columns instead of extracting them from every record's JSON again.
    """
    return b"".join(
        (
            b'{"delivery_id":',
            _encode(delivery_id),
            b',"received_at":"',
            received_at.encode(),
            b'","record_id":',
            _as_text(_at(record, keys[0])),
            b',"record_updated_at":',
            _as_text(_at(record, keys[1])),
            b',"record":',
            record_json,
            b"}\n",
        )
    )


def dead_letter_line(
    delivery_id: str | None, received_at: str, stream: str | None, reason: str, event: Any
) -> bytes:
    entry = {
        "delivery_id": delivery_id,
        "received_at": received_at,
        "stream": stream,
        "reason": reason,
        "event": event,
    }
    return _encode(entry) + b"\n"


async def read_body(request: Request, limit: int) -> bytes:
    """The body, at most `limit` bytes (after gzip), or 413 before reading more."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise _too_large(int(length), limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(size, limit)
        chunks.append(chunk)
    body = b"".join(chunks)
    if request.headers.get("content-encoding", "").lower() == "gzip":
        inflater = zlib.decompressobj(wbits=31)
        try:
            body = inflater.decompress(body, limit + 1)
        except zlib.error as error:
            raise Rejected(400, "malformed", f"the gzip body cannot be read: {error}") from None
        if len(body) > limit or inflater.unconsumed_tail:
            raise _too_large(len(body), limit)
    return body


def _too_large(size: int, limit: int) -> Rejected:
    return Rejected(
        413,
        "too_large",
        f"the body has {size} bytes, more than the limit of {limit}; send smaller batches",
        limit_bytes=limit,
    )


def _parse(body: bytes) -> Any:
    try:
        return _decode(body)
    except msgspec.DecodeError as error:
        raise Rejected(400, "malformed", f"the body is not valid JSON: {error}") from None


def _schema_error(validator: Any, schema: Mapping[str, Any], event: Any) -> str | None:
    """None if valid; else where and why, in the words of the failing part's description."""
    if validator.is_valid(event):
        return None
    error = next(iter(validator.iter_errors(event)))
    at = "/".join(str(part) for part in error.instance_path)
    part: Any = schema
    for step in list(error.schema_path)[:-1]:
        part = part[step] if isinstance(part, Mapping | list) else None
    described = part.get("description") if isinstance(part, Mapping) else None
    message = described or error.message
    if len(message) > MESSAGE_CHARS:
        message = message[: MESSAGE_CHARS - 1] + "…"
    return f"{'at /' + at + ': ' if at else ''}{message}"


def create_app(settings: Settings, writer: GroupCommitWriter) -> FastAPI:
    routes = build_routes(settings)
    stats = Stats()
    app = FastAPI(title="segmart collect", version="1")
    app.state.stats = stats
    app.state.routes = routes

    async def answer(handler: Any, *args: Any) -> Any:
        try:
            return await handler(*args)
        except Rejected as rejected:
            stats.rejected[rejected.reason] += 1
            return rejected.response()
        except Overloaded:
            stats.rejected["overloaded"] += 1
            return Rejected(
                503,
                "overloaded",
                f"the landing writer's queue is full ({writer.capacity} requests); retry after "
                f"{RETRY_AFTER_SECONDS} s",
            ).response()
        except WriterFailed as failed:
            stats.rejected["write_failed"] += 1
            return Rejected(503, "write_failed", f"{failed}; nothing was kept, retry").response()

    async def durable(parts: list[tuple[Key, bytes]]) -> None:
        await writer.write(parts)

    # --- webhooks ----------------------------------------------------------------------------

    async def webhook(request: Request, source: str) -> JSONResponse:
        route = routes.webhooks.get(source)
        if route is None:
            raise _no_route(source, routes, "webhook", sorted(routes.webhooks))
        push = route.push
        body = await read_body(request, push.max_body_bytes)
        headers = request.headers
        if STANDARD_SIGNATURE in headers and Signature.STANDARD_WEBHOOKS in push.signatures:
            try:
                delivery = verify_standard(
                    route.secret, headers, body, push.tolerance.total_seconds()
                )
            except SignatureError as error:
                raise Rejected(401, error.reason, str(error)) from None
            delivery_id: str | None = delivery.delivery_id
        elif SHOPIFY_HEADER in headers and Signature.SHOPIFY in push.signatures:
            try:
                verify_shopify(route.secret, body, headers.get(SHOPIFY_HEADER))
            except SignatureError as error:
                raise Rejected(401, error.reason, str(error)) from None
            delivery_id = headers.get(push.delivery_id_header)
        else:
            expected = " or ".join(
                SHOPIFY_HEADER if s is Signature.SHOPIFY else STANDARD_SIGNATURE
                for s in push.signatures
            )
            raise Rejected(401, "signature", f"missing signature: send header {expected}")
        if not delivery_id:
            raise Rejected(
                400,
                "delivery_id",
                f"missing delivery id header {push.delivery_id_header}: it is the dedupe key",
            )
        event = _parse(body)
        received = _now()
        topic = headers.get(push.topic_header)
        stream = route.topics.get(topic or "")
        if stream is None:
            reason = (
                f"topic {topic!r} (header {push.topic_header}) maps to no stream of {source} "
                f"(topics: {', '.join(sorted(route.topics))})"
            )
            await durable(
                [
                    (
                        (source, UNROUTED, DEAD_LETTER),
                        dead_letter_line(delivery_id, received, None, reason, event),
                    )
                ]
            )
            stats.dead_lettered[f"{source}.{UNROUTED}"] += 1
            raise Rejected(400, "topic", reason)
        problem = _schema_error(route.validators[stream], push.streams[stream].event_schema, event)
        if problem is not None:
            reason = f"{source}.{stream} event schema: {problem}"
            await durable(
                [
                    (
                        (source, stream, DEAD_LETTER),
                        dead_letter_line(delivery_id, received, stream, reason, event),
                    )
                ]
            )
            stats.dead_lettered[f"{source}.{stream}"] += 1
            raise Rejected(400, "schema", reason, dead_lettered=1)
        await durable(
            [
                (
                    (source, stream, COLLECTED),
                    landed_line(delivery_id, received, event, route.keys[stream], _encode(event)),
                )
            ]
        )
        stats.accepted[f"{source}.{stream}"] += 1
        return JSONResponse({"ok": True, "stream": stream, "delivery_id": delivery_id})

    @app.post("/webhooks/{source}", summary="A signed webhook of a source with `push: webhook`")
    async def webhook_endpoint(request: Request, source: str) -> Any:
        return await answer(webhook, request, source)

    # --- tracking (Segment's HTTP API) -----------------------------------------------------------

    tracking_limit = max(
        (route.push.max_batch_bytes for route in routes.tracking.values()), default=1
    )

    async def tracking(request: Request, call: str | None) -> JSONResponse:
        if not routes.tracking:
            raise _no_tracking(routes)
        body = await read_body(request, tracking_limit)
        document = _parse(body)
        if not isinstance(document, dict):
            raise Rejected(400, "malformed", "the body must be a JSON object")
        given = basic_auth_user(request.headers.get("authorization"))
        body_key = document.pop("writeKey", None)
        if given is None and isinstance(body_key, str):
            given = body_key
        source = matching_key(given, {r.source: r.write_key for r in routes.tracking.values()})
        if source is None:
            what = "wrong" if given else "missing"
            raise Rejected(
                401,
                "write_key",
                f"{what} write key: send it as the Basic-auth user name (or writeKey in the body)",
            )
        route = routes.tracking[source]
        push = route.push
        limit = push.max_batch_bytes if call is None else push.max_event_bytes
        if len(body) > limit:
            raise _too_large(len(body), limit)
        if call is None:
            events = document.get("batch")
            if not isinstance(events, list):
                raise Rejected(400, "malformed", "a /v1/batch body needs a `batch` list of events")
        else:
            document.setdefault("type", call)
            events = [document]
        received = _now()
        parts: list[tuple[Key, bytes]] = []
        invalid: list[dict[str, Any]] = []
        landed: Counter[str] = Counter()
        for index, event in enumerate(events):
            if isinstance(event, dict):
                event.pop("writeKey", None)  # never landed
                message_id = event.get("messageId")
                call_type = event.get("type")
            else:
                message_id = call_type = None
            event_json = _encode(event)
            if len(event_json) > push.max_event_bytes:
                raise Rejected(
                    413,
                    "too_large",
                    f"event {index} (messageId {message_id!r}) has {len(event_json)} bytes, more "
                    f"than the limit of {push.max_event_bytes}; nothing of this batch was kept",
                    limit_bytes=push.max_event_bytes,
                )
            stream = route.calls.get(call_type) if isinstance(call_type, str) else None
            if stream is None:
                problem: str | None = (
                    f"type {call_type!r} is not taken (calls: {', '.join(sorted(route.calls))})"
                )
            else:
                problem = _schema_error(
                    route.validators[stream], push.streams[stream].event_schema, event
                )
            delivery_id = message_id if isinstance(message_id, str) else None
            if problem is not None:
                where = stream or UNROUTED
                reason = f"{source}.{where} event schema: {problem}"
                invalid.append(
                    {
                        "index": index,
                        "messageId": delivery_id,
                        "reason": reason,
                        "counter": f"{source}.{where}",
                    }
                )
                letter = dead_letter_line(delivery_id, received, stream, reason, event)
                parts.append(((source, where, DEAD_LETTER), letter))
                continue
            assert stream is not None and delivery_id is not None
            record, record_json = _record(event, route.plans[stream], event_json)
            line = landed_line(delivery_id, received, record, route.keys[stream], record_json)
            parts.append(((source, stream, COLLECTED), line))
            landed[stream] += 1
        if parts:
            await durable(parts)
        for stream, count in landed.items():
            stats.accepted[f"{source}.{stream}"] += count
        for item in invalid:
            stats.dead_lettered[item.pop("counter")] += 1
        if invalid:
            raise Rejected(
                400,
                "schema",
                f"{len(invalid)} of {len(events)} events failed their schema; they are kept in "
                f"the dead-letter file, the other {sum(landed.values())} were accepted",
                invalid=invalid[:20],
                accepted=sum(landed.values()),
                dead_lettered=len(invalid),
            )
        return JSONResponse({"success": True})

    @app.post("/v1/batch", summary="Segment-compatible batch of tracking events")
    async def batch_endpoint(request: Request) -> Any:
        return await answer(tracking, request, None)

    for call in ("track", "page", "screen", "identify", "group", "alias"):

        async def single_endpoint(request: Request, call: str = call) -> Any:
            return await answer(tracking, request, call)

        app.add_api_route(
            f"/v1/{call}", single_endpoint, methods=["POST"], summary=f"One {call} event"
        )

    @app.get("/_stats", summary="Counters: accepted, dead-lettered and refused, by reason")
    async def stats_endpoint() -> Any:
        return stats.as_dict(writer)

    return app


RecordPlan = tuple[tuple[str, tuple[tuple[str, ...], ...]], ...]


def record_plan(paths: Mapping[str, tuple[str, ...]]) -> RecordPlan:
    """The record mapping with its dotted paths split once, not once per event."""
    return tuple(
        (name, tuple(tuple(path.split(".")) for path in candidates))
        for name, candidates in paths.items()
    )


def _record(
    event: dict[str, Any], plan: RecordPlan, event_json: bytes
) -> tuple[dict[str, Any], bytes]:
    """The stream's record: each field from the first of its event paths that is present."""
    record: dict[str, Any] = {}
    for name, candidates in plan:
        value = None
        for path in candidates:
            value = event
            for part in path:
                value = value.get(part) if isinstance(value, dict) else None
            if value is not None:
                break
        record[name] = value
    head = _encode(record)[:-1]
    return record, b"".join((head, b"," if record else b"", b'"event":', event_json, b"}"))


def _no_tracking(routes: Routes) -> Rejected:
    unset = list(routes.missing_write_keys.values())
    if unset:
        return Rejected(
            503, "not_configured", f"tracking is not served: {', '.join(unset)} is not set"
        )
    return Rejected(
        404, "unknown_source", "no source takes tracking pushes here; declare push: style segment"
    )


def _no_route(source: str, routes: Routes, style: str, served: list[str]) -> Rejected:
    if source in routes.missing_secrets:
        return Rejected(
            503,
            "not_configured",
            f"{source} takes pushes, but {routes.missing_secrets[source]} is not set in the "
            "collector's environment",
        )
    return Rejected(
        404,
        "unknown_source",
        f"no source {source!r} takes {style} pushes here (served: {', '.join(served) or 'none'}); "
        "declare a push: section in its source YAML",
    )
