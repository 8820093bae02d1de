"""Group commit: one writer thread makes every queued push durable with one fsync per file.

Request handlers queue their lines and wait; the writer takes everything queued so far,
appends it to the open micro-batch file of each stream, fdatasyncs each file once and
only then wakes the waiting handlers, which answer 2xx. Many concurrent requests share
one fsync, so the disk's sync latency bounds the latency of an answer, not the rate.

Files: `<landing>/<source>/<stream>/collected/<batch>.jsonl.open` while written; renamed
to `<batch>.jsonl` when closed (by age or size), which is when the loader may take it.
Dead letters go to `.../dead_letter/` the same way. A collector killed mid-write leaves
an `.open` file whose complete lines were all fsynced before any answer; the next start
cuts a torn last line (never answered) and closes the file (`recover`).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import queue
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from segmart.core.durable import fsync_path

OPEN_SUFFIX = ".open"
COLLECTED = "collected"
DEAD_LETTER = "dead_letter"
LOCK_FILE = ".collect.lock"


class Overloaded(Exception):
    """The writer's queue is full: the sender should retry after a moment."""


class WriterFailed(Exception):
    """The landing write failed (disk full, permissions); nothing of the request was answered."""


def batch_name(now: datetime) -> str:
    """Sortable by time, unique across restarts: `20260601T101500123456Z-1a2b3c4d`."""
    return now.strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(4)


def folder(landing_dir: Path, source: str, stream: str, kind: str = COLLECTED) -> Path:
    return landing_dir / source / stream / kind


def closed_batches(landing_dir: Path, source: str, stream: str) -> list[Path]:
    """The micro-batches ready to load, oldest first."""
    return sorted(folder(landing_dir, source, stream).glob("*.jsonl"))


def close_file(path: Path) -> Path:
    """`<batch>.jsonl.open` -> `<batch>.jsonl`, the rename itself made durable."""
    final = path.with_suffix("")
    os.replace(path, final)
    fsync_path(path.parent, directory=True)
    return final


def recover(landing_dir: Path) -> list[Path]:
    """Close the files a killed collector left open, cutting a torn (never answered) last line."""
    closed = []
    for path in sorted(landing_dir.glob(f"*/*/*/*.jsonl{OPEN_SUFFIX}")):
        with open(path, "r+b") as handle:
            data = handle.read()
            keep = data.rfind(b"\n") + 1
            if keep < len(data):
                handle.truncate(keep)
                handle.flush()
                os.fsync(handle.fileno())
        if keep == 0:
            path.unlink()
            continue
        closed.append(close_file(path))
    return closed


class _OpenFile:
    def __init__(self, directory: Path, now: datetime) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{batch_name(now)}.jsonl{OPEN_SUFFIX}"
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o640)
        fsync_path(
            directory, directory=True
        )  # the new name survives a crash with the data fsynced into it
        self.opened = time.monotonic()
        self.size = 0

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self.fd, view) :]
        except OSError:
            os.ftruncate(self.fd, self.size)  # no partial line stays behind a failed write
            raise
        self.size += len(data)

    def close(self) -> Path:
        os.close(self.fd)
        return close_file(self.path)


Key = tuple[str, str, str]  # (source, stream, COLLECTED | DEAD_LETTER)
Done = Callable[[BaseException | None], None]


@dataclass
class _Job:
    parts: list[tuple[Key, bytes]]
    done: Done
    size: int = field(init=False)

    def __post_init__(self) -> None:
        self.size = sum(len(data) for _, data in self.parts)


class GroupCommitWriter:
    """The one thread that appends and fsyncs; `submit` from the event loop, await the result."""

    def __init__(
        self,
        landing_dir: Path,
        queue_size: int = 2000,
        rotate_seconds: float = 60.0,
        rotate_bytes: int = 64 * 1024 * 1024,
        group_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        self.landing_dir = landing_dir
        self.rotate_seconds = rotate_seconds
        self.rotate_bytes = rotate_bytes
        self.group_bytes = group_bytes
        self.queue: queue.Queue[_Job | None] = queue.Queue(maxsize=queue_size)
        self.files: dict[Key, _OpenFile] = {}
        self.commits = 0
        self.synced_jobs = 0
        self._thread = threading.Thread(target=self._run, name="collect-writer", daemon=True)
        self._lock_fd: int | None = None

    def start(self) -> list[Path]:
        """Take the landing folder (one collector per folder), recover, start the thread."""
        self.landing_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.landing_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise WriterFailed(
                f"another segmart collect writes to {self.landing_dir}; stop it, or give this one "
                "its own SEGMART_LANDING_DIR"
            ) from None
        self._lock_fd = fd
        recovered = recover(self.landing_dir)
        self._thread.start()
        return recovered

    def stop(self) -> None:
        """Write what is queued, close every file (loadable now), release the folder."""
        if self._thread.is_alive():
            self.queue.put(None)
            self._thread.join()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def submit(self, parts: list[tuple[Key, bytes]], done: Done) -> None:
        try:
            self.queue.put_nowait(_Job(parts, done))
        except queue.Full:
            raise Overloaded() from None

    async def write(self, parts: list[tuple[Key, bytes]]) -> None:
        """Return once every part is fsynced; Overloaded at once when the queue is full."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def done(error: BaseException | None) -> None:
            loop.call_soon_threadsafe(_settle, future, error)

        self.submit(parts, done)
        await future

    @property
    def depth(self) -> int:
        return self.queue.qsize()

    @property
    def capacity(self) -> int:
        return self.queue.maxsize

    def _run(self) -> None:
        stopping = False
        while not stopping:
            try:
                first = self.queue.get(timeout=min(1.0, self.rotate_seconds))
            except queue.Empty:
                self._rotate(force=False)
                continue
            jobs: list[_Job] = []
            size = 0
            item: _Job | None = first
            while True:
                if item is None:
                    stopping = True
                    break
                jobs.append(item)
                size += item.size
                if size >= self.group_bytes:
                    break
                try:
                    item = self.queue.get_nowait()
                except queue.Empty:
                    break
            if jobs:
                self._commit(jobs)
            self._rotate(force=stopping)

    def _commit(self, jobs: Iterable[_Job]) -> None:
        jobs = list(jobs)
        now = datetime.now(UTC)
        touched: dict[Key, _OpenFile] = {}
        error: BaseException | None = None
        try:
            grouped: dict[Key, list[bytes]] = {}
            for job in jobs:
                for key, data in job.parts:
                    grouped.setdefault(key, []).append(data)
            for key, chunks in grouped.items():
                handle = self.files.get(key)
                if handle is None:
                    handle = self.files[key] = _OpenFile(folder(self.landing_dir, *key), now)
                handle.write(b"".join(chunks))
                touched[key] = handle
            for handle in touched.values():
                os.fdatasync(handle.fd)
            self.commits += 1
        except OSError as failure:
            error = WriterFailed(f"landing write failed: {failure}")
        for job in jobs:
            job.done(error)
        self.synced_jobs += len(jobs)

    def _rotate(self, force: bool) -> None:
        now = time.monotonic()
        for key, handle in list(self.files.items()):
            old = now - handle.opened >= self.rotate_seconds
            if force or old or handle.size >= self.rotate_bytes:
                del self.files[key]
                handle.close()


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():  # the request went away meanwhile
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
