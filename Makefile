# Two set-up commands: `make demo` and `make test`. Both bootstrap .venv with uv and are idempotent.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.segmart-installed
SCENARIO ?= clean
# pytest workers for `make test` (the CI machine has 2 cores); groups go out in collection
# order, so the long Airflow tests (tests/airflow, first) start first.
TEST_WORKERS ?= 2

# Customer-data software sends no usage telemetry.
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export GX_ANALYTICS_ENABLED := false
export SCARF_ANALYTICS := false
export AIRFLOW__USAGE_DATA_COLLECTION__ENABLED := False
export AIRFLOW__COSMOS__ENABLE_TELEMETRY := False

.PHONY: install demo test lint lock bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(UV): | $(PY)
	$(PY) -m pip install --quiet 'uv>=0.5,<1'

$(STAMP): pyproject.toml constraints.txt | $(UV)
	$(UV) pip install --python $(PY) --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(VENV)/bin/segmart demo --scenario $(SCENARIO)

test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Re-resolve the pinned set after changing pyproject.toml dependencies.
lock: | $(UV)
	$(UV) pip compile pyproject.toml --all-extras --python-version 3.11 --quiet -o constraints.txt

bench: install
	$(UV) pip install --python $(PY) --quiet -c constraints.txt -e '.[dev,bench]'
	$(PY) benchmarks/run_all.py

clean:
	rm -rf warehouse .airflow dbt_project/target dbt_project/logs

# dbt docs for the models and marts, served on http://127.0.0.1:8080 (Ctrl-C stops it).
DBT_WAREHOUSE := $(abspath $(or $(SEGMART_WAREHOUSE),warehouse/segmart.duckdb))
.PHONY: docs
docs: install
	cd dbt_project && SEGMART_WAREHOUSE=$(DBT_WAREHOUSE) ../$(VENV)/bin/dbt docs generate --no-compile --project-dir . --profiles-dir .
	cd dbt_project && SEGMART_WAREHOUSE=$(DBT_WAREHOUSE) ../$(VENV)/bin/dbt docs serve --host 127.0.0.1 --port 8080 --project-dir . --profiles-dir .

# Airflow UI on this project's dags/ plus the demo API: AIRFLOW_HOME=.airflow, login printed.
.PHONY: airflow
airflow: install
	bash scripts/airflow.sh
