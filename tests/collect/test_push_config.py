"""The push: section is checked with the rest of its source file, before anything listens."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest

from extract.config import PACKAGED_DIR, parse_source, read_yaml
from extract.errors import ConfigError
from extract.push import TrackingPush, WebhookPush
from tests.collect.support import collector_env


def shop() -> dict:
    return copy.deepcopy(read_yaml(PACKAGED_DIR / "shop.yaml", "shop.yaml"))


def parse(document: dict):
    return parse_source(document, "extract/sources/shop.yaml", expected_name=document["source"])


def test_the_packaged_sources_declare_their_pushes() -> None:
    assert isinstance(parse(shop()).push, WebhookPush)
    web = read_yaml(PACKAGED_DIR / "web.yaml", "web.yaml")
    assert isinstance(parse_source(web, "web.yaml").push, TrackingPush)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda p: p.update(secret_env="s3cr3t-value"),
            "push.secret_env: must name an environment",
        ),
        (lambda p: p.update(secret="x"), "unknown key 'secret'"),
        (
            lambda p: p["streams"]["orders"].update(event_schema={"type": "objekt"}),
            "push.streams.orders.event_schema: is not a valid JSON Schema",
        ),
        (
            lambda p: p["streams"].update(
                refunds={"topics": ["refunds/create"], "event_schema": {}}
            ),
            "push.streams.refunds: 'refunds' is not a stream of this source",
        ),
        (
            lambda p: p["streams"]["customers"]["topics"].append("orders/create"),
            "'orders/create' is already taken by stream 'orders'",
        ),
        (lambda p: p.update(signatures=["md5"]), "must be one of shopify, standard_webhooks"),
        (lambda p: p.update(style="carrier-pigeon"), "must be one of webhook, segment"),
    ],
    ids=[
        "secret-value",
        "unknown-key",
        "bad-schema",
        "unknown-stream",
        "topic-twice",
        "scheme",
        "style",
    ],
)
def test_a_wrong_push_section_names_the_key(change, message) -> None:
    document = shop()
    change(document["push"])
    with pytest.raises(ConfigError, match=None) as error:
        parse(document)
    assert message in str(error.value)
    assert str(error.value).startswith("extract/sources/shop.yaml: ")


def test_a_collector_without_secrets_names_the_variables_to_set(tmp_path) -> None:
    env = collector_env(tmp_path)
    del env["SEGMART_SHOP_WEBHOOK_SECRET"], env["SEGMART_WEB_WRITE_KEY"]
    done = subprocess.run(
        [sys.executable, "-m", "segmart", "collect", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "segmart collect: nothing to receive: set SEGMART_SHOP_WEBHOOK_SECRET, "
        "SEGMART_WEB_WRITE_KEY"
    )
