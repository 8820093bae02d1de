"""Settings from the environment (DESIGN.md "Commands and settings").

Secrets (API keys) are read here and nowhere else; they are never logged, stored
or put in XCom. Inside Airflow, `segmart_<source>` connections may supply the
same values (see `dags/`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_API_BASE = "http://127.0.0.1:8765"

# Customer-data software sends no usage telemetry: every entry point imports this module.
TELEMETRY_OFF = {
    "DO_NOT_TRACK": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "GX_ANALYTICS_ENABLED": "false",
    "SCARF_ANALYTICS": "false",
    "AIRFLOW__USAGE_DATA_COLLECTION__ENABLED": "False",
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
}
for _name, _value in TELEMETRY_OFF.items():
    os.environ.setdefault(_name, _value)


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it and says what to do."""


@dataclass(frozen=True)
class SourceSettings:
    name: str
    url: str
    api_key: str | None = field(repr=False)  # never printed

    def require_api_key(self) -> str:
        if not self.api_key:
            raise SettingsError(
                f"source {self.name!r}: no API key. Set {api_key_variable(self.name)} "
                f"(or the password of Airflow connection 'segmart_{self.name}')."
            )
        return self.api_key


def url_variable(source: str) -> str:
    return f"SEGMART_{source.upper()}_URL"


def api_key_variable(source: str) -> str:
    return f"SEGMART_{source.upper()}_API_KEY"


@dataclass(frozen=True)
class Settings:
    warehouse: Path
    published: Path
    env: Mapping[str, str] = field(repr=False, default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        warehouse = Path(env.get("SEGMART_WAREHOUSE") or "warehouse/segmart.duckdb")
        published = Path(env.get("SEGMART_PUBLISHED") or "warehouse/published.duckdb")
        return cls(
            warehouse=warehouse.expanduser().resolve(),
            published=published.expanduser().resolve(),
            env=env,
        )

    @property
    def warehouse_dir(self) -> Path:
        return self.warehouse.parent

    @property
    def landing_dir(self) -> Path:
        """warehouse/landing/<source>/<stream>/<interval>/*.jsonl.gz"""
        return self.warehouse_dir / "landing"

    @property
    def docs_dir(self) -> Path:
        return self.warehouse_dir / "docs"

    def source(self, name: str) -> SourceSettings:
        url = self.env.get(url_variable(name)) or f"{DEFAULT_API_BASE}/{name}"
        return SourceSettings(
            name=name, url=url.rstrip("/"), api_key=self.env.get(api_key_variable(name))
        )
