"""Each pagination style on fixed responses: the next request, or the end of the window.

The end-to-end tests (test_exact_records.py) follow real pages of the demo API;
these pin each style's rule, edge by edge, without a server.
"""

from __future__ import annotations

from typing import Any

import pytest
from requests.structures import CaseInsensitiveDict

from extract.config import (
    PAGINATION_STYLES,
    BodyCursorPagination,
    LinkHeaderPagination,
    NextUrlPagination,
    PageNumberPagination,
)
from extract.http import Response
from extract.paginators import (
    BodyCursorPaginator,
    LinkHeaderPaginator,
    NextUrlPaginator,
    PageNumberPaginator,
    paginator,
)

URL = "https://api.example.com/v1/orders"
RECORDS = [{"id": 1}, {"id": 2}]


def response(body: Any = None, url: str = URL, **headers: str) -> Response:
    return Response(body, CaseInsensitiveDict(headers), url)


# --- link_header -------------------------------------------------------------------------


def test_link_header_follows_the_next_link_among_others():
    pages = LinkHeaderPaginator(LinkHeaderPagination(page_size=250))
    link = (
        '<https://api.example.com/v1/orders?page_info=p1>; rel="previous", '
        '<https://api.example.com/v1/orders?page_info=n2&limit=250>; rel="next"'
    )
    current = (URL, {"limit": "250", "updated_at_min": "x"})
    assert pages.next_request(response(Link=link), RECORDS, current) == (
        "https://api.example.com/v1/orders?page_info=n2&limit=250",
        None,  # the link carries every parameter: the window's are not sent again
    )


def test_link_header_resolves_a_relative_link_against_the_answering_url():
    pages = LinkHeaderPaginator(LinkHeaderPagination())
    answer = response(Link='</v1/orders?page_info=n2>; rel="next"')
    assert pages.next_request(answer, RECORDS, (URL, None)) == (
        "https://api.example.com/v1/orders?page_info=n2",
        None,
    )


def test_link_header_without_a_next_link_ends_the_window():
    pages = LinkHeaderPaginator(LinkHeaderPagination())
    previous_only = response(Link='<https://api.example.com/v1/o?page_info=p1>; rel="previous"')
    assert pages.next_request(previous_only, RECORDS, (URL, None)) is None
    assert pages.next_request(response(), RECORDS, (URL, None)) is None


def test_the_first_page_asks_for_the_page_size_unless_the_api_takes_none():
    assert LinkHeaderPaginator(LinkHeaderPagination(page_size=250)).first_params() == {
        "limit": "250"
    }
    assert LinkHeaderPaginator(LinkHeaderPagination(limit_param=None)).first_params() == {}


# --- body_cursor -------------------------------------------------------------------------

CURSOR = BodyCursorPagination(cursor_path="paging.next.after", cursor_param="after", page_size=100)


def test_body_cursor_sends_the_cursor_back_keeping_the_other_parameters():
    pages = BodyCursorPaginator(CURSOR)
    body = {"results": RECORDS, "paging": {"next": {"after": 200}}}
    current = (URL, {"limit": "100", "updated_after": "a", "after": "100"})
    assert pages.next_request(response(body), RECORDS, current) == (
        URL,
        {"limit": "100", "updated_after": "a", "after": "200"},
    )


@pytest.mark.parametrize(
    "body",
    [{"results": []}, {"paging": {}}, {"paging": {"next": {"after": ""}}}, {"paging": None}],
    ids=["no-paging", "no-next", "empty-cursor", "null-paging"],
)
def test_body_cursor_without_a_cursor_ends_the_window(body):
    assert BodyCursorPaginator(CURSOR).next_request(response(body), RECORDS, (URL, {})) is None


def test_body_cursor_on_an_empty_page_ends_even_with_a_cursor():
    body = {"results": [], "paging": {"next": {"after": "x"}}}
    assert BodyCursorPaginator(CURSOR).next_request(response(body), [], (URL, {})) is None


# --- page_number -------------------------------------------------------------------------

NUMBERED = PageNumberPagination(
    page_param="page", limit_param="per_page", page_size=1000, total_pages_path="total_pages"
)


def test_page_number_starts_at_page_one_with_the_page_size():
    assert PageNumberPaginator(NUMBERED).first_params() == {"per_page": "1000", "page": "1"}


def test_page_number_counts_up_to_the_total_then_stops():
    pages = PageNumberPaginator(NUMBERED)
    params = {"per_page": "1000", "page": "2", "since": "a"}
    answer = response({"data": RECORDS, "total_pages": 3})
    assert pages.next_request(answer, RECORDS, (URL, params)) == (
        URL,
        {"per_page": "1000", "page": "3", "since": "a"},
    )
    last = {**params, "page": "3"}
    assert pages.next_request(answer, RECORDS, (URL, last)) is None


def test_page_number_stops_on_an_empty_page_before_the_total():
    answer = response({"data": [], "total_pages": 9})
    assert PageNumberPaginator(NUMBERED).next_request(answer, [], (URL, {"page": "2"})) is None


def test_page_number_without_a_total_goes_on_until_an_empty_page():
    pages = PageNumberPaginator(PageNumberPagination(page_param="p"))
    assert pages.next_request(response({}), RECORDS, (URL, {"p": "7"})) == (URL, {"p": "8"})
    assert pages.next_request(response({}), [], (URL, {"p": "8"})) is None


# --- next_url ----------------------------------------------------------------------------


def test_next_url_follows_the_body_url_relative_or_absolute():
    pages = NextUrlPaginator(NextUrlPagination(next_url_path="next"))
    relative = response({"next": "/v1/events?after_id=9&limit=5"})
    assert pages.next_request(relative, RECORDS, (URL, {"limit": "5"})) == (
        "https://api.example.com/v1/events?after_id=9&limit=5",
        None,
    )
    absolute = response({"next": "https://other.example.com/e?after_id=9"})
    assert pages.next_request(absolute, RECORDS, (URL, None)) == (
        "https://other.example.com/e?after_id=9",
        None,
    )


@pytest.mark.parametrize("body", [{"next": None}, {"next": ""}, {}, {"links": {"next": "/x"}}])
def test_next_url_without_a_url_at_its_path_ends_the_window(body):
    pages = NextUrlPaginator(NextUrlPagination(next_url_path="next"))
    assert pages.next_request(response(body), RECORDS, (URL, None)) is None


def test_next_url_reads_a_dotted_path():
    pages = NextUrlPaginator(NextUrlPagination(next_url_path="links.next"))
    answer = response({"links": {"next": "/v1/x?c=2"}})
    assert pages.next_request(answer, RECORDS, (URL, None)) == (
        "https://api.example.com/v1/x?c=2",
        None,
    )


# --- the registry ------------------------------------------------------------------------

CONFIGS = {
    "link_header": LinkHeaderPagination(),
    "body_cursor": CURSOR,
    "page_number": NUMBERED,
    "next_url": NextUrlPagination(next_url_path="next"),
}
PAGINATOR_OF = {
    "link_header": LinkHeaderPaginator,
    "body_cursor": BodyCursorPaginator,
    "page_number": PageNumberPaginator,
    "next_url": NextUrlPaginator,
}


def test_every_style_has_its_config_and_its_paginator():
    assert set(PAGINATION_STYLES) == set(CONFIGS)
    for style, config in CONFIGS.items():
        assert type(config) is PAGINATION_STYLES[style] and config.style == style
        assert isinstance(paginator(config), PAGINATOR_OF[style])
