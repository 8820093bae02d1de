"""docker-compose.yml, checked statically (no Docker engine here): services, images,
commands, mounted paths and the SEGMART_* settings the code actually reads."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from extract import list_sources
from segmart.airflow_tasks import warehouse_queue
from segmart.commands.sources import connections, pools
from segmart.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_SERVICES = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
}
CODE_DIRS = ("segmart", "extract", "expectations", "dags", "demo_api")


CELERY_RUN = {"AIRFLOW_EXECUTOR": "CeleryExecutor"}  # the celery profile's command line
WORKERS = ("airflow-worker-warehouse", "airflow-worker")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def interpolate(value: object, env: dict[str, str]) -> object:
    """Compose's `${VAR}`, `${VAR:-default}`, `${VAR:+other}` and `$$`, everywhere in value."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match) -> str:
        name, operator, word = match.group(1), match.group(2), match.group(3) or ""
        if operator == ":-":
            return env.get(name) or word
        if operator == ":+":
            return word if env.get(name) else ""
        return env.get(name, "")

    parts = value.split("$$")
    return "$".join(re.sub(r"\$\{(\w+)(?:(:[-+])([^}]*))?\}", one, part) for part in parts)


def config(compose: dict, profiles: set[str], env: dict[str, str]) -> dict:
    """What `docker compose --profile ... config` shows: the services the profiles enable
    (PyYAML has already resolved anchors and merge keys), interpolated from env."""
    enabled = {
        name: service
        for name, service in compose["services"].items()
        if not service.get("profiles") or profiles & set(service["profiles"])
    }
    return interpolate({**compose, "services": enabled}, env)  # type: ignore[return-value]


def mounts(service: dict) -> dict[str, str]:
    """source -> target of a service's volumes."""
    return dict(volume.split(":")[:2] for volume in service.get("volumes", []))


def settings_read_by_code() -> set[str]:
    """SEGMART_* names in the code; per-source names expanded for every configured source."""
    names: set[str] = set()
    for folder in CODE_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            names |= set(re.findall(r"SEGMART_[A-Z_]*[A-Z]", path.read_text()))
    sources = [p.stem for p in (ROOT / "extract" / "sources").glob("*.yaml")]
    for source in sources:
        names |= {f"SEGMART_{source.upper()}_URL", f"SEGMART_{source.upper()}_API_KEY"}
    return names


def test_airflow_runs_as_four_services_with_local_executor_on_postgres_16(compose: dict) -> None:
    services = config(compose, set(), {})["services"]
    assert set(services) == {"postgres", "demo-api", "airflow-init", *AIRFLOW_SERVICES}
    assert services["postgres"]["image"] == "postgres:16"
    for name, command in AIRFLOW_SERVICES.items():
        service = services[name]
        assert service["command"] == command
        env = service["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql")
        assert "@postgres/" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["depends_on"]["airflow-init"]["condition"] == (
            "service_completed_successfully"
        )


def test_the_image_is_airflow_3_3_with_this_project_installed(compose: dict) -> None:
    build = compose["services"]["airflow-scheduler"]["build"]
    dockerfile = (ROOT / build["context"] / build["dockerfile"]).read_text()
    assert re.search(r"^FROM apache/airflow:3\.3\.\d+", dockerfile, re.M)
    for copied in re.findall(r"^COPY (?:--\S+ )*(.+?) \S+$", dockerfile, re.M):
        for path in copied.split():
            assert (ROOT / path).exists(), f"Dockerfile copies missing {path}"
    assert "-c constraints.txt" in dockerfile


def init_script(compose: dict) -> str:
    """The init service's shell script as the container runs it ($$ is compose's $)."""
    return "\n".join(compose["services"]["airflow-init"]["command"]).replace("$$", "$")


def test_demo_api_is_a_service_the_connections_point_at(compose: dict) -> None:
    demo = compose["services"]["demo-api"]
    assert demo["command"][:2] == ["segmart", "demo-api"]
    port = demo["command"][demo["command"].index("--port") + 1]
    # Init makes connection segmart_<source> for every configured source with
    # `segmart sources --connections FILE --url-template ...`, then imports FILE.
    script = init_script(compose)
    made = re.search(r"segmart sources --connections (\S+) --url-template \"([^\"]+)\"", script)
    assert made, script
    path, template = made.groups()
    assert f"airflow connections import {path}" in script
    env = Settings.from_env({})
    defined = connections(env, list_sources(None), template)
    for source in list_sources(None):
        connection = defined[f"segmart_{source}"]
        assert f"http://demo-api:{port}/{source}" in connection["host"]
        assert connection["password"] == f"demo-{source}-key"


