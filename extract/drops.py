"""File drops: the files of a `kind: files` source -> landing -> raw, each file once.

For every file matching a stream's `files.glob` in the source's drop folder
(`Settings.drop_dir`):

1. A file already loaded is skipped: known by its path, size and mtime without
   reading it, else by the sha256 of its content (a renamed copy is the same file).
2. It is read and checked whole (`extract/drop_readers.py`) into a landing slice,
   `<landing>/<source>/<stream>/file-<sha256[:16]>/<run_id>/part-*.jsonl.gz`.
3. Without a problem, `load_slice` puts it in `raw.<source>__<stream>` in one
   transaction with its registration in `meta.file_loads`: the same raw columns,
   `meta.extract_runs` row and watermark as a pull. The slice is the span of its
   record times, `[first, last + 1 s)`, made unique within the stream.
4. With any problem, nothing is loaded: the file moves to
   `<drop folder>/rejected/<stream>/<stamp>-<name>` beside a `.reason.txt` that
   names the file, lines and columns, and `meta.file_rejections` records it.
   The other files go on.

Loaded files stay where they are (retention is the operator's); the hash makes a
second look at them cost a `stat`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from extract.config import FileStreamConfig, SourceKind, load_source
from extract.drop_readers import MAX_PROBLEMS, Problem, Problems, read_records
from extract.drop_spec import FileFormat
from extract.errors import ConfigError
from extract.landing import LandedSlice, LandingWriter
from extract.load import RAW_DDL, load_slice
from segmart.core import warehouse
from segmart.core.contracts import SliceResult, SliceStatus
from segmart.core.settings import Settings, drop_dir_variable
from segmart.core.times import iso_z, naive_utc, now_naive, now_utc

log = logging.getLogger(__name__)

REJECTED = "rejected"
WRITE_BATCH = 10_000

FILES_DDL = """
create table if not exists meta.file_loads (
    source          varchar   not null,
    stream          varchar   not null,
    sha256          varchar   not null,
    path            varchar   not null,  -- relative to the drop folder, when loaded
    size            bigint    not null,
    mtime_ns        bigint    not null,
    records         bigint    not null,
    interval_start  timestamp,           -- the raw slice; null for a file without records
    interval_end    timestamp,
    run_id          varchar   not null,
    loaded_at       timestamp not null,
    primary key (source, stream, sha256)
);
create table if not exists meta.file_rejections (
    source       varchar   not null,
    stream       varchar   not null,
    sha256       varchar   not null,
    path         varchar   not null,  -- where it was dropped, relative to the drop folder
    moved_to     varchar   not null,  -- absolute: the file now, its .reason.txt beside it
    reason       varchar   not null,
    run_id       varchar   not null,
    rejected_at  timestamp not null
);
"""


@dataclass(frozen=True)
class DroppedFile:
    path: Path
    relative: str  # to the drop folder: how messages and meta name it
    size: int
    mtime_ns: int


def file_streams(settings: Settings, source: str) -> list[FileStreamConfig]:
    config = load_source(source, settings.sources_dir)
    if config.kind is not SourceKind.FILES:
        raise ConfigError(f"source {source!r} is not kind files: it is pulled, not dropped")
    return [s for s in config.streams.values() if isinstance(s, FileStreamConfig)]


def dropped_files(folder: Path, stream: FileStreamConfig) -> list[DroppedFile]:
    """The stream's files, by name; hidden files and the rejected folder are never matched."""
    found = []
    for path in sorted(folder.glob(stream.files.glob)):
        relative = path.relative_to(folder)
        if relative.parts[0] == REJECTED or any(p.startswith(".") for p in relative.parts):
            continue
        if path.is_file():
            stat = path.stat()
            found.append(DroppedFile(path, relative.as_posix(), stat.st_size, stat.st_mtime_ns))
    return found


def load_drops(
    settings: Settings, source: str, run_id: str, stream: str | None = None
) -> list[SliceResult]:
    """Load every new file of the source's streams (or of one); one result per file
    loaded or rejected. Files already loaded give none."""
    streams = [s for s in file_streams(settings, source) if stream in (None, s.name)]
    folder = settings.drop_dir(source)
    history_start = naive_utc(load_source(source, settings.sources_dir).history_start)
    results = []
    con = warehouse.connect(settings.warehouse)
    try:
        con.execute(FILES_DDL)
        # The raw tables exist before the first drop, so dbt builds on a source with none.
        for config in streams:
            con.execute(RAW_DDL.format(table=config.table))
        if not folder.is_dir():
            log.info("%s: no drop folder %s yet (set %s): nothing to load",
                     source, folder, drop_dir_variable(source))  # fmt: skip
            return []
        for config in streams:
            for dropped in dropped_files(folder, config):
                result = load_file(settings, con, config, dropped, run_id, history_start)
                if result is not None:
                    results.append(result)
    finally:
        con.close()
    return results


