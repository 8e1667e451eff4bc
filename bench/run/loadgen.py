"""Starting Locust for a run: headless, the scenario's locustfile, its options, output into the run directory."""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from subprocess import Popen
from urllib.parse import urlsplit

from bench.infra.processes import spawn
from bench.run.rundir import RunDirectory
from bench.run.settings import LoadSettings
from scenarios.catalog import SCENARIOS


def headless_argv(
    locustfile: Path, *, host: str, users: int, spawn_rate: float, csv_prefix: Path, json_prefix: Path, processes: int
) -> list[str]:
    """Plain headless Locust on `locustfile`, CSVs and JSON to the prefixes; the file's own options go after."""
    argv = [
        sys.executable,
        "-m",
        "locust",
        *("-f", str(locustfile)),
        "--headless",
        *("--host", host),
        *("--users", str(users)),
        *("--spawn-rate", f"{spawn_rate:g}"),
        *("--csv", str(csv_prefix)),
        *("--json-file", str(json_prefix)),
        "--only-summary",
        *("--exit-code-on-error", "0"),  # failed requests are results; the harness judges the run
    ]
    if processes > 1:
        argv += ["--processes", str(processes)]
    return argv


def locust_argv(
    load: LoadSettings, *, host: str, run: RunDirectory, keys_dir: Path, query_host: str | None = None
) -> list[str]:
    """`query_host`: where the reads go when the target's query side serves apart; None: the `host`."""
    think_min, think_max = load.think_time
    return [
        *headless_argv(
            SCENARIOS[load.scenario],
            host=host,
            users=load.users,
            spawn_rate=load.spawn_rate,
            csv_prefix=run.locust / "locust",
            json_prefix=run.locust / "stats",
            processes=load.processes,
        ),
        *("--bench-keys", str(keys_dir)),
        *("--bench-out", str(run.path)),
        *("--bench-mix", load.mix),
        *("--bench-skew", str(load.skew)),
        *("--bench-think-min", f"{think_min:g}", "--bench-think-max", f"{think_max:g}"),
        *("--bench-rate", f"{load.rate or 0:g}"),
        *("--bench-visibility-share", f"{load.visibility_share:g}"),
        *("--bench-seed", str(load.seed)),
        *("--bench-warmup", f"{load.warmup:g}"),
        *("--bench-duration", f"{load.duration:g}"),
        *(("--bench-query-host", query_host) if query_host is not None else ()),
    ]


def locust_env(host: str, base: Mapping[str, str]) -> dict[str, str]:
    """`base`, with gevent resolving in the event loop's own thread when the target is an IP address.

    A user that thought longer than the server's keep-alive (uvicorn's is 5 s; the claim's users think
    20-40 s) reconnects, and gevent's default resolver runs every getaddrinfo in a thread pool: profiled
    with 10,000 users, a quarter of the generator's samples went to handing those calls to threads and
    back, and its loop woke late. For an address literal getaddrinfo does no lookup, so the blocking
    resolver costs nothing; for a name it could wait on DNS, so the default stays. A GEVENT_RESOLVER
    already set wins."""
    env = dict(base)
    hostname = urlsplit(host).hostname or ""
    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        return env
    env.setdefault("GEVENT_RESOLVER", "block")
    return env


def start_locust(
    load: LoadSettings,
    *,
    host: str,
    run: RunDirectory,
    keys_dir: Path,
    cpus: frozenset[int] | None = None,
    query_host: str | None = None,
) -> Popen[bytes]:
    """Start Locust headless; with `cpus`, its master and every worker it forks run only there."""
    argv = locust_argv(load, host=host, run=run, keys_dir=keys_dir, query_host=query_host)
    (run.locust / "command.txt").write_text(" ".join(argv) + "\n")
    return spawn(argv, env=locust_env(host, os.environ), log_path=run.locust / "locust.log", cpus=cpus)
