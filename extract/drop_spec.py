"""The `files:` section of a file source's stream: which files, their format, their columns.

A file source (`kind: files`) reads drops from a folder instead of an API
(docs/extract.md, "File sources"). This module is only the schema of that
section; `extract/drops.py` finds, checks and loads the files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Any

from extract.schema import Where, choice, mapping, setting, text


class FileFormat(StrEnum):
    CSV = "csv"  # a header line, then one record per line; columns and types from the YAML
    NDJSON = "ndjson"  # one JSON object per line, landed as it is
    PARQUET = "parquet"  # typed columns; each row becomes one JSON object


class ColumnType(StrEnum):
    """What a CSV value must read as; how it lands in `record` is in docs/extract.md."""

    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"  # lands as its text, digits kept exactly (like the shop's totals)
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMP = "timestamp"  # ISO 8601; without an offset it is UTC; lands as ...Z


def relative_glob(value: Any, where: Where) -> str:
    pattern = text(value, where)
    path = PurePosixPath(pattern)
    if path.is_absolute() or ".." in path.parts:
        raise where.error(
            f"must be a pattern inside the source's drop folder (e.g. purchases/*.csv), "
            f"not {pattern!r}; the folder itself is a setting (SEGMART_<SOURCE>_DROP_DIR)"
        )
    return pattern


def column_types(value: Any, where: Where) -> Mapping[str, ColumnType]:
    section = mapping(value, where, "a mapping of column names to types")
    read = choice(ColumnType)
    return {column: ColumnType(read(kind, where.at(column))) for column, kind in section.items()}


def one_character(value: Any, where: Where) -> str:
    if not isinstance(value, str) or len(value) != 1:
        raise where.error(f"must be one character (e.g. ',' or ';'), not {value!r}")
    return value


@dataclass(frozen=True, kw_only=True)
class FilesSpec:
    glob: str = setting(relative_glob)  # relative to the source's drop folder
    format: FileFormat = setting(choice(FileFormat))
    # CSV: every column of the file with its type (required); NDJSON, Parquet: the
    # columns each record must have, checked when given.
    columns: Mapping[str, ColumnType] = setting(column_types, {})
    delimiter: str = setting(one_character, ",")  # CSV only
    quote: str = setting(one_character, '"')  # CSV only

    def check(self, where: Where) -> None:
        """What one key alone cannot say: a CSV needs its columns; CSV keys only on CSV."""
        if self.format is FileFormat.CSV and not self.columns:
            raise where.error(
                "a csv stream declares its columns (name: type, in any order; types: "
                f"{', '.join(ColumnType)})",
                section=True,
            )
        if self.format is not FileFormat.CSV and (self.delimiter, self.quote) != (",", '"'):
            raise where.error(f"delimiter and quote are csv keys; format is {self.format}")
