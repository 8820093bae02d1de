"""`segmart collect`: receive webhooks and tracking batches into landing micro-batches.

`segmart collect --load` loads the closed micro-batches into raw and exits.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Mapping

import uvicorn

from collect.app import Routes, create_app
from collect.load import load_collected
from collect.writer import GroupCommitWriter, WriterFailed
from segmart.core.errors import UserError
from segmart.core.serving import ReadyServer, bind, url_host
from segmart.core.settings import Settings, SettingsError

READY = "segmart collect listening on http://{host}:{port}"
QUEUE_VARIABLE = "SEGMART_COLLECT_QUEUE"  # requests waiting for the writer before 503
ROTATE_VARIABLE = "SEGMART_COLLECT_ROTATE_SECONDS"  # how long a micro-batch file stays open
DEFAULT_QUEUE = 2000
DEFAULT_ROTATE_SECONDS = 60.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8766, help="port; 0 picks a free one (8766)")
    parser.add_argument(
        "--load",
        action="store_true",
        help="load the closed micro-batches into raw tables and exit (no server)",
    )


def _number(env: Mapping[str, str], name: str, default: float, whole: bool = False) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        value = 0
    if value <= 0:
        kind = "a positive whole number" if whole else "a positive number of seconds"
        raise SettingsError(f"{name}={raw!r}: must be {kind} (default {default:g})")
    return value


def writer_from(settings: Settings) -> GroupCommitWriter:
    return GroupCommitWriter(
        settings.landing_dir,
        queue_size=int(_number(settings.env, QUEUE_VARIABLE, DEFAULT_QUEUE, whole=True)),
        rotate_seconds=_number(settings.env, ROTATE_VARIABLE, DEFAULT_ROTATE_SECONDS),
    )


def describe(routes: Routes) -> list[str]:
    lines = []
    for source, hook in routes.webhooks.items():
        topics = ", ".join(f"{t} -> {s}" for t, s in hook.topics.items())
        lines.append(f"  POST /webhooks/{source}: {topics} (secret from {hook.push.secret_env})")
    for source, track in routes.tracking.items():
        calls = ", ".join(f"{c} -> {s}" for c, s in track.calls.items())
        lines.append(
            f"  POST /v1/batch, /v1/<call> for {source}: {calls} "
            f"(write key from {track.push.write_key_env})"
        )
    for source, variable in {**routes.missing_secrets, **routes.missing_write_keys}.items():
        lines.append(f"  {source}: not served, {variable} is not set")
    return lines


def main(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if args.load:
        for result in load_collected(settings):
            print(
                f"{result.source}.{result.stream} {result.batch}: {result.loaded} loaded, "
                f"{result.duplicates} duplicates ({result.seconds} s)"
            )
        return 0
    writer = writer_from(settings)
    app = create_app(settings, writer)
    routes: Routes = app.state.routes
    if routes.empty:
        unset = [*routes.missing_secrets.values(), *routes.missing_write_keys.values()]
        missing = ", ".join(unset) or "a push: section in a source YAML"
        raise UserError(f"nothing to receive: set {missing}")
    try:
        sock = bind(args.host, args.port)
    except OSError as error:
        raise UserError(f"cannot bind {args.host}:{args.port}: {error}") from None
    try:
        recovered = writer.start()
    except WriterFailed as error:
        raise UserError(str(error)) from None
    print(f"segmart collect: landing in {settings.landing_dir} (pid {os.getpid()})")
    if recovered:
        print(f"  closed {len(recovered)} micro-batch file(s) left open by an earlier collector")
    print("\n".join(describe(routes)), flush=True)
    # Startup's objects (FastAPI, the catalog, the schemas) never die: keep them out of the
    # collector's sight, so collections between requests stay short (ack latency's tail).
    gc.freeze()
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=5)
    server = ReadyServer(config, READY.format(host=url_host(args.host), port=sock.getsockname()[1]))
    try:
        server.run(sockets=[sock])
    finally:
        writer.stop()
    print("segmart collect: stopped; every micro-batch file is closed", file=sys.stderr)
    return 0
