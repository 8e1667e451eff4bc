"""ASGI entry points of the CQRS target: `uvicorn targets.cqrs.app:create_app --factory`, and the query side
alone, `uvicorn targets.cqrs.app:create_query_app --factory` (the query workers of `--query-workers`).

The projectors run as separate processes: `python -m targets.cqrs.projector --shard I --shards N`.
"""

from starlette.applications import Starlette

from targets.common.app import build_app
from targets.common.endpoints import is_query
from targets.common.service import Service
from targets.common.settings import TargetSettings
from targets.cqrs.service import CqrsService
from targets.cqrs.settings import CqrsSettings


async def _service(settings: TargetSettings) -> Service:
    return await CqrsService.start(settings, CqrsSettings.from_env())


def create_app() -> Starlette:
    CqrsSettings.from_env()  # a bad BENCH_CQRS_* setting stops the worker at start, naming the key
    return build_app("cqrs", _service, TargetSettings.from_env())


async def _query_service(settings: TargetSettings) -> Service:
    return await CqrsService.start(settings, CqrsSettings.from_env(), commands=False)


def create_query_app() -> Starlette:
    """The reads of the contract and nothing else: a process that takes no command, opens no write path."""
    CqrsSettings.from_env()
    return build_app("cqrs", _query_service, TargetSettings.from_env(), serves=is_query)
