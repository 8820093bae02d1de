"""File-drop benchmark: one till CSV of `--rows` purchases into raw DuckDB.

    .venv/bin/python benchmarks/drops_bench.py [--rows 200000]

1. segmart: `load_drops` of the file (sha256, every value checked in Python,
   landing file, one load transaction with its registration): rows/s.
2. The bound, in the same run: DuckDB's own typed `read_csv` of the same file
   into a table (explicit columns and types, strict mode, `store_rejects`, as a
   DuckDB-only checker would read it), and the same into raw's JSON shape.
Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import duckdb

from extract import load_drops
from segmart.core.settings import Settings

HEADER = "purchase_id,store_id,email,total,currency,purchased_at\n"
TYPES = (
    "{'purchase_id': 'VARCHAR', 'store_id': 'VARCHAR', 'email': 'VARCHAR', "
    "'total': 'DECIMAL(18, 2)', 'currency': 'VARCHAR', 'purchased_at': 'TIMESTAMPTZ'}"
)


def write_file(path: Path, rows: int) -> None:
    rng = random.Random(7)
    with path.open("w") as handle:
        handle.write(HEADER)
        for k in range(rows):
            cents = rng.randrange(300, 20_000)
            second = rng.randrange(86_400 * 28)
            day, rest = divmod(second, 86_400)
            handle.write(
                f"p{k:08d},store-{k % 7},buyer{rng.randrange(50_000)}@example.com,"
                f"{cents // 100}.{cents % 100:02d},EUR,"
                f"2026-05-{day + 1:02d}T{rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}Z\n"
            )


def duckdb_bound(path: Path, folder: Path, as_json: bool) -> float:
    con = duckdb.connect(str(folder / f"bound-{as_json}.duckdb"))
    select = "to_json(t)" if as_json else "*"
    began = time.perf_counter()
    con.execute(
        f"create table t2 as select {select} from read_csv('{path}', columns = {TYPES}, "
        "header = true, auto_detect = false, strict_mode = true, store_rejects = true) as t"
    )
    rejects = con.execute("select count(*) from reject_errors").fetchone()[0]  # type: ignore[index]
    seconds = time.perf_counter() - began
    con.close()
    assert rejects == 0
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        settings = Settings.from_env(
            {
                "SEGMART_WAREHOUSE": str(folder / "warehouse" / "segmart.duckdb"),
                "SEGMART_DROP_DIR": str(folder / "drops"),
            }
        )
        path = settings.drop_dir("pos") / "purchases" / "bench.csv"
        path.parent.mkdir(parents=True)
        write_file(path, args.rows)
        megabytes = path.stat().st_size / 1e6
        began = time.perf_counter()
        [result] = load_drops(settings, "pos", "bench")
        segmart = time.perf_counter() - began
        assert result.records == args.rows, result
        typed = duckdb_bound(path, folder, as_json=False)
        as_json = duckdb_bound(path, folder, as_json=True)
    print(f"\n{args.rows} rows ({megabytes:.1f} MB)\n")
    print("| path | seconds | rows/s | x DuckDB typed read_csv |")
    print("|---|---|---|---|")
    for name, seconds in (
        ("segmart load_drops (check in Python, landing, load)", segmart),
        ("DuckDB read_csv, typed, strict, store_rejects", typed),
        ("DuckDB read_csv, typed, as raw's JSON", as_json),
    ):
        print(f"| {name} | {seconds:.2f} | {args.rows / seconds:,.0f} | {seconds / typed:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
