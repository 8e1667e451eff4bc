"""Names shared by the scenarios and the harness, importable without importing Locust."""

from __future__ import annotations

from pathlib import Path

ENDPOINTS = ("get_account", "deposit", "statement")
HEALTH = "health"  # scenarios/endpoint.py also drives GET /health (the floor's one endpoint), outside ENDPOINTS
# scenarios/endpoint.py writes its processes' latency histograms into the directory this names.
ENDPOINT_HISTOGRAM_DIR_ENV = "BENCH_HISTOGRAM_DIR"

SCENARIO_DIR = Path(__file__).resolve().parent

# Scenario name -> its locustfile in this directory; each defines one concrete user class.
SCENARIOS: dict[str, Path] = {name: SCENARIO_DIR / f"{name}.py" for name in ("banking", "orders", "mixed")}

# Mix name -> share of actions that are reads (the rest are writes).
MIXES: dict[str, float] = {"read-heavy": 0.9, "balanced": 0.5, "write-heavy": 0.1}
DEFAULT_MIX = "balanced"

# 10,000 users thinking 5-15 s between actions are a busy web population (~1,000 actions/s),
# which one Locust process generates without saturating: measured ~900 actions/s with the generator
# fine on 2 cores, where a think time of 1-3 s drove its CPU above 90%.
DEFAULT_THINK_TIME = (5.0, 15.0)

# Share of actions that are visibility probes (write, then read until the write shows).
DEFAULT_VISIBILITY_SHARE = 0.01
VISIBILITY_DEADLINE_SECONDS = 10.0

# Key files the seeding writes and the scenarios read, one id per line, hottest first under Zipf.
ACCOUNT_KEYS = "accounts.txt"
CUSTOMER_KEYS = "customers.txt"
ORDER_KEYS = "orders.txt"
