"""Helpers for extraction tests: settings pointed at a demo API and a tmp warehouse."""

from __future__ import annotations

import gzip
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import yaml

from demo_api.world import World
from extract.config import load_source
from segmart.core.settings import Settings
from tests.support import FROZEN_NOW, DemoApi

TIME_FIELDS = {"updated_at": "updated_at", "occurred_at": "occurred_at"}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def make_settings(api: DemoApi, folder: Path, **extra: str) -> Settings:
    env = {**api.env(), "SEGMART_WAREHOUSE": str(folder / "wh" / "segmart.duckdb"), **extra}
    return Settings.from_env(env)


def subprocess_env(settings: Settings) -> dict[str, str]:
    import os

    return {**os.environ, **settings.env}


def world(**overrides: Any) -> World:
    args = {"seed": 7, "customers": 500, "now": FROZEN_NOW, **overrides}
    return World(**args)


def expected(w: World, source: str, stream: str, start: datetime, end: datetime) -> list:
    """(id, time) of every record the API serves for the HTTP window of the slice."""
    config = load_source(source).streams[stream]
    window_start = start - config.lookback
    return sorted(
        (str(r[config.primary_key]), r[config.time_field])
        for r in w.records(source, stream, window_start, end)
    )


def loaded(con: duckdb.DuckDBPyConnection, source: str, stream: str, start: datetime) -> list:
    rows = con.execute(
        f"""select record_id, strftime(record_updated_at, '%Y-%m-%dT%H:%M:%SZ')
        from raw.{source}__{stream} where _interval_start = ?""",
        [start.replace(tzinfo=None)],
    ).fetchall()
    return sorted(rows)


def write_sources(folder: Path, **edits: dict[str, Any]) -> Path:
    """Copies of packaged configs with `edits` deep-merged: `write_sources(dir, shop={...})`."""
    from extract.config import deep_merge

    folder.mkdir(parents=True, exist_ok=True)
    for source, edit in edits.items():
        packaged = Path(sys.modules["extract"].__file__).parent / "sources" / f"{source}.yaml"
        document = deep_merge(yaml.safe_load(packaged.read_text()), edit)
        (folder / f"{source}.yaml").write_text(yaml.safe_dump(document))
    return folder


def landing_lines(landing_dir: Path) -> Iterator[str]:
    for part in sorted(landing_dir.rglob("part-*.jsonl.gz")):
        with gzip.open(part, "rt") as handle:
            yield from handle


def raw_snapshot(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    """A raw table's content without the columns that name the run."""
    return con.execute(
        f"""select record::varchar, record_id, record_updated_at, _source, _stream,
        _interval_start, _interval_end from {table} order by all"""
    ).fetchall()


def dumps(value: Any) -> str:
    return json.dumps(value, default=str)
