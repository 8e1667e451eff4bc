"""SLO strings: what parses into what, what is refused with which sentence, and pass/fail per run and arm."""

from __future__ import annotations

import pytest

from bench.report.groups import ALL, HEAVY_READS, READS, WRITES
from bench.report.metrics import RunMetrics
from bench.report.slo import Slo, check_arm, check_run, parse_slo

pytestmark = pytest.mark.timeout(30)


@pytest.mark.parametrize(
    ("text", "stat", "group", "limit", "inclusive", "metric_id"),
    [
        ("p99<100ms", "p99", ALL, 100.0, False, "latency_all_p99_ms"),
        ("p95(reads) < 50ms", "p95", READS, 50.0, False, "latency_reads_p95_ms"),
        ("mean < 0.2s", "mean", ALL, 200.0, False, "latency_all_mean_ms"),
        ("errors<0.1%", "errors", ALL, 0.1, False, "errors_all_percent"),
        ("p99.9(writes)<250ms", "p999", WRITES, 250.0, False, "latency_writes_p999_ms"),
        ("P50(heavy reads) <= 1500us", "p50", HEAVY_READS, 1.5, True, "latency_heavy_reads_p50_ms"),
        ("p95( heavy-reads )<2s", "p95", HEAVY_READS, 2000.0, False, "latency_heavy_reads_p95_ms"),
        ("errors(writes) < .5%", "errors", WRITES, 0.5, False, "errors_writes_percent"),
    ],
)
def test_slo_strings_parse(text: str, stat: str, group: str, limit: float, inclusive: bool, metric_id: str) -> None:
    slo = parse_slo(text)
    assert (slo.stat, slo.group, slo.inclusive, slo.metric_id) == (stat, group, inclusive, metric_id)
    assert slo.limit == pytest.approx(limit)
    assert slo.text == text.strip()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "is not an SLO; expected METRIC"),
        ("p99 > 100ms", "is not an SLO; expected METRIC"),
        ("fast please", "is not an SLO"),
        ("p42<100ms", "unknown metric 'p42'; expected mean, p50"),
        ("p99(gets)<100ms", "unknown endpoint group 'gets'; expected reads, heavy reads or writes"),
        ("p99<100", "a latency limit needs a time unit"),
        ("p99<100%", "a latency limit needs a time unit"),
        ("errors<0.1", "an error rate limit is a percentage"),
        ("errors<1ms", "an error rate limit is a percentage"),
    ],
)
def test_bad_slo_strings_say_what_was_expected(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=r"expected|needs|is a percentage") as raised:
        parse_slo(text)
    assert says in str(raised.value)
    assert repr(text) in str(raised.value)


def metrics(**values: float | None) -> RunMetrics:
    found = RunMetrics()
    for metric_id, value in values.items():
        found.set(metric_id, value, "not observable: no such thing in this run")
    return found


def test_a_run_passes_below_the_limit_and_fails_at_or_above_it() -> None:
    slo = parse_slo("p95(reads)<50ms")
    assert check_run(slo, metrics(latency_reads_p95_ms=49.9)).passed
    at_limit = check_run(slo, metrics(latency_reads_p95_ms=50.0))
    assert not at_limit.passed
    assert "misses < 50 ms" in at_limit.detail
    assert check_run(parse_slo("p95(reads)<=50ms"), metrics(latency_reads_p95_ms=50.0)).passed


def test_an_unmeasured_metric_fails_and_says_why() -> None:
    result = check_run(parse_slo("errors(writes)<1%"), metrics(errors_writes_percent=None))
    assert not result.passed
    assert result.value is None
    assert "not measured: not observable" in result.detail


def test_an_arm_is_judged_by_the_mean_of_its_valid_repetitions() -> None:
    slo = parse_slo("mean<10ms")
    runs = [metrics(latency_all_mean_ms=8.0), metrics(latency_all_mean_ms=11.0)]
    judged = check_arm(slo, runs)
    assert judged.passed
    assert judged.value == pytest.approx(9.5)
    assert "2 valid repetition" in judged.detail
    assert not check_arm(slo, [*runs, metrics(latency_all_mean_ms=14.0)]).passed


def test_an_arm_without_valid_repetitions_fails() -> None:
    result = check_arm(parse_slo("p99<1s"), [])
    assert not result.passed
    assert "no valid repetition" in result.detail


def test_slos_compare_by_value() -> None:
    assert parse_slo("p99<100ms") == Slo("p99<100ms", "p99", ALL, 100.0, False)
