"""The scenarios' command-line options, registered with Locust so that they reach every worker.

Locust parses them on the master and ships them to workers with each spawn message; the
forked workers of `--processes` inherit them. `bench run` sets them; a plain `locust -f
scenarios/banking.py --bench-keys DIR ...` works as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scenarios.catalog import DEFAULT_MIX, DEFAULT_THINK_TIME, DEFAULT_VISIBILITY_SHARE, MIXES
from scenarios.keys import Skew, parse_skew


def add_arguments(parser: Any) -> None:
    group = parser.add_argument_group("cqrs-bench scenarios")
    group.add_argument("--bench-keys", default="", help="Directory of the seeded key files (accounts.txt, ...).")
    group.add_argument("--bench-mix", default=DEFAULT_MIX, choices=sorted(MIXES), help="Share of reads vs writes.")
    group.add_argument("--bench-skew", default="uniform", help="Key choice: uniform or zipf:S.")
    group.add_argument("--bench-think-min", type=float, default=DEFAULT_THINK_TIME[0], help="Think time low, s.")
    group.add_argument("--bench-think-max", type=float, default=DEFAULT_THINK_TIME[1], help="Think time high, s.")
    group.add_argument("--bench-rate", type=float, default=0.0, help="Open model: actions/s over all workers.")
    group.add_argument(
        "--bench-visibility-share",
        type=float,
        default=DEFAULT_VISIBILITY_SHARE,
        help="Share of actions that are visibility probes.",
    )
    group.add_argument("--bench-seed", type=int, default=1, help="Seed of the users' random choices.")
    group.add_argument(
        "--bench-query-host",
        default="",
        help="Base URL the reads go to (a query side of its own); empty: the --host, like the writes.",
    )
    group.add_argument("--bench-out", default="", help="Run directory for histograms; empty: record nothing.")
    group.add_argument("--bench-warmup", type=float, default=0.0, help="Seconds after ramp-up not measured.")
    group.add_argument(
        "--bench-duration", type=float, default=0.0, help="Steady-state seconds, then stop; 0: no limit."
    )


@dataclass(frozen=True)
class ScenarioOptions:
    keys_dir: Path
    mix: str
    skew: Skew
    think_min: float
    think_max: float
    rate: float
    visibility_share: float
    seed: int
    out_dir: Path | None
    warmup: float
    duration: float
    query_host: str = ""  # where reads go; "": the --host

    @property
    def open_model(self) -> bool:
        return self.rate > 0

    @classmethod
    def from_parsed(cls, parsed: Any) -> ScenarioOptions:
        if not parsed.bench_keys:
            raise ValueError("--bench-keys is required: the directory holding the seeded key files")
        if not 0 <= parsed.bench_think_min <= parsed.bench_think_max:
            raise ValueError("--bench-think-min/--bench-think-max: expected 0 <= min <= max")
        if not 0 <= parsed.bench_visibility_share <= 1:
            raise ValueError("--bench-visibility-share: expected a share between 0 and 1")
        return cls(
            keys_dir=Path(parsed.bench_keys),
            mix=parsed.bench_mix,
            skew=parse_skew(parsed.bench_skew),
            think_min=parsed.bench_think_min,
            think_max=parsed.bench_think_max,
            rate=parsed.bench_rate,
            visibility_share=parsed.bench_visibility_share,
            seed=parsed.bench_seed,
            out_dir=Path(parsed.bench_out) if parsed.bench_out else None,
            warmup=parsed.bench_warmup,
            duration=parsed.bench_duration,
            query_host=parsed.bench_query_host.rstrip("/"),
        )
