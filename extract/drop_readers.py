"""Reading one dropped file into records, every value checked, every problem placed.

`read_records` yields `(line, record)` and collects `Problem`s (file line or
Parquet row, column, what is wrong) instead of stopping at the first, so a
rejected file's reason lists what to fix at once (up to `MAX_PROBLEMS`). A
problem with the file as a whole (a missing column, a cut-off last line, text
that is not UTF-8) is a problem too. The caller loads nothing of a file with
any problem.

Python's `csv` module, not DuckDB's CSV reader: DuckDB gives the line and column
of a bad value or a short row (`store_rejects`), but it does not compare the
header with the declared columns (a renamed column loads under the declared
name) and gives no line for a null key or an out-of-range time; one loop here
says all of it (measured in docs/architecture.md, "File drops").
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import duckdb

from extract.drop_spec import ColumnType, FileFormat, FilesSpec

MAX_PROBLEMS = 20
_INTEGER = re.compile(r"^[+-]?\d+$")
_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


@dataclass(frozen=True)
class Problem:
    line: int | None  # the file's line (CSV, NDJSON) or row (Parquet), from 1
    column: str | None
    message: str
    unit: str = "line"

    def describe(self) -> str:
        where = [f"{self.unit} {self.line}"] if self.line is not None else []
        where += [f"column {self.column}"] if self.column is not None else []
        return f"{', '.join(where)}: {self.message}" if where else self.message


@dataclass
class Problems:
    found: list[Problem] = field(default_factory=list)
    last_line: int | None = None  # the last line read, with or without a problem

    def add(self, problem: Problem) -> None:
        if len(self.found) < MAX_PROBLEMS:
            self.found.append(problem)

    @property
    def full(self) -> bool:
        return len(self.found) >= MAX_PROBLEMS


class FileUnreadable(Exception):
    """The file as a whole cannot be read on: `problem` says why and where."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.describe())
        self.problem = problem


# --- one value: CSV text -> the value that lands in `record` -----------------------------


def _timestamp_text(value: datetime) -> str:
    # A value without an offset is UTC (as everywhere in segmart).
    utc = value.astimezone(UTC) if value.tzinfo is not None else value
    fraction = f".{utc.microsecond:06d}" if utc.microsecond else ""
    return f"{utc:%Y-%m-%dT%H:%M:%S}{fraction}Z"


def parse_value(text: str, kind: ColumnType) -> Any:
    """The typed value of a non-empty CSV cell; ValueError says what was expected."""
    stripped = text.strip()
    if kind is ColumnType.TEXT:
        return text
    if kind is ColumnType.INTEGER and _INTEGER.match(stripped):
        return int(stripped)
    if kind is ColumnType.DECIMAL and _DECIMAL.match(stripped):
        return stripped
    if kind is ColumnType.NUMBER:
        try:
            number = float(stripped)
        except ValueError:
            number = math.nan
        if math.isfinite(number):
            return number
    if kind is ColumnType.BOOLEAN and stripped.lower() in _TRUE | _FALSE:
        return stripped.lower() in _TRUE
    if kind is ColumnType.DATE:
        try:
            return date.fromisoformat(stripped).isoformat()
        except ValueError:
            pass
    if kind is ColumnType.TIMESTAMP:
        try:
            return _timestamp_text(datetime.fromisoformat(stripped.replace("Z", "+00:00")))
        except ValueError:
            pass
    raise ValueError(f"{text!r} is not {_EXPECTED[kind]}")


_EXPECTED = {
    ColumnType.TEXT: "text",
    ColumnType.INTEGER: "a whole number",
    ColumnType.DECIMAL: "a decimal number such as 12.50",
    ColumnType.NUMBER: "a number",
    ColumnType.BOOLEAN: "a boolean (true/false, yes/no, 1/0)",
    ColumnType.DATE: "a date such as 2026-06-01",
    ColumnType.TIMESTAMP: "an ISO 8601 timestamp such as 2026-06-01T12:00:00Z",
}


# --- formats ---------------------------------------------------------------------------------

Reader = Callable[[Path, FilesSpec, Problems], Iterator[tuple[int, dict[str, Any]]]]


def _csv(path: Path, spec: FilesSpec, problems: Problems) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:  # -sig: a BOM is not a name
        reader = csv.reader(handle, delimiter=spec.delimiter, quotechar=spec.quote, strict=True)
        header = next(reader, None)
        if header is None:
            raise FileUnreadable(Problem(1, None, "the file is empty; it needs its header line"))
        _check_header(header, spec.columns)
        kinds = [spec.columns.get(name, ColumnType.TEXT) for name in header]
        try:
            for row in reader:
                line = problems.last_line = reader.line_num
                if not row:
                    continue  # a blank line
                if len(row) != len(header):
                    problems.add(
                        Problem(line, None, f"{len(row)} fields; the header has {len(header)}")
                    )
                    continue
                record: dict[str, Any] = {}
                clean = True
                for name, kind, cell in zip(header, kinds, row, strict=True):
                    try:
                        record[name] = parse_value(cell, kind) if cell.strip() else None
                    except ValueError as error:
                        problems.add(Problem(line, name, str(error)))
                        clean = False
                if clean:
                    yield line, record
        except csv.Error as error:
            raise FileUnreadable(
                Problem(reader.line_num, None, f"not valid CSV: {error}")
            ) from None


