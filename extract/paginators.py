"""Pagination styles: given the answer to one page, the request for the next.

Each paginator has one job: `next_request(response, records)` returns the
(url, params) of the next page, or None when the stream is exhausted.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urljoin

import requests

from extract.config import PaginationConfig, dig
from extract.http import Response

Request = tuple[str, dict[str, str] | None]
Paginator = Callable[[Response, list, Request], Request | None]


def link_header(config: PaginationConfig) -> Paginator:
    """Shopify/GitHub: `Link: <https://…?page_info=…>; rel="next"` carries every parameter."""

    def next_request(response: Response, records: list, current: Request) -> Request | None:
        links = requests.utils.parse_header_links(response.headers.get("Link", ""))
        for link in links:
            if link.get("rel") == "next" and link.get("url"):
                return urljoin(response.url, link["url"]), None
        return None

    return next_request


def body_cursor(config: PaginationConfig) -> Paginator:
    """HubSpot/Stripe: an opaque cursor in the body, sent back as a query parameter."""
    if not config.cursor_path or not config.cursor_param:
        raise ValueError("body_cursor pagination needs cursor_path and cursor_param")
    cursor_path, cursor_param = config.cursor_path, config.cursor_param

    def next_request(response: Response, records: list, current: Request) -> Request | None:
        cursor = dig(response.body, cursor_path)
        if cursor in (None, "") or not records:
            return None
        url, params = current
        return url, {**(params or {}), cursor_param: str(cursor)}

    return next_request


def page_number(config: PaginationConfig) -> Paginator:
    """Mailchimp/Zendesk style: `page=1..total_pages`; an empty page also ends the stream."""
    page_param, total_path = config.page_param, config.total_pages_path

    def next_request(response: Response, records: list, current: Request) -> Request | None:
        url, params = current
        page = int((params or {}).get(page_param, 1))
        total = dig(response.body, total_path) if total_path else None
        if not records or (total is not None and page >= int(total)):
            return None
        return url, {**(params or {}), page_param: str(page + 1)}

    return next_request


def next_url(config: PaginationConfig) -> Paginator:
    """Keyset APIs that return the full next URL (`next`) in the body; null at the end."""
    if not config.next_url_path:
        raise ValueError("next_url pagination needs next_url_path")
    path = config.next_url_path

    def next_request(response: Response, records: list, current: Request) -> Request | None:
        target = dig(response.body, path)
        if not target:
            return None
        return urljoin(response.url, str(target)), None

    return next_request


PAGINATORS: dict[str, Callable[[PaginationConfig], Paginator]] = {
    "link_header": link_header,
    "body_cursor": body_cursor,
    "page_number": page_number,
    "next_url": next_url,
}


def first_params(config: PaginationConfig) -> dict[str, str]:
    params = {config.limit_param: str(config.page_size)} if config.limit_param else {}
    if config.style == "page_number":
        params[config.page_param] = "1"
    return params


def paginator(config: PaginationConfig) -> Paginator:
    return PAGINATORS[config.style](config)
