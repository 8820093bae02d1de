"""A per-source request budget shared by every thread and process that pulls the source.

Airflow runs each stream as its own task process, so the budget lives outside the
process: by default in a SQLite file under `<warehouse_dir>/.ratelimit/` (every
process on one machine), or, when `SEGMART_RATE_BUDGET_URL` names a Redis server,
in one Redis sorted set per source (every worker on every host that reaches it).
pyrate-limiter's SQLite bucket (with a file lock) and Redis bucket (an atomic Lua
check-and-insert) are maintained sliding-window logs that already handle the
cross-process locking and clean-up; we add only the safety margin and the reading
of the server's `RateLimit-*` headers.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import redis
from pyrate_limiter import AbstractBucket, Limiter, Rate, RateItem, RedisBucket, SQLiteBucket

from extract.errors import ExtractError
from segmart.core.settings import RATE_BUDGET_URL_VARIABLE

# The server counts requests in a sliding second as they arrive, and a busy
# server stamps some arrivals late (while it builds another page), so requests
# sent a full window apart can land closer together. Measured with three processes (one
# source's streams) at 10 req/s on 2 busy cores: 8 % in reserve gave no 429s, 5 % one in 150.
# The same margin holds with the Redis bucket for two Celery workers of two processes each
# (tests/celery, benchmarks/celery_budget_bench.py). Stamps come from each host's clock:
# hosts sharing a Redis budget must keep their clocks in step (NTP) to well under the spacing.
SAFETY = 0.92


@dataclass
class _SharedBucket:
    bucket: AbstractBucket
    limiter: Limiter  # owns the background thread that drops expired entries
    lock: threading.Lock  # put() and waiting() read the same verdict


_buckets: dict[tuple[str, str, str], _SharedBucket] = {}
_buckets_lock = threading.Lock()


def budget_rates(requests_per_second: float) -> list[Rate]:
    """`SAFETY × requests_per_second` on average, as a window and as an even spacing.

    The spacing stops concurrent streams from bursting at once: a burst queues at
    the server, which then stamps the queued arrivals late and the next window's
    prompt ones early, shrinking the gap the server measures between them.
    """
    limit = max(1, math.floor(requests_per_second))
    interval_ms = math.ceil(limit * 1000 / (requests_per_second * SAFETY))
    spacing_ms = interval_ms // limit
    rates = [Rate(limit, interval_ms)]
    if limit > 1:
        rates.insert(0, Rate(1, spacing_ms))  # the SQLite bucket wants ascending intervals
    return rates


def _shared_bucket(store: Path | str, source: str, rates: list[Rate]) -> _SharedBucket:
    """One bucket per (store, source, rates) in a process: a Redis URL or a state folder."""
    key = (str(store), source, repr(rates))
    with _buckets_lock:
        if key not in _buckets:
            if isinstance(store, str):
                bucket = _redis_bucket(store, source, rates)
            else:
                bucket = _file_bucket(store, source, rates)
            _buckets[key] = _SharedBucket(bucket, Limiter(bucket), threading.Lock())
        return _buckets[key]


def _file_bucket(state_dir: Path, source: str, rates: list[Rate]) -> AbstractBucket:
    state_dir.mkdir(parents=True, exist_ok=True)
    return SQLiteBucket.init_from_file(
        rates,
        table=f"budget_{source}",
        db_path=str(state_dir / f"{source}.sqlite"),
        use_file_lock=True,
    )


def redis_key(source: str) -> str:
    return f"segmart:rate_budget:{source}"


def _redis_bucket(url: str, source: str, rates: list[Rate]) -> AbstractBucket:
    try:
        # A bounded wait: an unreachable host fails the pull instead of hanging the task.
        client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=10)
        return RedisBucket.init(rates, client, redis_key(source))
    except (redis.RedisError, ValueError) as error:
        raise _unreachable(url, error) from None


def _unreachable(url: str, error: Exception) -> ExtractError:
    return ExtractError(
        f"{RATE_BUDGET_URL_VARIABLE}={_redacted(url)}: cannot reach the rate budget "
        f"store ({error}); start Redis there or unset {RATE_BUDGET_URL_VARIABLE} "
        "to use this machine's file budget"
    )


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")).geturl()


def _drop(shared: _SharedBucket) -> None:
    """Forget a bucket whose store is gone: the next pull connects afresh, and its
    clean-up thread stops calling a server that is not there."""
    with _buckets_lock:
        for key in [key for key, value in _buckets.items() if value is shared]:
            del _buckets[key]
    shared.limiter.dispose(shared.bucket)


def _forget_buckets() -> None:
    """A forked worker (Celery's prefork pool) starts without its parent's buckets: their
    locks may be held by a thread that did not survive the fork, as may their clean-up
    threads."""
    global _buckets_lock
    _buckets_lock = threading.Lock()
    _buckets.clear()


os.register_at_fork(after_in_child=_forget_buckets)


class RateBudget:
    """`acquire()` before every request; `observe(headers)` after every answer.

    `store` is where the budget is shared: a `redis://` URL, else a state folder
    for the SQLite file bucket.
    """

    def __init__(self, source: str, requests_per_second: float, store: Path | str) -> None:
        self.source = source
        self.requests_per_second = requests_per_second
        self._store = store
        self._shared = (
            _shared_bucket(store, source, budget_rates(requests_per_second))
            if requests_per_second > 0
            else None
        )
        self._pause_until = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            pause = self._pause_until - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        if self._shared is None:
            return
        # Each attempt is stamped with the real clock. (Limiter.try_acquire's blocking wait
        # stamps the planned time, which under load is earlier than the real send and lets
        # the next request in too soon; its non-blocking mode trips over the file lock.)
        bucket = self._shared.bucket
        while True:
            with self._shared.lock:
                item = RateItem(self.source, bucket.now())
                try:
                    if bucket.put(item):
                        return
                    wait_ms = bucket.waiting(item)
                except redis.RedisError as error:  # the shared store went away mid-pull
                    _drop(self._shared)
                    raise _unreachable(str(self._store), error) from None
            time.sleep(max(wait_ms if isinstance(wait_ms, int) else 0, 1) / 1000)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Slow down before a 429 when the server says its budget is spent.

        The server's `RateLimit-Reset` is in whole seconds, so with a budget of
        our own (which already spaces requests to the window) we hold only one
        request interval; without one the header is all we know, so we wait it out.
        """
        remaining = _number(headers.get("RateLimit-Remaining"))
        reset = _number(headers.get("RateLimit-Reset"))
        if remaining is None or reset is None or remaining > 0:
            return
        pause = reset if self._shared is None else min(reset, 1 / self.requests_per_second)
        with self._lock:
            self._pause_until = max(self._pause_until, time.monotonic() + min(pause, 60.0))

    def pause_for(self, seconds: float) -> None:
        """A `Retry-After` holds every request of this source in this process."""
        with self._lock:
            self._pause_until = max(self._pause_until, time.monotonic() + min(seconds, 300.0))


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None
