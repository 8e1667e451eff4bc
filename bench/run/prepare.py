"""Everything before the load: servers, seeding, the target, and what can be sampled of them.

Resources go onto the caller's ExitStack, so that they are released in reverse order on any
exit (the target before the servers it uses).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path

from bench.infra.cpus import CpuPlan, plan_cpus
from bench.infra.errors import InfraError
from bench.infra.postgres import EmbeddedPostgres
from bench.infra.redis import EmbeddedRedis
from bench.infra.stack import Infrastructure, ServerFiles
from bench.infra.target_process import RunningTarget, floor_delay_setting, harness_settings, start_target
from bench.run.collectors.postgres import PostgresCounters
from bench.run.collectors.processes import ProcessTreeSampler
from bench.run.kept_seeds import KEYS, KeptSeed, SeedKey
from bench.run.placement import read_back
from bench.run.rundir import RunDirectory
from bench.run.sampling import Component
from bench.run.settings import RunSettings
from bench.run.watchdog import Watchdog
from bench.rundir.columns import Component as Part
from bench.rundir.manifest import ComponentPlacement, SeedRecord
from bench.seed.api import seed_through_api
from bench.seed.keys import write_key_file, write_keys
from bench.seed.load import SeedReport, seed_target
from scenarios.catalog import ACCOUNT_KEYS, CUSTOMER_KEYS, ORDER_KEYS
from targets.common.dataset import Dataset
from targets.common.seeding import Progress, SeedPlace
from targets.registry import get_target

# PostgreSQL's backends each map the shared buffers: reading every one's PSS each second cost the
# collector 45 ms of a burst per second under the claim's load. Each is read every 5 s in turn instead.
POSTGRES_PSS_EVERY = 5


@dataclass
class Stage:
    """What a run drives and watches."""

    base_url: str
    keys_dir: Path
    infra: Infrastructure | None = None
    target: RunningTarget | None = None
    seed: SeedRecord | None = None
    components: list[Component] = field(default_factory=list)
    postgres: PostgresCounters | None = None
    watchdog: Watchdog = field(default_factory=Watchdog)
    plan: CpuPlan | None = None  # where the node's processes and Locust are pinned

    def node_placement(self) -> list[ComponentPlacement]:
        """Where the node's processes are, read back from them now."""
        placed = []
        asked = self.plan.node if self.plan is not None else None
        for component in self.components:
            if component.name is Part.HARNESS:
                continue
            if component.sampler is None:
                placed.append(ComponentPlacement(component.name.value, None, [], component.not_observable))
            else:
                placed.append(read_back(component.name, component.sampler.root_pids, asked))
        return placed


def prepare(settings: RunSettings, run: RunDirectory, stack: ExitStack, progress: Progress) -> Stage:
    if settings.target is None:
        return _prepare_external(settings, run, progress)
    spec = get_target(settings.target)
    uses_redis = spec.uses_redis({**os.environ, **settings.target_settings})  # the environment the target gets
    outside = (
        ("PostgreSQL (--pg-dsn)", settings.pg_dsn is not None and spec.needs_postgres),
        ("Redis (--redis-url)", settings.redis_url is not None and uses_redis),
    )
    external_servers = [name for name, external in outside if external]
    plan = plan_cpus(settings.cpus, external_servers=external_servers)
    if settings.keys_dir is not None:
        raise InfraError("--keys is for --host runs; a started target gets a fresh database and its own seed")

    def servers(files: ServerFiles | None) -> Infrastructure:
        return Infrastructure(
            pg_dsn=settings.pg_dsn,
            redis_url=settings.redis_url,
            need_postgres=spec.needs_postgres,
            need_redis=uses_redis,
            cpus=plan.node,
            files=files,
        )

    keeps_seed = _keeps_seed(settings, spec.needs_postgres or uses_redis, bool(external_servers))
    kept = _kept_seed(settings, servers, progress) if keeps_seed else None
    infra = stack.enter_context(servers(kept.files if kept is not None else None))
    run.manifest.infrastructure = infra.manifest()
    run.save_manifest()
    target_env = _target_env(settings, infra)
    if kept is not None:
        kept.copy_keys(run.keys)
        seed: SeedReport | None = kept.report
    else:
        seed = _seed(settings, run, infra, target_env, progress)
    running = start_target(
        spec,
        settings_env=target_env,
        log_dir=run.logs,
        workers=settings.workers,
        projectors=settings.projectors,
        query_workers=settings.query_workers,
        cpus=plan.node,
    )
    stack.callback(running.stop)
    record = _seed_record(seed, copied=kept is not None) if seed else None
    stage = Stage(running.base_url, run.keys, infra, running, record, plan=plan)
    stage.components = _components(infra, running)
    if infra.database_dsn is not None:
        runner = stack.enter_context(asyncio.Runner())
        stage.postgres = PostgresCounters(infra.database_dsn, runner)
    stage.watchdog.watch_target(running, companions=not settings.faults)  # with faults, FaultRun supervises them
    stage.watchdog.watch_infrastructure(infra)
    return stage


