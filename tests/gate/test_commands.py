"""`segmart validate`, `segmart publish` and `segmart status` on a synthetic warehouse."""

from __future__ import annotations

import pytest

from segmart import cli
from tests.gate import synthetic as syn


@pytest.fixture
def settings(tmp_path, monkeypatch):
    settings = syn.settings_for(tmp_path)
    monkeypatch.setenv("SEGMART_WAREHOUSE", str(settings.warehouse))
    monkeypatch.setenv("SEGMART_PUBLISHED", str(settings.published))
    syn.add_raw_slice(settings, "shop", "orders", syn.orders())
    syn.build_marts(settings)
    return settings


def test_validate_then_publish_then_status(settings, capsys):
    assert cli.main(["validate"]) == 0
    out = capsys.readouterr().out
    assert "PASSED" in out and f"Data Docs: {settings.docs_dir / 'index.html'}" in out

    assert cli.main(["publish"]) == 0
    out = capsys.readouterr().out
    assert "publish published" in out and "customer_profiles" in out
    assert settings.published.exists()

    assert cli.main(["status"]) == 0
    out = capsys.readouterr().out
    assert "as_of 2026-06-01 00:00:00" in out
    assert syn.RUN_ID in out and "published" in out and "email_audience" in out


def test_validate_and_publish_refuse_a_broken_audience(settings, capsys):
    syn.execute(settings, "update marts.email_audience set customer_id = 1")
    assert cli.main(["validate"]) == 1
    out = capsys.readouterr().out
    assert "BLOCKED" in out and "only_consented_customers" in out
    assert cli.main(["publish"]) == 1
    assert "publish blocked" in capsys.readouterr().out
    assert not settings.published.exists()


def test_publish_without_a_gate_result_says_what_to_run(settings, capsys):
    assert cli.main(["publish"]) == 2
    assert "segmart validate" in capsys.readouterr().err