def load_file(
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    config: FileStreamConfig,
    dropped: DroppedFile,
    run_id: str,
    history_start: datetime,
) -> SliceResult | None:
    """Load one file, or reject it; None when it was loaded before."""
    source, stream = config.source, config.name
    if _known_by_stat(con, config, dropped):
        return None
    began, started_at = time.monotonic(), now_utc()
    digest = sha256_of(dropped.path)
    earlier = con.execute(
        "select path, loaded_at from meta.file_loads "
        "where source = ? and stream = ? and sha256 = ?",
        [source, stream, digest],
    ).fetchone()
    if earlier is not None:
        log.info("%s.%s: %s has the content of %s, loaded %s: skipped",
                 source, stream, dropped.relative, earlier[0], earlier[1])  # fmt: skip
        return None
    directory = settings.landing_dir / source / stream / f"file-{digest[:16]}" / run_id
    writer = LandingWriter(directory)
    problems = Problems()
    span = _Span()
    try:
        batch = []
        for record in _checked(dropped, config, history_start, problems, span):
            batch.append(record)
            if len(batch) >= WRITE_BATCH:
                writer.write_page(batch)
                batch = []
        writer.write_page(batch)
    except BaseException:
        writer.abort()
        shutil.rmtree(directory, ignore_errors=True)
        raise
    if problems.found or _changed(dropped):
        writer.abort()
        shutil.rmtree(directory, ignore_errors=True)
        if not problems.found:
            log.warning("%s.%s: %s changed while it was read (still being written?): "
                        "left for the next run", source, stream, dropped.relative)  # fmt: skip
            return None
        return reject(con, config, dropped, digest, problems.found, run_id, settings)

    def register(con: duckdb.DuckDBPyConnection, landed: LandedSlice | None = None) -> None:
        interval = landed.interval if landed is not None else (None, None)
        con.execute(
            "insert into meta.file_loads values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [source, stream, digest, dropped.relative, dropped.size, dropped.mtime_ns,
             span.records, *(naive_utc(t) if t else None for t in interval), run_id,
             now_naive()],
        )  # fmt: skip

    if span.first is None or span.last is None:
        writer.abort()
        shutil.rmtree(directory, ignore_errors=True)
        register(con)
        log.info("%s.%s: %s holds no records", source, stream, dropped.relative)
        return None
    start = span.first.replace(microsecond=0)
    end = free_interval_end(
        con, config, start, span.last.replace(microsecond=0) + timedelta(seconds=1)
    )
    landed = writer.finish(
        LandedSlice(
            source=source,
            stream=stream,
            interval_start=iso_z(start),
            interval_end=iso_z(end),
            window_start=iso_z(start),
            window_end=iso_z(end),
            run_id=run_id,
            directory=str(directory),
            pages=1,
            records=span.records,
            seconds=round(time.monotonic() - began, 3),
            started_at=iso_z(started_at),
            finished_at=iso_z(now_utc()),
        )
    )
    result = load_slice(settings, landed, con, within=lambda c: register(c, landed))
    log.info("%s.%s: loaded %s (%d records)", source, stream, dropped.relative, span.records)
    return result


@dataclass
class _Span:
    first: datetime | None = None
    last: datetime | None = None
    records: int = 0

    def add(self, moment: datetime) -> None:
        self.first = moment if self.first is None else min(self.first, moment)
        self.last = moment if self.last is None else max(self.last, moment)
        self.records += 1


