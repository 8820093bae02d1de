"""`segmart extract` as a user runs it: kills, reruns, and no key anywhere."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import yaml

from segmart.core import warehouse
from tests.extract.support import (
    expected,
    landing_lines,
    loaded,
    make_settings,
    subprocess_env,
    utc,
    world,
    write_sources,
)
from tests.support import NO_CLIENT_BUDGET

KEYS = [f"demo-{source}-key" for source in ("shop", "crm", "esp", "web")]


def extract(settings, *args: str, **popen) -> subprocess.Popen:
    command = [sys.executable, "-m", "segmart", "extract", *args]
    return subprocess.Popen(
        command,
        env=subprocess_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **popen,
    )


def finish(process: subprocess.Popen) -> str:
    output = process.communicate(timeout=120)[0]
    assert process.returncode == 0, output
    return output


def wait_for(condition, timeout: float = 60.0, process: subprocess.Popen | None = None) -> None:
    """Poll for an observable event (a file appearing), failing if the process ends first."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert process is None or process.poll() is None, "the run ended before the event"
        assert time.monotonic() < deadline, "timed out waiting for the event"
        time.sleep(0.005)


def watermark(settings) -> object:
    con = warehouse.connect(settings.warehouse, read_only=True)
    try:
        row = con.execute(
            "select watermark from meta.watermarks where source = 'web' and stream = 'events'"
        ).fetchone()
        return row[0] if row else None
    finally:
        con.close()


def test_a_run_killed_mid_stream_commits_nothing_and_the_rerun_completes(demo_api, tmp_path):
    # A slow client budget keeps the stream running long enough to be killed in the middle.
    settings = make_settings(demo_api, tmp_path, SEGMART_WEB_RATE_LIMIT="5")
    first, cut, end = "2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z", "2024-06-01T00:00:00Z"
    finish(extract(settings, "--source", "web", "--start", first, "--end", cut))
    assert watermark(settings) == utc(cut).replace(tzinfo=None)

    # Without --start the run continues from the watermark: [cut, end).
    process = extract(settings, "--source", "web", "--end", end)
    slice_dir = settings.landing_dir / "web" / "events" / "20240201T000000Z_20240601T000000Z"
    wait_for(lambda: any(slice_dir.rglob("part-*.partial")), process=process)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL

    assert watermark(settings) == utc(cut).replace(tzinfo=None)
    con = warehouse.connect(settings.warehouse, read_only=True)
    try:
        intervals = con.execute("select distinct _interval_start from raw.web__events").fetchall()
        runs = con.execute("select count(*) from meta.extract_runs").fetchone()
    finally:
        con.close()
    assert intervals == [(utc(first).replace(tzinfo=None),)]
    assert runs == (1,)

    output = finish(extract(settings, "--source", "web", "--end", end))
    assert "web.events" in output
    assert watermark(settings) == utc(end).replace(tzinfo=None)
    con = warehouse.connect(settings.warehouse, read_only=True)
    try:
        got = loaded(con, "web", "events", utc(cut))
    finally:
        con.close()
    assert got == expected(world(), "web", "events", utc(cut), utc(end))


def test_no_api_key_appears_in_output_landing_files_or_tables(demo_api, tmp_path):
    settings = make_settings(demo_api, tmp_path, **NO_CLIENT_BUDGET)
    window = ["--start", "2026-04-01T00:00:00Z", "--end", "2026-06-01T00:00:00Z"]
    output = finish(extract(settings, *window))
    assert "shop.orders" in output and "success" in output

    texts = [output, *landing_lines(settings.landing_dir)]
    con = warehouse.connect(settings.warehouse, read_only=True)
    try:
        tables = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables"
        ).fetchall()
        for (table,) in tables:
            texts += [str(row) for row in con.execute(f"select * from {table}").fetchall()]
    finally:
        con.close()
    for budget in (settings.warehouse_dir / ".ratelimit").glob("*.sqlite"):
        with sqlite3.connect(budget) as db:
            for (name,) in db.execute("select name from sqlite_master where type = 'table'"):
                texts += [str(row) for row in db.execute(f"select * from '{name}'")]
    everything = "\n".join(texts)
    assert '"line_items"' in everything and "status=success" in everything  # we read it all
    for key in KEYS:
        assert key not in everything


def test_a_rejected_key_exits_non_zero_naming_the_setting_without_the_key(demo_api, tmp_path):
    settings = make_settings(demo_api, tmp_path, SEGMART_CRM_API_KEY="wrong-secret-123")
    process = extract(settings, "--source", "crm", "--start", "2026-01-01T00:00:00Z")
    output = process.communicate(timeout=60)[0]
    assert process.returncode == 1
    assert "SEGMART_CRM_API_KEY" in output and "401" in output
    assert "wrong-secret-123" not in output


def test_a_missing_key_is_named_before_any_request(demo_api, tmp_path):
    settings = make_settings(demo_api, tmp_path)
    env = {k: v for k, v in subprocess_env(settings).items() if k != "SEGMART_ESP_API_KEY"}
    process = subprocess.run(
        [sys.executable, "-m", "segmart", "extract", "--source", "esp"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode == 2
    assert "SEGMART_ESP_API_KEY" in process.stderr


def segmart_extract(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """The installed `segmart` command, as a user runs it (no demo API needed)."""
    command = [str(Path(sys.executable).parent / "segmart"), "extract", *args]
    environment = {**os.environ, "SEGMART_WAREHOUSE": str(tmp_path / "wh" / "s.duckdb"), **env}
    return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=60)


def assert_one_line_error(process: subprocess.CompletedProcess, tmp_path: Path) -> str:
    assert process.returncode == 2, process
    assert "Traceback" not in process.stderr
    [line] = process.stderr.splitlines()
    assert line.startswith("segmart extract: ")
    assert process.stdout == ""
    assert not (tmp_path / "wh").exists()  # nothing is changed
    return line


def test_a_reversed_window_is_one_clear_line_and_a_non_zero_exit(tmp_path):
    process = segmart_extract(
        tmp_path, "--start", "2026-06-01T00:00:00Z", "--end", "2026-05-01T00:00:00Z"
    )
    line = assert_one_line_error(process, tmp_path)
    assert "--start 2026-06-01T00:00:00Z" in line and "--end 2026-05-01T00:00:00Z" in line


def test_an_unparsable_source_file_is_one_line_naming_the_file_and_line(tmp_path):
    folder = tmp_path / "sources"
    folder.mkdir()
    (folder / "shop.yaml").write_text("source: shop\nstreams:\n  orders: {path: /orders\n")
    process = segmart_extract(tmp_path, "--source", "crm", SEGMART_SOURCES_DIR=str(folder))
    line = assert_one_line_error(process, tmp_path)
    assert f"{folder / 'shop.yaml'}: line 4: not valid YAML" in line


def test_a_key_missing_for_its_pagination_style_is_one_line_naming_it(tmp_path):
    folder = write_sources(tmp_path / "sources", crm={})
    document = yaml.safe_load((folder / "crm.yaml").read_text())
    del document["defaults"]["pagination"]["cursor_param"]
    (folder / "crm.yaml").write_text(yaml.safe_dump(document))
    process = segmart_extract(tmp_path, "--source", "crm", SEGMART_SOURCES_DIR=str(folder))
    line = assert_one_line_error(process, tmp_path)
    assert (
        f"{folder / 'crm.yaml'}: streams.contacts.pagination: missing key 'cursor_param' "
        "for style body_cursor"
    ) in line