def test_compose_names_no_source(compose: dict) -> None:
    # Sources come from their YAML (`segmart sources`): a fifth needs no edit here.
    text = (ROOT / "docker-compose.yml").read_text()
    for source in list_sources(None):
        assert not re.search(rf"\b{source}\b", text, re.I), source


def test_dags_dbt_project_and_warehouse_are_mounted_from_the_repo(compose: dict) -> None:
    env = compose["services"]["airflow-scheduler"]["environment"]
    mounts = dict(
        volume.split(":", 1) for volume in compose["services"]["airflow-scheduler"]["volumes"]
    )
    targets = {Path(host).name: Path(target) for host, target in mounts.items()}
    assert set(targets) == {"dags", "dbt_project", "warehouse"}
    for host in mounts:
        if Path(host).name != "warehouse":  # made at run time, git-ignored
            assert (ROOT / host).is_dir(), host
    # The DAG finds dbt_project/ beside dags/, as in the repo.
    assert targets["dags"].parent == targets["dbt_project"].parent
    assert Path(env["AIRFLOW__CORE__DAGS_FOLDER"]) == targets["dags"]
    assert Path(env["SEGMART_WAREHOUSE"]).parent == targets["warehouse"]
    assert Path(env["SEGMART_PUBLISHED"]).parent == targets["warehouse"]


def test_every_segmart_setting_in_compose_is_one_the_code_reads(compose: dict) -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    used = set(re.findall(r"SEGMART_[A-Z_]*[A-Z]", text))
    known = settings_read_by_code()
    assert {"SEGMART_WAREHOUSE", "SEGMART_PUBLISHED"} <= used
    assert used <= known, f"compose sets settings no code reads: {sorted(used - known)}"


def test_init_creates_the_pools_and_builds_the_manifest(compose: dict) -> None:
    script = init_script(compose)
    assert "airflow db migrate" in script
    made = re.search(r"segmart sources --pools > (\S+)", script)
    assert made, script
    assert f"airflow pools import {made.group(1)}" in script
    # What `segmart sources --pools` makes: the one-slot warehouse pool and one per source.
    defined = pools(list_sources(None))
    assert defined["segmart_warehouse"]["slots"] == 1
    assert {f"segmart_{source}" for source in list_sources(None)} < set(defined)
    # The plan task reads which pools the setup made (tasks cannot read pools).
    assert f'airflow variables set segmart_pools "$(cat {made.group(1)})"' in script
    # `segmart manifest` is transform.build_manifest.
    assert "segmart manifest" in script


@pytest.mark.parametrize("profiles", [set(), {"celery"}], ids=["default", "celery"])
def test_every_dependency_is_a_service_of_the_same_profile(compose: dict, profiles) -> None:
    services = config(compose, profiles, CELERY_RUN if profiles else {})["services"]
    for name, service in services.items():
        for needed, rule in (service.get("depends_on") or {}).items():
            assert needed in services, f"{name} needs {needed}, not in profile {profiles}"
            assert rule["condition"] in ("service_healthy", "service_completed_successfully")
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[needed], needed
    for service in services.values():  # every named volume is declared
        for source in mounts(service):
            assert source.startswith(".") or source in compose["volumes"], source


def test_the_default_profile_keeps_landing_and_budget_on_the_one_machine(compose: dict) -> None:
    for name, service in config(compose, set(), {})["services"].items():
        env = service.get("environment", {})
        assert "SEGMART_LANDING_DIR" not in env and "SEGMART_RATE_BUDGET_URL" not in env, name
        assert not any(source.startswith("segmart-landing") for source in mounts(service))


