"""Each source checks its own credential style and answers 401 with a JSON error."""

from __future__ import annotations

import pytest
import requests

ROUTES = {
    "shop": "/shop/orders",
    "crm": "/crm/contacts",
    "esp": "/esp/email_events",
    "web": "/web/events",
}


def _bad_headers(source: str) -> list[dict[str, str]]:
    if source == "esp":
        return [
            {},
            {"X-Api-Key": "wrong"},
            {"Authorization": "Bearer demo-esp-key"},  # right key, wrong style
        ]
    return [
        {},
        {"Authorization": f"Bearer demo-{'esp' if source != 'esp' else 'shop'}-key"},
        {"Authorization": f"Basic demo-{source}-key"},
        {"X-Api-Key": f"demo-{source}-key"},  # right key, wrong style
    ]


@pytest.mark.parametrize("source", list(ROUTES))
def test_missing_or_wrong_credentials_get_401_json(demo_api, source):
    for headers in _bad_headers(source):
        response = requests.get(demo_api.base_url + ROUTES[source], headers=headers, timeout=10)
        assert response.status_code == 401, headers
        assert response.headers["content-type"].startswith("application/json")
        body = response.json()
        assert body["error"] in ("unauthorized", "invalid_api_key")
        assert source in body["message"]
        assert "RateLimit-Limit" in response.headers


@pytest.mark.parametrize("source", list(ROUTES))
def test_right_credentials_get_200(demo_api, source):
    headers = (
        {"X-Api-Key": "demo-esp-key"}
        if source == "esp"
        else {"Authorization": f"Bearer demo-{source}-key"}
    )
    response = requests.get(demo_api.base_url + ROUTES[source], headers=headers, timeout=10)
    assert response.status_code == 200
