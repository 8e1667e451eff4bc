"""Every target there is: each package under targets/ that exports `TARGET`, and those named in BENCH_TARGET_MODULES.

A target outside this tree joins by being importable and listed there (comma-separated module
names, each exporting `TARGET`, a TargetDescription), the way eventsourcing finds a persistence
module named in an environment variable. The harness and the tests look targets up only here.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Mapping

import targets
from targets.common.description import TargetDescription

MODULES_ENV = "BENCH_TARGET_MODULES"
NOT_TARGETS = frozenset({"common"})


class RegistryError(LookupError):
    pass


def target_modules(env: Mapping[str, str] | None = None) -> list[str]:
    env = os.environ if env is None else env
    built_in = [
        f"targets.{module.name}"
        for module in pkgutil.iter_modules(targets.__path__)
        if module.ispkg and module.name not in NOT_TARGETS
    ]
    extra = [name.strip() for name in env.get(MODULES_ENV, "").split(",") if name.strip()]
    return built_in + extra


def all_targets(env: Mapping[str, str] | None = None) -> dict[str, TargetDescription]:
    """The targets by name, the built-in ones first."""
    found: dict[str, TargetDescription] = {}
    for module_name in target_modules(env):
        description = _description(module_name)
        if description.name in found:
            raise RegistryError(f"{module_name}: a target named {description.name!r} is already defined")
        found[description.name] = description
    return found


def target_names(env: Mapping[str, str] | None = None) -> list[str]:
    return sorted(all_targets(env))


def query_side_targets(env: Mapping[str, str] | None = None) -> list[str]:
    """The targets whose query side can run in processes of its own (`--query-workers`)."""
    return [name for name, spec in sorted(all_targets(env).items()) if spec.query_app is not None]


def get_target(name: str, env: Mapping[str, str] | None = None) -> TargetDescription:
    known = all_targets(env)
    if name not in known:
        raise RegistryError(f"no target named {name!r}; expected one of {', '.join(sorted(known))}")
    return known[name]


def _description(module_name: str) -> TargetDescription:
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise RegistryError(f"{MODULES_ENV}: cannot import target module {module_name!r}: {error}") from error
    description = getattr(module, "TARGET", None)
    if not isinstance(description, TargetDescription):
        raise RegistryError(f"target module {module_name!r} exports no TARGET (a TargetDescription)")
    return description