def _target_env(settings: RunSettings, infra: Infrastructure) -> dict[str, str]:
    target = replace(
        harness_settings(infra.database_dsn, infra.redis_url),
        pg_pool_size=settings.pg_pool_size,
        floor_delay=floor_delay_setting(settings.floor_delay),
        floor_spin_us=round(settings.floor_spin * 1e6),
    )
    return {**target.to_env(), **settings.target_settings}


def _seed_record(report: SeedReport, *, copied: bool) -> SeedRecord:
    return SeedRecord(
        spec=vars(report.spec),
        rows=report.rows,
        seconds=round(report.seconds, 3),
        key_files=[path.name for path in report.key_files],
        copied=copied,
    )


def _keeps_seed(settings: RunSettings, servers: bool, external: bool) -> bool:
    """Whether this run starts from the command's kept seed: only embedded servers' files can be kept, and
    without servers (`servers` False) a seed is only its key files."""
    return settings.seed_store is not None and settings.load_data and servers and not external


def _kept_seed(
    settings: RunSettings, servers: Callable[[ServerFiles | None], Infrastructure], progress: Progress
) -> KeptSeed:
    """The command's one seed of this data set, made now on servers of its own if this is its first run."""
    assert settings.target is not None
    assert settings.seed_store is not None
    target = settings.target

    def seed_and_keep(directory: Path) -> tuple[ServerFiles, SeedReport]:
        with servers(None) as infra:
            place = SeedPlace(infra.database_dsn, infra.redis_url, _target_env(settings, infra))
            report = seed_target(target, settings.seed_spec, keys_dir=directory / KEYS, place=place, progress=progress)
            return infra.keep_files(directory), report

    key = SeedKey.of(target, settings.seed_spec, settings.target_settings)
    return settings.seed_store.seeded(key, seed_and_keep)


def _seed(
    settings: RunSettings, run: RunDirectory, infra: Infrastructure, target_env: dict[str, str], progress: Progress
) -> SeedReport | None:
    assert settings.target is not None
    if not settings.load_data:
        write_keys(Dataset(settings.seed_spec), run.keys)
        return None
    place = SeedPlace(infra.database_dsn, infra.redis_url, target_env)
    return seed_target(settings.target, settings.seed_spec, keys_dir=run.keys, place=place, progress=progress)


def _prepare_external(settings: RunSettings, run: RunDirectory, progress: Progress) -> Stage:
    assert settings.host is not None
    stage = Stage(settings.host, run.keys, plan=plan_cpus(settings.cpus, external_target=settings.host))
    if settings.keys_dir is not None:
        for name in (ACCOUNT_KEYS, CUSTOMER_KEYS, ORDER_KEYS):
            source = settings.keys_dir / name
            if not source.exists():
                raise InfraError(f"the key directory {settings.keys_dir} has no {name}; `bench seed` writes them")
            shutil.copy(source, run.keys / name)
        stage.seed = SeedRecord(keys_from=str(settings.keys_dir))
    elif settings.load_data:
        data = Dataset(settings.seed_spec)
        seeded = asyncio.run(seed_through_api(settings.host, data, progress))
        write_key_file(run.keys / ACCOUNT_KEYS, seeded.account_ids)
        write_key_file(run.keys / CUSTOMER_KEYS, seeded.customer_ids)
        write_key_file(run.keys / ORDER_KEYS, seeded.order_ids)
        stage.seed = SeedRecord(through_api=True, spec=vars(settings.seed_spec))
    else:
        raise InfraError("a --host run with --no-seed needs --keys DIR with the key files of an earlier seed")
    reason = f"an external service at {settings.host}, not started by the harness"
    stage.components = [Component(Part.TARGET, None, reason), _harness()]
    return stage


def _components(infra: Infrastructure, target: RunningTarget) -> list[Component]:
    components = [Component(Part.TARGET, ProcessTreeSampler([target.process.pid]))]
    if target.query_workers is not None:
        components.append(Component(Part.QUERY, ProcessTreeSampler([target.query_workers.process.pid])))
    if target.companions:
        components.append(Component(Part.PROJECTORS, ProcessTreeSampler([p.pid for p in target.companions])))
    if isinstance(infra.postgres, EmbeddedPostgres):
        sampler = ProcessTreeSampler([infra.postgres.pid], pss_every=POSTGRES_PSS_EVERY)
        components.append(Component(Part.POSTGRES, sampler))
    elif infra.postgres is not None:
        components.append(Component(Part.POSTGRES, None, "an external server; its processes are not visible here"))
    if isinstance(infra.redis, EmbeddedRedis):
        components.append(Component(Part.REDIS, ProcessTreeSampler([infra.redis.pid])))
    elif infra.redis is not None:
        components.append(Component(Part.REDIS, None, "an external server; its processes are not visible here"))
    components.append(_harness())
    return components


def _harness() -> Component:
    return Component(Part.HARNESS, ProcessTreeSampler([os.getpid()], descendants=False, pss=False))
