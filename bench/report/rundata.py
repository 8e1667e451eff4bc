"""One run directory as the report reads it: manifest, steady-state histograms, time series, invariants."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from bench.run.rundir import MANIFEST
from bench.run.timeseries import read_csv

INVARIANTS = "invariants.json"


def is_run_directory(path: Path) -> bool:
    return (path / MANIFEST).is_file()


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


@dataclass(frozen=True)
class RunData:
    path: Path
    manifest: dict[str, Any]
    steady: dict[str, Any]  # histograms/steady.json; empty when the run never wrote it
    timeseries: pd.DataFrame
    invariants: dict[str, Any] | None  # None: not checked

    @classmethod
    def load(cls, path: Path) -> RunData:
        manifest = _json(path / MANIFEST)
        if not isinstance(manifest, dict):
            raise ValueError(f"{path} is not a run directory: expected a readable {MANIFEST} in it")
        steady = _json(path / "histograms" / "steady.json")
        invariants = _json(path / INVARIANTS)
        return cls(
            path=path,
            manifest=manifest,
            steady=steady if isinstance(steady, dict) else {},
            timeseries=read_csv(path / "timeseries.csv"),
            invariants=invariants if isinstance(invariants, dict) else None,
        )

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def experiment(self) -> dict[str, Any] | None:
        found = self.manifest.get("experiment")
        return found if isinstance(found, dict) else None

    @property
    def complete(self) -> bool:
        return bool(self.manifest.get("complete"))

    @property
    def validity(self) -> dict[str, Any]:
        found = self.manifest.get("validity")
        return found if isinstance(found, dict) else {"valid": False, "reasons": ["the run recorded no validity"]}

    @property
    def valid(self) -> bool:
        return self.complete and bool(self.validity.get("valid"))

    @property
    def invalid_reasons(self) -> list[str]:
        reasons = [str(reason) for reason in self.validity.get("reasons") or []]
        if not self.complete and not any("did not complete" in reason for reason in reasons):
            reasons.insert(0, f"the run did not complete: {self.manifest.get('ended_because', 'unknown reason')}")
        return reasons

    @property
    def observability(self) -> dict[str, str]:
        found = self.manifest.get("observability")
        return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}

    @property
    def invariant_verdict(self) -> str:
        """'passed', 'FAILED: <checks>' or 'not checked[: why]'."""
        found = self.invariants
        if found is None:
            return "not checked"
        if not found.get("checked"):
            return f"not checked: {found.get('why_not_checked') or 'no reason given'}"
        failed = [str(check.get("name")) for check in found.get("checks") or [] if not check.get("passed")]
        if not failed:
            return "passed"
        return "FAILED: " + (", ".join(failed) if failed else "the check reported a failure")

    def steady_rows(self) -> pd.DataFrame:
        table = self.timeseries
        return table[table["phase"] == "steady"] if "phase" in table else table.iloc[0:0]
