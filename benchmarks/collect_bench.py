"""Push ingestion: events/s and ack latency of `segmart collect`, and the load into raw.

    .venv/bin/python benchmarks/collect_bench.py [--seconds 20] [--connections 16]

Ingestion: Segment `/v1/batch` requests of 100 events (about 350 bytes each) from one
asyncio client process over keep-alive connections, every answer awaited (an ack is
sent only after the fsync). The bound, measured in the same run on the same machine:
a bare uvicorn endpoint (a raw ASGI app in its own process) that puts the same bodies
through the same group-commit writer with no auth, parsing or validation. Goals
(issue 15): >= 20,000 events/s, p99 ack <= 100 ms, >= 0.5x the bare endpoint.

Load: the collected micro-batches into raw with `load_collected` (one transaction per
file, dedupe by messageId), against DuckDB reading the same files straight into an
identical table in one statement. Goal: <= 1.5x.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb  # noqa: E402

from collect.load import load_collected  # noqa: E402
from collect.writer import COLLECTED, GroupCommitWriter, closed_batches  # noqa: E402
from segmart.core.settings import Settings  # noqa: E402
from segmart.local_api import start_ready  # noqa: E402
from tests.collect.support import WRITE_KEY, collector_env  # noqa: E402

EVENTS_PER_BATCH = 100
BARE_READY = "bare endpoint listening on "
EVENT = (
    '{{"type":"track","event":"product_view","messageId":"{run}-{n}-{i}",'
    '"anonymousId":"anon-{i}","userId":"{i}","timestamp":"2026-05-31T12:00:00.000Z",'
    '"properties":{{"product_id":{i},"session_id":"s_{n}","url":"/products/SKU-{i:05d}"}},'
    '"context":{{"library":{{"name":"analytics-python","version":"2.4.0"}},'
    '"page":{{"path":"/products/SKU-{i:05d}"}}}}}}'
)


def batch_template(run: str) -> bytes:
    """A batch whose messageIds hold `@N@`, replaced by each request's number (cheap)."""
    events = ",".join(EVENT.format(run=run, n="@N@", i=i) for i in range(EVENTS_PER_BATCH))
    return f'{{"batch":[{events}],"sentAt":"2026-05-31T12:00:01.000Z"}}'.encode()


# --- the bound: a bare ASGI endpoint, same writer, nothing checked -----------------------------


def bare_app(writer: GroupCommitWriter):  # noqa: ANN201 - an ASGI callable
    async def app(scope, receive, send):  # noqa: ANN001
        if scope["type"] != "http":
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        await writer.write([(("bench", "bare", COLLECTED), b"".join(chunks) + b"\n")])
        headers = [(b"content-type", b"application/json"), (b"content-length", b"16")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"success":true}'})

    return app


def serve_bare(landing: Path) -> None:
    import uvicorn

    from segmart.core.serving import ReadyServer, bind

    writer = GroupCommitWriter(landing)
    writer.start()
    sock = bind("127.0.0.1", 0)
    config = uvicorn.Config(bare_app(writer), log_level="warning", access_log=False)
    ReadyServer(config, f"{BARE_READY}http://127.0.0.1:{sock.getsockname()[1]}").run(sockets=[sock])
    writer.stop()


# --- the client: keep-alive HTTP/1.1 over asyncio streams, every answer awaited ---------------


