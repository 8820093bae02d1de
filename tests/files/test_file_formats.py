"""NDJSON and Parquet drops, and what a file source's YAML may say (checked when read)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import yaml

from extract import ConfigError, load_drops
from extract.config import parse_source
from segmart.core.contracts import SliceStatus
from segmart.core.settings import Settings

TILLS_YAML = """\
source: tills
kind: files
history_start: 2024-01-01T00:00:00Z
defaults:
  primary_key: id
  time_field: at
streams:
  events:
    files: {glob: "events/*.ndjson", format: ndjson, columns: {amount: decimal}}
  baskets:
    files: {glob: "baskets/**/*.parquet", format: parquet, columns: {amount: decimal}}
"""


@pytest.fixture
def tills(tmp_path: Path) -> Settings:
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "tills.yaml").write_text(TILLS_YAML)
    return Settings.from_env(
        {
            "SEGMART_WAREHOUSE": str(tmp_path / "warehouse" / "segmart.duckdb"),
            "SEGMART_SOURCES_DIR": str(sources),
            "SEGMART_TILLS_DROP_DIR": str(tmp_path / "till-drops"),
        }
    )


def raw(settings: Settings, table: str) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute(f"select record_id, record from {table} order by 1").fetchall()
    finally:
        con.close()


def test_ndjson_records_land_unchanged_and_a_bad_line_rejects_its_file(tills: Settings) -> None:
    folder = tills.drop_dir("tills") / "events"
    folder.mkdir(parents=True)
    good = {"id": "e1", "at": "2026-05-01T10:00:00Z", "amount": "1.50", "nested": {"a": [1, 2]}}
    (folder / "good.ndjson").write_text(json.dumps(good) + "\n")
    (folder / "bad.ndjson").write_text(
        json.dumps({"id": "e2", "at": "2026-05-01T10:00:00Z", "amount": "2.00"})
        + '\n{"id": "e3", "at": \n'
        + json.dumps({"id": "e4", "at": "2026-05-01T10:00:00Z"})
        + "\n"
    )
    results = {r.status: r for r in load_drops(tills, "tills", "run-1", "events")}
    assert results[SliceStatus.SUCCESS].records == 1
    error = results[SliceStatus.REJECTED].error or ""
    assert "events/bad.ndjson rejected (line 2: not valid JSON" in error
    reason = next((tills.drop_dir("tills") / "rejected" / "events").glob("*.reason.txt"))
    assert "events/bad.ndjson: line 3, column amount: missing" in reason.read_text()
    assert [(key, json.loads(record)) for key, record in raw(tills, "raw.tills__events")] == [
        ("e1", good)
    ]


def test_parquet_rows_become_json_records_and_a_missing_column_rejects_the_file(
    tills: Settings,
) -> None:
    folder = tills.drop_dir("tills") / "baskets" / "2026" / "05"
    folder.mkdir(parents=True)
    con = duckdb.connect()
    con.execute(
        f"""copy (select 'b1' as id, timestamptz '2026-05-01 10:00:00+00' as at,
                         12.50::decimal(10, 2) as amount, [1, 2] as items)
            to '{folder / "good.parquet"}' (format parquet)"""
    )
    con.execute(
        f"""copy (select 'b2' as id, timestamptz '2026-05-01 10:00:00+00' as at)
            to '{folder / "no-amount.parquet"}' (format parquet)"""
    )
    con.close()
    results = sorted(load_drops(tills, "tills", "run-1", "baskets"), key=lambda r: r.status)
    assert [r.status for r in results] == [SliceStatus.REJECTED, SliceStatus.SUCCESS]
    assert "baskets/2026/05/no-amount.parquet rejected (column amount: missing" in (
        results[0].error or ""
    )
    [(key, record)] = raw(tills, "raw.tills__baskets")
    assert (key, json.loads(record)) == (
        "b1",
        {"id": "b1", "at": "2026-05-01T10:00:00Z", "amount": "12.50", "items": [1, 2]},
    )


def parse(text: str):
    return parse_source(yaml.safe_load(text), "tills.yaml")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("format: ndjson, columns: {amount: decimal}", "format: csv"),
            "tills.yaml: streams.events.files: a csv stream declares its columns",
        ),
        (("amount: decimal}}\n  baskets", "amount: money}}\n  baskets"), "must be one of text"),
        (('"events/*.ndjson"', '"../events/*.ndjson"'), "must be a pattern inside the source's"),
        (("kind: files\n", "kind: files\nauth: {style: bearer}\n"), "auth: is a key of API"),
        (
            ("format: ndjson,", "format: ndjson, delimiter: ';',"),
            "delimiter and quote are csv keys",
        ),
        (("format: ndjson", "format: xlsx"), "must be one of csv, ndjson, parquet"),
        (("  time_field: at\n", "  time_field: at\n  path: /x\n"), "unknown key 'path'"),
    ],
)
def test_a_wrong_key_of_a_file_source_fails_when_read(change, message) -> None:
    old, new = change
    assert old in TILLS_YAML
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("*", r"\*")):
        parse(TILLS_YAML.replace(old, new))


def test_a_file_source_reads_whole() -> None:
    config = parse(TILLS_YAML)
    assert config.kind == "files"
    assert config.streams["events"].files.glob == "events/*.ndjson"
    assert config.streams["events"].table == "raw.tills__events"


def test_two_rejected_files_of_one_name_are_both_kept(tills: Settings) -> None:
    for store in ("berlin", "hamburg"):
        folder = tills.drop_dir("tills") / "baskets" / store
        folder.mkdir(parents=True)
        (folder / "day.parquet").write_text(f"not parquet: {store}")
    results = load_drops(tills, "tills", "run-1", "baskets")
    assert [r.status for r in results] == [SliceStatus.REJECTED] * 2
    assert "not a readable Parquet file" in (results[0].error or "")
    rejected = tills.drop_dir("tills") / "rejected" / "baskets"
    kept = sorted(p.read_text() for p in rejected.glob("*.parquet"))
    assert kept == ["not parquet: berlin", "not parquet: hamburg"]
