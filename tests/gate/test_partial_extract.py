"""A run in which one stream fails still raw-gates the slices it committed.

Before, `segmart run` stopped at the failed stream: the other streams were committed
and their watermarks moved, no raw gate ran, and the next run started after those
slices, so they reached the marts and the published file without ever being gated.
"""

from __future__ import annotations

import contextlib
import io

import pytest

from segmart import cli
from segmart.core import warehouse
from tests.gate.synthetic import settings_for
from tests.support import FROZEN_NOW, NO_CLIENT_BUDGET, start_demo_api

pytestmark = pytest.mark.slow

WORLD = ("--seed", "7", "--customers", "60", "--now", FROZEN_NOW)
UNLIMITED = ("--rate-limit", "shop=0,crm=0,esp=0,web=0")


def segmart_run(settings, env: dict[str, str], *args: str) -> tuple[int, str]:
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {**env, **NO_CLIENT_BUDGET}.items():
            patch.setenv(name, value)
        patch.setenv("SEGMART_WAREHOUSE", str(settings.warehouse))
        patch.setenv("SEGMART_PUBLISHED", str(settings.published))
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = cli.main(["run", *args])
    return code, out.getvalue()


def rows(settings, sql: str) -> list[tuple]:
    con = warehouse.connect(settings.warehouse)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_a_failed_stream_blocks_but_the_committed_slices_are_gated_in_the_same_run(tmp_path):
    settings = settings_for(tmp_path)
    with start_demo_api(*WORLD, *UNLIMITED) as api:
        wrong_esp_key = {**api.env(), "SEGMART_ESP_API_KEY": "not-the-esp-key"}
        code, output = segmart_run(
            settings, wrong_esp_key, "--start", "2026-04-01T00:00:00Z", "--end", FROZEN_NOW
        )
        assert code == 1, output
        assert "NOT PUBLISHED (blocked)" in output and "esp.email_events" in output
        [(run_id,)] = rows(settings, "select distinct run_id from meta.extract_runs")
        committed = rows(
            settings,
            f"select source, stream from meta.extract_runs "
            f"where run_id = '{run_id}' and status = 'success' order by 1, 2",
        )
        gated = rows(
            settings,
            f"select source, stream from meta.raw_gate_log "
            f"where load_run_id = '{run_id}' and gate_run_id = '{run_id}' and passed "
            "order by 1, 2",
        )
        assert len(committed) == 5 and ("esp", "email_events") not in committed
        assert gated == committed
        assert not settings.published.exists()

        # With the key fixed, the next run pulls the failed stream from its history and
        # publishes; nothing committed earlier is gated twice.
        code, output = segmart_run(settings, api.env(), "--end", FROZEN_NOW)
        assert code == 0, output
    regated = rows(
        settings, f"select count(*) from meta.raw_gate_log where load_run_id = '{run_id}'"
    )
    assert regated == [(5,)]
    assert rows(settings, "select status from meta.publish_log order by decided_at") == [
        ("blocked",),
        ("published",),
    ]
