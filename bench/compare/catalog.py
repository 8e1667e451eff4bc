"""Experiments by name: `bench compare projectors` runs scenarios/experiments/projectors.toml."""

from __future__ import annotations

import os
from pathlib import Path

from bench.compare.experiment import DEFAULT_EXPERIMENT, EXPERIMENT_DIR, ExperimentError

SUFFIX = ".toml"


def experiment_names() -> list[str]:
    """The names `find_experiment` knows: the stems of the experiment files shipped in scenarios/experiments."""
    return sorted(path.stem for path in EXPERIMENT_DIR.glob(f"*{SUFFIX}") if path.is_file())


def find_experiment(given: str | None) -> Path:
    """The experiment file meant by `given`: a path (with a directory or the .toml suffix) as it is, a bare
    name the file of that stem in scenarios/experiments (else a file of that name here), nothing the default.
    """
    if given is None:
        return DEFAULT_EXPERIMENT
    if given.endswith(SUFFIX) or "/" in given or os.sep in given:
        return Path(given)
    named = EXPERIMENT_DIR / f"{given}{SUFFIX}"
    if named.is_file():
        return named
    if Path(given).is_file():
        return Path(given)
    raise ExperimentError(
        f"no experiment is named {given!r}; expected the path of a {SUFFIX} file or a name from "
        f"scenarios/experiments: {', '.join(experiment_names())}"
    )
