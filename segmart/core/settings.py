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

from segmart.core.errors import UserError

DEFAULT_API_BASE = "http://127.0.0.1:8765"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"

# Relative to the working directory (the command line) or the project (Airflow tasks).
DEFAULT_WAREHOUSE = Path("warehouse/segmart.duckdb")
DEFAULT_PUBLISHED = Path("warehouse/published.duckdb")

WAREHOUSE_VARIABLE = "SEGMART_WAREHOUSE"
PUBLISHED_VARIABLE = "SEGMART_PUBLISHED"
DBT_PROJECT_DIR_VARIABLE = "SEGMART_DBT_PROJECT_DIR"
SOURCES_DIR_VARIABLE = "SEGMART_SOURCES_DIR"
# Where pulls land their files (default <warehouse dir>/landing): with several workers,
# a folder every worker mounts, so the one that loads reads what another pulled.
LANDING_DIR_VARIABLE = "SEGMART_LANDING_DIR"
# A store every worker reaches for the per-source rate budgets (redis://HOST:PORT/DB);
# unset, the budget is a SQLite file under <warehouse dir>/.ratelimit (one machine).
RATE_BUDGET_URL_VARIABLE = "SEGMART_RATE_BUDGET_URL"
# Where file sources find their drops: <SEGMART_DROP_DIR>/<source> (default
# <warehouse dir>/drops/<source>), or a source's own SEGMART_<SOURCE>_DROP_DIR.
DROP_DIR_VARIABLE = "SEGMART_DROP_DIR"

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


class SettingsError(UserError, ValueError):
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
                f"(or the password of Airflow connection '{connection_id(self.name)}')."
            )
        return self.api_key


def url_variable(source: str) -> str:
    return f"SEGMART_{source.upper()}_URL"


def api_key_variable(source: str) -> str:
    return f"SEGMART_{source.upper()}_API_KEY"


def drop_dir_variable(source: str) -> str:
    return f"SEGMART_{source.upper()}_DROP_DIR"


def connection_id(source: str) -> str:
    """The Airflow connection that may hold a source's URL (host) and API key (password)."""
    return f"segmart_{source}"


@dataclass(frozen=True)
class Settings:
    warehouse: Path
    published: Path
    # The dbt project every dbt call uses (the CLI, the pipeline and the DAG).
    dbt_project_dir: Path = DEFAULT_DBT_PROJECT_DIR
    # An extra folder of `<source>.yaml` files that add to or replace the packaged ones.
    sources_dir: Path | None = None
    # SEGMART_LANDING_DIR; None: <warehouse dir>/landing.
    landing: Path | None = None
    # SEGMART_RATE_BUDGET_URL; None: the file bucket under <warehouse dir>/.ratelimit.
    rate_budget_url: str | None = field(repr=False, default=None)  # may hold a password
    # SEGMART_DROP_DIR; None: <warehouse dir>/drops.
    drops: Path | None = None
    env: Mapping[str, str] = field(repr=False, default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        warehouse = Path(env.get(WAREHOUSE_VARIABLE) or DEFAULT_WAREHOUSE)
        published = Path(env.get(PUBLISHED_VARIABLE) or DEFAULT_PUBLISHED)
        dbt_project = Path(env.get(DBT_PROJECT_DIR_VARIABLE) or DEFAULT_DBT_PROJECT_DIR)
        sources = env.get(SOURCES_DIR_VARIABLE)
        landing = env.get(LANDING_DIR_VARIABLE)
        drops = env.get(DROP_DIR_VARIABLE)
        return cls(
            warehouse=warehouse.expanduser().resolve(),
            published=published.expanduser().resolve(),
            dbt_project_dir=dbt_project.expanduser().resolve(),
            sources_dir=Path(sources).expanduser().resolve() if sources else None,
            landing=Path(landing).expanduser().resolve() if landing else None,
            rate_budget_url=(env.get(RATE_BUDGET_URL_VARIABLE) or "").strip() or None,
            drops=Path(drops).expanduser().resolve() if drops else None,
            env=env,
        )

    @property
    def dbt_manifest(self) -> Path:
        """The parsed project Cosmos renders the DAG from (built by `segmart manifest`)."""
        return self.dbt_project_dir / "target" / "manifest.json"

    @property
    def warehouse_dir(self) -> Path:
        return self.warehouse.parent

    @property
    def landing_dir(self) -> Path:
        """<landing>/<source>/<stream>/<interval>/*.jsonl.gz; default warehouse/landing."""
        return self.landing if self.landing is not None else self.warehouse_dir / "landing"

    def drop_dir(self, source: str) -> Path:
        """The folder a file source's streams find their files in (globs are relative to it)."""
        own = self.env.get(drop_dir_variable(source))
        if own:
            return Path(own).expanduser().resolve()
        return (self.drops or self.warehouse_dir / "drops") / source

    @property
    def rate_budget_dir(self) -> Path:
        """The file buckets' folder, when no SEGMART_RATE_BUDGET_URL names a shared store."""
        return self.warehouse_dir / ".ratelimit"

    @property
    def docs_dir(self) -> Path:
        return self.warehouse_dir / "docs"

    def source(self, name: str) -> SourceSettings:
        url = self.env.get(url_variable(name)) or f"{DEFAULT_API_BASE}/{name}"
        return SourceSettings(
            name=name, url=url.rstrip("/"), api_key=self.env.get(api_key_variable(name))
        )
