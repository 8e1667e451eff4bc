"""An arm's `settings`: target settings by their environment names, checked against the target before any run.

    [[arms]]
    name = "cqrs-no-view-cache"
    target = "cqrs"
    settings = { BENCH_CQRS_VIEW_CACHE = 0 }

Settings that an arm has keys of its own for, or that the harness sets, are refused with the key to use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from targets.common.settings import SettingsError
from targets.registry import get_target

SET_OTHERWISE = {
    "BENCH_PG_POOL_SIZE": "the arm's pg_pool_size = N",
    "BENCH_FLOOR_DELAY": 'the arm\'s floor_delay = "SPEC"',
    "BENCH_FLOOR_SPIN_US": "`bench calibrate`",
}


class TargetSettingError(ValueError):
    pass


def arm_settings(values: Mapping[str, Any], where: str, target: str | None) -> dict[str, str]:
    """The environment the settings `values` of an arm (at `where`) give its target; errors name the key."""
    if not values:
        return {}
    if target is None:
        raise TargetSettingError(f"{where}: only for arms with a target; a host arm's service has its own settings")
    spec = get_target(target)
    set_otherwise = dict(SET_OTHERWISE)
    if spec.companion is not None:
        set_otherwise[spec.companion.count_env] = "the arm's projectors = N"
    settable = sorted(spec.setting_keys() - set(set_otherwise))
    env: dict[str, str] = {}
    for key, value in values.items():
        if key in set_otherwise:
            raise TargetSettingError(f"{where}.{key}: set by {set_otherwise[key]}, not here")
        if key not in settable:
            raise TargetSettingError(
                f"{where}.{key}: the {target} target has no such setting; expected one of: {', '.join(settable)}"
            )
        env[key] = _text(value, f"{where}.{key}")
    try:
        spec.check_settings(env)
    except SettingsError as error:
        raise TargetSettingError(f"{where}: {error}") from None
    return env


def _text(value: object, where: str) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | str):
        return str(value)
    raise TargetSettingError(f"{where} = {value!r}: expected a string, an integer or true/false")
