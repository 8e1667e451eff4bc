"""`python -m bench.benchmarks NAME [OPTIONS]`: one command per benchmark of this package."""

from __future__ import annotations

import click

from bench.benchmarks import endpoints, harness_overhead, projection_lag, seed_events


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Benchmarks beside `bench run`, each answering one question."""


main.add_command(endpoints.main, "endpoints")
main.add_command(harness_overhead.main, "harness_overhead")
main.add_command(projection_lag.main, "projection_lag")
main.add_command(seed_events.main, "seed_events")

if __name__ == "__main__":
    main()
