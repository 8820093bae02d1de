"""Landing files: `<landing_dir>/<source>/<stream>/<start>_<end>/<run_id>/part-*.jsonl.gz`.

Pages are appended as they arrive, one record per line exactly as the API sent
it, so memory holds one page. A part is written as `*.partial` and renamed when
complete; the slice's `_manifest.json` is written last, so a killed pull leaves
no file that looks finished.
"""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from segmart.core.times import iso_z, parse_utc

PART_RECORDS = 200_000  # records per part file: few files, each loadable in parallel
MANIFEST = "_manifest.json"


@dataclass
class LandedSlice:
    """One pulled (stream, interval): what `load_slice` needs. JSON-safe for XCom."""

    source: str
    stream: str
    interval_start: str  # ISO UTC; the slice identity is [interval_start, interval_end)
    interval_end: str
    window_start: str  # the HTTP window: interval_start - lookback
    window_end: str
    run_id: str
    directory: str
    files: list[str] = field(default_factory=list)
    pages: int = 0
    records: int = 0
    requests: int = 0
    rate_limited: int = 0
    retries: int = 0
    seconds: float = 0.0
    started_at: str = ""
    finished_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LandedSlice:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    @property
    def interval(self) -> tuple[datetime, datetime]:
        return parse_utc(self.interval_start), parse_utc(self.interval_end)


def interval_label(start: datetime, end: datetime) -> str:
    """Path-safe interval name (no colons): `20240101T000000Z_20240102T000000Z`."""
    return f"{_compact(start)}_{_compact(end)}"


def _compact(value: datetime) -> str:
    return iso_z(value).replace("-", "").replace(":", "")


def slice_directory(
    landing_dir: Path, source: str, stream: str, start: datetime, end: datetime, run_id: str
) -> Path:
    return landing_dir / source / stream / interval_label(start, end) / run_id


class LandingWriter:
    """Appends pages of records to gzipped JSONL parts in one slice directory."""

    def __init__(self, directory: Path, part_records: int = PART_RECORDS) -> None:
        self.directory = directory
        self.part_records = part_records
        self.files: list[Path] = []
        self._handle: IO[str] | None = None
        self._partial: Path | None = None
        self._in_part = 0
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("part-*"):  # a rerun of the same run id starts clean
            stale.unlink()
        (directory / MANIFEST).unlink(missing_ok=True)

    def write_page(self, records: list[dict[str, Any]]) -> None:
        for record in records:
            if self._handle is None:
                self._open_part()
            assert self._handle is not None
            self._handle.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
            self._handle.write("\n")
            self._in_part += 1
            if self._in_part >= self.part_records:
                self._close_part()
        if self._handle is not None:
            self._handle.flush()

    def _open_part(self) -> None:
        self._partial = self.directory / f"part-{len(self.files):05d}.jsonl.gz.partial"
        # Level 1: landing files live briefly; speed matters more than size.
        self._handle = gzip.open(  # noqa: SIM115 - stays open across pages
            self._partial, "wt", encoding="utf-8", compresslevel=1
        )
        self._in_part = 0

    def _close_part(self) -> None:
        if self._handle is None or self._partial is None:
            return
        self._handle.close()
        final = self._partial.with_suffix("")  # drop ".partial"
        os.replace(self._partial, final)
        self.files.append(final)
        self._handle = None
        self._partial = None

    def finish(self, landed: LandedSlice) -> LandedSlice:
        self._close_part()
        landed.files = [str(p) for p in self.files]
        manifest = self.directory / MANIFEST
        manifest.with_suffix(".tmp").write_text(json.dumps(landed.to_dict(), indent=2))
        os.replace(manifest.with_suffix(".tmp"), manifest)
        return landed

    def abort(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
