"""Run the bundled demo API as a child process on a free loopback port.

`segmart demo-api --port 0` prints one line `segmart demo-api listening on
http://HOST:PORT` once it accepts requests; we wait for that line, never sleep.
Used by `segmart demo`, the tests and the benchmarks; `segmart collect` the same way.
"""

from __future__ import annotations

import selectors
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Self

import requests

READY_MARKER = "segmart demo-api listening on "


@dataclass
class RunningServer:
    """A server child process; leaving the `with` block stops it (SIGTERM, then kill)."""

    base_url: str
    process: subprocess.Popen = field(repr=False)
    output: list[str] = field(default_factory=list, repr=False)
    grace: float = 10.0  # seconds a SIGTERM may take before the kill

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=self.grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class RunningDemoApi(RunningServer):
    def url(self, source: str) -> str:
        return f"{self.base_url}/{source}"

    def api_key(self, source: str) -> str:
        return f"demo-{source}-key"

    def stats(self) -> dict:
        return requests.get(f"{self.base_url}/_stats", timeout=10).json()

    def sources(self) -> list[str]:
        """The sources this demo API serves, as it reports them itself."""
        return sorted(self.stats())

    def env(self) -> dict[str, str]:
        """SEGMART_<SOURCE>_URL / _API_KEY for every source the demo API serves."""
        values: dict[str, str] = {}
        for source in self.sources():
            values[f"SEGMART_{source.upper()}_URL"] = self.url(source)
            values[f"SEGMART_{source.upper()}_API_KEY"] = self.api_key(source)
        return values


def start_demo_api(*flags: str, timeout: float = 60.0) -> RunningDemoApi:
    """Start `segmart demo-api FLAGS` on a free loopback port; return once it serves."""
    command = [sys.executable, "-m", "segmart", "demo-api", "--host", "127.0.0.1", "--port", "0"]
    base_url, process, output = start_ready([*command, *flags], READY_MARKER, timeout)
    return RunningDemoApi(base_url=base_url, process=process, output=output)


COLLECT_READY_MARKER = "segmart collect listening on "


def start_collector(env: dict[str, str], timeout: float = 60.0) -> RunningServer:
    """Start `segmart collect` (its settings and secrets from `env`); return once it serves.
    Its stop is a SIGTERM that closes every micro-batch file (a kill would leave them open)."""
    command = [sys.executable, "-m", "segmart", "collect", "--host", "127.0.0.1", "--port", "0"]
    base_url, process, output = start_ready(command, COLLECT_READY_MARKER, timeout, env=env)
    return RunningServer(base_url=base_url, process=process, output=output, grace=60.0)


def start_ready(
    command: list[str],
    marker: str,
    timeout: float = 60.0,
    env: dict[str, str] | None = None,
) -> tuple[str, subprocess.Popen, list[str]]:
    """Start a server process; return (its URL from the line `<marker>URL`, it, its output)."""
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        env=env,
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
        if marker in line:
            base_url = line.split(marker, 1)[1].strip()
            _keep_draining(process, output)
            return base_url, process, output
    process.kill()
    process.wait()
    raise RuntimeError(f"{' '.join(command[:5])} did not become ready:\n" + "".join(output))


def _keep_draining(process: subprocess.Popen, output: list[str]) -> None:
    """Read the server's output in the background so it never blocks on a full pipe."""

    def drain() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)

    threading.Thread(target=drain, daemon=True).start()
