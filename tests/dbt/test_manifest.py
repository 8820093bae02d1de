"""`build_manifest` writes the manifest Cosmos renders the DAG from."""

from __future__ import annotations

import json

from segmart.core.settings import Settings
from segmart.transform import build_manifest

PUBLISHED = [
    "customer_profiles",
    "customer_identity",
    "orders",
    "order_items",
    "customer_rfm",
    "customer_segments",
    "segment_changes",
    "email_audience",
]


def test_manifest_lists_marts_with_enforced_contracts_and_described_columns(tmp_path) -> None:
    settings = Settings.from_env({"SEGMART_WAREHOUSE": str(tmp_path / "segmart.duckdb")})
    manifest = json.loads(build_manifest(settings).read_text())
    models = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    for name in PUBLISHED:
        node = models[name]
        assert node["schema"] == "marts"
        assert node["config"]["contract"]["enforced"], name
        undocumented = [c for c, spec in node["columns"].items() if not spec["description"]]
        assert undocumented == [], name
    assert {models[m]["schema"] for m in models if m.startswith("stg_")} == {"staging"}
    assert {models[m]["schema"] for m in models if m.startswith("int_")} == {"intermediate"}
