"""The core every room may import, and which imports no room.

`settings` (every `SEGMART_*` variable), `warehouse` (the working DuckDB file and
its `meta` schema), `times` (UTC and `as_of` helpers) and `contracts` (the typed
results and names that cross rooms). `pyproject.toml`'s import-linter contract
keeps it that way.
"""
