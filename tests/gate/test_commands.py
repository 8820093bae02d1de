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


def test_status_names_a_slice_that_failed_the_raw_gate_and_the_command_that_re_pulls_it(
    tmp_path, monkeypatch, capsys
):
    settings = syn.settings_for(tmp_path)
    monkeypatch.setenv("SEGMART_WAREHOUSE", str(settings.warehouse))
    monkeypatch.setenv("SEGMART_PUBLISHED", str(settings.published))
    bad = syn.orders()
    bad[3]["total"] = "-5.00"
    syn.add_raw_slice(settings, "shop", "orders", bad)
    syn.build_marts(settings)
    assert cli.main(["validate"]) == 1
    capsys.readouterr()
    assert cli.main(["status"]) == 0
    out = capsys.readouterr().out
    assert "Slices waiting for the raw gate" in out
    assert "shop.orders" in out and "failed the raw gate" in out
    assert "segmart extract --source shop --stream orders --start " in out
