"""Property-based run of the OpenAPI description: no input makes the server fail."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.support import FROZEN_NOW

FLAGS = ("--customers", "200", "--now", FROZEN_NOW, "--rate-limit", "shop=0,crm=0,esp=0,web=0")


@pytest.fixture(scope="module")
def api_under_test():
    from tests.support import start_demo_api

    api = start_demo_api(*FLAGS)
    yield api
    api.stop()


def _auth(path: str) -> dict[str, str]:
    source = path.strip("/").split("/", 1)[0]
    if source == "esp":
        return {"X-Api-Key": "demo-esp-key"}
    return {"Authorization": f"Bearer demo-{source}-key"}


def test_no_input_gets_a_server_error(api_under_test):
    schema = schemathesis.openapi.from_url(f"{api_under_test.base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            response = case.call(headers=_auth(case.path))
            case.validate_response(response, checks=[not_a_server_error])
            assert response.status_code < 500

        check()
    # The generated cases got past auth and reached every source.
    assert all(c["requests"] >= 20 for c in api_under_test.stats().values())


def test_openapi_declares_params_and_auth(api_under_test):
    import requests

    spec = requests.get(f"{api_under_test.base_url}/openapi.json", timeout=10).json()
    params = {
        path: {p["name"] for p in spec["paths"][path]["get"].get("parameters", [])}
        for path in spec["paths"]
    }
    assert {"limit", "updated_at_min", "updated_at_max", "page_info"} <= params["/shop/orders"]
    assert {"limit", "updated_after", "updated_before", "after"} <= params["/crm/contacts"]
    assert {"page", "per_page", "since", "until"} <= params["/esp/email_events"]
    assert {"limit", "occurred_after", "occurred_before", "after_id"} <= params["/web/events"]
    assert {"HTTPBearer", "APIKeyHeader"} <= set(spec["components"]["securitySchemes"])
    assert "401" in spec["paths"]["/shop/orders"]["get"]["responses"]
