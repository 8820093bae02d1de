"""Write-audit-publish on real files: atomic replace, open readers, kills, backfills."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from segmart.core import warehouse
from segmart.core.outcomes import GateResult, Outcome
from segmart.publish import KILL_AT_VARIABLE, KILL_POINTS, publish
from tests.gate import synthetic as syn

NEWER = syn.AS_OF + timedelta(days=1)
OLDER = syn.AS_OF - timedelta(days=30)


@pytest.fixture
def settings(tmp_path):
    settings = syn.settings_for(tmp_path)
    syn.build_marts(settings)
    return settings


def passed(run_id=syn.RUN_ID):
    return GateResult(run_id, outcomes=[Outcome("marts.x", "ok", "critical", True)])


def blocked(run_id=syn.RUN_ID):
    return GateResult(
        run_id,
        outcomes=[
            Outcome("raw.shop__orders", "order_total_non_negative", "critical", False, None, 4),
            Outcome("raw.shop__customers", "email_well_formed_or_null", "warning", False),
        ],
    )


def published_as_of(path: Path):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("select as_of from publish_info").fetchone()[0]
    finally:
        con.close()


def publish_log(settings):
    con = warehouse.connect(settings.warehouse, read_only=True)
    try:
        return con.execute(
            "select run_id, as_of, status, reason from meta.publish_log order by decided_at"
        ).fetchall()
    finally:
        con.close()


def rebuild_marts(settings, as_of):
    syn.build_marts(settings, as_of)


def test_a_passed_gate_publishes_every_table_with_matching_counts(settings):
    result = publish(settings, syn.RUN_ID, syn.AS_OF, passed())
    assert result.status == "published"
    assert result.tables["customer_profiles"] == 40
    con = duckdb.connect(str(settings.published), read_only=True)
    try:
        tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
        info = con.execute("select run_id, as_of, gate_passed from publish_info").fetchall()
        rfm_rows = con.execute("select count(*) from customer_rfm").fetchone()[0]
    finally:
        con.close()
    assert tables == {*result.tables, "publish_info"}
    assert info == [(syn.RUN_ID, syn.AS_OF, True)]
    assert rfm_rows == result.tables["customer_rfm"] == 30
    assert publish_log(settings)[-1][2] == "published"
    assert not list(settings.published.parent.glob(".*building*"))


def test_a_blocked_gate_leaves_the_published_file_byte_identical(settings):
    publish(settings, "run-0", syn.AS_OF, passed("run-0"))
    before = settings.published.read_bytes()
    rebuild_marts(settings, NEWER)
    result = publish(settings, "run-1", NEWER, blocked("run-1"))
    assert result.status == "blocked"
    assert settings.published.read_bytes() == before
    run_id, _, status, reason = publish_log(settings)[-1]
    assert (run_id, status) == ("run-1", "blocked")
    assert "order_total_non_negative" in reason and "4 unexpected" in reason
    assert "email_well_formed_or_null" not in reason, "warnings are not reasons to block"


def test_a_newer_as_of_replaces_and_an_older_one_is_history_only(settings):
    publish(settings, "run-1", syn.AS_OF, passed("run-1"))
    rebuild_marts(settings, NEWER)
    assert publish(settings, "run-2", NEWER, passed("run-2")).status == "published"
    assert published_as_of(settings.published) == NEWER
    rebuild_marts(settings, OLDER)
    before = settings.published.read_bytes()
    backfill = publish(settings, "run-backfill", OLDER, passed("run-backfill"))
    assert backfill.status == "history_only"
    assert settings.published.read_bytes() == before
    assert published_as_of(settings.published) == NEWER
    assert [(r[0], r[2]) for r in publish_log(settings)] == [
        ("run-1", "published"),
        ("run-2", "published"),
        ("run-backfill", "history_only"),
    ]


def test_marts_rebuilt_for_another_as_of_after_the_gate_are_not_published(settings):
    publish(settings, "run-1", syn.AS_OF, passed("run-1"))
    before = settings.published.read_bytes()
    rebuild_marts(settings, OLDER)  # a concurrent backfill's dbt build ran after our gate
    result = publish(settings, "run-2", NEWER, passed("run-2"))
    assert result.status == "failed"
    assert f"not this run's as_of {NEWER}" in result.reason
    assert settings.published.read_bytes() == before
    assert publish_log(settings)[-1][2] == "failed"


READER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
query = "select cast(as_of as varchar), (select count(*) from customer_rfm) from publish_info"
print(*con.execute(query).fetchone(), flush=True)
sys.stdin.readline()
print(*con.execute(query).fetchone(), flush=True)
"""


def test_an_open_reader_keeps_its_version_and_a_new_connection_sees_the_new_one(settings):
    publish(settings, "run-1", syn.AS_OF, passed("run-1"))
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(settings.published)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        first = reader.stdout.readline().split()
        assert first == ["2026-06-01", "00:00:00", "30"]
        rebuild_marts(settings, NEWER)
        syn.execute(settings, "delete from marts.customer_rfm where customer_id > 20")
        assert publish(settings, "run-2", NEWER, passed("run-2")).status == "published"
        reader.stdin.write("again\n")
        reader.stdin.flush()
        assert reader.stdout.readline().split() == first
        assert reader.wait(timeout=30) == 0
    finally:
        if reader.poll() is None:
            reader.kill()
    con = duckdb.connect(str(settings.published), read_only=True)
    try:
        assert con.execute("select as_of from publish_info").fetchone()[0] == NEWER
        assert con.execute("select count(*) from customer_rfm").fetchone()[0] == 20
    finally:
        con.close()


PUBLISHER = """
import sys
from segmart.core.outcomes import GateResult, Outcome
from segmart.publish import publish
from tests.gate.synthetic import settings_for
from pathlib import Path
from datetime import datetime
settings = settings_for(Path(sys.argv[1]))
gate = GateResult("run-2", outcomes=[Outcome("marts.x", "ok", "critical", True)])
print(publish(settings, "run-2", datetime.fromisoformat(sys.argv[2]), gate).status)
"""


@pytest.mark.parametrize("kill_at", KILL_POINTS)
def test_sigkill_at_any_point_of_a_publish_leaves_the_old_or_the_new_file(
    tmp_path, settings, kill_at
):
    publish(settings, "run-1", syn.AS_OF, passed("run-1"))
    old_bytes = settings.published.read_bytes()
    rebuild_marts(settings, NEWER)
    env = {**os.environ, KILL_AT_VARIABLE: kill_at}
    child = subprocess.run(
        [sys.executable, "-c", PUBLISHER, str(tmp_path), NEWER.isoformat()],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    as_of = published_as_of(settings.published)
    assert as_of in (syn.AS_OF, NEWER)
    if as_of == syn.AS_OF:
        assert settings.published.read_bytes() == old_bytes
    if KILL_POINTS.index(kill_at) >= KILL_POINTS.index("replaced"):
        assert as_of == NEWER
    else:
        assert as_of == syn.AS_OF
    # The next publish cleans up after the dead one and succeeds.
    assert publish(settings, "run-3", NEWER, passed("run-3")).status == "published"
    assert not list(settings.published.parent.glob(".*building*"))
    con = duckdb.connect(str(settings.published), read_only=True)
    try:
        summary = con.execute("select gate_summary from publish_info").fetchone()[0]
    finally:
        con.close()
    assert json.loads(summary)["passed"]
