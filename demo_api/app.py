"""The four demo sources as one FastAPI app, each in its own API family's style.

shop: Shopify-like (Bearer, `Link: <…>; rel="next"` with an opaque `page_info`),
crm: HubSpot-like (Bearer, body cursor `paging.next.after`), esp: Mailchimp-like
(`X-Api-Key`, `page`/`per_page`/`total_pages`), web: tracking (Bearer, keyset
`after_id` and a body `next` URL). See demo_api/README.md for the body shapes.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request, Response, Security
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from demo_api.world import World, iso, to_epoch, web_event_key

MAX_WINDOW_ITEMS = 1000


class ApiError(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer demo-<source>-key`")
_api_key = APIKeyHeader(name="X-Api-Key", auto_error=False, description="`demo-esp-key`")
_ERRORS: dict[int | str, dict[str, Any]] = {
    200: {"description": "A page of records (JSON body; see demo_api/README.md)"},
    400: {"description": "Bad parameter (JSON error)"},
    401: {"description": "Missing or wrong credentials (JSON error)"},
    429: {"description": "Rate limited; see Retry-After"},
}


def _require_bearer(source: str, credentials: HTTPAuthorizationCredentials | None) -> None:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "unauthorized", f"{source}: send `Authorization: Bearer <api key>`")
    if credentials.credentials != f"demo-{source}-key":
        raise ApiError(401, "invalid_api_key", f"{source}: the API key is not valid")


def _parse_time(name: str, value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return to_epoch(value)
    except (ValueError, OverflowError, OSError):
        raise ApiError(
            400, "invalid_parameter", f"{name}: expected an ISO 8601 timestamp, got {value!r}"
        ) from None


def _encode_cursor(payload: dict) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(name: str, value: str, id_type: type) -> dict:
    """A cursor we issued: {"t": int, "id": id_type, optional "a"/"b": int | None}."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        payload = json.loads(raw)
        if not isinstance(payload, dict) or type(payload.get("t")) is not int:
            raise ValueError
        if type(payload.get("id")) is not id_type:
            raise ValueError
        if any(payload.get(k) is not None and type(payload[k]) is not int for k in "ab"):
            raise ValueError
        return payload
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(400, "invalid_cursor", f"{name}: not a cursor this API issued") from None


def _page(
    world: World,
    source: str,
    stream: str,
    start: int | None,
    end: int | None,
    after: tuple[int, Any] | None,
    limit: int,
) -> tuple[list[dict], tuple[int, Any] | None]:
    """Up to `limit` records after the cursor, and the cursor of the last if more follow."""
    entries = []
    for entry in world.entries(source, stream, start, end, after):
        entries.append(entry)
        if len(entries) > limit:
            break
    more = len(entries) > limit
    entries = entries[:limit]
    records = [world.build(source, stream, entry) for entry in entries]
    last = (entries[-1][0], entries[-1][1]) if more else None
    return records, last


def _json(body: dict, headers: dict[str, str] | None = None) -> Response:
    """Records are plain JSON already: skip FastAPI's per-value encoder (most of a page's time)."""
    payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(payload, media_type="application/json", headers=headers)


def _url(request: Request, **params: Any) -> str:
    clean = {k: v for k, v in params.items() if v is not None}
    return str(request.url.include_query_params(**clean))


