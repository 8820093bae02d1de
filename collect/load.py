"""`load_collected`: closed micro-batches -> `raw.<source>__<stream>`, each delivery once.

One transaction per micro-batch file: its records not delivered before (by delivery
id: the webhook id or Segment's messageId, kept in `meta.collected_deliveries`) are
inserted with the same columns as a pull's; the file is recorded in
`meta.collected_batches`, so loading it again loads nothing. `_interval_start` and
`_interval_end` are the first and last receipt in the batch and `_run_id` is
`collect:<batch>`, so a pull's reload of its own slice never deletes pushed rows;
`_extracted_at` is the load time, so incremental staging picks the rows up.
Watermarks are not moved: the scheduled pull stays the backstop for missed pushes.
`record_id` and `record_updated_at` come from the envelope, where the collector put
the record's primary key and time field (as text, exactly as `json_extract_string`
gives them to a pull's load), so the load reads typed columns instead of JSON paths.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from collect.writer import closed_batches
from extract.config import catalog
from extract.load import RAW_DDL
from segmart.core import warehouse
from segmart.core.errors import UserError
from segmart.core.settings import Settings
from segmart.core.sql import sql_string
from segmart.core.times import now_naive

META_DDL = """
create schema if not exists meta;
create table if not exists meta.collected_batches (
    batch       varchar primary key,  -- the file name: <first receipt>-<random>.jsonl
    source      varchar not null,
    stream      varchar not null,
    lines       bigint not null,
    loaded      bigint not null,      -- rows inserted into raw
    duplicates  bigint not null,      -- deliveries seen before (in this batch or an earlier one)
    loaded_at   timestamp not null
);
create table if not exists meta.collected_deliveries (
    source       varchar not null,
    stream       varchar not null,
    delivery_id  varchar not null,
    batch        varchar not null
);
"""

# Typed columns: DuckDB parses the envelope straight into them (faster than JSON objects).
STAGE_SQL = """
create or replace temp table collected_batch as
select * from read_json(
    {file},
    format = 'newline_delimited',
    columns = {{
        'delivery_id': 'VARCHAR', 'received_at': 'TIMESTAMP',
        'record_id': 'VARCHAR', 'record_updated_at': 'VARCHAR', 'record': 'JSON'
    }}
)
"""

# The first line of each delivery not seen before, by row id: the records are not copied.
NEW_SQL = """
create or replace temp table collected_new as
select delivery_id, min(rowid) as line
from collected_batch as batch
where not exists (
    select 1 from meta.collected_deliveries as seen
    where seen.source = $source and seen.stream = $stream
        and seen.delivery_id = batch.delivery_id
)
group by delivery_id
"""

INSERT_SQL = """
insert into {table}
select
    record,
    record_id,
    timezone('UTC', cast(record_updated_at as timestamptz)) as record_updated_at,
    $source, $stream,
    (select min(received_at) from collected_batch),
    (select max(received_at) from collected_batch),
    $run_id, $extracted_at
from collected_batch
where rowid in (select line from collected_new)
"""


class CollectedLoadError(UserError):
    """A micro-batch that cannot be loaded; nothing of it is in raw, the file stays.

    `loaded`: the batches committed before it, in this call (they stay committed)."""

    loaded: tuple[CollectedLoad, ...] = ()


@dataclass(frozen=True)
class CollectedLoad:
    source: str
    stream: str
    batch: str
    lines: int
    loaded: int
    duplicates: int
    seconds: float


def push_streams(settings: Settings, source: str | None = None) -> list[tuple[str, str]]:
    return [
        (name, stream)
        for name, config in catalog(settings.sources_dir).items()
        if config.push is not None and (source is None or name == source)
        for stream in config.push.streams
    ]


def load_collected(
    settings: Settings,
    source: str | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> list[CollectedLoad]:
    """Load every closed micro-batch not loaded yet, oldest first, one transaction each."""
    own = con is None
    con = warehouse.connect(settings.warehouse) if con is None else con
    results = []
    try:
        con.execute(META_DDL)
        if own:
            # Commits stay durable in the WAL; one checkpoint at the close, not one per
            # micro-batch (each passes DuckDB's 16 MB default and would rewrite the file).
            con.execute("set checkpoint_threshold = '1GB'")
        for name, stream in push_streams(settings, source):
            files = closed_batches(settings.landing_dir, name, stream)
            if not files:
                continue
            done = {
                row[0]
                for row in con.execute(
                    "select batch from meta.collected_batches where source = ? and stream = ?",
                    [name, stream],
                ).fetchall()
            }
            for path in files:
                if path.name not in done:
                    results.append(load_batch(con, settings, name, stream, path))
    except CollectedLoadError as error:
        error.loaded = tuple(results)
        raise
    finally:
        if own:
            con.close()
    return results


def load_batch(
    con: duckdb.DuckDBPyConnection, settings: Settings, source: str, stream: str, path: Path
) -> CollectedLoad:
    config = catalog(settings.sources_dir)[source].streams[stream]
    began = time.monotonic()
    keys = {"source": source, "stream": stream}
    con.execute(RAW_DDL.format(table=config.table))
    con.begin()
    try:
        con.execute(STAGE_SQL.format(file=sql_string(str(path))))
        con.execute(NEW_SQL, keys)
        (lines,) = con.execute("select count(*) from collected_batch").fetchone()  # type: ignore[misc]
        (loaded,) = con.execute(  # type: ignore[misc]
            INSERT_SQL.format(table=config.table),
            {**keys, "run_id": f"collect:{path.stem}", "extracted_at": now_naive()},
        ).fetchone()
        con.execute(
            "insert into meta.collected_deliveries "
            "select $source, $stream, delivery_id, $batch from collected_new",
            {**keys, "batch": path.name},
        )
        con.execute(
            "insert into meta.collected_batches values "
            "($batch, $source, $stream, $lines, $loaded, $duplicates, $loaded_at)",
            {
                **keys,
                "batch": path.name,
                "lines": lines,
                "loaded": loaded,
                "duplicates": lines - loaded,
                "loaded_at": now_naive(),
            },
        )
        con.commit()
    except duckdb.Error as error:
        con.rollback()
        raise CollectedLoadError(
            f"{source}.{stream}: micro-batch {path} cannot be loaded ({error}); nothing of it "
            "is in raw. Fix the stream's push: event_schema so such events are dead-lettered, "
            "then move the file aside and load again"
        ) from error
    except BaseException:
        con.rollback()
        raise
    finally:
        con.execute("drop table if exists collected_batch; drop table if exists collected_new")
    return CollectedLoad(
        source, stream, path.name, lines, loaded, lines - loaded, round(time.monotonic() - began, 3)
    )
