"""Airflow glue: what the DAG needs that is not wiring (settings from connections, run ids)."""
