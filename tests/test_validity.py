"""The validity verdict from a run directory's samples: what a saturated generator looks like."""

from __future__ import annotations

from pathlib import Path

from bench.run.validity import judge

STEADY = set(range(100, 110))


def write(path: Path, header: str, rows: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *rows]) + "\n")


def loop_lag(run: Path, cpu_by_worker: dict[int, float]) -> None:
    rows = [f"{s},{worker},1.0,0.5,{cpu}" for s in sorted(STEADY) for worker, cpu in cpu_by_worker.items()]
    write(run / "loop_lag.csv", "second,worker,lag_max_ms,lag_mean_ms,cpu_percent", rows)


def test_remote_workers_are_judged_by_the_cpu_they_report(tmp_path: Path) -> None:
    """No local Locust process was sampled (workers on other hosts): their own reports decide."""
    loop_lag(tmp_path, {0: 40.0, 1: 97.0})
    validity = judge(tmp_path, STEADY, asked_rate=None, complete=True, why_incomplete=None)
    assert not validity.valid
    assert len(validity.reasons) == 1
    assert "worker 1 (its own report) used 97%" in validity.reasons[0]


def test_locally_sampled_workers_are_not_judged_twice(tmp_path: Path) -> None:
    loop_lag(tmp_path, {0: 97.0})
    write(tmp_path / "samples" / "generator.csv", "second,pid,role,cpu_percent",
          [f"{s},4242,local,96.0" for s in sorted(STEADY)])  # fmt: skip
    validity = judge(tmp_path, STEADY, asked_rate=None, complete=True, why_incomplete=None)
    assert len(validity.reasons) == 1
    assert "local process 4242 used 96%" in validity.reasons[0]


def test_an_idle_generator_is_valid(tmp_path: Path) -> None:
    loop_lag(tmp_path, {0: 30.0, 1: 35.0})
    validity = judge(tmp_path, STEADY, asked_rate=None, complete=True, why_incomplete=None)
    assert validity.valid, validity.reasons
