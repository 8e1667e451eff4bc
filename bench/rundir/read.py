"""Reading a run directory's files into their structs, with errors that name the file, the field and the version.

Every reader first checks the manifest's format: a directory written by another version of
cqrs-bench is refused with a sentence saying so, never half-read.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import msgspec

from bench.rundir import files
from bench.rundir.checks import DataChecks
from bench.rundir.faults import FaultTimeline
from bench.rundir.manifest import FORMAT, Manifest
from bench.rundir.phases import Phases
from bench.rundir.steady import SteadySummary
from bench.rundir.writes import WriteCheck

T = TypeVar("T")


class RunDirectoryError(ValueError):
    """A run directory that cannot be read: missing, damaged, or written by another version."""


class _Version(msgspec.Struct):
    format: int | None = None


class _Revision(msgspec.Struct):
    revision: str | None = None


class _Provenance(msgspec.Struct):
    git: _Revision | None = None


def decode_file(path: Path, kind: type[T]) -> T:
    """`path` decoded as `kind`; a RunDirectoryError names the file and the field that did not fit."""
    try:
        return msgspec.json.decode(path.read_bytes(), type=kind)
    except FileNotFoundError:
        raise RunDirectoryError(f"{path} is missing") from None
    except msgspec.ValidationError as error:
        raise RunDirectoryError(
            f"{path}: {error} (expected {kind.__name__} of run directory format {FORMAT})"
        ) from None
    except msgspec.DecodeError as error:
        raise RunDirectoryError(f"{path} is not readable JSON: {error}") from None


def is_run_directory(path: Path) -> bool:
    return (path / files.MANIFEST).is_file()


def check_format(run: Path) -> None:
    """Raise RunDirectoryError unless `run` is a run directory of this version's format."""
    path = run / files.MANIFEST
    if not path.is_file():
        raise RunDirectoryError(f"{run} is not a run directory: expected a readable {files.MANIFEST} in it")
    found = decode_file(path, _Version).format
    if found == FORMAT:
        return
    revision = decode_file(path, _Provenance).git
    at = f" (it names git revision {revision.revision})" if revision and revision.revision else ""
    age = "an older" if found is None or found < FORMAT else "a newer"
    raise RunDirectoryError(
        f"{run} was written by {age} version of cqrs-bench (run directory format {found or 1}); this version "
        f"reads format {FORMAT}: run it again, or read it with the version that wrote it{at}"
    )


def read_manifest(run: Path) -> Manifest:
    check_format(run)
    return decode_file(run / files.MANIFEST, Manifest)


def read_optional(run: Path, relative: str, kind: type[T]) -> T | None:
    """A file the run may not have written (it was cut short): None when it is missing."""
    path = run / relative
    return decode_file(path, kind) if path.is_file() else None


def read_phases(run: Path) -> Phases | None:
    return read_optional(run, files.PHASES, Phases)


def read_steady(run: Path) -> SteadySummary | None:
    return read_optional(run, files.STEADY, SteadySummary)


def read_data_checks(run: Path) -> DataChecks | None:
    return read_optional(run, files.DATA_CHECKS, DataChecks)


def read_faults(run: Path) -> FaultTimeline | None:
    """What a run with --fault injected; None for a run without faults."""
    return read_optional(run, files.FAULTS, FaultTimeline)


def read_write_check(run: Path) -> WriteCheck | None:
    """The acknowledged-writes verdict; None for a run that did not get that far."""
    return read_optional(run, files.ACKNOWLEDGED, WriteCheck)
