"""The collector as users run it: `segmart collect` in its own process on a loopback port."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import requests

from collect.signatures import shopify_signature
from segmart.core.settings import Settings
from segmart.local_api import start_ready

READY_MARKER = "segmart collect listening on "
# Test secrets: recognisable, so a test can prove they appear nowhere.
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"shop-webhook-secret-for-tests-0123").decode()
WRITE_KEY = "wk-test-write-key-7f3a9c"


def collector_env(directory: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SEGMART_")  # nothing of the machine's own settings
    }
    env.update(
        {
            "SEGMART_WAREHOUSE": str(directory / "segmart.duckdb"),
            "SEGMART_PUBLISHED": str(directory / "published.duckdb"),
            "SEGMART_SHOP_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "SEGMART_WEB_WRITE_KEY": WRITE_KEY,
            **extra,
        }
    )
    return env


@dataclass
class Collector:
    base_url: str
    process: subprocess.Popen = field(repr=False)
    output: list[str] = field(repr=False)
    env: dict[str, str] = field(repr=False)

    @property
    def settings(self) -> Settings:
        return Settings.from_env(self.env)

    def stats(self) -> dict[str, Any]:
        return requests.get(f"{self.base_url}/_stats", timeout=10).json()

    def webhook(
        self,
        topic: str,
        record: Any,
        delivery_id: str,
        secret: str = WEBHOOK_SECRET,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        source: str = "shop",
    ) -> requests.Response:
        body = json.dumps(record).encode() if body is None else body
        sent = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": shopify_signature(secret, body),
            "X-Shopify-Webhook-Id": delivery_id,
            **(headers or {}),
        }
        return requests.post(
            f"{self.base_url}/webhooks/{source}", data=body, headers=sent, timeout=30
        )

    def batch(
        self, events: list[dict[str, Any]], write_key: str | None = WRITE_KEY
    ) -> requests.Response:
        auth = (write_key, "") if write_key is not None else None
        return requests.post(
            f"{self.base_url}/v1/batch", json={"batch": events}, auth=auth, timeout=30
        )

    def counting(self) -> StatsDelta:
        return StatsDelta(self)

    def stop(self) -> str:
        """SIGTERM: a graceful stop that closes every micro-batch file; the whole output."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
        return "".join(self.output)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=30)


class StatsDelta:
    """What the counters of `/_stats` moved by since this was made (for a shared collector)."""

    def __init__(self, collector: Collector) -> None:
        self.collector = collector
        self.before = collector.stats()

    def __getitem__(self, kind: str) -> dict[str, int]:
        before, after = self.before[kind], self.collector.stats()[kind]
        moved = {key: after[key] - before.get(key, 0) for key in after}
        return {key: count for key, count in moved.items() if count}


def start_collector(directory: Path, timeout: float = 60.0, **extra: str) -> Collector:
    env = collector_env(directory, **extra)
    command = [sys.executable, "-m", "segmart", "collect", "--host", "127.0.0.1", "--port", "0"]
    base_url, process, output = start_ready(command, READY_MARKER, timeout, env=env)
    return Collector(base_url, process, output, env)


def load(env: dict[str, str]) -> str:
    """`segmart collect --load` as a user runs it; its output."""
    done = subprocess.run(
        [sys.executable, "-m", "segmart", "collect", "--load"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def write_batch(settings: Settings, name: str, *updated_at: str) -> Path:
    """A closed micro-batch of shop orders written by hand, one line per `updated_at`."""
    folder = settings.landing_dir / "shop" / "orders" / "collected"
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        {
            "delivery_id": f"{name}-{n}",
            "received_at": "2026-06-01T00:00:00Z",
            "record_id": str(n + 1),
            "record_updated_at": updated,
            "record": {"id": n + 1},
        }
        for n, updated in enumerate(updated_at)
    ]
    path = folder / f"{name}.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def query(settings: Settings, sql: str, params: list[Any] | None = None) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def raw_tables(settings: Settings) -> list[str]:
    rows = query(
        settings,
        "select table_name from information_schema.tables where table_schema = 'raw' order by 1",
    )
    return [name for (name,) in rows]


def landed_files(settings: Settings) -> list[Path]:
    return sorted(p for p in settings.landing_dir.rglob("*") if p.is_file() and p.suffix != ".lock")


def wait_until(check: Any, timeout: float = 30.0) -> None:
    """Poll a condition the system under test reports (not a sleep standing in for one)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within the timeout")
        time.sleep(0.05)
