"""A fifth source that segmart has never seen: a loyalty programme's API, on loopback.

It has conventions of its own (an `X-Loyalty-Key` header, `changed_since` /
`changed_before` windows, a body cursor named `next_cursor`), so nothing in
segmart can have been written for it.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

API_KEY = "loyalty-test-key"
FIRST_CHANGE = datetime(2026, 1, 1, tzinfo=UTC)


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


# 150 members, one change every 20 hours from 2026-01-01: 2026-01-01 .. 2026-05-05.
MEMBERS = [
    {
        "id": f"m-{number:04d}",
        "email": f"Member.{number}@Example.org ",
        "points": number * 7 % 500,
        "tier": ["bronze", "silver", "gold"][number % 3],
        "updated_at": iso(FIRST_CHANGE + timedelta(hours=20 * number)),
    }
    for number in range(150)
]


def members_between(start: str, end: str) -> list[dict]:
    return [m for m in MEMBERS if start <= m["updated_at"] < end]


class LoyaltyHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server hook's name
        url = urlparse(self.path)
        if self.headers.get("X-Loyalty-Key") != API_KEY:
            return self.answer(401, {"error": "missing or wrong X-Loyalty-Key"})
        if url.path != "/loyalty/members":
            return self.answer(404, {"error": f"no such endpoint {url.path}"})
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        window = members_between(query["changed_since"], query["changed_before"])
        offset = int(query.get("cursor") or 0)
        size = int(query.get("per_page") or 25)
        page = window[offset : offset + size]
        more = offset + size < len(window)
        self.answer(200, {"members": page, "next_cursor": str(offset + size) if more else None})

    def answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:  # quiet test output
        pass


class LoyaltyApi:
    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), LoyaltyHandler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/loyalty"

    def __enter__(self) -> LoyaltyApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
