"""Compare every dbt-built table of two warehouses, row for row.

For changes that must not change results (a faster model, an incremental
path): build the same raw history with the old and the new project, or
incrementally and with --full-refresh, then

    .venv/bin/python benchmarks/compare_warehouses.py new.duckdb old.duckdb

prints, per table of staging, intermediate and marts, the rows only in one
side (`except all` both ways, over the columns both have) and exits 1 if any
table differs.
"""

from __future__ import annotations

import sys

import duckdb

SCHEMAS = ("staging", "intermediate", "marts")


def columns(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> list[str]:
    return [
        name
        for (name,) in con.execute(
            "select column_name from information_schema.columns"
            " where table_catalog = ? and table_schema = ? and table_name = ?"
            " order by ordinal_position",
            [catalog, schema, table],
        ).fetchall()
    ]


def main(argv: list[str]) -> int:
    first, second = argv
    con = duckdb.connect(first, read_only=True)
    con.execute(f"attach '{second}' as other (read_only)")
    catalog = con.execute("select current_database()").fetchone()[0]  # type: ignore[index]
    tables = con.execute(
        "select table_schema, table_name from information_schema.tables"
        " where table_catalog = ? and table_schema in ? order by 1, 2",
        [catalog, list(SCHEMAS)],
    ).fetchall()
    differing = 0
    for schema, table in tables:
        theirs = set(columns(con, "other", schema, table))
        if not theirs:
            print(f"{schema}.{table}: only in {first}")
            continue
        shared = ", ".join(f'"{c}"' for c in columns(con, catalog, schema, table) if c in theirs)
        here, there = f'{schema}."{table}"', f'other.{schema}."{table}"'
        only_here, only_there = (
            con.execute(
                f"select count(*) from"
                f" (select {shared} from {a} except all select {shared} from {b})"
            ).fetchone()[0]  # type: ignore[index]
            for a, b in ((here, there), (there, here))
        )
        rows = con.execute(f"select count(*) from {here}").fetchone()[0]  # type: ignore[index]
        mark = "" if only_here == only_there == 0 else "  <- DIFFERENT"
        differing += bool(mark)
        print(f"{schema}.{table}: {rows} rows, {only_here} only here, {only_there} there{mark}")
    print(f"tables differing: {differing}")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
