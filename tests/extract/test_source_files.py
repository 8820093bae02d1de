"""Source files are checked whole when read: every key, with the file, the key path and
what is allowed in the message, before any request."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
import yaml

from extract import ConfigError, list_sources, list_streams, run_extract, stream_gates
from extract.config import deep_merge, load_source, parse_source
from segmart.core.contracts import FieldCheck, FieldRule, Severity, StreamGate
from segmart.core.errors import UserError
from segmart.core.settings import Settings
from tests.extract.support import make_settings, utc, write_sources

ORIGIN = "extract/sources/x.yaml"
MINIMAL: dict[str, Any] = {
    "source": "x",
    "history_start": "2024-01-01T00:00:00Z",
    "defaults": {
        "primary_key": "id",
        "time_field": "updated_at",
        "window": {"start_param": "since", "end_param": "until"},
        "pagination": {"style": "link_header", "page_size": 100},
    },
    "streams": {"orders": {"path": "/orders", "records": "orders"}},
}


def parse(**edits: Any):
    return parse_source(deep_merge(copy.deepcopy(MINIMAL), edits), ORIGIN, expected_name="x")


def problem(**edits: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(**edits)
    return str(caught.value)


def test_a_config_error_is_a_user_error():
    assert issubclass(ConfigError, UserError)


def test_a_key_of_another_pagination_style_is_named_with_what_the_style_allows():
    message = problem(streams={"orders": {"pagination": {"cursor_path": "paging.next"}}})
    assert message == (
        "extract/sources/x.yaml: streams.orders.pagination: unknown key 'cursor_path' "
        "for style link_header (allowed: limit_param, page_size, style)"
    )


def test_an_inherited_wrong_key_says_it_is_set_in_defaults():
    message = problem(defaults={"pagination": {"cursor_path": "paging.next"}})
    assert message.startswith(
        "extract/sources/x.yaml: streams.orders.pagination: unknown key 'cursor_path'"
    )
    assert message.endswith("; it is set in defaults.pagination.cursor_path")


def test_a_key_missing_for_its_pagination_style_is_named_with_what_is_required():
    message = problem(
        defaults={"pagination": {"style": "body_cursor", "cursor_path": "paging.next.after"}}
    )
    assert message == (
        "extract/sources/x.yaml: streams.orders.pagination: missing key 'cursor_param' for "
        "style body_cursor (required: cursor_param, cursor_path, style; "
        "optional: limit_param, page_size); this section comes from defaults.pagination"
    )


def test_an_unknown_pagination_style_lists_the_styles():
    message = problem(defaults={"pagination": {"style": "offset"}})
    assert message == (
        "extract/sources/x.yaml: streams.orders.pagination.style: must be one of "
        "link_header, body_cursor, page_number, next_url, not 'offset'; "
        "it is set in defaults.pagination.style"
    )


@pytest.mark.parametrize("size", [0, -5, "100", 2.5, True, None])
def test_page_size_must_be_a_positive_whole_number(size):
    message = problem(streams={"orders": {"pagination": {"page_size": size}}})
    assert message.startswith("extract/sources/x.yaml: streams.orders.pagination.page_size: ")
    expected = "needs a value" if size is None else "must be a positive whole number"
    assert expected in message


@pytest.mark.parametrize(
    "edits, key, expected",
    [
        ({"extra": 1}, "", "unknown key 'extra' (allowed: auth, defaults, history_start, "),
        ({"history_start": "yesterday"}, "history_start", "'yesterday' is not an ISO 8601"),
        ({"history_start": 2024}, "history_start", "must be an ISO 8601 timestamp"),
        ({"source": "X-1"}, "source", "must be a lower-case name"),
        ({"source": "y"}, "source", "'y' does not match the file name x.yaml"),
        ({"auth": {"style": "basic"}}, "auth.style", "must be one of bearer, header"),
        ({"auth": {"style": "header"}}, "auth", "missing key 'header' for style header"),
        ({"auth": {"style": "bearer", "header": "X"}}, "auth", "unknown key 'header' for style"),
        ({"rate_limit": {"requests_per_second": "fast"}}, "rate_limit.requests_per_second", ">= 0"),
        ({"rate_limit": {"rps": 5}}, "rate_limit", "unknown key 'rps' (allowed: requests_per"),
        ({"retry": {"max_attempts": 0}}, "retry.max_attempts", "a positive whole number"),
        ({"retry": {"read_timeout": 0}}, "retry.read_timeout", "must be a number > 0"),
        ({"defaults": {"lookbak": "PT1H"}}, "defaults", "unknown key 'lookbak' (allowed: gate,"),
        ({"defaults": []}, "defaults", "must be a mapping"),
        ({"streams": {"Orders!": {}}}, "streams.Orders!", "must be a lower-case name"),
        ({"streams": {"orders": {"path": "orders"}}}, "streams.orders.path", "starting with /"),
        ({"streams": {"orders": {"records": 5}}}, "streams.orders.records", "must be text"),
        ({"streams": {"orders": {"lookback": "1 hour"}}}, "streams.orders.lookback",
         "'1 hour' is not an ISO 8601 duration"),
        ({"streams": {"orders": {"window": {"max_span": "PT0S"}}}},
         "streams.orders.window.max_span", "must be longer than zero"),
        ({"streams": {"orders": {"window": {"end": "x"}}}}, "streams.orders.window",
         "unknown key 'end' (allowed: end_param, max_span, start_param)"),
        ({"streams": {"orders": {"params": {"fields": ["a"]}}}},
         "streams.orders.params.fields", "must be text or a number"),
        ({"streams": {"orders": {"cursor": "x"}}}, "streams.orders", "unknown key 'cursor'"),
        ({"defaults": {"time_field": None}}, "streams.orders.time_field", "needs a value"),
    ],
)  # fmt: skip
def test_every_key_is_checked_and_named(edits, key, expected):
    message = problem(**edits)
    prefix = f"{ORIGIN}: {key}: " if key else f"{ORIGIN}: "
    assert message.startswith(prefix), message
    assert expected in message, message


def test_a_missing_top_level_key_is_named():
    document = {k: v for k, v in MINIMAL.items() if k != "history_start"}
    with pytest.raises(ConfigError, match=r"^extract/sources/x.yaml: missing key 'history_start'"):
        parse_source(document, origin=ORIGIN)
    with pytest.raises(ConfigError, match=r"^extract/sources/x.yaml: streams: needs at least one"):
        parse_source({**MINIMAL, "streams": {}}, origin=ORIGIN)
    with pytest.raises(ConfigError, match=r"x.yaml: the file is empty"):
        parse_source(None, origin=ORIGIN)
    with pytest.raises(ConfigError, match=r"x.yaml: must be a mapping of keys \(auth, "):
        parse_source(["source", "x"], origin=ORIGIN)


def test_a_missing_stream_key_is_named_with_what_a_stream_needs():
    document = copy.deepcopy(MINIMAL)
    del document["defaults"]["window"]
    with pytest.raises(ConfigError) as caught:
        parse_source(document, origin=ORIGIN)
    assert str(caught.value) == (
        f"{ORIGIN}: streams.orders: missing key 'window' (required: pagination, path, "
        "primary_key, time_field, window; optional: gate, lookback, params, records)"
    )


# --- gate: -----------------------------------------------------------------------------------


def gate_problem(gate: Any) -> str:
    return problem(streams={"orders": {"gate": gate}})


@pytest.mark.parametrize(
    "gate, key, expected",
    [
        ({"lookback": "P3D"}, "streams.orders.gate", "unknown key 'lookback' (allowed: checks, "
         "email_field, time_tolerance, volume)"),
        ({"time_tolerance": "3 days"}, "streams.orders.gate.time_tolerance", "ISO 8601 duration"),
        ({"email_field": 5}, "streams.orders.gate.email_field", "must be non-empty text"),
        ({"checks": {"name": "x"}}, "streams.orders.gate.checks", "must be a list"),
        ({"checks": [{"name": "a", "field": "f", "rule": "present", "value": 0}]},
         "streams.orders.gate.checks[0]",
         "unknown key 'value' for rule present (allowed: description, field, name, rule, "
         "severity)"),
        ({"checks": [{"name": "a", "field": "f", "rule": "minimum"}]},
         "streams.orders.gate.checks[0]", "missing key 'value' for rule minimum"),
        ({"checks": [{"name": "a", "field": "f", "rule": "between"}]},
         "streams.orders.gate.checks[0].rule", "must be one of present, decimal, minimum"),
        ({"checks": [{"name": "a", "field": "f", "rule": "decimal", "severity": "fatal"}]},
         "streams.orders.gate.checks[0].severity", "must be one of critical, warning"),
        ({"checks": [{"name": "a", "field": "f", "rule": "minimum", "value": "0"}]},
         "streams.orders.gate.checks[0].value", "must be a number"),
        ({"checks": [{"name": "a", "field": "f", "rule": "present"},
                     {"name": "a", "field": "g", "rule": "present"}]},
         "streams.orders.gate.checks[1].name", "'a' is used twice"),
        ({"volume": {"band": [10, 0.1]}}, "streams.orders.gate.volume.band", "0 <= low < high"),
        ({"volume": {"band": [1]}}, "streams.orders.gate.volume.band", "a list [low, high]"),
        ({"volume": {"min_earlier_slices": -1}}, "streams.orders.gate.volume.min_earlier_slices",
         "a whole number >= 0"),
        ({"volume": {"trailing": 24}}, "streams.orders.gate.volume", "unknown key 'trailing'"),
    ],
)  # fmt: skip
def test_every_gate_key_is_checked_and_named(gate, key, expected):
    message = gate_problem(gate)
    assert message.startswith(f"{ORIGIN}: {key}: "), message
    assert expected in message, message


def test_a_stream_gate_merges_over_the_defaults_gate():
    config = parse(
        defaults={"gate": {"time_tolerance": "P3D", "volume": {"band": [0.5, 2]}}},
        streams={
            "orders": {
                "gate": {
                    "email_field": "email",
                    "volume": {"min_earlier_slices": 5},
                    "checks": [
                        {"name": "has_total", "field": "total", "rule": "present"},
                        {
                            "name": "total_at_least_one",
                            "field": "total",
                            "rule": "minimum",
                            "value": 1,
                            "severity": "warning",
                            "description": "total >= 1",
                        },
                    ],
                }
            },
            "refunds": {"path": "/refunds"},
        },
    )
    assert config.streams["orders"].stream_gate == StreamGate(
        source="x",
        stream="orders",
        time_tolerance=timedelta(days=3),
        email_field="email",
        checks=(
            FieldCheck("has_total", "total", FieldRule.PRESENT),
            FieldCheck(
                "total_at_least_one",
                "total",
                FieldRule.MINIMUM,
                severity=Severity.WARNING,
                value=1.0,
                description="total >= 1",
            ),
        ),
        volume_band=(0.5, 2.0),
        volume_min_earlier_slices=5,
    )
    refunds = config.streams["refunds"].stream_gate
    assert (refunds.time_tolerance, refunds.email_field, refunds.checks) == (
        timedelta(days=3),
        None,
        (),
    )
    assert (refunds.volume_band, refunds.volume_min_earlier_slices) == ((0.5, 2.0), 3)


def test_a_stream_without_gate_gets_no_tolerance_and_the_default_volume_check():
    gate = parse().streams["orders"].stream_gate
    assert gate == StreamGate("x", "orders", timedelta(0))


def test_the_packaged_gates_hold_what_the_gate_knew_of_each_stream():
    gates = stream_gates()
    assert sorted(gates) == list_streams()
    for (source, stream), gate in gates.items():
        assert (gate.source, gate.stream) == (source, stream)
    # A dropped file's slice spans its own record times: no tolerance, a wide band.
    assert gates.pop(("pos", "purchases")).time_tolerance == timedelta(0)
    for gate in gates.values():
        assert gate.time_tolerance == timedelta(days=3)
        assert (gate.volume_band, gate.volume_min_earlier_slices) == ((0.1, 10.0), 3)
    assert {pair for pair, gate in gates.items() if gate.email_field == "email"} == {
        ("shop", "customers"),
        ("crm", "contacts"),
        ("esp", "email_events"),
    }
    assert {pair for pair, gate in gates.items() if gate.email_field} == {
        ("shop", "customers"),
        ("crm", "contacts"),
        ("esp", "email_events"),
    }
    assert gates[("shop", "orders")].checks == (
        FieldCheck(
            "order_total_numeric", "total", FieldRule.DECIMAL, description="total is a decimal"
        ),
        FieldCheck(
            "order_total_non_negative",
            "total",
            FieldRule.MINIMUM,
            value=0.0,
            description="total >= 0",
        ),
        FieldCheck(
            "order_has_customer",
            "customer_id",
            FieldRule.PRESENT,
            description="order has a customer",
        ),
    )
    assert all(not gate.checks for pair, gate in gates.items() if pair != ("shop", "orders"))


# --- files and the catalog -------------------------------------------------------------------


def test_an_unparsable_file_is_named_with_its_line(tmp_path):
    (tmp_path / "shop.yaml").write_text("source: shop\nstreams:\n  orders: [path: /orders\n")
    with pytest.raises(ConfigError) as caught:
        list_sources(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'shop.yaml'}: line 4: not valid YAML: ")
    assert "\n" not in message


def test_a_key_given_twice_is_named_with_both_lines(tmp_path):
    (tmp_path / "shop.yaml").write_text("source: shop\nhistory_start: 2024-01-01\nsource: x\n")
    with pytest.raises(
        ConfigError, match=r"shop.yaml: line 3: not valid YAML: key 'source' appears twice "
        r"\(first on line 1\)"
    ):  # fmt: skip
        list_streams(sources_dir=tmp_path)


def test_one_wrong_file_fails_every_read_of_the_catalog(tmp_path):
    folder = write_sources(
        tmp_path / "sources", crm={"defaults": {"pagination": {"next_url_path": "next"}}}
    )
    for read in (
        lambda: list_sources(folder),
        lambda: list_streams(sources_dir=folder),
        lambda: list_streams("shop", folder),
        lambda: load_source("shop", folder),
        lambda: stream_gates(folder),
    ):
        with pytest.raises(ConfigError, match=r"crm.yaml: streams.contacts.pagination: unknown"):
            read()


def test_a_wrong_key_fails_before_any_request(demo_api, tmp_path):
    folder = write_sources(
        tmp_path / "sources", shop={"streams": {"orders": {"pagination": {"cursor_path": "x"}}}}
    )
    settings = make_settings(demo_api, tmp_path, SEGMART_SOURCES_DIR=str(folder))
    before = demo_api.stats()
    with pytest.raises(ConfigError, match=r"shop.yaml: streams.orders.pagination: unknown key"):
        run_extract(settings, start=utc("2026-05-01T00:00:00Z"), end=utc("2026-06-01T00:00:00Z"))
    assert demo_api.stats() == before
    assert not settings.warehouse.exists()


def test_the_sources_folder_adds_and_replaces_packaged_files(tmp_path):
    folder = write_sources(tmp_path / "sources", crm={"history_start": "2025-01-01T00:00:00Z"})
    extra = yaml.safe_load((folder / "crm.yaml").read_text())
    extra["source"] = "billing"
    (folder / "billing.yaml").write_text(yaml.safe_dump(extra))
    assert list_sources(folder) == ["billing", "crm", "esp", "pos", "shop", "web"]
    assert load_source("crm", folder).history_start == utc("2025-01-01T00:00:00Z")
    assert load_source("crm").history_start == utc("2024-01-01T00:00:00Z")
    assert ("billing", "contacts") in list_streams(sources_dir=folder)
    settings = Settings.from_env({"SEGMART_SOURCES_DIR": str(folder)})
    assert list_sources(settings.sources_dir) == list_sources(folder)


def test_an_edited_file_is_read_again(tmp_path):
    folder = write_sources(tmp_path / "sources", crm={})
    assert load_source("crm", folder).requests_per_second == 5
    write_sources(folder, crm={"rate_limit": {"requests_per_second": 2.5}})
    assert load_source("crm", folder).requests_per_second == 2.5


def test_the_sources_folder_must_be_a_folder_of_yaml_files(tmp_path):
    with pytest.raises(ConfigError, match=r"SEGMART_SOURCES_DIR=.*missing.* is not a folder"):
        list_sources(tmp_path / "missing")
    (tmp_path / "shop.yml").write_text("source: shop\n")
    with pytest.raises(ConfigError, match=r"shop.yml: source files end in .yaml; rename it"):
        list_sources(tmp_path)


def test_an_unknown_source_or_stream_names_the_known_ones():
    with pytest.raises(
        ConfigError, match=r"unknown source 'shopx'.*known: crm, esp, pos, shop, web"
    ):
        list_streams("shopx")
