"""UTC and `as_of` helpers: the only place that converts between time forms.

Three forms cross the code: aware UTC datetimes (extraction, HTTP windows),
naive UTC datetimes (the warehouse stores TIMESTAMP without a zone) and text
(`2026-06-01T00:00:00Z` in APIs, landing manifests and XCom; `2026-06-01 00:00:00`
for dbt's `as_of` variable).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from segmart.core.errors import UserError


class TimeFormatError(UserError, ValueError):
    """A timestamp or duration could not be read; the message shows an accepted form."""


def parse_utc(value: datetime | str) -> datetime:
    """ISO 8601 text or a datetime -> aware UTC; a value without offset is taken as UTC.

    Always a plain `datetime` (never a subclass such as pendulum's).
    """
    if isinstance(value, str):
        text = value.strip()
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise TimeFormatError(
                f"{text!r} is not an ISO 8601 timestamp; use e.g. 2026-06-01T00:00:00Z"
            ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(value.timestamp(), tz=UTC)


def naive_utc(value: datetime | str) -> datetime:
    """The warehouse form: naive UTC."""
    return parse_utc(value).replace(tzinfo=None)


def naive_utc_or_none(value: datetime | str | None) -> datetime | None:
    return naive_utc(value) if value else None


def iso_z(value: datetime) -> str:
    """`2026-06-01T00:00:00Z`: whole seconds, UTC (APIs, manifests, XCom)."""
    return parse_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def as_of_text(value: datetime | str) -> str:
    """`2026-06-01 00:00:00`: the form of dbt's `as_of` variable and of printed as_of."""
    return naive_utc(value).strftime("%Y-%m-%d %H:%M:%S")


def whole_seconds(value: datetime | str) -> datetime:
    """Aware UTC without its fraction of a second: the form of every window and as_of."""
    return parse_utc(value).replace(microsecond=0)


def now_utc() -> datetime:
    """Aware UTC now, whole seconds."""
    return datetime.now(UTC).replace(microsecond=0)


def now_naive() -> datetime:
    """Naive UTC now, for warehouse timestamps."""
    return datetime.now(UTC).replace(tzinfo=None)


_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


def parse_duration(text: str) -> timedelta:
    """ISO 8601 durations of days, hours, minutes, seconds (`PT1H`, `P1DT30M`)."""
    normal = str(text).strip().upper()
    match = _DURATION.match(normal)
    if not match or normal in ("P", "PT"):
        raise TimeFormatError(f"{text!r} is not an ISO 8601 duration such as PT1H or P3D")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
