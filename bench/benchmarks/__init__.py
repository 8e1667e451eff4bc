"""Benchmarks beside `bench run`: one question each, run as `bench benchmark NAME` (bench/commands/benchmark.py).

- endpoints: requests/s and latency of one endpoint at a time, closed loop, no think time;
- harness_overhead: requests/s of the floor target under `bench run` vs plain Locust;
- projection_lag: the cqrs target's visibility window under a flood of writes;
- targets (judge.py): every endpoint of floor, crud and cqrs under wrk, pgbench on their write statements,
  and the ratios the targets are judged by;
- seed_events: fill a cqrs event store fast in PostgreSQL, then time a rebuild of the read models.
"""
