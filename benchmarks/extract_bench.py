"""Extraction benchmark: shop orders from the demo API into raw DuckDB.

    .venv/bin/python benchmarks/extract_bench.py [--customers 16000] [--limited-pages 100]

1. Rate limit off: segmart pull + load of every order (about 200k with line
   items at 16000 customers): records/s end to end, and the load against
   DuckDB's own `read_json` / `read_ndjson_objects` of the same landing files.
2. If dlt is installed (`make bench`): the same pull by dlt's `rest_api` source
   into DuckDB, wall-time ratio segmart/dlt.
3. Limit shop=10: a window of about `--limited-pages` pages by segmart (and dlt):
   wall time against the limit's bound (requests / 10 s) and 429s.
Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from extract import run_extract
from segmart.core.settings import Settings
from segmart.local_api import start_demo_api

NOW = "2026-06-01T00:00:00Z"
START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2026, 6, 1, tzinfo=UTC)


def settings_for(api, folder: Path, budget: str) -> Settings:
    env = {**os.environ, **api.env(), "SEGMART_WAREHOUSE": str(folder / "segmart.duckdb")}
    env["SEGMART_SHOP_RATE_LIMIT"] = budget
    return Settings.from_env(env)


def segmart_pull(api, folder: Path, start: datetime, end: datetime, budget: str) -> dict:
    settings = settings_for(api, folder, budget)
    began = time.perf_counter()
    [extracted] = run_extract(settings, source="shop", stream="orders", start=start, end=end)
    result = extracted.to_dict()
    result["wall"] = time.perf_counter() - began
    result["files"] = sorted(str(p) for p in settings.landing_dir.rglob("part-*.jsonl.gz"))
    return result


def duckdb_bounds(files: list[str], folder: Path) -> dict[str, float]:
    listing = "[" + ", ".join(f"'{f}'" for f in files) + "]"
    timings = {}
    for name, sql in {
        "read_json": f"create table t as select * from read_json({listing})",
        "read_ndjson_objects": f"create table t as select * from read_ndjson_objects({listing})",
    }.items():
        path = folder / f"{name}.duckdb"
        con = duckdb.connect(str(path))
        began = time.perf_counter()
        con.execute(sql)
        timings[name] = time.perf_counter() - began
        con.close()
        path.unlink()
    return timings


def dlt_pull(api, folder: Path, start: datetime, end: datetime) -> dict | None:
    try:
        import dlt
        from dlt.sources.rest_api import rest_api_source
    except ImportError:
        return None
    source = rest_api_source(
        {
            "client": {
                "base_url": api.url("shop") + "/",
                "auth": {"type": "bearer", "token": api.api_key("shop")},
                "paginator": {"type": "header_link"},
            },
            "resources": [
                {
                    "name": "orders",
                    "endpoint": {
                        "path": "orders",
                        "params": {
                            "limit": 250,
                            "updated_at_min": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                            "updated_at_max": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        },
                        "data_selector": "orders",
                    },
                }
            ],
        }
    )
    pipeline = dlt.pipeline(
        pipeline_name=f"bench_{int(time.time() * 1000)}",
        destination=dlt.destinations.duckdb(str(folder / "dlt.duckdb")),
        dataset_name="raw",
        pipelines_dir=str(folder / "dlt_pipelines"),
    )
    before = api.stats()["shop"]
    began = time.perf_counter()
    pipeline.run(source)
    wall = time.perf_counter() - began
    after = api.stats()["shop"]
    con = duckdb.connect(str(folder / "dlt.duckdb"), read_only=True)
    records = con.execute("select count(*) from raw.orders").fetchone()[0]  # type: ignore[index]
    con.close()
    return {
        "wall": wall,
        "records": records,
        "requests": after["requests"] - before["requests"],
        "rate_limited": after["rate_limited"] - before["rate_limited"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=16000)
    parser.add_argument("--limited-pages", type=int, default=100)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="segmart-extract-bench-"))
    rows: list[tuple[str, str]] = []
    try:
        world = ["--seed", "7", "--customers", str(args.customers), "--now", NOW]
        with start_demo_api(*world, "--rate-limit", "shop=0,crm=0,esp=0,web=0") as api:
            ours = segmart_pull(api, work / "segmart", START, END, budget="0")
            bounds = duckdb_bounds(ours["files"], work)
            theirs = dlt_pull(api, work / "dlt", START, END)
        rate = ours["records"] / ours["wall"]
        rows += [
            ("orders (records, pages)", f"{ours['records']:,} in {ours['pages']} pages"),
            ("segmart end to end, limit off", f"{ours['wall']:.1f} s = {rate:,.0f} records/s"),
            ("segmart pull / load", f"{ours['pull_seconds']:.1f} s / {ours['load_seconds']:.2f} s"),
        ]
        for name, seconds in bounds.items():
            ratio = ours["load_seconds"] / seconds
            rows.append(
                (f"DuckDB `{name}` of the same files", f"{seconds:.2f} s (load = {ratio:.2f}x)")
            )
        if theirs:
            ratio = ours["wall"] / theirs["wall"]
            rows.append(
                ("dlt rest_api, limit off", f"{theirs['wall']:.1f} s, {theirs['records']:,} "
                 f"records; segmart/dlt = {ratio:.2f}")
            )  # fmt: skip
        else:
            rows.append(("dlt rest_api", "not installed (run `make bench`)"))

        # Limited: a window of about `limited_pages` pages at shop=10.
        span = (END - START) * min(1.0, args.limited_pages / max(1, ours["pages"]))
        start = END - span
        with start_demo_api(*world, "--rate-limit", "shop=10,crm=0,esp=0,web=0") as api:
            limited = segmart_pull(api, work / "limited", start, END, budget="10")
            bound = limited["requests"] / 10
            rows.append(
                ("segmart, shop=10", f"{limited['requests']} requests in {limited['wall']:.1f} s "
                 f"(bound {bound:.1f} s, +{100 * (limited['wall'] / bound - 1):.0f} %), "
                 f"{limited['rate_limited']} x 429")
            )  # fmt: skip
            limited_dlt = dlt_pull(api, work / "dlt_limited", start, END)
            if limited_dlt:
                rows.append(
                    ("dlt rest_api, shop=10", f"{limited_dlt['requests']} requests in "
                     f"{limited_dlt['wall']:.1f} s, {limited_dlt['rate_limited']} x 429")
                )  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("| measure | result |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
