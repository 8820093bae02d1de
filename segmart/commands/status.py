"""`segmart status`: watermarks, last runs, last gate decision, what is published."""

from __future__ import annotations

import argparse
from typing import Any

import duckdb

from segmart.core import warehouse
from segmart.core.settings import Settings
from segmart.core.times import iso_z


def collect_status(settings: Settings, runs: int = 5) -> dict[str, Any]:
    """Plain data for the status report (also handy for tests and the DAG)."""
    status: dict[str, Any] = {"warehouse": str(settings.warehouse)}
    if settings.warehouse.exists():
        con = warehouse.connect(settings.warehouse, read_only=True)
        try:
            status["watermarks"] = _rows(
                con,
                "select source, stream, watermark, run_id from meta.watermarks order by 1, 2",
            )
            status["last_runs"] = _rows(
                con,
                """
                select run_id, count(*) as slices, sum(records) as records,
                       count(*) filter (where status <> 'success') as failed,
                       max(finished_at) as finished_at
                from meta.extract_runs group by run_id order by finished_at desc nulls last
                limit ?
                """,
                [runs],
            )
            status["decisions"] = _rows(
                con,
                """
                select run_id, as_of, status, reason, decided_at from meta.publish_log
                order by decided_at desc limit ?
                """,
                [runs],
            )
            status["raw_gate_pending"] = raw_gate_pending(con)
            last = status["decisions"][0]["run_id"] if status["decisions"] else None
            status["last_gate"] = _rows(
                con,
                """
                select suite, expectation, severity, success, unexpected_count, error
                from meta.validation_results
                where run_id = ? and (success is null or not success)
                order by severity, suite, expectation
                """,
                [last],
            )
        finally:
            con.close()
    status["published"] = published_status(settings)
    return status


def raw_gate_pending(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Committed slices not yet passed by the raw gate: each blocks every publish until a
    load of it passes; one that failed needs pulling again once the source is fixed."""
    from expectations.gate import pending_slices

    rows = []
    for item in pending_slices(con):
        ref = item.ref
        failed = con.execute(
            """
            select count(*) from meta.raw_gate_log
            where source = ? and stream = ? and interval_start = ? and interval_end = ?
                and load_run_id = ? and not passed
            """,
            [ref.source, ref.stream, ref.interval_start, ref.interval_end, item.load_run_id],
        ).fetchone()
        gate_failed = bool(failed and failed[0])
        rows.append(
            {
                "stream": f"{ref.source}.{ref.stream}",
                "interval": f"{iso_z(ref.interval_start)}..{iso_z(ref.interval_end)}",
                "load_run_id": item.load_run_id,
                "state": "failed the raw gate" if gate_failed else "not gated yet",
                "to do": (
                    f"segmart extract --source {ref.source} --stream {ref.stream} "
                    f"--start {iso_z(ref.interval_start)} --end {iso_z(ref.interval_end)}"
                    if gate_failed
                    else "the next run gates it"
                ),
            }
        )
    return rows


def published_status(settings: Settings) -> dict[str, Any]:
    path = settings.published
    if not path.exists():
        return {"path": str(path), "exists": False}
    con = duckdb.connect(str(path), read_only=True)
    try:
        info = _rows(con, "select run_id, as_of, published_at, gate_summary from publish_info")
        tables = {
            name: con.execute(f'select count(*) from "{name}"').fetchone()[0]  # type: ignore[index]
            for (name,) in con.execute(
                "select table_name from duckdb_tables() order by 1"
            ).fetchall()
        }
    finally:
        con.close()
    return {"path": str(path), "exists": True, "info": info[0] if info else None, "tables": tables}


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=int, default=5, help="how many recent runs to list")


def main(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    status = collect_status(settings, runs=args.runs)
    print(f"warehouse {status['warehouse']}")
    _print("Watermarks", status.get("watermarks"))
    _print("Last extract runs", status.get("last_runs"))
    _print("Last publish decisions", status.get("decisions"))
    _print("Last gate: failed or unevaluated expectations", status.get("last_gate"))
    _print("Slices waiting for the raw gate", status.get("raw_gate_pending"))
    published = status["published"]
    if not published["exists"]:
        print(f"\nNothing published yet ({published['path']}).")
        return 0
    info = published["info"] or {}
    print(f"\nPublished {published['path']}: run {info.get('run_id')}, as_of {info.get('as_of')}")
    for table, rows in published["tables"].items():
        print(f"  {table:<20} {rows:>10} rows")
    return 0


def _print(title: str, rows: list[dict] | None) -> None:
    print(f"\n{title}")
    if not rows:
        print("  (none)")
        return
    names = list(rows[0])
    cells = [names] + [["" if r[n] is None else str(r[n]) for n in names] for r in rows]
    widths = [min(120, max(len(c[i]) for c in cells)) for i in range(len(names))]
    for row in cells:
        print("  " + "  ".join(v[:120].ljust(widths[i]) for i, v in enumerate(row)).rstrip())
