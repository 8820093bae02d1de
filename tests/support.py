"""Starting the real demo API on loopback for tests and benchmarks.

`segmart demo-api --port 0` binds a free port and prints one line
`segmart demo-api listening on http://HOST:PORT` once it accepts requests;
we read that line instead of sleeping.
"""

from __future__ import annotations

import selectors
import subprocess
import sys
import time
from dataclasses import dataclass, field

import requests

SOURCES = ("shop", "crm", "esp", "web")
FROZEN_NOW = "2026-06-01T00:00:00Z"
READY_MARKER = "segmart demo-api listening on "


@dataclass
class DemoApi:
    base_url: str
    process: subprocess.Popen = field(repr=False)
    output: list[str] = field(default_factory=list, repr=False)

    def url(self, source: str) -> str:
        return f"{self.base_url}/{source}"

    def api_key(self, source: str) -> str:
        return f"demo-{source}-key"

    def stats(self) -> dict:
        return requests.get(f"{self.base_url}/_stats", timeout=10).json()

    def env(self) -> dict[str, str]:
        """SEGMART_<SOURCE>_URL / _API_KEY for every demo source."""
        values: dict[str, str] = {}
        for source in SOURCES:
            values[f"SEGMART_{source.upper()}_URL"] = self.url(source)
            values[f"SEGMART_{source.upper()}_API_KEY"] = self.api_key(source)
        return values

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_demo_api(*args: str, timeout: float = 60.0) -> DemoApi:
    """Start `segmart demo-api` with `args` on a free loopback port and wait until it is ready."""
    command = [sys.executable, "-m", "segmart", "demo-api", "--host", "127.0.0.1", "--port", "0"]
    process = subprocess.Popen(
        [*command, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    assert process.stdout is not None
    output: list[str] = []
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
            break
        line = process.stdout.readline()
        if not line:
            break
        output.append(line)
        if READY_MARKER in line:
            base_url = line.split(READY_MARKER, 1)[1].strip()
            # Keep draining output so the server never blocks on a full pipe.
            _drain_in_background(process, output)
            return DemoApi(base_url=base_url, process=process, output=output)
    process.kill()
    process.wait()
    raise RuntimeError("demo API did not become ready:\n" + "".join(output))


def _drain_in_background(process: subprocess.Popen, output: list[str]) -> None:
    import threading

    def drain() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)

    threading.Thread(target=drain, daemon=True).start()
