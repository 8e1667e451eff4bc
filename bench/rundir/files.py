"""Every file name of a run directory, relative to it, spelled once."""

from __future__ import annotations

MANIFEST = "manifest.json"
PHASES = "phases.json"
TIMESERIES = "timeseries.csv"
LATENCY = "latency.csv"
FAILURES = "failures.csv"
VISIBILITY = "visibility.csv"
ACTIONS = "actions.csv"
LOOP_LAG = "loop_lag.csv"
USERS = "users.csv"
DATA_CHECKS = "invariants.json"
FAULTS = "faults.json"
ACKNOWLEDGED = "acknowledged.json"  # the acknowledged-writes verdict (bench.writes)

KEYS_DIR = "keys"
LOCUST_DIR = "locust"
SAMPLES_DIR = "samples"
HISTOGRAMS_DIR = "histograms"
LOGS_DIR = "logs"
SUBDIRECTORIES = (KEYS_DIR, LOCUST_DIR, SAMPLES_DIR, HISTOGRAMS_DIR, LOGS_DIR)

INTERVALS = f"{HISTOGRAMS_DIR}/intervals.csv"
STEADY = f"{HISTOGRAMS_DIR}/steady.json"

PROCESS_SAMPLES = f"{SAMPLES_DIR}/processes.csv"
GENERATOR_SAMPLES = f"{SAMPLES_DIR}/generator.csv"
POSTGRES_SAMPLES = f"{SAMPLES_DIR}/postgres.csv"
PROJECTION_LAG_SAMPLES = f"{SAMPLES_DIR}/projection_lag.csv"
TARGET_STATS_SAMPLES = f"{SAMPLES_DIR}/target_stats.jsonl"

LOCUST_STATS = f"{LOCUST_DIR}/stats.json"
LOCUST_LOG = f"{LOCUST_DIR}/locust.log"
LOCUST_COMMAND = f"{LOCUST_DIR}/command.txt"
LOCUST_CSV_PREFIX = f"{LOCUST_DIR}/locust"
LOCUST_JSON_PREFIX = f"{LOCUST_DIR}/stats"

# The name under which per-endpoint tables and summaries carry the merge of every endpoint.
ALL = "all"
