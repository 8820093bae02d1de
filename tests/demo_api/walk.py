"""A small client for the demo API: each source's pagination style, walked to the end.

Honours `Retry-After` on 429/503 and retries injected faults, like any polite
extractor would; used to check that every record arrives exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import requests

from tests.support import DemoApi

WINDOW_PARAMS = {
    "shop": ("updated_at_min", "updated_at_max"),
    "crm": ("updated_after", "updated_before"),
    "esp": ("since", "until"),
    "web": ("occurred_after", "occurred_before"),
}
BODY_KEYS = {"crm": "results", "esp": "data", "web": "data"}


@dataclass
class Walk:
    records: list[dict] = field(default_factory=list)
    pages: int = 0
    rate_limited: int = 0
    faults: int = 0
    waited: list[float] = field(default_factory=list)


def auth_headers(api: DemoApi, source: str) -> dict[str, str]:
    if source == "esp":
        return {"X-Api-Key": api.api_key(source)}
    return {"Authorization": f"Bearer {api.api_key(source)}"}


def window(source: str, start: str | None, end: str | None) -> dict[str, str]:
    low, high = WINDOW_PARAMS[source]
    params = {}
    if start:
        params[low] = start
    if end:
        params[high] = end
    return params


def get(api: DemoApi, source: str, url: str, params: dict | None, walk: Walk) -> requests.Response:
    """GET with retries: waits out 429/503 as told, retries 500s and broken connections."""
    for _attempt in range(50):
        try:
            response = requests.get(
                url, params=params, headers=auth_headers(api, source), timeout=30
            )
            if response.status_code == 429:
                walk.rate_limited += 1
                walk.waited.append(float(response.headers["Retry-After"]))
                _wait(float(response.headers["Retry-After"]))
                continue
            if response.status_code >= 500:
                walk.faults += 1
                continue
            response.json()  # a truncated body fails here
            return response
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError, ValueError):
            walk.faults += 1
    raise AssertionError(f"{url}: no good answer in 50 attempts")


def _wait(seconds: float) -> None:
    # The server said how long to back off: this is the client's side of the contract.
    time.sleep(seconds)


def walk_stream(
    api: DemoApi,
    source: str,
    stream: str,
    start: str | None = None,
    end: str | None = None,
    page_size: int = 100,
) -> Walk:
    walk = Walk()
    for page in _pages(api, source, stream, start, end, page_size, walk):
        walk.pages += 1
        walk.records.extend(page)
    return walk


def _pages(
    api: DemoApi,
    source: str,
    stream: str,
    start: str | None,
    end: str | None,
    size: int,
    walk: Walk,
) -> Iterator[list[dict]]:
    url = f"{api.url(source)}/{stream}"
    params = window(source, start, end)
    if source == "shop":
        next_url: str | None = url
        query: dict | None = {**params, "limit": size}
        while next_url:
            response = get(api, source, next_url, query, walk)
            yield response.json()[stream]
            next_url = response.links.get("next", {}).get("url")
            query = None
    elif source == "crm":
        query = {**params, "limit": size}
        while True:
            body = get(api, source, url, query, walk).json()
            yield body["results"]
            after = body.get("paging", {}).get("next", {}).get("after")
            if not after:
                return
            query = {**params, "limit": size, "after": after}
    elif source == "esp":
        page, total_pages = 1, 1
        while page <= total_pages:
            body = get(api, source, url, {**params, "per_page": size, "page": page}, walk).json()
            total_pages = body["total_pages"]
            yield body["data"]
            page += 1
    else:
        next_url = url
        query = {**params, "limit": size}
        while next_url:
            body = get(api, source, next_url, query, walk).json()
            yield body["data"]
            next_url, query = body["next"], None
