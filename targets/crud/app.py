"""ASGI entry point of the CRUD baseline: `uvicorn targets.crud.app:create_app --factory`."""

from starlette.applications import Starlette

from targets.common.app import build_app
from targets.common.service import Service
from targets.common.settings import TargetSettings
from targets.crud.service import CrudService


async def _service(settings: TargetSettings) -> Service:
    return await CrudService.start(settings)


def create_app() -> Starlette:
    return build_app("crud", _service, TargetSettings.from_env())
