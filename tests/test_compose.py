"""docker-compose.yml and the Dockerfile stay runnable although no Docker engine runs here."""

from __future__ import annotations

import importlib
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from uvicorn.importer import import_from_string
from uvicorn.main import main as uvicorn_cli
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from bench.commands.seed import seed
from bench.infra.postgres import SERVER_SETTINGS
from bench.infra.target_process import HTTP_PROTOCOL
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
    words = shlex.split(command) if isinstance(command, str) else list(command)
    return [_INTERPOLATION.sub(lambda match: match.group(2), word) for word in words]


_INTERPOLATION = re.compile(r"\$\{(\w+):-([^}]*)\}")  # ${VAR:-default}, as compose fills it in when VAR is unset


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
        # The same HTTP layer as `bench up` (its header deadline), and an import string uvicorn can resolve.
        assert context.params["http"] == HTTP_PROTOCOL, name
        assert issubclass(import_from_string(context.params["http"]), HttpToolsProtocol)


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
            if condition == {"condition": "service_completed_successfully"}:
                assert "load" in services[dependency].get("profiles", []), f"{dependency} is a one-off job"
                continue
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


_PARSE_LOCUST_ARGV = """
import json, sys
from locust.argument_parser import get_parser
from scenarios.options import add_arguments
parser = get_parser()
add_arguments(parser)
print(json.dumps(vars(parser.parse_args(json.loads(sys.argv[1])))))
"""


def _locust_options(argv: list[str]) -> dict[str, Any]:
    """Locust's own parser with the scenarios' options, in a child: importing Locust monkey-patches with gevent."""
    child = subprocess.run(
        [sys.executable, "-c", _PARSE_LOCUST_ARGV, json.dumps(argv)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=20,
    )
    assert child.returncode == 0, f"locust rejects {argv}: {child.stderr[-800:]}"
    options: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    return options


def test_locust_commands_are_valid_for_locust_and_the_scenarios(services: dict[str, Any]) -> None:
    roles = {}
    for name, service in services.items():
        command = _command(service)
        if command[:1] != ["locust"]:
            continue
        options = _locust_options(command[1:])
        assert (ROOT / options["locustfile"]).exists(), f"{name}: no locustfile {options['locustfile']}"
        assert service.get("profiles") == ["load"], f"{name} must not start with the targets"
        roles[name] = "master" if options["master"] else "worker" if options["worker"] else "local"
        if options["master"]:
            assert options["host"].removeprefix("http://").split(":")[0] in services
            assert options["bench_keys"]
            assert options["bench_out"]
        else:
            assert options["master_host"] in services, f"{name}: no master {options['master_host']}"
    assert sorted(roles.values()) == ["master", "worker"]


def test_a_bad_locust_option_is_caught() -> None:
    """The check above can fail: an option Locust does not have is rejected."""
    with pytest.raises(AssertionError, match="locust rejects"):
        _locust_options(["-f", "scenarios/mixed.py", "--bench-no-such-option", "1"])


def test_the_seed_job_is_a_valid_bench_seed(services: dict[str, Any]) -> None:
    command = _command(services["seed"])
    assert command[:2] == ["bench", "seed"]
    context = seed.make_context("bench seed", command[2:])
    assert context.params["target"] in {"crud", "cqrs", "floor"}
    keys_volume = f"keys:{context.params['out']}"
    for name in ("seed", "locust-master", "locust-worker"):
        assert keys_volume in services[name]["volumes"], f"{name} does not see the seeded keys"
