"""Typed sections of a source file: a frozen dataclass is the schema of its section.

Each key of a section class is declared with `setting(read, default)`, where
`read` checks and converts the YAML value. `build` rejects unknown and missing
keys, so a wrong key fails when the file is read, before any request (as
Airbyte's declarative schema and dlt's typed rest_api configs do). Every error
names the file, the key path and what is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any, TypeVar

from extract.errors import ConfigError
from segmart.core.times import TimeFormatError, parse_duration, parse_utc

T = TypeVar("T")
Key = str | int
Reader = Callable[[Any, "Where"], Any]

NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Where:
    """A key path in one file: `extract/sources/<source>.yaml: streams.orders.pagination`.

    `own` and `defaults` are set inside a stream, whose keys are its own section
    merged over `defaults:`; an error on an inherited key then says where it is set.
    """

    origin: str
    path: tuple[Key, ...] = ()
    own: Mapping[str, Any] | None = field(default=None, compare=False)
    defaults: Mapping[str, Any] | None = field(default=None, compare=False)
    stream_depth: int = 0

    def at(self, *keys: Key) -> Where:
        return Where(self.origin, (*self.path, *keys), self.own, self.defaults, self.stream_depth)

    def inside_stream(self, own: Mapping[str, Any], defaults: Mapping[str, Any]) -> Where:
        return Where(self.origin, self.path, own, defaults, len(self.path))

    @property
    def dotted(self) -> str:
        return dotted(self.path)

    def error(self, problem: str, key: str | None = None, section: bool = False) -> ConfigError:
        """`key`: the offending key of this section; `section`: the section as a whole."""
        where = f"{self.origin}: {self.dotted}" if self.path else self.origin
        return ConfigError(f"{where}: {problem}{self._inherited(key, section)}")

    def _inherited(self, key: str | None, section: bool) -> str:
        if self.own is None or self.defaults is None:
            return ""
        relative = (*self.path[self.stream_depth :], *([key] if key is not None else []))
        if not relative or _holds(self.own, relative) or not _holds(self.defaults, relative):
            return ""
        what = "this section comes from" if section else "it is set in"
        return f"; {what} defaults.{dotted(relative)}"


def dotted(path: Iterable[Key]) -> str:
    text = ""
    for key in path:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else key)
    return text


def _holds(document: Any, path: tuple[Key, ...]) -> bool:
    for key in path:
        if isinstance(key, int) or not isinstance(document, Mapping) or key not in document:
            return False
        document = document[key]
    return True


def setting(read: Reader, default: Any = MISSING, *, optional: bool = False) -> Any:
    """One key of a section: `read` converts its YAML value; no default means required.

    `optional` lets the key be null (`limit_param: null`: the API takes no page size).
    """
    metadata = {"read": read, "optional": optional}
    if isinstance(default, list | dict):
        kind, items = type(default), list(default.items() if isinstance(default, dict) else default)
        return field(default_factory=lambda: kind(items), metadata=metadata)
    return field(default=default, metadata=metadata)


def keys_of(kind: type) -> list[Field]:
    return [f for f in fields(kind) if "read" in f.metadata]


def _required(f: Field) -> bool:
    return f.default is MISSING and f.default_factory is MISSING


def mapping(value: Any, where: Where, expected: str = "a mapping of keys") -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise where.error(f"must be {expected}, not {_shown(value)}")
    for key in value:
        if not isinstance(key, str):
            raise where.error(f"keys must be text, not {key!r}")
    return value


def build(
    kind: type[T],
    value: Any,
    where: Where,
    *,
    extra: Iterable[str] = (),
    context: str = "",
    given: Mapping[str, Any] | None = None,
) -> T:
    """`kind(**checked values)`: every key of `value` known, every required key there.

    `extra` keys are allowed but read by the caller (a `style`); `given` fills
    fields that do not come from the file (a stream's name).
    """
    section = mapping(value, where, f"a mapping of keys ({', '.join(_allowed(kind, extra))})")
    allowed = _allowed(kind, extra)
    for key in section:
        if key not in allowed:
            raise where.error(
                f"unknown key {key!r}{context} (allowed: {', '.join(allowed)})", key=key
            )
    values: dict[str, Any] = dict(given or {})
    for f in keys_of(kind):
        if f.name not in section:
            if _required(f):
                listing = _listing(kind, extra)
                raise where.error(f"missing key {f.name!r}{context} ({listing})", section=True)
            continue
        raw = section[f.name]
        if raw is None:
            if not f.metadata["optional"]:
                raise where.at(f.name).error("needs a value (it is empty)")
            values[f.name] = None
        else:
            values[f.name] = f.metadata["read"](raw, where.at(f.name))
    return kind(**values)


def _allowed(kind: type, extra: Iterable[str]) -> list[str]:
    return sorted({*(f.name for f in keys_of(kind)), *extra})


def _listing(kind: type, extra: Iterable[str]) -> str:
    required = sorted({*(f.name for f in keys_of(kind) if _required(f)), *extra})
    optional = sorted(f.name for f in keys_of(kind) if not _required(f))
    text = f"required: {', '.join(required)}"
    return text + (f"; optional: {', '.join(optional)}" if optional else "")


def build_styled(
    registry: Mapping[str, type[T]],
    value: Any,
    where: Where,
    *,
    key: str = "style",
    default: str | None = None,
) -> T:
    """A section whose `style` (or `rule`) key picks its typed config from `registry`."""
    section = mapping(value, where)
    style = section.get(key, default)
    choices = ", ".join(registry)
    if style is None:
        raise where.error(f"missing key {key!r} (one of: {choices})")
    if not isinstance(style, str) or style not in registry:
        raise where.at(key).error(f"must be one of {choices}, not {_shown(style)}")
    rest = {k: v for k, v in section.items() if k != key}
    return build(registry[style], rest, where, extra=(key,), context=f" for {key} {style}")


def _shown(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


# --- readers: YAML value -> typed value, or a ConfigError naming the key ---------------------


def text(value: Any, where: Where) -> str:
    if not isinstance(value, str) or not value.strip():
        raise where.error(f"must be non-empty text, not {_shown(value)}")
    return value


def text_or_empty(value: Any, where: Where) -> str:
    if not isinstance(value, str):
        raise where.error(f'must be text ("" for none), not {_shown(value)}')
    return value


def name(value: Any, where: Where) -> str:
    """Names that become table, variable and task names: `orders`, `email_events`."""
    if not isinstance(value, str) or not NAME.match(value):
        raise where.error(
            f"must be a lower-case name of letters, digits and _ (e.g. email_events), "
            f"not {_shown(value)}"
        )
    return value


def url_path(value: Any, where: Where) -> str:
    if not isinstance(value, str) or not value.startswith("/"):
        raise where.error(f"must be a path starting with / (e.g. /orders), not {_shown(value)}")
    return value


def whole(minimum: int) -> Reader:
    def read(value: Any, where: Where) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            kind = "a positive whole number" if minimum == 1 else f"a whole number >= {minimum}"
            raise where.error(f"must be {kind}, not {_shown(value)}")
        return value

    return read


positive_int = whole(1)
count = whole(0)


def number(minimum: float = 0.0, *, above: bool = False) -> Reader:
    def read(value: Any, where: Where) -> float:
        low_ok = isinstance(value, int | float) and (value > minimum if above else value >= minimum)
        if isinstance(value, bool) or not low_ok:
            bound = f"> {minimum:g}" if above else f">= {minimum:g}"
            raise where.error(f"must be a number {bound}, not {_shown(value)}")
        return float(value)

    return read


def any_number(value: Any, where: Where) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise where.error(f"must be a number, not {_shown(value)}")
    return float(value)


def duration(value: Any, where: Where) -> timedelta:
    """ISO 8601 (`PT0S`, `PT1H`, `P3D`)."""
    try:
        return parse_duration(value if isinstance(value, str) else repr(value))
    except TimeFormatError as error:
        raise where.error(str(error)) from None


def positive_duration(value: Any, where: Where) -> timedelta:
    span = duration(value, where)
    if span <= timedelta(0):
        raise where.error(f"must be longer than zero, not {value!r}")
    return span


def timestamp(value: Any, where: Where) -> datetime:
    """ISO 8601 UTC; YAML reads an unquoted timestamp or date itself."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not isinstance(value, str | datetime):
        raise where.error(
            f"must be an ISO 8601 timestamp such as 2024-01-01T00:00:00Z, not {value!r}"
        )
    try:
        return parse_utc(value)
    except TimeFormatError as error:
        raise where.error(str(error)) from None


def choice(kind: type[Enum]) -> Reader:
    def read(value: Any, where: Where) -> Enum:
        try:
            return kind(value)
        except ValueError:
            choices = ", ".join(str(member.value) for member in kind)
            raise where.error(f"must be one of {choices}, not {_shown(value)}") from None

    return read


def scalars(value: Any, where: Where) -> dict[str, str]:
    """Fixed query parameters: text, numbers or booleans, sent as text."""
    section = mapping(value, where, "a mapping of parameter names to values")
    for key, item in section.items():
        if not isinstance(item, str | int | float | bool):
            raise where.at(key).error(f"must be text or a number, not {_shown(item)}")
    return {key: str(item) for key, item in section.items()}


def section_of(kind: type[T]) -> Reader:
    return lambda value, where: build(kind, value, where)


def styled(registry: Mapping[str, type[T]], key: str = "style") -> Reader:
    return lambda value, where: build_styled(registry, value, where, key=key)


def list_of(read: Reader) -> Reader:
    def read_list(value: Any, where: Where) -> tuple[Any, ...]:
        if not isinstance(value, list):
            raise where.error(f"must be a list, not {_shown(value)}")
        return tuple(read(item, where.at(index)) for index, item in enumerate(value))

    return read_list


def number_pair(value: Any, where: Where) -> tuple[float, float]:
    """`[low, high]` with 0 <= low < high."""
    if not isinstance(value, list) or len(value) != 2:
        raise where.error(f"must be a list [low, high], not {_shown(value)}")
    low, high = (any_number(item, where.at(index)) for index, item in enumerate(value))
    if not 0 <= low < high:
        raise where.error(f"must be [low, high] with 0 <= low < high, not {value!r}")
    return low, high
