"""A person's mistake gets one clear line and a non-zero exit, never a traceback, and
changes nothing: a reversed window, a broken source file, a key missing for its
pagination style, a warehouse path that cannot be written or is locked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

CRM_WITHOUT_CURSOR_PATH = """\
source: crm
auth: {style: bearer}
history_start: 2024-01-01T00:00:00Z
defaults:
  primary_key: id
  time_field: updated_at
  window: {start_param: updated_after, end_param: updated_before}
  pagination: {style: body_cursor, cursor_param: after, limit_param: limit, page_size: 100}
streams:
  contacts: {path: /contacts, records: results}
"""


def segmart(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SEGMART_")}
    base.update(
        SEGMART_WAREHOUSE=str(tmp_path / "warehouse" / "segmart.duckdb"),
        SEGMART_PUBLISHED=str(tmp_path / "warehouse" / "published.duckdb"),
    )
    return subprocess.run(
        [sys.executable, "-m", "segmart", *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_one_clear_line(done: subprocess.CompletedProcess, *words: str) -> None:
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.mark.parametrize("command", ["run", "extract"])
def test_a_reversed_window_is_refused(tmp_path, command):
    done = segmart(
        tmp_path, command, "--start", "2026-06-01T00:00:00Z", "--end", "2026-05-01T00:00:00Z"
    )
    assert_one_clear_line(done, "2026-06-01", "2026-05-01")
    assert not (tmp_path / "warehouse").exists()


@pytest.mark.parametrize("command", ["run", "extract"])
def test_an_empty_window_is_refused(tmp_path, command):
    done = segmart(
        tmp_path, command, "--start", "2026-06-01T00:00:00Z", "--end", "2026-06-01T00:00:00Z"
    )
    assert_one_clear_line(done, "2026-06-01")
    assert not (tmp_path / "warehouse").exists()


@pytest.mark.parametrize("command", ["run", "extract"])
def test_an_unparsable_source_file_is_named(tmp_path, command):
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "broken.yaml").write_text("source: broken\nstreams: [unclosed\n")
    done = segmart(tmp_path, command, SEGMART_SOURCES_DIR=str(sources))
    assert_one_clear_line(done, "broken.yaml")
    assert not (tmp_path / "warehouse").exists()


@pytest.mark.parametrize("command", ["run", "extract"])
def test_a_key_missing_for_the_pagination_style_is_named(tmp_path, command):
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "crm.yaml").write_text(CRM_WITHOUT_CURSOR_PATH)
    done = segmart(tmp_path, command, SEGMART_SOURCES_DIR=str(sources))
    assert_one_clear_line(done, "crm.yaml", "cursor_path", "body_cursor")
    assert not (tmp_path / "warehouse").exists()


@pytest.mark.parametrize("command", [("run",), ("extract",)])
def test_a_warehouse_path_that_cannot_be_written_is_named(tmp_path, command):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("a file, not a folder")
    warehouse = not_a_folder / "segmart.duckdb"
    done = segmart(tmp_path, *command, SEGMART_WAREHOUSE=str(warehouse))
    assert_one_clear_line(done, str(warehouse), "SEGMART_WAREHOUSE")


@pytest.mark.parametrize("command", [("run",), ("status",), ("extract",)])
def test_a_warehouse_locked_by_another_process_is_named(tmp_path, command):
    warehouse = tmp_path / "warehouse" / "segmart.duckdb"
    warehouse.parent.mkdir()
    holder = duckdb.connect(str(warehouse))
    holder.execute("create table held (x integer)")
    try:
        done = segmart(tmp_path, *command)
    finally:
        holder.close()
    assert_one_clear_line(done, str(warehouse), "in use by another process")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        schemas = {
            row[0] for row in con.execute("select schema_name from duckdb_schemas()").fetchall()
        }
    finally:
        con.close()
    assert "meta" not in schemas  # nothing of segmart's was written
