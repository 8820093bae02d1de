"""Celery worker processes of tests/celery/app.py, started for real and stopped after.

Ready when each worker logs that it is (never a sleep). Used by test_two_workers.py and
benchmarks/celery_budget_bench.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

READY = " ready."  # celery@NAME ready.


@dataclass
class Worker:
    name: str
    process: subprocess.Popen
    log: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(self.log)


@contextmanager
def running_worker(
    name: str, queues: list[str], env: Mapping[str, str], concurrency: int = 2
) -> Iterator[Worker]:
    """`celery worker` NAME serving QUEUES with a prefork pool of CONCURRENCY processes."""
    command = [
        sys.executable, "-m", "celery", "-A", "tests.celery.app", "worker",
        "--hostname", f"{name}@%h", "--queues", ",".join(queues),
        "--pool", "prefork", "--concurrency", str(concurrency), "-O", "fair",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its pool children stop with it
    )
    worker = Worker(name, process)
    ready = threading.Event()

    def read() -> None:  # for the worker's whole life: a full pipe would block it
        assert process.stdout is not None
        for line in process.stdout:
            worker.log.append(line)
            if READY in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        deadline = time.monotonic() + 60
        while not ready.wait(timeout=0.05):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"celery worker {name} did not start:\n{worker.text()[-4000:]}")
        yield worker
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # warm shutdown: finish, then exit
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextmanager
def running_workers(
    specs: list[tuple[str, list[str], Mapping[str, str]]], concurrency: int = 2
) -> Iterator[list[Worker]]:
    """Several workers (name, queues, environment), all ready before the first task."""
    with ExitStack() as stack:
        yield [stack.enter_context(running_worker(*spec, concurrency)) for spec in specs]
