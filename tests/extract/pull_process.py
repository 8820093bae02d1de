"""One pull in its own process: `python -m tests.extract.pull_process SOURCE STREAM START END RUN`.

Prints `ready` once imported, waits for a line on stdin so several processes
start pulling together (as Airflow's parallel tasks do), then prints the
LandedSlice as JSON. `pull_together` runs several and `load_all` loads what they landed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from extract import LandedSlice, load_slice, pull_slice
from segmart.core import warehouse
from segmart.core.settings import Settings
from segmart.core.times import parse_utc
from tests.extract.support import write_sources
from tests.support import FROZEN_NOW, DemoApi


def main() -> None:
    source, stream, start, end, run_id = sys.argv[1:6]
    settings = Settings.from_env()
    print("ready", flush=True)
    sys.stdin.readline()
    landed = pull_slice(settings, source, stream, parse_utc(start), parse_utc(end), run_id)
    print(json.dumps(landed.to_dict()), flush=True)


def pull_together(
    pulls: list[tuple[dict[str, str], str, str]], start: str, end: str, run_id: str
) -> tuple[list[LandedSlice], float]:
    """(environment, source, stream) each in its own process, let go at once; the slices
    they landed and the wall time from the go."""
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.extract.pull_process",
                source,
                stream,
                start,
                end,
                run_id,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for env, source, stream in pulls
    ]
    for process in processes:  # every process has imported everything and waits for "go"
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    began = time.monotonic()
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    outputs = [process.communicate(timeout=120)[0] for process in processes]
    wall = time.monotonic() - began
    assert [p.returncode for p in processes] == [0] * len(processes)
    landed = [LandedSlice.from_dict(json.loads(out.strip().splitlines()[-1])) for out in outputs]
    return landed, wall


def limited_shop(
    start_api: Callable[..., DemoApi], folder: Path, limit: int, page_sizes: dict[str, int]
) -> tuple[DemoApi, Path]:
    """A demo API holding shop to `limit` requests/s (others unlimited) and a sources folder
    whose shop streams have small pages, so every pull stays busy for many requests."""
    api = start_api(
        "--seed", "7", "--customers", "500", "--now", FROZEN_NOW,
        "--rate-limit", f"shop={limit},crm=0,esp=0,web=0",
    )  # fmt: skip
    streams = {stream: {"pagination": {"page_size": size}} for stream, size in page_sizes.items()}
    return api, write_sources(folder / "sources", shop={"streams": streams})


def load_all(settings: Settings, landed: list[LandedSlice]) -> list[str]:
    """Load the slices one after another into settings' warehouse; the streams it loaded."""
    con = warehouse.connect(settings.warehouse)
    try:
        for piece in landed:
            load_slice(settings, piece, con)
        rows = con.execute(
            "select stream from meta.extract_runs where status = 'success' order by 1"
        ).fetchall()
    finally:
        con.close()
    return [row[0] for row in rows]


if __name__ == "__main__":
    main()
