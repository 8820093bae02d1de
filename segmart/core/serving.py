"""Serving an ASGI app on a bound socket and saying so in one line once it accepts requests.

`segmart demo-api` and `segmart collect` print `... listening on http://HOST:PORT`
when ready; callers (tests, `segmart demo`) wait for that line, never sleep. Binding
first lets `--port 0` report the port the OS chose.
"""

from __future__ import annotations

import signal
import socket
from types import FrameType

import uvicorn


class ReadyServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, ready_line: str) -> None:
        super().__init__(config)
        self.ready_line = ready_line

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        # A stop request ends in a graceful shutdown and exit 0, not a re-raised signal.
        if sig == signal.SIGTERM:
            self._captured_signals.clear()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if not self.should_exit:
            print(self.ready_line, flush=True)


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready socket on host:port (OSError when taken)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
