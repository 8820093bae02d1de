from pathlib import Path

import pytest

from segmart.cli import COMMANDS, main
from segmart.core.settings import Settings, SettingsError


def test_warehouse_paths_are_always_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({"SEGMART_WAREHOUSE": "wh/segmart.duckdb"})
    assert settings.warehouse == tmp_path / "wh" / "segmart.duckdb"
    assert settings.published == tmp_path / "warehouse" / "published.duckdb"
    assert settings.landing_dir == tmp_path / "wh" / "landing"


def test_source_url_defaults_to_the_local_demo_api_and_honours_overrides():
    settings = Settings.from_env({"SEGMART_CRM_URL": "https://crm.example.test/api/"})
    assert settings.source("shop").url == "http://127.0.0.1:8765/shop"
    assert settings.source("crm").url == "https://crm.example.test/api"


def test_missing_api_key_names_the_variable_to_set():
    with pytest.raises(SettingsError, match="SEGMART_ESP_API_KEY"):
        Settings.from_env({}).source("esp").require_api_key()


def test_api_key_never_appears_in_repr():
    source = Settings.from_env({"SEGMART_SHOP_API_KEY": "s3cret-value"}).source("shop")
    assert "s3cret-value" not in repr(source)


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert command in out


def test_every_command_module_exists():
    for module_name, _ in COMMANDS.values():
        path = Path(__file__).parent.parent / (module_name.replace(".", "/") + ".py")
        assert path.exists(), f"{module_name} is registered but {path} is missing"
