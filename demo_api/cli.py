"""`segmart demo-api`: serve the four demo sources from one process."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

import uvicorn

from demo_api.app import create_app
from demo_api.traffic import Stats, Traffic, parse_rate_limits
from demo_api.world import SCENARIOS, World
from segmart.core.serving import ReadyServer, bind, url_host

READY = "segmart demo-api listening on http://{host}:{port}"
DEFAULT_LIMITS = "shop=10,crm=5,esp=10,web=20"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port; 0 picks a free one (8765)")
    parser.add_argument("--seed", type=int, default=7, help="world seed (7)")
    parser.add_argument("--customers", type=int, default=5000, help="people in the world (5000)")
    parser.add_argument("--now", default=None, help="freeze the clock at this ISO 8601 UTC time")
    parser.add_argument(
        "--scenario", choices=SCENARIOS, default="clean", help="data defects to serve (clean)"
    )
    parser.add_argument(
        "--rate-limit",
        default=DEFAULT_LIMITS,
        help=f"requests per second per source, 0 = unlimited ({DEFAULT_LIMITS})",
    )
    parser.add_argument(
        "--fault-rate", type=float, default=0.0, help="share of requests that fail (0)"
    )


def build_app(args: argparse.Namespace) -> Traffic:
    if not 1 <= args.customers <= 10_000_000:
        raise ValueError(f"--customers must be between 1 and 10000000, got {args.customers}")
    try:
        now = datetime.fromisoformat(args.now.replace("z", "Z")) if args.now else None
    except ValueError:
        raise ValueError(
            f"--now: expected an ISO 8601 time such as 2026-06-01T00:00:00Z, got {args.now!r}"
        ) from None
    world = World(seed=args.seed, customers=args.customers, scenario=args.scenario, now=now)
    app = create_app(world)
    stats = Stats(parse_rate_limits(args.rate_limit))
    app.state.stats = stats
    return Traffic(app, stats, fault_rate=args.fault_rate, seed=args.seed)


def main(args: argparse.Namespace) -> int:
    if not 0.0 <= args.fault_rate <= 1.0:
        print("segmart demo-api: --fault-rate must be between 0 and 1", file=sys.stderr)
        return 2
    try:
        app = build_app(args)
    except ValueError as error:
        print(f"segmart demo-api: {error}", file=sys.stderr)
        return 2
    try:
        sock = bind(args.host, args.port)
    except OSError as error:
        print(f"segmart demo-api: cannot bind {args.host}:{args.port}: {error}", file=sys.stderr)
        return 2
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=5)
    server = ReadyServer(config, READY.format(host=url_host(args.host), port=port))
    server.run(sockets=[sock])
    return 0
