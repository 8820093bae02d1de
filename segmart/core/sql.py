"""SQL literals built in Python: one quoting rule for the loader and the gate alike."""

from __future__ import annotations


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def json_path(field_name: str) -> str:
    """A record field as a JSON path literal (the whole name is one key, as the loader reads it)."""
    return sql_string('$."' + field_name.replace('"', '\\"') + '"')
