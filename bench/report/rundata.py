"""One run directory as the report reads it: manifest, steady-state histograms, time series, data checks.

Everything is decoded into the run directory's structs (bench.rundir); a directory of another
format version is refused by the reader with a sentence saying so.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import pandas as pd

from bench.run.timeseries import read_csv
from bench.rundir import columns, files
from bench.rundir.checks import DataChecks
from bench.rundir.faults import FaultTimeline
from bench.rundir.manifest import ExperimentTag, Manifest, Observability
from bench.rundir.phases import SecondPhase
from bench.rundir.read import (
    is_run_directory,
    read_data_checks,
    read_faults,
    read_manifest,
    read_steady,
    read_write_check,
)
from bench.rundir.steady import SteadySummary
from bench.rundir.validity import Finding, FindingKind, Validity
from bench.rundir.writes import WriteCheck

__all__ = ["DataOutcome", "DataVerdict", "RunData", "is_run_directory"]


class DataOutcome(StrEnum):
    PASSED = "passed"
    FAILED = "FAILED"
    NOT_CHECKED = "not checked"


@dataclass(frozen=True)
class DataVerdict:
    """The data checks of one run, as the report states them."""

    outcome: DataOutcome
    detail: str | None = None  # the failed checks, or why nothing was checked

    @property
    def said(self) -> str:
        return f"{self.outcome.value}: {self.detail}" if self.detail else self.outcome.value


@dataclass(frozen=True)
class RunData:
    path: Path
    manifest: Manifest
    steady: SteadySummary | None  # None when the run never wrote histograms/steady.json
    timeseries: pd.DataFrame
    data_checks: DataChecks | None  # None: not checked
    write_check: WriteCheck | None = None  # acknowledged.json; None: a run from before the check, or cut short
    faults: FaultTimeline | None = None  # faults.json; None: a run without faults

    @classmethod
    def load(cls, path: Path) -> RunData:
        return cls(
            path=path,
            manifest=read_manifest(path),
            steady=read_steady(path),
            timeseries=read_csv(path / files.TIMESERIES),
            data_checks=read_data_checks(path),
            write_check=read_write_check(path),
            faults=read_faults(path),
        )

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def experiment(self) -> ExperimentTag | None:
        return self.manifest.experiment

    @property
    def complete(self) -> bool:
        return self.manifest.complete

    @property
    def validity(self) -> Validity:
        if self.manifest.validity is not None:
            return self.manifest.validity
        unjudged = Validity()
        unjudged.invalidate(FindingKind.INCOMPLETE, "the run recorded no validity: it never finished")
        return unjudged

    @property
    def valid(self) -> bool:
        return self.complete and self.validity.valid

    @property
    def findings(self) -> list[Finding]:
        """Why the run is not counted; an incomplete run always has an INCOMPLETE finding."""
        found = list(self.validity.findings)
        if not self.complete and not self.validity.of_kind(FindingKind.INCOMPLETE):
            ended = self.manifest.ended.summary if self.manifest.ended is not None else "unknown reason"
            found.insert(0, Finding(FindingKind.INCOMPLETE, f"the run did not complete: {ended}"))
        return found

    @property
    def invalid_reasons(self) -> list[str]:
        return [finding.detail for finding in self.findings]

    @property
    def observability(self) -> dict[str, Observability]:
        return self.manifest.observability or {}

    @property
    def data_verdict(self) -> DataVerdict:
        found = self.data_checks
        if found is None:
            return DataVerdict(DataOutcome.NOT_CHECKED)
        if not found.checked:
            return DataVerdict(DataOutcome.NOT_CHECKED, found.why_not_checked or "no reason given")
        failed = [check.name for check in found.checks if not check.passed]
        if not failed:
            return DataVerdict(DataOutcome.PASSED)
        return DataVerdict(DataOutcome.FAILED, ", ".join(failed))

    def steady_rows(self) -> pd.DataFrame:
        table = self.timeseries
        return table[table[columns.PHASE] == SecondPhase.STEADY] if columns.PHASE in table else table.iloc[0:0]
