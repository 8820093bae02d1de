#!/usr/bin/env bash
# `make airflow`: the demo API plus `airflow standalone` on this project's dags/.
#
# Everything lives inside the project: AIRFLOW_HOME=.airflow (git-ignored), the
# warehouse in warehouse/. Settings (all optional):
#   SEGMART_AIRFLOW_PORT (8080)  SEGMART_DEMO_API_PORT (8765)  SEGMART_SCHEDULE (@hourly)
#   SEGMART_AIRFLOW_SETUP_ONLY=1  only prepare (db, pools, connections, manifest), start nothing
#   SEGMART_AIRFLOW_SKIP_SETUP=1  AIRFLOW_HOME is already prepared: go straight to start
#   SEGMART_AIRFLOW_NO_DEMO_API=1 use the sources in SEGMART_<SOURCE>_URL/_API_KEY instead
#   SEGMART_POSTGRES_PORT (5433)  SEGMART_POSTGRES_DIR ($AIRFLOW_HOME/postgres)
#   SEGMART_AIRFLOW_METADATA=sqlite  Airflow's SQLite default instead (only for tests that
#                                    run no scheduler: DagBag, dag.test())
# The metadata database is a project-local PostgreSQL server (scripts/postgres.sh; Debian's
# postgresql, installed when missing) with LocalExecutor: on SQLite, Airflow's own writes
# made backfill creation fail with "database is locked". It stops when this script stops.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
VENV_BIN="${SEGMART_VENV_BIN:-$ROOT/.venv/bin}"
export PATH="$VENV_BIN:$PATH"

# Customer-data software sends no usage telemetry.
export DO_NOT_TRACK=1 SCARF_ANALYTICS=false DBT_SEND_ANONYMOUS_USAGE_STATS=false
export GX_ANALYTICS_ENABLED=false AIRFLOW__USAGE_DATA_COLLECTION__ENABLED=False
export AIRFLOW__COSMOS__ENABLE_TELEMETRY=False

export AIRFLOW_HOME="${AIRFLOW_HOME:-$ROOT/.airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS:-admin:admin}"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$AIRFLOW_HOME/simple_auth_manager_passwords.json"
export AIRFLOW__API__PORT="${SEGMART_AIRFLOW_PORT:-8080}"
export AIRFLOW__API__HOST="${AIRFLOW__API__HOST:-127.0.0.1}"
export AIRFLOW__API__BASE_URL="http://127.0.0.1:${AIRFLOW__API__PORT}"
# Log servers on their own ports, so two Airflows (make airflow, a test) can coexist.
export AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT="${SEGMART_AIRFLOW_WORKER_LOG_PORT:-8793}"
export AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT="${SEGMART_AIRFLOW_TRIGGER_LOG_PORT:-8794}"
# Parse dags/ often enough that an edit shows up quickly; the DAG never runs dbt to parse.
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="${AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL:-30}"
# A DAG file that cannot load shows its error's one line (e.g. the missing dbt manifest and
# the command that builds it); the dag-processor's log keeps the whole traceback.
export AIRFLOW__CORE__DAGBAG_IMPORT_ERROR_TRACEBACKS="${AIRFLOW__CORE__DAGBAG_IMPORT_ERROR_TRACEBACKS:-False}"
# Each task is a process that parses the DAG file and imports what its step needs (Cosmos,
# dbt, GX: about 20 s on 2 cores, paid by each of a run's ~85 tasks). The scheduler starts
# its LocalExecutor workers from a forkserver that imported those modules first; tasks are
# forked from the workers and inherit them (segmart/airflow_preload.py, docs/benchmarks.md).
export AIRFLOW__SCHEDULER__MP_START_METHOD="${AIRFLOW__SCHEDULER__MP_START_METHOD:-forkserver}"
export AIRFLOW__CORE__MP_FORKSERVER_PRELOAD="${AIRFLOW__CORE__MP_FORKSERVER_PRELOAD:-segmart.airflow_preload}"
# The watcher's model and test tasks wait in the triggerer this script runs, instead of
# a task process per poke (segmart/airflow_tasks.py dbt_sensor_args).
export SEGMART_DBT_SENSORS="${SEGMART_DBT_SENSORS:-deferrable}"
export SEGMART_WAREHOUSE="${SEGMART_WAREHOUSE:-$ROOT/warehouse/segmart.duckdb}"
export SEGMART_PUBLISHED="${SEGMART_PUBLISHED:-$ROOT/warehouse/published.duckdb}"
DEMO_PORT="${SEGMART_DEMO_API_PORT:-8765}"
# The configured sources (extract/sources/*.yaml and SEGMART_SOURCES_DIR): one pool and
# one connection each. An assignment, so a source file that does not parse stops here.
SOURCES_LISTED="$(segmart sources)"
mapfile -t SOURCES <<<"$SOURCES_LISTED"
mkdir -p "$AIRFLOW_HOME" "$(dirname "$SEGMART_WAREHOUSE")"

PG_DIR="${SEGMART_POSTGRES_DIR:-$AIRFLOW_HOME/postgres}"
PG_PORT="${SEGMART_POSTGRES_PORT:-5433}"
PG_STARTED=""
stop_postgres() {
    if [[ -n "$PG_STARTED" ]]; then bash scripts/postgres.sh stop "$PG_DIR" || true; fi
}
if [[ "${SEGMART_AIRFLOW_METADATA:-postgres}" == "postgres" ]]; then
bash scripts/postgres.sh install
if [[ "$(id -u)" == 0 ]]; then
    # The server runs as user postgres (it refuses root): it must reach PG_DIR.
    mkdir -p "$PG_DIR"
    d="$(cd "$PG_DIR/.." && pwd)"
    while [[ "$d" != "/" ]]; do chmod o+x "$d"; d="$(dirname "$d")"; done
