"""File drops into raw (issue 15 item 3): each file once, whole or not at all, nothing lost.

Real CSV files in a real drop folder, a real DuckDB warehouse, the packaged `pos`
source (extract/sources/pos.yaml).
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pytest

import extract
from extract import ExtractFailed, load_drops, run_extract
from extract.load import RAW_DDL
from segmart.core.contracts import SliceStatus
from tests.files.conftest import HEADER, Drop, purchases

DAY_1 = purchases(
    "p1,berlin,Jo.Doe@Example.com,12.50,EUR,2026-05-01T10:00:00Z",
    "p2,berlin,,3.00,EUR,2026-05-01 11:30:00",
)
DAY_2 = purchases(
    "p3,hamburg,ann@example.org,100.00,EUR,2026-05-02T09:00:00+02:00",
)


def test_each_file_lands_in_raw_with_the_pull_loaders_columns_and_slice(drop: Drop) -> None:
    drop.write("day-1.csv", DAY_1)
    drop.write("day-2.csv", DAY_2)
    results = load_drops(drop.settings, "pos", "run-1")
    assert [(r.status, r.records) for r in results] == [
        (SliceStatus.SUCCESS, 2),
        (SliceStatus.SUCCESS, 1),
    ]
    # The same raw columns as a pull: the table a pull's loader would create.
    con = duckdb.connect()
    con.execute("create schema raw")
    con.execute(RAW_DDL.format(table="raw.pulled"))
    pulled = con.execute("describe raw.pulled").fetchall()
    assert drop.query("describe raw.pos__purchases") == pulled
    rows = drop.query(
        "select record_id, record_updated_at, record ->> 'total', record ->> 'email', "
        "_interval_start, _interval_end, _run_id from raw.pos__purchases order by record_id"
    )
    assert [row[:4] for row in rows] == [
        ("p1", datetime.fromisoformat("2026-05-01 10:00:00"), "12.50", "Jo.Doe@Example.com"),
        ("p2", datetime.fromisoformat("2026-05-01 11:30:00"), "3.00", None),
        ("p3", datetime.fromisoformat("2026-05-02 07:00:00"), "100.00", "ann@example.org"),
    ]
    # Each file is its slice: its first record time to a second after its last.
    assert {row[4:] for row in rows} == {
        (
            datetime.fromisoformat("2026-05-01 10:00:00"),
            datetime.fromisoformat("2026-05-01 11:30:01"),
            "run-1",
        ),
        (
            datetime.fromisoformat("2026-05-02 07:00:00"),
            datetime.fromisoformat("2026-05-02 07:00:01"),
            "run-1",
        ),
    }
    assert drop.query(
        "select count(*), sum(records) from meta.extract_runs where status = 'success'"
    ) == [(2, 3)]
    assert drop.query("select watermark from meta.watermarks where source = 'pos'") == [
        (datetime.fromisoformat("2026-05-02 07:00:01"),)
    ]


def test_a_rerun_and_a_renamed_copy_load_nothing_twice(drop: Drop) -> None:
    drop.write("day-1.csv", DAY_1)
    assert len(load_drops(drop.settings, "pos", "run-1")) == 1
    drop.write("day-1-again.csv", DAY_1)  # the same bytes under another name
    (drop.folder / "purchases" / "day-1.csv").rename(drop.folder / "purchases" / "renamed.csv")
    assert load_drops(drop.settings, "pos", "run-2") == []
    assert drop.query("select count(*) from raw.pos__purchases") == [(2,)]
    assert drop.query("select path, records, run_id from meta.file_loads") == [
        ("purchases/day-1.csv", 2, "run-1")
    ]
    # Nothing was moved: loaded files and their copies stay where they were dropped.
    assert sorted(p.name for p in (drop.folder / "purchases").iterdir()) == [
        "day-1-again.csv",
        "renamed.csv",
    ]


def test_bad_files_are_rejected_whole_named_and_moved_aside_while_the_others_load(
    drop: Drop,
) -> None:
    drop.write("good.csv", DAY_1)
    drop.write(
        "renamed-column.csv",
        "purchase_id,store_id,email,amount,currency,purchased_at\n"
        "p4,berlin,a@example.com,5.00,EUR,2026-05-03T10:00:00Z\n",
    )
    drop.write(
        "bad-number.csv",
        purchases(
            "p5,berlin,b@example.com,5.00,EUR,2026-05-03T10:00:00Z",
            "p6,berlin,c@example.com,12;5O,EUR,2026-05-03T11:00:00Z",
        ),
    )
    # Cut off mid-value: the last line still parses (10:00 is a valid time), only
    # its missing line end shows that the file is not complete.
    drop.write(
        "truncated.csv",
        HEADER + "p7,berlin,d@example.com,5.00,EUR,2026-05-03T09:00:00Z\n"
        "p8,berlin,e@example.com,7.00,EUR,2026-05-03T10:00",
    )
    with pytest.raises(ExtractFailed) as failed:
        run_extract(drop.settings, source="pos", run_id="run-1")
    by_status = sorted((r.status, r.records) for r in failed.value.results)
    assert by_status == [(SliceStatus.REJECTED, 0)] * 3 + [(SliceStatus.SUCCESS, 2)]
    # Only the good file's rows are in raw: nothing of a rejected file, not one row.
    assert drop.query("select record_id from raw.pos__purchases order by 1") == [("p1",), ("p2",)]
    # Each rejected file is out of the drop, in rejected/ beside its reason.
    assert sorted(p.name for p in (drop.folder / "purchases").iterdir()) == ["good.csv"]
    moved = drop.rejected()
    assert len(moved) == 6
    reasons = {
        name.split("-", 1)[1].removesuffix(".csv.reason.txt"): (
            drop.folder / "rejected" / "purchases" / name
        ).read_text()
        for name in moved
        if name.endswith(".reason.txt")
    }
    assert (
        "purchases/renamed-column.csv: line 1, column total: missing from the header"
        in reasons["renamed-column"]
    )
    assert "the header has amount instead" in reasons["renamed-column"]
    assert (
        "purchases/bad-number.csv: line 3, column total: '12;5O' is not a decimal"
        in reasons["bad-number"]
    )
    assert "purchases/truncated.csv: line 3: the last line has no line end" in reasons["truncated"]
    # The moved files are byte for byte what was dropped: nothing is lost.
    truncated = next(n for n in moved if n.endswith("truncated.csv"))
    assert (drop.folder / "rejected" / "purchases" / truncated).read_bytes().endswith(b"10:00")
    # The run's error names each file, line and column, and meta records every rejection.
    message = str(failed.value)
    assert "purchases/bad-number.csv rejected (line 3, column total" in message
    assert drop.query("select path from meta.file_rejections order by 1") == [
        ("purchases/bad-number.csv",),
        ("purchases/renamed-column.csv",),
        ("purchases/truncated.csv",),
    ]


def test_a_fixed_file_dropped_again_loads(drop: Drop) -> None:
    drop.write("day.csv", purchases("p1,berlin,,abc,EUR,2026-05-01T10:00:00Z"))
    assert [r.status for r in load_drops(drop.settings, "pos", "run-1")] == [SliceStatus.REJECTED]
    drop.write("day.csv", purchases("p1,berlin,,1.00,EUR,2026-05-01T10:00:00Z"))
    assert [r.status for r in load_drops(drop.settings, "pos", "run-2")] == [SliceStatus.SUCCESS]
    assert drop.query("select record_id from raw.pos__purchases") == [("p1",)]


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (
            "p1,berlin,,1.00,EUR,2031-01-01T00:00:00Z",
            "line 2, column purchased_at: 2031-01-01T00:00:00Z is outside",
        ),
        (
            "p1,berlin,,1.00,EUR,2019-01-01T00:00:00Z",
            "line 2, column purchased_at: 2019-01-01T00:00:00Z is outside",
        ),
        (",berlin,,1.00,EUR,2026-05-01T00:00:00Z", "line 2, column purchase_id: empty"),
        ("p1,berlin,,1.00,EUR,", "line 2, column purchased_at: empty"),
        ("p1,berlin,,1.00,EUR", "line 2: 5 fields; the header has 6"),
    ],
)
def test_a_row_without_its_key_or_with_a_time_out_of_range_rejects_the_file(
    drop: Drop, row: str, problem: str
) -> None:
    drop.write("day.csv", purchases(row))
    [result] = load_drops(drop.settings, "pos", "run-1")
    assert result.status is SliceStatus.REJECTED
    assert problem in (result.error or "")
    assert drop.query("select count(*) from raw.pos__purchases") == [(0,)]


def test_a_load_that_fails_in_its_transaction_leaves_no_trace_and_the_file_in_place(
    drop: Drop,
) -> None:
    path = drop.write("day.csv", DAY_1)
    con = duckdb.connect(
        str(drop.settings.warehouse.parent.mkdir(parents=True) or drop.settings.warehouse)
    )
    con.execute("create schema raw")
    con.execute("create table raw.pos__purchases (record json)")  # not the raw shape
    con.close()
    with pytest.raises(duckdb.Error):
        load_drops(drop.settings, "pos", "run-1")
    assert drop.query("select count(*) from meta.file_loads") == [(0,)]
    assert drop.query("select count(*) from meta.extract_runs") == [(0,)]
    assert drop.query("select count(*) from raw.pos__purchases") == [(0,)]
    assert path.exists() and drop.rejected() == []
    # Once the table is right, the same file loads: it was never marked as loaded.
    con = duckdb.connect(str(drop.settings.warehouse))
    con.execute("drop table raw.pos__purchases")
    con.close()
    assert [r.records for r in load_drops(drop.settings, "pos", "run-2")] == [2]


def test_no_drop_folder_yet_leaves_an_empty_raw_table_for_dbt(drop: Drop) -> None:
    assert not drop.folder.exists()
    assert load_drops(drop.settings, "pos", "run-1") == []
    assert drop.query("select count(*) from raw.pos__purchases") == [(0,)]
    assert ("pos", "purchases") in extract.list_streams(kind=extract.SourceKind.FILES)


def test_hidden_and_partial_files_are_not_picked_up(drop: Drop) -> None:
    drop.write(".day.csv.partial", DAY_1)
    drop.write("day.csv.partial", DAY_1)
    assert load_drops(drop.settings, "pos", "run-1") == []
