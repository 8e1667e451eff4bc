"""docker-compose.yml and the Dockerfile stay runnable although no Docker engine runs here."""

from __future__ import annotations

import importlib
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from uvicorn.main import main as uvicorn_cli

from bench.infra.postgres import SERVER_SETTINGS
from targets.common.settings import TargetSettings
from targets.cqrs.settings import CqrsSettings

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.timeout(30)


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return dict(document["services"])


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command", [])
    return shlex.split(command) if isinstance(command, str) else list(command)


def test_images_are_pinned(services: dict[str, Any]) -> None:
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        if "build" not in service:
            image = service["image"]
            assert re.fullmatch(r"[\w./-]+:\d[\w.-]*", image), f"{name}: image {image!r} is not pinned to a version"


def test_uvicorn_commands_name_real_apps_and_valid_options(services: dict[str, Any]) -> None:
    targets = [name for name, service in services.items() if _command(service)[:1] == ["uvicorn"]]
    assert {"crud", "cqrs", "floor"} <= set(targets)
    for name in targets:
        argv = _command(services[name])[1:]
        # Raises click.UsageError on an option uvicorn does not have.
        context = uvicorn_cli.make_context("uvicorn", list(argv))
        module_name, _, attribute = context.params["app"].partition(":")
        factory = getattr(importlib.import_module(module_name), attribute)
        assert callable(factory), f"{name}: {context.params['app']} is not callable"
        assert context.params["factory"], f"{name}: the target apps are factories; pass --factory"


def test_python_module_commands_name_real_modules_and_valid_arguments(services: dict[str, Any]) -> None:
    modules = [name for name, service in services.items() if _command(service)[:2] == ["python", "-m"]]
    assert "cqrs-projector" in modules
    for name in modules:
        module_name, *argv = _command(services[name])[2:]
        module = importlib.import_module(module_name)
        assert callable(getattr(module, "main", None)), f"{name}: {module_name} has no main()"
        module.parse_args(argv)  # exits (SystemExit) on arguments the module does not take


def test_target_environment_is_valid_settings(services: dict[str, Any]) -> None:
    checked = 0
    for service in services.values():
        environment = service.get("environment") or {}
        if any(key.startswith("BENCH_") for key in environment):
            env = {key: str(value) for key, value in environment.items()}
            TargetSettings.from_env(env)
            CqrsSettings.from_env(env)
            checked += 1
    assert checked >= 2


def test_dependencies_exist_and_wait_for_health(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown service {dependency}"
            assert condition == {"condition": "service_healthy"}
            assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck to wait on"


def test_postgres_runs_with_the_embedded_servers_settings(services: dict[str, Any]) -> None:
    command = _command(services["postgres"])
    settings = dict(command[i + 1].split("=", 1) for i, word in enumerate(command) if word == "-c")
    assert settings == dict(SERVER_SETTINGS)


def test_dockerfile_copies_paths_that_exist() -> None:
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            *sources, _ = line.split()[1:]
            for source in sources:
                assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
