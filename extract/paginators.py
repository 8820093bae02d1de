"""Pagination styles: given the answer to one page, the request for the next.

Each paginator takes its own typed config (extract/config.py) and has one job:
`first_params()` are the query parameters of a window's first page, and
`next_request(response, records, current)` is the (url, params) of the next
page, or None when the window is exhausted.
"""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar
from urllib.parse import urljoin

import requests

from extract.config import (
    BodyCursorPagination,
    LinkHeaderPagination,
    NextUrlPagination,
    PageNumberPagination,
    PageSize,
    PaginationConfig,
    dig,
)
from extract.http import Response

# None as params: the URL already carries every parameter of the next page.
Request = tuple[str, dict[str, str] | None]


class Paginator(Protocol):
    def first_params(self) -> dict[str, str]: ...

    def next_request(
        self, response: Response, records: list, current: Request
    ) -> Request | None: ...


Config = TypeVar("Config", bound=PageSize)


class _Paged(Generic[Config]):
    """The first page asks for the page size (when the API takes one)."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def first_params(self) -> dict[str, str]:
        limit = self.config.limit_param
        return {limit: str(self.config.page_size)} if limit else {}


class LinkHeaderPaginator(_Paged[LinkHeaderPagination]):
    """`Link: <https://…?page_info=…>; rel="next"` carries every parameter of the next page."""

    def next_request(self, response: Response, records: list, current: Request) -> Request | None:
        for link in requests.utils.parse_header_links(response.headers.get("Link", "")):
            if link.get("rel") == "next" and link.get("url"):
                return urljoin(response.url, link["url"]), None
        return None


class BodyCursorPaginator(_Paged[BodyCursorPagination]):
    """An opaque cursor in the body, sent back as a query parameter; none (or no records) ends."""

    def next_request(self, response: Response, records: list, current: Request) -> Request | None:
        cursor = dig(response.body, self.config.cursor_path)
        if cursor in (None, "") or not records:
            return None
        url, params = current
        return url, {**(params or {}), self.config.cursor_param: str(cursor)}


class PageNumberPaginator(_Paged[PageNumberPagination]):
    """`page=1..total_pages`; an empty page also ends the window (APIs without a total)."""

    def first_params(self) -> dict[str, str]:
        return {**super().first_params(), self.config.page_param: "1"}

    def next_request(self, response: Response, records: list, current: Request) -> Request | None:
        url, params = current
        page_param, total_path = self.config.page_param, self.config.total_pages_path
        page = int((params or {}).get(page_param, 1))
        total = dig(response.body, total_path) if total_path else None
        if not records or (total is not None and page >= int(total)):
            return None
        return url, {**(params or {}), page_param: str(page + 1)}


class NextUrlPaginator(_Paged[NextUrlPagination]):
    """The full next URL (keyset APIs' `next`) in the body; null at the end."""

    def next_request(self, response: Response, records: list, current: Request) -> Request | None:
        target = dig(response.body, self.config.next_url_path)
        if not target:
            return None
        return urljoin(response.url, str(target)), None


# The registry: one paginator per typed config (whose `style` names it in YAML).
PAGINATORS: dict[type, type] = {
    LinkHeaderPagination: LinkHeaderPaginator,
    BodyCursorPagination: BodyCursorPaginator,
    PageNumberPagination: PageNumberPaginator,
    NextUrlPagination: NextUrlPaginator,
}


def paginator(config: PaginationConfig) -> Paginator:
    return PAGINATORS[type(config)](config)