fi
echo "== PostgreSQL metadata database on 127.0.0.1:$PG_PORT (data: $PG_DIR)"
PG_STARTED=1
trap stop_postgres EXIT
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN
AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="$(bash scripts/postgres.sh start "$PG_DIR" "$PG_PORT")"
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
METADATA="PostgreSQL on 127.0.0.1:${PG_PORT} (LocalExecutor); the CLI needs its URL:
   export AIRFLOW_HOME=$AIRFLOW_HOME AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=\$(bash scripts/postgres.sh url $PG_DIR $PG_PORT)"
else
METADATA="SQLite (tests only: backfills beside the scheduler can fail with database is locked)
   export AIRFLOW_HOME=$AIRFLOW_HOME"
fi

# A fixed local login: admin / admin (kept if the file already names a password).
if [[ ! -s "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE" ]]; then
    echo '{"admin": "admin"}' >"$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"
fi
LOGIN_PASSWORD="$(python -c 'import json,sys; print(json.load(open(sys.argv[1])).get("admin", "?"))' \
    "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE")"

if [[ "${SEGMART_AIRFLOW_SKIP_SETUP:-0}" != "1" ]]; then
echo "== building the dbt manifest (the DAG renders dbt from it, never by running dbt)"
segmart manifest

echo "== airflow db migrate ($AIRFLOW_HOME)"
airflow db migrate >"$AIRFLOW_HOME/db-migrate.log" 2>&1 || { cat "$AIRFLOW_HOME/db-migrate.log"; exit 1; }

echo "== pools segmart_warehouse (1 slot) and segmart_<source>: ${SOURCES[*]}"
pools_file="$AIRFLOW_HOME/segmart-pools.json"
segmart sources --pools >"$pools_file"
# One import per kind: every airflow CLI call costs seconds of start-up.
airflow pools import "$pools_file" >/dev/null
# Tasks cannot read pools in Airflow 3: a source's plan task checks this record instead,
# so a source added after this setup fails loudly rather than wait for ever.
airflow variables set segmart_pools "$(cat "$pools_file")" >/dev/null

echo "== connections segmart_<source> (host = base URL, password = API key)"
connections_file="$AIRFLOW_HOME/segmart-connections.json"
segmart sources --connections "$connections_file" \
    --url-template "http://127.0.0.1:${DEMO_PORT}/{source}" >/dev/null
airflow connections import --overwrite "$connections_file" >/dev/null
rm -f "$connections_file"
for source in "${SOURCES[@]}"; do
    # The DAG prefers env vars over connections: leave the key to the connection.
    unset "SEGMART_${source^^}_API_KEY"
done

fi

if [[ "${SEGMART_AIRFLOW_SETUP_ONLY:-0}" == "1" ]]; then
    echo "setup done (AIRFLOW_HOME=$AIRFLOW_HOME)"
    exit 0
fi

DEMO_PID=""
STANDALONE_PID=""
stop() {
    trap - EXIT INT TERM
    if [[ -n "$STANDALONE_PID" ]]; then
        # Each Airflow component stops cleanly on SIGTERM, but `airflow standalone`
        # passes no signal on (on SIGTERM it dies alone and its scheduler runs on; on
        # SIGINT it can hang reaping them): signal its whole process group.
        kill -TERM -- "-$STANDALONE_PID" 2>/dev/null || true
        wait "$STANDALONE_PID" 2>/dev/null || true
        for _ in $(seq 60); do
            kill -0 -- "-$STANDALONE_PID" 2>/dev/null || break
            sleep 1 # processes that are not our children: nothing to wait on
        done
        kill -KILL -- "-$STANDALONE_PID" 2>/dev/null || true
    fi
    if [[ -n "$DEMO_PID" ]]; then kill "$DEMO_PID" 2>/dev/null || true; fi
    stop_postgres
}
trap stop EXIT INT TERM
if [[ "${SEGMART_AIRFLOW_NO_DEMO_API:-0}" != "1" ]]; then
    if curl -fsS "http://127.0.0.1:${DEMO_PORT}/openapi.json" >/dev/null 2>&1; then
        echo "== demo API already serving on port $DEMO_PORT"
    else
        echo "== demo API on http://127.0.0.1:${DEMO_PORT} (log: $AIRFLOW_HOME/demo-api.log)"
        segmart demo-api --host 127.0.0.1 --port "$DEMO_PORT" >"$AIRFLOW_HOME/demo-api.log" 2>&1 &
        DEMO_PID=$!
    fi
fi

cat <<EOF

==============================================================================
 segmart on Airflow: http://127.0.0.1:${AIRFLOW__API__PORT}
 login: admin / ${LOGIN_PASSWORD}
 metadata: ${METADATA}
 DAG segmart_pipeline (schedule ${SEGMART_SCHEDULE:-@hourly}); unpause it, then trigger it
 from the UI or: .venv/bin/airflow dags trigger segmart_pipeline
 backfill (beside this running Airflow; UI: the DAG's "Backfill" button), or:
   .venv/bin/airflow backfill create --dag-id segmart_pipeline \\
       --from-date 2026-01-01T00:00:00 --to-date 2026-01-01T03:00:00 --max-active-runs 1
 Ctrl-C (or SIGTERM to this script) stops Airflow, the demo API and PostgreSQL.
==============================================================================

EOF
# In the background, so this shell handles signals (bash runs a trap only after a
# foreground command ends), and in a process group of its own (job control) that
# stop() can signal as a whole.
set -m
airflow standalone &
STANDALONE_PID=$!
wait "$STANDALONE_PID"
