"""ASGI entry point of the floor target: `uvicorn targets.floor.app:create_app --factory`."""

from starlette.applications import Starlette

from targets.common.app import build_app
from targets.common.service import Service
from targets.common.settings import TargetSettings
from targets.floor.service import FloorService


async def _service(settings: TargetSettings) -> Service:
    return await FloorService.start(settings)


def create_app() -> Starlette:
    return build_app("floor", _service, TargetSettings.from_env())