def test_celery_profile_two_workers_one_budget_one_landing_one_warehouse_writer(
    compose: dict,
) -> None:
    services = config(compose, {"celery"}, CELERY_RUN)["services"]
    for name in [*AIRFLOW_SERVICES, *WORKERS]:
        env = services[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
    broker = urlsplit(services["airflow-scheduler"]["environment"]["AIRFLOW__CELERY__BROKER_URL"])
    assert broker.scheme == "redis" and broker.hostname in services
    assert "redis-server" in services[broker.hostname]["command"]
    backend = services["airflow-scheduler"]["environment"]["AIRFLOW__CELERY__RESULT_BACKEND"]
    assert backend.startswith("db+postgresql") and "@postgres/" in backend

    # The DAG is parsed with the warehouse queue (segmart.airflow_tasks.warehouse_queue).
    parsed = services["airflow-dag-processor"]["environment"]
    queue = warehouse_queue(parsed)
    assert queue
    served = {}
    for name in WORKERS:
        worker = services[name]
        assert worker["command"][:2] == ["celery", "worker"]  # the image runs `airflow ...`
        served[name] = worker["command"][worker["command"].index("--queues") + 1].split(",")
        assert "default" in served[name]
        assert worker["environment"]["SEGMART_WAREHOUSE_QUEUE"] == queue
    assert [name for name in WORKERS if queue in served[name]] == ["airflow-worker-warehouse"]

    # One budget store both reach, not the broker's database.
    budgets = {services[name]["environment"]["SEGMART_RATE_BUDGET_URL"] for name in WORKERS}
    assert len(budgets) == 1
    budget = urlsplit(budgets.pop())
    assert (budget.scheme, budget.hostname) == ("redis", broker.hostname)
    assert budget.path != broker.path

    # Both mount the same named volume where SEGMART_LANDING_DIR points.
    landing = {services[name]["environment"]["SEGMART_LANDING_DIR"] for name in WORKERS}
    assert len(landing) == 1
    landing_dir = landing.pop()
    sources = {name: {s for s, t in mounts(services[name]).items() if t == landing_dir}
               for name in WORKERS}  # fmt: skip
    assert sources["airflow-worker-warehouse"] == sources["airflow-worker"] == {"segmart-landing"}
    assert "segmart-landing" in compose["volumes"]

    # Only the warehouse worker has the DuckDB files; both have the DAG and dbt project.
    warehouse_dir = str(Path(parsed["SEGMART_WAREHOUSE"]).parent)
    assert warehouse_dir in mounts(services["airflow-worker-warehouse"]).values()
    assert warehouse_dir not in mounts(services["airflow-worker"]).values()
    for name in WORKERS:
        assert parsed["AIRFLOW__CORE__DAGS_FOLDER"] in mounts(services[name]).values()
    assert importlib.util.find_spec("airflow.providers.celery.executors.celery_executor")


def test_the_image_holds_every_package_of_the_project(compose: dict) -> None:
    build = compose["services"]["airflow-scheduler"]["build"]
    dockerfile = (ROOT / build["context"] / build["dockerfile"]).read_text()
    copied = {path for line in re.findall(r"^COPY (?:--\S+ )*(.+?) \S+$", dockerfile, re.M)
              for path in line.split()}  # fmt: skip
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for pattern in project["tool"]["setuptools"]["packages"]["find"]["include"]:
        assert pattern.rstrip("*") in copied, f"Dockerfile does not copy {pattern}"


@pytest.mark.parametrize("profiles", [{"collect"}, {"collect", "celery"}], ids=["local", "celery"])
def test_the_collector_is_a_service_landing_where_the_warehouse_writers_load(
    compose: dict, profiles: set[str]
) -> None:
    celery = "celery" in profiles
    services = config(compose, profiles, CELERY_RUN if celery else {})["services"]
    collect = services["collect"]
    command = collect["command"]
    assert command[:2] == ["segmart", "collect"]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    port = command[command.index("--port") + 1]
    assert f"{port}:{port}" in collect["ports"]
    # Where the collector lands is where the process that loads pushes reads (the
    # scheduler's LocalExecutor tasks, or the Celery worker beside the warehouse file).
    loader = services["airflow-worker-warehouse" if celery else "airflow-scheduler"]

    def landing(service: dict) -> str:
        env = service["environment"]
        if env.get("SEGMART_LANDING_DIR"):
            return env["SEGMART_LANDING_DIR"]
        return str(Path(env["SEGMART_WAREHOUSE"]).parent / "landing")

    def volume_at(service: dict, path: str) -> str:
        (source,) = [s for s, t in mounts(service).items() if path.startswith(t)]
        return source

    assert landing(collect) == landing(loader)
    assert volume_at(collect, landing(collect)) == volume_at(loader, landing(loader))
    # Secrets come from the environment file beside compose, never from compose itself.
    assert [entry["path"] for entry in collect["env_file"]] == ["./collect.env"]
    assert all(entry["required"] is False for entry in collect["env_file"])
    assert "collect.env" in (ROOT / ".gitignore").read_text().split()
    assert collect["depends_on"] == {}


def test_the_collector_runs_only_in_its_profile(compose: dict) -> None:
    assert "collect" not in config(compose, set(), {})["services"]
    assert "collect" not in config(compose, {"celery"}, CELERY_RUN)["services"]
