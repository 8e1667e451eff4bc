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
import json
import re
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"


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
    def __init__(self, path: Path) -> None:
        self.path = path
        self.manifest: dict[str, Any] = {}

    @classmethod
    def create(cls, out: Path, label: str) -> RunDirectory:
        run = cls(create_stamped_directory(out, label).resolve())
        for sub in ("keys", "locust", "samples", "histograms", "logs"):
            (run.path / sub).mkdir()
        return run

    @property
    def keys(self) -> Path:
        return self.path / "keys"

    @property
    def locust(self) -> Path:
        return self.path / "locust"

    @property
    def samples(self) -> Path:
        return self.path / "samples"

    @property
    def logs(self) -> Path:
        return self.path / "logs"

    def update_manifest(self, **entries: Any) -> None:
        """Merge `entries` into the manifest and rewrite it (atomically: a reader never sees half a file)."""
        self.manifest.update(entries)
        path = self.path / MANIFEST
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.manifest, indent=2, default=str) + "\n")
        temporary.replace(path)

    def read_json(self, relative: str) -> Any:
        path = self.path / relative
        try:
            return json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