def _checked(
    dropped: DroppedFile,
    config: FileStreamConfig,
    history_start: datetime,
    problems: Problems,
    span: _Span,
) -> Iterator[dict]:
    """Records with their key and time checked: present, and the time within
    [history_start, now] (a later time would move the run's as_of into the future)."""
    unit = "row" if config.files.format is FileFormat.PARQUET else "line"
    latest = now_naive()
    for line, record in read_records(dropped.path, config.files, problems):
        key, moment = record.get(config.primary_key), record.get(config.time_field)
        if key is None or key == "":
            problems.add(
                Problem(line, config.primary_key, "empty; every record needs its primary key", unit)
            )
        if moment is None or moment == "":
            problems.add(
                Problem(line, config.time_field, "empty; every record needs its time", unit)
            )
            continue
        try:
            when = _naive_utc(str(moment))
        except ValueError:
            problems.add(
                Problem(line, config.time_field, f"{moment!r} is not an ISO 8601 timestamp", unit)
            )
            continue
        if not history_start <= when <= latest:
            problems.add(
                Problem(
                    line,
                    config.time_field,
                    f"{moment} is outside [{iso_z(history_start)}, now]: before the source's "
                    "history_start, or in the future",
                    unit,
                )
            )
            continue
        span.add(when)
        yield record


def _changed(dropped: DroppedFile) -> bool:
    stat = dropped.path.stat()
    return (stat.st_size, stat.st_mtime_ns) != (dropped.size, dropped.mtime_ns)


def _naive_utc(text: str) -> datetime:
    """ISO 8601 text as the warehouse's naive UTC (the fast path of times.naive_utc)."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value


def _known_by_stat(
    con: duckdb.DuckDBPyConnection, config: FileStreamConfig, dropped: DroppedFile
) -> bool:
    row = con.execute(
        "select 1 from meta.file_loads where source = ? and stream = ? and path = ? "
        "and size = ? and mtime_ns = ?",
        [config.source, config.name, dropped.relative, dropped.size, dropped.mtime_ns],
    ).fetchone()
    return row is not None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def free_interval_end(
    con: duckdb.DuckDBPyConnection, config: FileStreamConfig, start: datetime, end: datetime
) -> datetime:
    """`end`, or a second later than any slice of the stream with the same start: two
    files that span the same seconds must not replace each other's slice."""
    row = con.execute(
        "select max(interval_end) from meta.extract_runs "
        "where source = ? and stream = ? and interval_start = ? and interval_end >= ?",
        [config.source, config.name, start, end],
    ).fetchone()
    taken = row[0] if row else None
    return end if taken is None else taken + timedelta(seconds=1)


def reject(
    con: duckdb.DuckDBPyConnection,
    config: FileStreamConfig,
    dropped: DroppedFile,
    digest: str,
    problems: list[Problem],
    run_id: str,
    settings: Settings,
) -> SliceResult:
    """Move the file aside with its reason; nothing of it was loaded."""
    source, stream = config.source, config.name
    folder = settings.drop_dir(source) / REJECTED / stream
    folder.mkdir(parents=True, exist_ok=True)
    stamp = now_utc()
    moved = folder / f"{stamp:%Y%m%dT%H%M%SZ}-{dropped.path.name}"
    taken = 1
    while moved.exists():  # two files of one name (in subfolders) rejected in one second
        taken += 1
        moved = folder / f"{stamp:%Y%m%dT%H%M%SZ}-{taken}-{dropped.path.name}"
    more = (
        "" if len(problems) < MAX_PROBLEMS else f"(the first {MAX_PROBLEMS}; there may be more)\n"
    )
    reason = (
        f"{source}.{stream}: {dropped.relative} was rejected whole (nothing of it loaded):\n"
        + "".join(f"  {dropped.relative}: {p.describe()}\n" for p in problems)
        + more
        + f"\nFix the file and drop it again into {settings.drop_dir(source)}.\n"
    )
    # The reason first: a file in rejected/ always has its reason beside it.
    reason_file = moved.with_name(moved.name + ".reason.txt")
    reason_file.write_text(reason, encoding="utf-8")
    os.replace(dropped.path, moved)
    con.execute(
        "insert into meta.file_rejections values (?, ?, ?, ?, ?, ?, ?, ?)",
        [source, stream, digest, dropped.relative, str(moved), reason, run_id, now_naive()],
    )
    first = problems[0].describe()
    error = (
        f"{dropped.relative} rejected ({first}"
        + (f"; {len(problems) - 1} more problem(s)" if len(problems) > 1 else "")
        + f"), moved to {moved}; reason in {reason_file.name}"
    )
    log.warning("%s.%s: %s", source, stream, error)
    stamp_text = iso_z(stamp)
    return SliceResult(
        source=source,
        stream=stream,
        interval_start=stamp_text,
        interval_end=stamp_text,
        run_id=run_id,
        status=SliceStatus.REJECTED,
        error=error,
    )
