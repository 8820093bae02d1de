"""A real redis-server of the test's own: a free loopback port, a temp folder, stopped after.

Ready when the server says so on its log (never a sleep). Used by the Redis rate
budget tests, the two-worker Celery test and benchmarks/celery_budget_bench.py.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

READY_MARKER = "Ready to accept connections"
INSTALL_HINT = (
    "redis-server is not installed: `sudo apt-get install redis-server` "
    "(.ci/run installs it on a fresh machine)"
)


@dataclass(frozen=True)
class RedisServer:
    port: int
    folder: Path

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"


def redis_server_binary() -> str | None:
    return shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_redis(timeout: float = 30.0) -> Iterator[RedisServer]:
    """Start redis-server on loopback (no persistence); stop it and remove its folder after."""
    binary = redis_server_binary()
    if binary is None:
        raise RuntimeError(INSTALL_HINT)
    folder = Path(tempfile.mkdtemp(prefix="segmart-redis-"))
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
         "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "notice"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
    )  # fmt: skip
    try:
        _wait_ready(process, timeout)
        yield RedisServer(port, folder)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def _wait_ready(process: subprocess.Popen, timeout: float) -> None:
    """Block until the server logs READY_MARKER. One thread reads the log for the server's
    whole life (a full pipe would block it); select() on the buffered pipe could miss lines
    that one read already took in."""
    seen: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if not ready.is_set():
                seen.append(line)
                if READY_MARKER in line:
                    ready.set()

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not ready.wait(timeout=0.05):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise RuntimeError("redis-server did not start:\n" + "".join(seen[-20:]))
