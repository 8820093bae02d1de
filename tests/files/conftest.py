"""A real warehouse and a real drop folder per test; files written as a till system would."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from segmart.core.settings import Settings

HEADER = "purchase_id,store_id,email,total,currency,purchased_at\n"


@dataclass
class Drop:
    settings: Settings
    folder: Path  # the pos source's drop folder

    def write(self, name: str, text: str) -> Path:
        path = self.folder / "purchases" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode())
        return path

    def rejected(self) -> list[str]:
        folder = self.folder / "rejected" / "purchases"
        return sorted(p.name for p in folder.iterdir()) if folder.exists() else []

    def query(self, sql: str) -> list[tuple]:
        con = duckdb.connect(str(self.settings.warehouse), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()


@pytest.fixture
def drop(tmp_path: Path) -> Drop:
    settings = Settings.from_env(
        {
            "SEGMART_WAREHOUSE": str(tmp_path / "warehouse" / "segmart.duckdb"),
            "SEGMART_DROP_DIR": str(tmp_path / "drops"),
        }
    )
    return Drop(settings, settings.drop_dir("pos"))


def purchases(*rows: str) -> str:
    return HEADER + "".join(f"{row}\n" for row in rows)
