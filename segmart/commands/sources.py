"""`segmart sources [--pools | --connections FILE]`: the configured sources, from their YAML.

The one list of sources for everything outside Python: `make airflow` and
docker-compose make their Airflow pools and connections from it, so a source
added as a YAML file (packaged, or in SEGMART_SOURCES_DIR) gets its pool and its
connection without another file naming it.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import extract
from segmart.core.contracts import WAREHOUSE_POOL, source_pool
from segmart.core.settings import (
    DEFAULT_API_BASE,
    Settings,
    api_key_variable,
    connection_id,
    url_variable,
)

SOURCE_POOL_SLOTS = 4
DEFAULT_URL_TEMPLATE = DEFAULT_API_BASE + "/{source}"


def pools(sources: list[str]) -> dict[str, dict[str, object]]:
    """`airflow pools import` form: one writer of the warehouse, one pool per source."""
    defined: dict[str, dict[str, object]] = {
        WAREHOUSE_POOL: {
            "slots": 1,
            "description": "one writer of the working DuckDB file",
            "include_deferred": False,
        }
    }
    for source in sources:
        defined[source_pool(source)] = {
            "slots": SOURCE_POOL_SLOTS,
            "description": f"pulls from {source} share its rate budget",
            "include_deferred": False,
        }
    return defined


def connections(
    settings: Settings, sources: list[str], url_template: str = DEFAULT_URL_TEMPLATE
) -> dict[str, dict[str, str]]:
    """`airflow connections import` form: connection `segmart_<source>` (host = base URL,
    password = API key) from SEGMART_<SOURCE>_URL / _API_KEY, else the demo API's
    (`url_template` with {source}, key `demo-<source>-key`)."""
    return {
        connection_id(source): {
            "conn_type": "http",
            "host": settings.env.get(url_variable(source)) or url_template.format(source=source),
            "password": settings.env.get(api_key_variable(source)) or f"demo-{source}-key",
        }
        for source in sources
    }


def write_private(path: Path, text: str) -> None:
    """Readable by its owner only: the file holds API keys."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    path.chmod(0o600)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument(
        "--pools",
        action="store_true",
        help="print the Airflow pools the DAG needs, as `airflow pools import` JSON",
    )
    shown.add_argument(
        "--connections",
        metavar="FILE",
        type=Path,
        help="write connections segmart_<source> as `airflow connections import` JSON "
        "to FILE (mode 600: it holds API keys)",
    )
    parser.add_argument(
        "--url-template",
        default=DEFAULT_URL_TEMPLATE,
        help="base URL of a source without SEGMART_<SOURCE>_URL, {source} replaced "
        f"(default {DEFAULT_URL_TEMPLATE})",
    )


def main(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    sources = extract.list_sources(settings.sources_dir)
    # A file source pulls nothing: it needs no pool and no connection.
    pulled = extract.list_sources(settings.sources_dir, kind=extract.SourceKind.API)
    if args.pools:
        print(json.dumps(pools(pulled), indent=2))
    elif args.connections:
        document = connections(settings, pulled, args.url_template)
        write_private(args.connections, json.dumps(document, indent=2))
        print(f"segmart sources: {len(document)} connections written to {args.connections}")
    else:
        print("\n".join(sources))
    return 0
