"""infra/compose.yaml, read as ``docker compose`` reads it (no container engine here to run
it): the services an operator expects, each running an ``mhi`` entry point of the one image,
two API replicas, everything after the migration step, health by ``/readyz``, settings that
the code reads, and Prometheus pointed at the metrics ports."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.infra_env import ROOT, known_env_names, mhi_command

COMPOSE = ROOT / "infra" / "compose.yaml"
SPEC: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())  # YAML 1.1 merge keys, as compose
SERVICES: dict[str, Any] = SPEC["services"]
MHI = sorted(name for name, service in SERVICES.items()
             if service.get("command", [""])[0] == "mhi")


def test_the_services() -> None:
    assert set(SERVICES) == {"postgres", "migrate", "api-1", "api-2", "worker", "witness",
                             "fcm-local", "prometheus"}


@pytest.mark.parametrize("name", MHI)
def test_each_runs_an_mhi_entry_point_of_the_projects_image(name: str) -> None:
    service = SERVICES[name]
    mhi_command(service["command"])
    assert service["build"] == {"context": "..", "dockerfile": "infra/Dockerfile"}
    assert (COMPOSE.parent / service["build"]["context"] / service["build"]["dockerfile"]
            ).is_file()


def test_two_api_replicas_and_a_worker() -> None:
    commands = {name: mhi_command(SERVICES[name]["command"]) for name in MHI}
    assert sorted(name for name, command in commands.items() if command == "serve") == [
        "api-1", "api-2"]
    assert [name for name, command in commands.items() if command == "worker"] == ["worker"]
    assert commands["migrate"] == "db migrate"
    assert commands["witness"] == "witness"


def test_the_worker_and_its_witness_share_the_log_keys() -> None:
    """The witness follows the log key the worker makes; the worker asks that witness."""
    worker, witness = SERVICES["worker"], SERVICES["witness"]
    assert worker["volumes"] == witness["volumes"]
    mounted = {volume.split(":")[1] for volume in worker["volumes"]}
    for service in (worker, witness):
        env = service["environment"]
        assert {env["TLOG_KEY_DIR"], env["WITNESS_DIR"]} == mounted
    assert worker["environment"]["WITNESS_HOST"] == "witness"
    assert set(SPEC["volumes"]) >= {volume.split(":")[0] for volume in worker["volumes"]}


@pytest.mark.parametrize("name", ["api-1", "api-2", "worker"])
def test_they_start_after_the_migration_step_succeeded(name: str) -> None:
    after = SERVICES[name]["depends_on"]
    assert after["migrate"] == {"condition": "service_completed_successfully"}
    assert after["postgres"] == {"condition": "service_healthy"}
    assert SERVICES["migrate"]["restart"] == "no"  # a one-shot step


@pytest.mark.parametrize("name", ["api-1", "api-2", "worker"])
def test_health_is_readyz(name: str) -> None:
    test = " ".join(SERVICES[name]["healthcheck"]["test"])
    if name == "worker":
        command = SERVICES[name]["command"]
        port = command[command.index("--health-port") + 1]
    else:
        port = "8000"  # APP_PORT's default, where `mhi serve` listens
    assert f"http://127.0.0.1:{port}/readyz" in test


@pytest.mark.parametrize("name", MHI)
def test_every_variable_set_is_one_the_code_reads(name: str) -> None:
    unknown = set(SERVICES[name].get("environment", {})) - known_env_names()
    assert not unknown, f"{name} sets what nothing reads: {unknown}"


def test_no_secret_is_written_in_the_file() -> None:
    env = SERVICES["api-1"]["environment"]
    assert env["AUTH_SECRET_KEY"].startswith("${AUTH_SECRET_KEY:?")  # refused when unset


def test_prometheus_scrapes_every_process_on_its_metrics_port() -> None:
    ports = {name: SERVICES[name]["environment"].get("METRICS_PORT")
             for name in ("api-1", "api-2", "worker")}
    assert ports == {"api-1": "9464", "api-2": "9464", "worker": "9465"}
    assert SERVICES["api-1"]["environment"]["METRICS_HOST"] == "0.0.0.0"  # noqa: S104
    config = yaml.safe_load(SPEC["configs"]["prometheus"]["content"])
    targets = {job["job_name"]: sorted(t for group in job["static_configs"]
                                       for t in group["targets"])
               for job in config["scrape_configs"]}
    assert targets == {"mhi-api": ["api-1:9464", "api-2:9464"], "mhi-worker": ["worker:9465"]}


def test_prometheus_has_the_projects_jobs_and_alert_rules() -> None:
    """The alert rules select on the job names of infra/prometheus/prometheus.yml."""
    project = yaml.safe_load((ROOT / "infra" / "prometheus" / "prometheus.yml").read_text())
    config = yaml.safe_load(SPEC["configs"]["prometheus"]["content"])
    assert ({job["job_name"] for job in config["scrape_configs"]}
            == {job["job_name"] for job in project["scrape_configs"]})
    assert config["global"] == project["global"]
    service = SERVICES["prometheus"]
    assert service["configs"] == [{"source": "prometheus",
                                   "target": "/etc/prometheus/prometheus.yml"}]
    for rules in config["rule_files"]:
        assert rules in project["rule_files"]
        mounts = [v for v in service["volumes"] if v.endswith(f":/etc/prometheus/{rules}:ro")]
        [mount] = mounts
        assert (COMPOSE.parent / mount.split(":")[0]).is_file()
