"""Which window each stream extracts: one rule for `segmart extract`, `segmart run` and the DAG.

The end is `end`, else now (UTC, whole seconds). With `fill_gaps` (runs without
`--start`, and the DAG's data intervals) a stream starts at the earlier of
`start` and its watermark (else its source's `history_start`): intervals that
were never loaded are reached back to, and a run without a start continues
from the watermark. Without `fill_gaps` (an explicit `--start`) the window is
exactly `[start, end)`. A stream already up to date is left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from extract.config import load_source
from extract.errors import WindowError
from extract.watermarks import read_watermark
from segmart.core import warehouse
from segmart.core.settings import Settings
from segmart.core.times import iso_z, now_utc, parse_utc


@dataclass(frozen=True)
class PlannedSlice:
    """One (stream, interval) to pull: `[start, end)`, aware UTC."""

    source: str
    stream: str
    start: datetime
    end: datetime

    def to_dict(self) -> dict[str, str]:
        """JSON-safe (XCom): times as `...Z` text."""
        return {
            "source": self.source,
            "stream": self.stream,
            "start": iso_z(self.start),
            "end": iso_z(self.end),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlannedSlice:
        return cls(data["source"], data["stream"], parse_utc(data["start"]), parse_utc(data["end"]))


def check_window(
    start: datetime | str | None, end: datetime | str | None, allow_empty: bool = False
) -> tuple[datetime | None, datetime]:
    """The requested window as aware UTC (`end` defaults to now); `WindowError` when an
    explicit start is not before the end. Callers check before they write anything.

    `allow_empty` (filling gaps): a start equal to the end asks for nothing beyond the
    gaps, as a DAG run's zero-length data interval does (a manual run without a
    schedule); only a start after the end is an error then.
    """
    until = parse_utc(end) if end is not None else now_utc()
    since = parse_utc(start) if start is not None else None
    if since is not None and (since > until or (since == until and not allow_empty)):
        if end is None:
            raise WindowError(
                f"--start {iso_z(since)} is not before now ({iso_z(until)}): nothing to "
                "extract; give a --start in the past"
            )
        raise WindowError(
            f"--start {iso_z(since)} is not before --end {iso_z(until)}: the window is "
            "empty or reversed; give a --start earlier than --end"
        )
    return since, until


def plan_windows(
    settings: Settings,
    pairs: Sequence[tuple[str, str]],
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    fill_gaps: bool = True,
) -> list[PlannedSlice]:
    """One slice per (source, stream) of `pairs` that has anything to pull.

    Raises `WindowError` for an explicit window whose start is not before its
    end, before the warehouse is touched.
    """
    since, until = check_window(start, end, allow_empty=fill_gaps)
    marks = _watermarks(settings, pairs) if since is None or fill_gaps else {}
    planned = []
    for source, stream in pairs:
        if since is not None and not fill_gaps:
            begin = since
        else:
            mark = marks.get((source, stream))
            known = (
                parse_utc(mark)
                if mark is not None
                else load_source(source, settings.sources_dir).history_start
            )
            begin = known if since is None else min(since, known)
        if begin < until:
            planned.append(PlannedSlice(source, stream, begin, until))
    return planned


def _watermarks(
    settings: Settings, pairs: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], datetime | None]:
    con = warehouse.connect(settings.warehouse)
    try:
        return {(source, stream): read_watermark(con, source, stream) for source, stream in pairs}
    finally:
        con.close()
