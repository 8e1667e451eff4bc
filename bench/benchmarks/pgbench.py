"""pgbench running a target's own write statement, so that a target's write rate can be set against the database's.

The statement text comes from the target's module ($n parameters become pgbench variables, or
NULL where the target sends none), prepared (-M prepared) as asyncpg prepares it. Each client
first reads the state of one account of its own (the client_id-th, so no two clients share one),
then keeps it in its variables: every transaction after that is the one statement alone. The
statement ends in \\gset, so one that changes no row (a wrong expected version) aborts its client
and is counted as an error, never as a transaction.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.benchmarks.errors import BenchmarkError
from bench.benchmarks.measured import Measured
from bench.benchmarks.watched import run_watched
from bench.infra.logs import log_tail
from bench.infra.postgres import embedded_program
from scenarios.hdr import new_histogram, record_ms, summary
from targets.common.contract import MAX_BALANCE
from targets.cqrs.appends import APPEND_TO_STREAM
from targets.cqrs.events import DepositMade
from targets.crud.queries import DEPOSIT

AMOUNT = 100
_PARAMETER = re.compile(r"\$(\d+)")
_PROCESSED = re.compile(r"^number of transactions actually processed: (\d+)", re.MULTILINE)
_FAILED = re.compile(r"^number of failed transactions: (\d+)", re.MULTILINE)
_TPS = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)", re.MULTILINE)
_ABORTED = re.compile(r"client (\d+) script \d+ aborted", re.MULTILINE)


@dataclass(frozen=True)
class PgbenchScript:
    name: str  # file name stem and what the table calls it
    text: str
    variables: Mapping[str, str] = field(default_factory=dict)  # -D name=value, the same for every client


def with_variables(statement: str, parameters: Mapping[int, str]) -> str:
    """`statement` with each $n replaced by parameters[n]; every $n must have one, and every one must be used."""
    used = {int(n) for n in _PARAMETER.findall(statement)}
    if used != set(parameters):
        raise BenchmarkError(
            f"the statement takes parameters {sorted(used)}, but the pgbench script fills {sorted(parameters)}: "
            "the target's statement changed; update bench/benchmarks/pgbench.py"
        )
    return _PARAMETER.sub(lambda match: parameters[int(match.group(1))], statement)


def _once_per_client(query: str) -> str:
    return f"\\if :started = 0\n{query} \\gset\n\\set started 1\n\\endif\n"


def crud_deposit_script() -> PgbenchScript:
    """targets/crud/queries.py DEPOSIT: the guarded UPDATE and its ledger INSERT, one statement as crud runs it."""
    deposit = with_variables(DEPOSIT, {1: ":account", 2: ":amount", 3: ":max_balance"})
    text = _once_per_client("SELECT id AS account FROM accounts ORDER BY id OFFSET :client_id LIMIT 1")
    text += deposit.strip() + " \\gset\n"
    return PgbenchScript("crud_deposit", text, {"started": "0", "amount": str(AMOUNT), "max_balance": str(MAX_BALANCE)})


def cqrs_append_script() -> PgbenchScript:
    """targets/cqrs/eventstore.py APPEND_TO_STREAM of a DepositMade, with the expected version each client tracks.

    The event's data is built in SQL (pgbench cannot build strings); the target sends the same
    JSON as a parameter. No Idempotency-Key, as the benchmark's HTTP deposits send none.
    """
    data = "jsonb_build_object('amount', :amount::bigint, 'balance_after', :balance::bigint)"
    append = with_variables(
        APPEND_TO_STREAM,
        {
            1: ":stream",
            2: ":version",
            3: ":next",
            4: ":balance",
            5: "NULL",  # status: accounts have none
            6: ":event_type",
            7: data,
            8: "NULL",  # idempotency_key
            9: "NULL",  # request_fingerprint
            10: "NULL",  # response
        },
    )
    state = "SELECT stream_id AS stream, version, balance FROM streams WHERE type = 'account' ORDER BY stream_id"
    text = _once_per_client(f"{state} OFFSET :client_id LIMIT 1")
    text += "\\set next :version + 1\n\\set balance :balance + :amount\n"
    text += append.strip() + " \\gset\n\\set version :next\n"
    return PgbenchScript(
        "cqrs_append", text, {"started": "0", "amount": str(AMOUNT), "event_type": DepositMade.__name__}
    )


def pgbench_binary() -> Path | None:
    """The embedded PostgreSQL's own pgbench (the server's version), else one on PATH."""
    found = embedded_program("pgbench")
    if found is not None:
        return found
    on_path = shutil.which("pgbench")
    return Path(on_path) if on_path else None


def pgbench_version(binary: Path) -> str:
    shown = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=10, check=False)
    return shown.stdout.strip() or "pgbench"


@dataclass(frozen=True)
class PgbenchOutcome:
    transactions: int
    failed: int
    aborted_clients: int
    tps: float


def parse_output(output: str) -> PgbenchOutcome:
    processed, tps = _PROCESSED.search(output), _TPS.search(output)
    if processed is None or tps is None:
        raise BenchmarkError("pgbench printed no transaction count and tps")
    failed = _FAILED.search(output)
    return PgbenchOutcome(
        transactions=int(processed.group(1)),
        failed=int(failed.group(1)) if failed else 0,
        aborted_clients=len(set(_ABORTED.findall(output))),
        tps=float(tps.group(1)),
    )


def latencies_ms(logs: Sequence[Path]) -> list[float]:
    """Per-transaction latencies from pgbench's --log files: `client_id transaction_no time_us ...`."""
    found = []
    for log in logs:
        for line in log.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3 and fields[2].isdigit():  # "failed" / "skipped" in place of a time
                found.append(int(fields[2]) / 1e3)
    return found