async def _connection(
    host: str,
    port: int,
    template: bytes,
    deadline: float,
    latencies: list[float] | None,
    statuses: dict[int, int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    auth = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
    number = 0
    while time.perf_counter() < deadline:
        number += 1
        body = template.replace(b"@N@", b"%d" % number)
        head = (
            f"POST /v1/batch HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Authorization: {auth}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        began = time.perf_counter()
        writer.write(head + body)
        status_line = await reader.readline()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await reader.readexactly(length)
        if latencies is not None:
            latencies.append(time.perf_counter() - began)
        status = int(status_line.split()[1])
        statuses[status] = statuses.get(status, 0) + 1
    writer.close()


def drive(base_url: str, run: str, seconds: float, connections: int) -> dict[str, float]:
    """Send batches for about `seconds`; events/s acked with 200, p50/p99 latency."""
    host, port = base_url.removeprefix("http://").split(":")
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    templates = [batch_template(f"{run}c{c}") for c in range(connections)]
    warm_templates = [batch_template(f"{run}w{c}") for c in range(connections)]

    async def main() -> float:
        warm_until = time.perf_counter() + 2.0  # connections, imports, first files
        await asyncio.gather(
            *(_connection(host, int(port), t, warm_until, None, {}) for t in warm_templates)
        )
        began = time.perf_counter()
        deadline = began + seconds
        await asyncio.gather(
            *(_connection(host, int(port), t, deadline, latencies, statuses) for t in templates)
        )
        return time.perf_counter() - began

    wall = asyncio.run(main())
    ordered = sorted(latencies)
    ok = statuses.get(200, 0)
    return {
        "events_per_second": ok * EVENTS_PER_BATCH / wall,
        "requests": len(latencies),
        "non_200": len(latencies) - ok,
        "p50_ms": ordered[len(ordered) // 2] * 1000,
        "p99_ms": ordered[int(len(ordered) * 0.99)] * 1000,
        "wall": wall,
    }


# --- load --------------------------------------------------------------------------------------

BOUND_SQL = """
create table raw_copy as
select
    json -> '$.record' as record,
    json_extract_string(json -> '$.record', '$.id') as record_id,
    timezone('UTC', cast(json_extract_string(json -> '$.record', '$.occurred_at') as timestamptz))
        as record_updated_at,
    'web' as _source, 'events' as _stream,
    cast(json ->> '$.received_at' as timestamp) as _interval_start,
    cast(json ->> '$.received_at' as timestamp) as _interval_end,
    'bound' as _run_id, now() as _extracted_at
from read_ndjson_objects({files})
"""


def measure_load(env: dict[str, str], folder: Path, rounds: int = 3) -> dict[str, float]:
    """Best of `rounds` for each side, each into a fresh warehouse (the machine is shared)."""
    landing = Settings.from_env(env).landing_dir
    files = closed_batches(landing, "web", "events")
    listing = "[" + ", ".join(f"'{f}'" for f in files) + "]"
    ours, bound = [], []
    loaded = rows = 0
    for round_ in range(rounds):
        target = folder / f"load{round_}"
        settings = Settings.from_env(
            {
                **env,
                "SEGMART_WAREHOUSE": str(target / "segmart.duckdb"),
                "SEGMART_LANDING_DIR": str(landing),
            }
        )
        began = time.perf_counter()
        loaded = sum(r.loaded for r in load_collected(settings))
        ours.append(time.perf_counter() - began)
        con = duckdb.connect(str(target / "bound.duckdb"))
        began = time.perf_counter()
        con.execute(BOUND_SQL.format(files=listing))
        bound.append(time.perf_counter() - began)
        (rows,) = con.execute("select count(*) from raw_copy").fetchone()  # type: ignore[misc]
        con.close()
    return {
        "files": len(files),
        "loaded": loaded,
        "bound_rows": rows,
        "ours": min(ours),
        "bound": min(bound),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--bare-server", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_server:
        serve_bare(args.bare_server)
        return 0
    print(f"machine: {os.cpu_count()} cores, {_cpu_model()}, Python {platform.python_version()}")
    print(f"before: {_uptime()}", flush=True)
    folder = Path(tempfile.mkdtemp(prefix="segmart-collect-bench-"))
    env = collector_env(folder, SEGMART_COLLECT_ROTATE_SECONDS="5")
    command = [sys.executable, "-m", "segmart", "collect", "--host", "127.0.0.1", "--port", "0"]
    results = {}
    for name, cmd, marker in (
        ("bare", [sys.executable, __file__, "--bare-server", str(folder / "bare")], BARE_READY),
        ("collect", command, "segmart collect listening on "),
    ):
        base_url, process, _output = start_ready(cmd, marker, env=env)
        try:
            results[name] = drive(base_url, name, args.seconds, args.connections)
        finally:
            process.terminate()
            process.wait(timeout=60)
        r = results[name]
        print(
            f"{name:8s} {r['events_per_second']:>9,.0f} events/s  p50 {r['p50_ms']:.1f} ms  "
            f"p99 {r['p99_ms']:.1f} ms  ({r['requests']} requests of {EVENTS_PER_BATCH}, "
            f"{r['non_200']} not 200, {r['wall']:.1f} s)",
            flush=True,
        )
    ratio = results["collect"]["events_per_second"] / results["bare"]["events_per_second"]
    print(
        f"collect / bare: {ratio:.2f}x (goal >= 0.5); "
        f"goal >= 20,000 events/s: {results['collect']['events_per_second'] >= 20_000}; "
        f"goal p99 <= 100 ms: {results['collect']['p99_ms'] <= 100}"
    )
    load = measure_load(env, folder)
    print(
        f"load: {load['loaded']:,} events from {load['files']} micro-batches in "
        f"{load['ours']:.2f} s "
        f"(load_collected) vs {load['bound']:.2f} s (DuckDB reading the same files, best of 3, "
        f"{load['bound_rows']:,} rows): {load['ours'] / load['bound']:.2f}x (goal <= 1.5)"
    )
    print(f"after: {_uptime()}")
    shutil.rmtree(folder, ignore_errors=True)  # hundreds of MB of micro-batches
    return 0


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
