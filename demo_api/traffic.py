"""Per-source rate limits, injected faults and request counters, as an ASGI wrapper.

The limit is a token bucket of `limit` tokens in which every spent token comes
back exactly one second after it was spent. So no one-second window ever
accepts more than `limit` requests, which is what `max_accepted_per_second` in
`/_stats` measures and what a well-behaved client can be held to.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

SOURCES = ("shop", "crm", "esp", "web")
UNLIMITED_HEADER = 1_000_000
FAULTS = ("500", "503", "drop", "truncate")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def parse_rate_limits(text: str) -> dict[str, int]:
    """`shop=10,crm=5` → {"shop": 10, "crm": 5}; sources not named are unlimited (0)."""
    limits = dict.fromkeys(SOURCES, 0)
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        name = name.strip()
        if name not in limits or not value.strip().isdigit():
            raise ValueError(
                f"--rate-limit: {part!r} is not SOURCE=REQUESTS_PER_SECOND "
                f"with SOURCE one of {', '.join(SOURCES)}"
            )
        limits[name] = int(value)
    return limits


class SourceCounter:
    """One source's limiter and counters; all times from the monotonic clock."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.requests = self.accepted = self.rate_limited = self.faults = 0
        self.max_accepted_per_second = 0
        self._recent: deque[float] = deque()

    def _expire(self, now: float) -> None:
        while self._recent and self._recent[0] <= now - 1.0:
            self._recent.popleft()

    def admit(self, now: float) -> tuple[bool, dict[str, str]]:
        self.requests += 1
        self._expire(now)
        if self.limit and len(self._recent) >= self.limit:
            self.rate_limited += 1
            wait = self._recent[0] + 1.0 - now
            headers = self._headers(now)
            headers["Retry-After"] = str(max(1, math.ceil(wait)))
            return False, headers
        self._recent.append(now)
        self.accepted += 1
        self.max_accepted_per_second = max(self.max_accepted_per_second, len(self._recent))
        return True, self._headers(now)

    def _headers(self, now: float) -> dict[str, str]:
        if not self.limit:
            size = str(UNLIMITED_HEADER)
            return {"RateLimit-Limit": size, "RateLimit-Remaining": size, "RateLimit-Reset": "0"}
        remaining = max(0, self.limit - len(self._recent))
        reset = math.ceil(self._recent[0] + 1.0 - now) if self._recent else 0
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(remaining),
            "RateLimit-Reset": str(max(0, reset)),
        }

    def snapshot(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "accepted": self.accepted,
            "rate_limited": self.rate_limited,
            "faults": self.faults,
            "max_accepted_per_second": self.max_accepted_per_second,
        }


class Stats:
    def __init__(self, limits: dict[str, int]) -> None:
        self.lock = threading.Lock()
        self.sources = {name: SourceCounter(limits.get(name, 0)) for name in SOURCES}

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self.lock:
            return {name: counter.snapshot() for name, counter in self.sources.items()}


class Traffic:
    """Wraps the app: admits or rejects each source request, maybe breaks it, counts it."""

    def __init__(self, app: ASGIApp, stats: Stats, fault_rate: float, seed: int) -> None:
        self.app, self.stats, self.fault_rate = app, stats, fault_rate
        self._faults = random.Random(seed * 7919 + 17)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        source = scope["path"].strip("/").split("/", 1)[0] if scope["type"] == "http" else ""
        counter = self.stats.sources.get(source)
        if counter is None:
            await self.app(scope, receive, send)
            return
        with self.stats.lock:
            admitted, headers = counter.admit(time.monotonic())
            fault = None
            if admitted and self.fault_rate and self._faults.random() < self.fault_rate:
                fault = self._faults.choice(FAULTS)
                counter.faults += 1
        if not admitted:
            body = {"error": "rate_limited", "message": f"{source}: too many requests"}
            await _send_json(send, 429, body, headers)
            return
        if fault in ("500", "503"):
            extra = {"Retry-After": "1"} if fault == "503" else {}
            body = {"error": "server_error", "message": f"{source}: injected fault {fault}"}
            await _send_json(send, int(fault), body, {**headers, **extra})
            return
        if fault == "drop":
            _close_connection(receive)
            return
        await self.app(scope, receive, _with_headers(send, headers, truncate=fault == "truncate"))
        if fault == "truncate":
            _close_connection(receive)


async def _send_json(send: Send, status: int, body: dict, headers: dict[str, str]) -> None:
    payload = json.dumps(body).encode()
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    raw += [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


def _with_headers(send: Send, headers: dict[str, str], truncate: bool) -> Send:
    extra = [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        elif truncate and message["type"] == "http.response.body":
            # Half the body, announced as more to come; the connection then closes.
            body = message.get("body", b"")
            message = {
                "type": "http.response.body",
                "body": body[: len(body) // 2],
                "more_body": True,
            }
        await send(message)

    return wrapped


def _close_connection(receive: Receive) -> None:
    """Drop the TCP connection under the request (uvicorn's cycle holds the transport)."""
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise ConnectionAbortedError("injected fault: connection dropped")
    # Marked disconnected so uvicorn neither answers 500 nor logs the unfinished response.
    cycle.disconnected = True
    transport.close()