def create_app(world: World) -> FastAPI:
    app = FastAPI(
        title="segmart demo sources",
        version="1.0",
        description="Four demo customer-data APIs (shop, crm, esp, web) served from one process.",
    )

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, error: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        return JSONResponse(
            {"error": error.error, "message": error.message}, error.status, headers=headers
        )

    def shop_list(stream: str, key: str):  # noqa: ANN202 - FastAPI reads the signature
        def handler(
            request: Request,
            credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
            limit: Annotated[int, Query(ge=1, le=250)] = 50,
            updated_at_min: Annotated[
                str | None, Query(description="ISO 8601; records with updated_at >= this")
            ] = None,
            updated_at_max: Annotated[
                str | None, Query(description="ISO 8601; records with updated_at < this")
            ] = None,
            page_info: Annotated[
                str | None, Query(description="Opaque cursor from the Link header")
            ] = None,
        ) -> Response:
            _require_bearer("shop", credentials)
            if page_info:
                cursor = _decode_cursor("page_info", page_info, int)
                start, end = cursor.get("a"), cursor.get("b")
                after: tuple[int, Any] | None = (cursor["t"], cursor.get("id"))
            else:
                start = _parse_time("updated_at_min", updated_at_min)
                end = _parse_time("updated_at_max", updated_at_max)
                after = None
            records, last = _page(world, "shop", stream, start, end, after, limit)
            if last is not None:
                token = _encode_cursor({"a": start, "b": end, "t": last[0], "id": last[1]})
                url = str(request.url.remove_query_params(list(request.query_params.keys())))
                next_url = f"{url}?limit={limit}&page_info={token}"
                return _json({key: records}, {"Link": f'<{next_url}>; rel="next"'})
            return _json({key: records})

        handler.__name__ = f"shop_{stream}"
        return handler

    for stream in ("customers", "orders", "products"):
        app.get(
            f"/shop/{stream}",
            tags=["shop"],
            responses=_ERRORS,
            summary=f"List shop {stream} by updated_at; next page in the Link header",
        )(shop_list(stream, stream))

    @app.get(
        "/crm/contacts",
        tags=["crm"],
        responses=_ERRORS,
        summary="List CRM contacts by updated_at; next cursor in paging.next.after",
    )
    def crm_contacts(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
        limit: Annotated[int, Query(ge=1, le=100)] = 100,
        updated_after: Annotated[str | None, Query(description="ISO 8601, inclusive")] = None,
        updated_before: Annotated[str | None, Query(description="ISO 8601, exclusive")] = None,
        after: Annotated[
            str | None, Query(description="paging.next.after of the last page")
        ] = None,
    ) -> dict:
        _require_bearer("crm", credentials)
        start = _parse_time("updated_after", updated_after)
        end = _parse_time("updated_before", updated_before)
        cursor = None
        if after:
            decoded = _decode_cursor("after", after, str)
            cursor = (decoded["t"], decoded.get("id"))
        records, last = _page(world, "crm", "contacts", start, end, cursor, limit)
        body: dict[str, Any] = {"results": records}
        if last is not None:
            token = _encode_cursor({"t": last[0], "id": last[1]})
            body["paging"] = {"next": {"after": token, "link": _url(request, after=token)}}
        return _json(body)

    @app.get(
        "/esp/email_events",
        tags=["esp"],
        responses=_ERRORS,
        summary="List email events by occurred_at; numbered pages with total_pages",
    )
    def esp_email_events(
        request: Request,
        api_key: Annotated[str | None, Security(_api_key)],
        page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
        per_page: Annotated[int, Query(ge=1, le=1000)] = 100,
        since: Annotated[str | None, Query(description="ISO 8601, inclusive")] = None,
        until: Annotated[str | None, Query(description="ISO 8601, exclusive")] = None,
    ) -> Response:
        if not api_key:
            raise ApiError(401, "unauthorized", "esp: send the API key in the X-Api-Key header")
        if api_key != "demo-esp-key":
            raise ApiError(401, "invalid_api_key", "esp: the API key is not valid")
        start, end = _parse_time("since", since), _parse_time("until", until)
        total, chosen = world.offset_page(
            "esp", "email_events", start, end, (page - 1) * per_page, per_page
        )
        records = [world.build("esp", "email_events", entry) for entry in chosen]
        return _json(
            {
                "data": records,
                "page": page,
                "per_page": per_page,
                "total": total,
                "total_pages": math.ceil(total / per_page),
            }
        )

    @app.get(
        "/web/events",
        tags=["web"],
        responses=_ERRORS,
        summary="List tracking events by occurred_at; keyset after_id, next URL in the body",
    )
    def web_events(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        occurred_after: Annotated[str | None, Query(description="ISO 8601, inclusive")] = None,
        occurred_before: Annotated[str | None, Query(description="ISO 8601, exclusive")] = None,
        after_id: Annotated[str | None, Query(description="id of the last event seen")] = None,
    ) -> Response:
        _require_bearer("web", credentials)
        start = _parse_time("occurred_after", occurred_after)
        end = _parse_time("occurred_before", occurred_before)
        cursor = None
        if after_id:
            try:
                cursor = web_event_key(after_id)
            except ValueError:
                raise ApiError(
                    400, "invalid_parameter", "after_id: not an event id of this API"
                ) from None
        records, last = _page(world, "web", "events", start, end, cursor, limit)
        next_url = _url(request, after_id=records[-1]["id"]) if last is not None else None
        return _json({"data": records, "next": next_url})

    @app.get("/_stats", tags=["meta"], summary="Per-source request counters")
    def stats(request: Request) -> dict:
        return request.app.state.stats.snapshot()

    @app.get("/", tags=["meta"], summary="What this server is")
    def root() -> dict:
        return {
            "service": "segmart demo sources",
            "sources": ["shop", "crm", "esp", "web"],
            "now": iso(world.now()),
            "seed": world.seed,
            "customers": world.customers,
            "scenario": world.scenario,
        }

    return app
