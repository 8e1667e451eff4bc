"""A target from outside the targets/ tree, described in this one module: the floor's service under another name.

It joins the harness only through BENCH_TARGET_MODULES=tests.outside_target (see tests/test_targets.py).
"""

from __future__ import annotations

from starlette.applications import Starlette

from targets.common.app import build_app
from targets.common.description import TargetDescription
from targets.common.service import Service
from targets.common.settings import TargetSettings
from targets.floor.service import FloorService
from targets.floor.stats import FloorStats

NAME = "echo"


class EchoService(FloorService):
    name = NAME


async def _service(settings: TargetSettings) -> Service:
    return await EchoService.start(settings)


def create_app() -> Starlette:
    return build_app(NAME, _service, TargetSettings.from_env())


TARGET = TargetDescription(name=NAME, app="tests.outside_target:create_app", stats=FloorStats)
