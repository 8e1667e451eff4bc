"""The EXPERIMENT argument and --set of `bench compare` and `bench sweep`: a file by path or name, changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from bench.compare.catalog import find_experiment
from bench.compare.experiment import Experiment, ExperimentError, load_experiment
from bench.compare.overrides import Override, OverrideError, parse_override

F = TypeVar("F", bound=Callable[..., Any])


class OverrideType(click.ParamType[Override]):
    """KEY=VALUE: a dotted key of the experiment file and a TOML value (else a plain string)."""

    name = "KEY=VALUE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Override:
        if isinstance(value, Override):
            return value
        try:
            return parse_override(str(value))
        except OverrideError as error:
            self.fail(str(error), param, ctx)


def experiment_argument(func: F) -> F:
    return click.argument("experiment", metavar="[EXPERIMENT]", required=False)(func)


def set_option(func: F) -> F:
    return click.option(
        "--set",
        "overrides",
        multiple=True,
        type=OverrideType(),
        help="Change a key of the experiment file, e.g. load.users=2000, arms.cqrs.projectors=2 or repeats=1 "
        "(repeatable; the value is read as TOML, else as a string).",
    )(func)


def given_experiment(given: str | None, overrides: tuple[Override, ...]) -> Experiment:
    """The experiment EXPERIMENT names (a path, a name in scenarios/experiments, or the default), changed by --set."""
    try:
        return load_experiment(find_experiment(given), overrides)
    except ExperimentError as error:
        raise click.BadParameter(str(error), param_hint="EXPERIMENT") from None