def run_pgbench(
    binary: Path,
    script: PgbenchScript,
    dsn: str,
    *,
    clients: int,
    threads: int,
    seconds: float,
    out: Path,
    watch: Mapping[str, Sequence[int]],
    version: str,
) -> Measured:
    out.mkdir(parents=True, exist_ok=True)
    script_file = out / f"{script.name}.pgbench.sql"
    script_file.write_text(script.text)
    prefix = out / f"{script.name}.pgbench-log"
    for old in out.glob(f"{prefix.name}.*"):
        old.unlink()
    argv = [
        str(binary),
        "--no-vacuum",
        *("--protocol", "prepared"),
        *("--client", str(clients)),
        *("--jobs", str(threads)),
        *("--time", str(max(1, round(seconds)))),
        *("--file", str(script_file)),
        *(f"--define={name}={value}" for name, value in script.variables.items()),
        "--log",
        f"--log-prefix={prefix}",
        dsn,
    ]
    log = out / f"{script.name}.pgbench.log"
    finished = run_watched(argv, seconds=seconds, log=log, watch=watch, cwd=out)
    output = log.read_text(errors="replace")
    try:
        outcome = parse_output(output)
    except BenchmarkError as exc:
        raise BenchmarkError(f"{exc} (exit code {finished.returncode}).\n{log_tail(log)}") from None
    histogram = new_histogram()
    for ms in latencies_ms(sorted(out.glob(f"{prefix.name}.*"))):
        record_ms(histogram, ms)
    errors = outcome.failed + outcome.aborted_clients
    detail = ", ".join(
        part
        for part in (
            f"{outcome.failed} failed transactions" if outcome.failed else "",
            f"{outcome.aborted_clients} clients aborted (see {log})" if outcome.aborted_clients else "",
        )
        if part
    )
    if finished.returncode != 0 and not errors:
        errors, detail = 1, f"pgbench exited with code {finished.returncode} (see {log})"
    return Measured(
        generator=version,
        requests=outcome.transactions,
        requests_per_second=outcome.tps,
        errors=errors,
        seconds=outcome.transactions / outcome.tps if outcome.tps > 0 else seconds,
        latency=summary(histogram),
        cpu=finished.cpu,
        detail=detail,
    )
