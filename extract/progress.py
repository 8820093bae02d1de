"""Progress of concurrent pulls: a live line per stream on a terminal, log lines otherwise.

Pull threads call `page()`; the reporter throttles what it writes, so a fast
stream does not flood an Airflow log.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import IO

from extract.landing import LandedSlice
from segmart.core.contracts import SliceResult

log = logging.getLogger("segmart.extract")

LOG_EVERY_SECONDS = 10.0
REDRAW_EVERY_SECONDS = 0.2


def describe(landed: LandedSlice) -> str:
    rate = landed.requests / landed.seconds if landed.seconds else 0.0
    return (
        f"pages={landed.pages} records={landed.records} requests={landed.requests} "
        f"req_per_s={rate:.1f} rate_limited={landed.rate_limited} retries={landed.retries}"
    )


class Progress:
    def __init__(self, out: IO[str] | None = None, live: bool | None = None) -> None:
        self.out = out or sys.stderr
        self.live = self.out.isatty() if live is None else live
        self._lines: dict[str, str] = {}
        self._last: dict[str, float] = {}
        self._drawn = 0
        self._lock = threading.Lock()

    def start(self, source: str, stream: str, interval: str) -> None:
        self._update(f"{source}.{stream}", f"{interval} starting", force=True)
        if not self.live:
            log.info("extract start source=%s stream=%s interval=%s", source, stream, interval)

    def page(self, landed: LandedSlice) -> None:
        name = f"{landed.source}.{landed.stream}"
        if self.live:
            self._update(name, describe(landed))
            return
        now = time.monotonic()
        if now - self._last.get(name, 0.0) >= LOG_EVERY_SECONDS:
            self._last[name] = now
            log.info("extract progress source=%s stream=%s %s", *name.split("."), describe(landed))

    def done(self, result: SliceResult) -> None:
        name = f"{result.source}.{result.stream}"
        summary = (
            f"status={result.status} records={result.records} pages={result.pages} "
            f"requests={result.requests} rate_limited={result.rate_limited} "
            f"retries={result.retries}"
        )
        if result.error:
            summary += f" error={result.error}"
        self._update(name, summary, force=True)
        if not self.live:
            level = logging.INFO if result.succeeded else logging.ERROR
            log.log(
                level, "extract done source=%s stream=%s %s", result.source, result.stream, summary
            )

    def _update(self, name: str, text: str, force: bool = False) -> None:
        if not self.live:
            return
        with self._lock:
            self._lines[name] = text
            now = time.monotonic()
            if not force and now - self._last.get("", 0.0) < REDRAW_EVERY_SECONDS:
                return
            self._last[""] = now
            width = max(len(n) for n in self._lines)
            if self._drawn:
                self.out.write(f"\x1b[{self._drawn}F")  # back to the first line we drew
            for line_name, line in self._lines.items():
                self.out.write(f"\x1b[2K{line_name.ljust(width)}  {line}\n")
            self.out.flush()
            self._drawn = len(self._lines)
