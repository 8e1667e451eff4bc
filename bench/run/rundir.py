"""The run directory: where everything a run measured goes, and its manifest.

<out>/<UTC time>-<target>-<scenario>-<mix>/
    manifest.json          versions, settings, host, git revision, seed, phases, validity, complete?
    timeseries.csv         one row per second: load, latency, resources, database, lag, generator
    latency.csv            per second and endpoint: requests, failures, percentiles
    failures.csv, visibility.csv, actions.csv, loop_lag.csv, users.csv, phases.json
    histograms/intervals.csv   per second and endpoint, HdrHistogram (base64 V2)
    histograms/steady.json     the steady state's merged histograms and their summaries
    samples/               processes.csv, generator.csv, postgres.csv, projection_lag.csv, target_stats.jsonl
    locust/                Locust's own statistics (locust_*.csv, stats.json), its log and command line
    keys/                  the key files the scenario drew from
    logs/                  target logs
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from bench.rundir import files
from bench.rundir.manifest import Manifest
from bench.rundir.write import write_struct


def create_stamped_directory(root: Path, name: str) -> Path:
    """A new, empty root/<UTC stamp>-<name>/ (a numeric suffix keeps two of the same second apart)."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    base = f"{stamp}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', name) or 'unnamed'}"
    root.mkdir(parents=True, exist_ok=True)
    for attempt in range(1000):
        path = root / (base if attempt == 0 else f"{base}-{attempt}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"could not create a new directory under {root}")


class RunDirectory:
    """A run directory being written; `manifest` is rewritten by save_manifest() as the run goes."""

    def __init__(self, path: Path, manifest: Manifest) -> None:
        self.path = path
        self.manifest = manifest

    @classmethod
    def create(cls, out: Path, label: str, manifest: Manifest) -> RunDirectory:
        run = cls(create_stamped_directory(out, label).resolve(), manifest)
        for sub in files.SUBDIRECTORIES:
            (run.path / sub).mkdir()
        run.save_manifest()
        return run

    @property
    def keys(self) -> Path:
        return self.path / files.KEYS_DIR

    @property
    def locust(self) -> Path:
        return self.path / files.LOCUST_DIR

    @property
    def samples(self) -> Path:
        return self.path / files.SAMPLES_DIR

    @property
    def logs(self) -> Path:
        return self.path / files.LOGS_DIR

    def save_manifest(self) -> None:
        """Rewrite manifest.json (atomically: a reader never sees half a file)."""
        write_struct(self.path / files.MANIFEST, self.manifest)