def _check_header(header: list[str], columns: Mapping[str, ColumnType]) -> None:
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise FileUnreadable(Problem(1, name, "the header names this column twice"))
        seen.add(name)
    missing = [name for name in columns if name not in seen]
    if missing:
        others = [name for name in header if name not in columns]
        instead = f"; the header has {', '.join(others)} instead" if others else ""
        raise FileUnreadable(
            Problem(
                1,
                ", ".join(missing),
                f"missing from the header (declared in the source YAML){instead}; "
                "fix the file or the stream's files.columns",
            )
        )


def _ndjson(
    path: Path, spec: FilesSpec, problems: Problems
) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8-sig") as handle:
        for line, text in enumerate(handle, start=1):
            problems.last_line = line
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as error:
                problems.add(
                    Problem(line, None, f"not valid JSON: {error.msg} at character {error.colno}")
                )
                continue
            if not isinstance(record, dict):
                problems.add(Problem(line, None, "not a JSON object"))
                continue
            if _check_declared(line, record, spec.columns, problems):
                yield line, record


def _check_declared(
    line: int,
    record: Mapping[str, Any],
    columns: Mapping[str, ColumnType],
    problems: Problems,
    unit: str = "line",
) -> bool:
    """A typed record (NDJSON, Parquet) holds every declared column, of its type or null;
    False when it does not (the problems say why)."""
    clean = True
    for name, kind in columns.items():
        if name not in record:
            problems.add(Problem(line, name, "missing (declared in the source YAML)", unit))
            clean = False
            continue
        value = record[name]
        if value is None or kind is ColumnType.TEXT:
            continue
        try:
            parse_value(value if isinstance(value, str) else json.dumps(value), kind)
        except ValueError as error:
            problems.add(Problem(line, name, str(error), unit))
            clean = False
    return clean


def _parquet(
    path: Path, spec: FilesSpec, problems: Problems
) -> Iterator[tuple[int, dict[str, Any]]]:
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        try:
            cursor = con.execute("select * from read_parquet(?)", [str(path)])
        except duckdb.Error as error:
            raise FileUnreadable(
                Problem(None, None, f"not a readable Parquet file: {error}")
            ) from None
        names = [column[0] for column in cursor.description or []]
        missing = [name for name in spec.columns if name not in names]
        if missing:
            raise FileUnreadable(
                Problem(None, ", ".join(missing), "missing from the file's columns", "row")
            )
        row_number = 0
        while rows := cursor.fetchmany(10_000):
            for row in rows:
                row_number += 1
                record = {name: _json_value(value) for name, value in zip(names, row, strict=True)}
                if _check_declared(row_number, record, spec.columns, problems, "row"):
                    yield row_number, record
    finally:
        con.close()


def _json_value(value: Any) -> Any:
    """A Parquet value as JSON: decimals as their text, times as ISO 8601 UTC."""
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, datetime):
        return _timestamp_text(value)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    return value


READERS: dict[FileFormat, Reader] = {
    FileFormat.CSV: _csv,
    FileFormat.NDJSON: _ndjson,
    FileFormat.PARQUET: _parquet,
}


def ends_cut_off(path: Path) -> bool:
    """A text file whose last line has no line end was cut off (or is still being written)."""
    with path.open("rb") as handle:
        handle.seek(0, 2)
        if handle.tell() == 0:
            return False
        handle.seek(-1, 2)
        return handle.read(1) not in (b"\n", b"\r")


def read_records(
    path: Path, spec: FilesSpec, problems: Problems
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Every record of the file without a problem, with its line; problems (and the
    lines that have them) go to `problems`."""
    try:
        for line, record in READERS[spec.format](path, spec, problems):
            yield line, record
            if problems.full:
                return
    except FileUnreadable as unreadable:
        problems.add(unreadable.problem)
        return
    except UnicodeDecodeError as error:
        problems.add(Problem(None, None, f"not UTF-8 text (byte {error.start}: {error.reason})"))
        return
    if spec.format is not FileFormat.PARQUET and ends_cut_off(path):
        problems.add(
            Problem(
                problems.last_line,
                None,
                "the last line has no line end: the file is cut off (truncated, or still being "
                "written); drop it again once it is complete",
            )
        )
