"""Evaluate suites with Great Expectations' pandas engine on batches read from DuckDB.

GX's SQL engine cannot be trusted on DuckDB (docs/architecture.md, "Quality gate
on DuckDB"), so DuckDB runs each suite's query, the rows come back as a pandas
DataFrame, and GX evaluates its expectations on that frame. The GX result of
every expectation is read here, one by one: a checkpoint's overall `success`
is false for a failed warning too, so it cannot be the gate's decision.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from expectations.suites import Suite
from segmart.core.outcomes import Outcome

DOCS_SITE = "segmart"
EXAMPLES = 5


def load_batches(
    con: duckdb.DuckDBPyConnection, suites: Sequence[Suite]
) -> list[tuple[Suite, Any, str | None]]:
    """Run each suite's query; a failed query or unavailable suite is kept as its error."""
    batches: list[tuple[Suite, Any, str | None]] = []
    for suite in suites:
        if suite.unavailable is not None:
            batches.append((suite, None, suite.unavailable))
            continue
        try:
            frame = con.execute(suite.sql, list(suite.params)).df()
        except duckdb.Error as error:
            batches.append((suite, None, f"query failed: {error}".splitlines()[0]))
        else:
            batches.append((suite, frame, None))
    return batches


def validate_batches(
    batches: Sequence[tuple[Suite, Any, str | None]],
    run_name: str,
    docs_dir: Path | None = None,
) -> tuple[list[Outcome], str | None]:
    """GX-validate each batch; returns one outcome per check and the Data Docs index path."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    sites: dict[str, Any] = {}
    if docs_dir is not None:
        sites[DOCS_SITE] = {
            "class_name": "SiteBuilder",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(docs_dir),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    # No default docs site in a fresh temporary directory per run: ours is the only one.
    defaults = InMemoryStoreBackendDefaults(init_temp_docs_sites=False)
    stores = dict(defaults.stores)
    if docs_dir is not None:
        # Results persist per run beside the docs, so the index shows the run's raw and
        # marts gates together (separate calls, separate processes in Airflow) while its
        # build time stays bounded by one run, not the warehouse's whole history.
        stores[defaults.validation_results_store_name] = {
            "class_name": "ValidationResultsStore",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(Path(docs_dir) / "results" / run_name),
            },
        }
    config = DataContextConfig(
        store_backend_defaults=defaults,
        stores=stores,
        data_docs_sites=sites,
        progress_bars=ProgressBarsConfig(globally=False),
        analytics_enabled=False,
    )
    context = gx.get_context(project_config=config, mode="ephemeral")
    source = context.data_sources.add_pandas("duckdb_batches")
    outcomes: list[Outcome] = []
    for n, (suite, frame, query_error) in enumerate(batches):
        if query_error is not None:
            outcomes += _not_evaluated(suite, query_error)
            continue
        try:
            asset = source.add_dataframe_asset(f"batch_{n}")
            definition = asset.add_batch_definition_whole_dataframe(suite.name)
            gx_suite = context.suites.add(
                gx.ExpectationSuite(
                    name=suite.name, expectations=[c.expectation() for c in suite.checks]
                )
            )
            validation = context.validation_definitions.add(
                gx.ValidationDefinition(name=f"{suite.name}#{n}", data=definition, suite=gx_suite)
            )
            result = validation.run(
                batch_parameters={"dataframe": frame},
                result_format=_result_format(suite),
                run_id=gx.RunIdentifier(run_name=run_name),
            )
        except Exception as error:  # anything GX raises means: not evaluated, so block
            outcomes += _not_evaluated(suite, f"GX raised {type(error).__name__}: {error}")
            continue
        outcomes += _read_results(suite, result)
    docs_path = None
    if docs_dir is not None:
        try:
            built = context.build_data_docs(site_names=[DOCS_SITE])
            docs_path = str(Path(docs_dir) / "index.html") if built else None
        except Exception as error:  # docs are a report, never a reason to block
            docs_path = f"(Data Docs not built: {error})"
    return outcomes, docs_path


def _result_format(suite: Suite) -> dict[str, Any]:
    result_format: dict[str, Any] = {
        "result_format": "SUMMARY",
        "partial_unexpected_count": EXAMPLES,
    }
    if suite.key:
        result_format["unexpected_index_column_names"] = [suite.key]
    return result_format


def _not_evaluated(suite: Suite, error: str) -> list[Outcome]:
    return [
        Outcome(suite.name, check.name, check.severity, None, error=error) for check in suite.checks
    ]


def _read_results(suite: Suite, result: Any) -> list[Outcome]:
    by_check = {}
    for item in result.results:
        meta = item.expectation_config.meta or {}
        by_check[meta.get("check")] = item
    outcomes = []
    for check in suite.checks:
        item = by_check.get(check.name)
        if item is None:
            outcomes.append(
                Outcome(suite.name, check.name, check.severity, None, error="GX returned no result")
            )
            continue
        error = _exception_message(item.exception_info)
        details = item.result or {}
        outcomes.append(
            Outcome(
                suite=suite.name,
                expectation=check.name,
                severity=check.severity,
                success=None if error else bool(item.success),
                observed_value=_text(details.get("observed_value")),
                unexpected_count=details.get("unexpected_count"),
                examples=_text(_examples(details)),
                error=error,
            )
        )
    return outcomes


def _examples(details: dict[str, Any]) -> Any:
    """Failing rows named by the suite's key column when GX gives them, else the values."""
    indexed = details.get("partial_unexpected_index_list")
    if indexed and all(isinstance(item, dict) for item in indexed):
        return indexed
    return details.get("partial_unexpected_list") or None


def _exception_message(info: Any) -> str | None:
    """GX nests exception info per metric on some paths and flat on others."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message") or "exception inside GX")
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message") or "exception inside GX")
    return None


def _clean(value: Any) -> Any:
    if hasattr(value, "item") and not isinstance(value, list | tuple | dict):
        value = value.item()  # numpy scalars
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(_clean(value), default=str)
