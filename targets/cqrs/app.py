"""ASGI entry point of the CQRS target: `uvicorn targets.cqrs.app:create_app --factory`.

The projectors run as separate processes: `python -m targets.cqrs.projector --shard I --shards N`.
"""

from starlette.applications import Starlette

from targets.common.app import build_app
from targets.common.service import Service
from targets.common.settings import TargetSettings
from targets.cqrs.service import CqrsService
from targets.cqrs.settings import CqrsSettings


async def _service(settings: TargetSettings) -> Service:
    return await CqrsService.start(settings, CqrsSettings.from_env())


def create_app() -> Starlette:
    CqrsSettings.from_env()  # a bad BENCH_CQRS_* setting stops the worker at start, naming the key
    return build_app("cqrs", _service, TargetSettings.from_env())
