"""The scenarios' building blocks without a load run: key choice, action mix, pacing, recording and merging.

Nothing here may import Locust (scenarios.plugin, scenarios.users): importing it monkey-patches
the whole test process for gevent.
"""

from __future__ import annotations

import random
import statistics
import time
from collections import Counter
from pathlib import Path

import pytest

from bench.rundir.files import ALL
from bench.rundir.messages import MESSAGE_FORMAT, MessageError, WorkerReport
from bench.rundir.read import read_steady
from bench.rundir.steady import Window
from scenarios.aggregation import IntervalMerger
from scenarios.hdr import encode, histogram_of, new_histogram, record_ms, summary
from scenarios.keys import KeyPicker, Skew, parse_skew
from scenarios.mix import BANKING, ORDERS, plan_for
from scenarios.pacing import ArrivalSchedule, first_think_time
from scenarios.recording import IntervalRecorder

pytestmark = pytest.mark.timeout(30)


@pytest.mark.parametrize(("text", "expected"), [("uniform", Skew()), ("zipf:1.1", Skew(1.1)), ("ZIPF:2", Skew(2.0))])
def test_skews_parse(text: str, expected: Skew) -> None:
    assert parse_skew(text) == expected


@pytest.mark.parametrize("text", ["zipf", "zipf:0", "zipf:-1", "zipf:x", "hot", "uniform:1"])
def test_bad_skews_are_refused_with_the_syntax(text: str) -> None:
    with pytest.raises(ValueError, match="expected 'uniform' or 'zipf:S'"):
        parse_skew(text)


def test_zipf_makes_the_first_keys_hot_and_uniform_does_not() -> None:
    keys = tuple(f"k{i}" for i in range(1000))
    rng = random.Random(1)
    zipf = Counter(KeyPicker(keys, Skew(1.1)).pick(rng) for _ in range(5_000))
    uniform = Counter(KeyPicker(keys, Skew()).pick(rng) for _ in range(5_000))
    assert zipf["k0"] > 10 * zipf["k500"] + 20
    assert zipf.most_common(1)[0][0] == "k0"
    assert max(uniform.values()) < 25  # ~5 expected per key


@pytest.mark.parametrize(("read_share", "probe_share"), [(0.9, 0.0), (0.5, 0.01), (0.1, 0.05)])
def test_the_mix_sets_the_share_of_reads_writes_and_probes(read_share: float, probe_share: float) -> None:
    domains = (BANKING, ORDERS)
    plan = plan_for(domains, read_share=read_share, probe_share=probe_share)
    kinds = {action.method: action.kind for domain in domains for action in domain.actions}
    rng = random.Random(2)
    picked = Counter(kinds[plan.pick(rng)] for _ in range(50_000))
    assert picked["read"] / 50_000 == pytest.approx((1 - probe_share) * read_share, abs=0.01)
    assert picked["probe"] / 50_000 == pytest.approx(probe_share, abs=0.005)


def test_hdr_summary_agrees_with_hdrhistogram_itself() -> None:
    histogram = new_histogram()
    rng = random.Random(3)
    for _ in range(5000):
        record_ms(histogram, rng.lognormvariate(1.0, 1.2))
    stats = summary(histogram)
    assert stats.count == 5000
    assert stats.p50_ms == histogram.get_value_at_percentile(50) / 1000
    assert stats.p99_ms == histogram.get_value_at_percentile(99) / 1000
    assert stats.p999_ms == histogram.get_value_at_percentile(99.9) / 1000
    assert stats.mean_ms == pytest.approx(histogram.get_mean_value() / 1000)


def test_a_batch_histogram_is_the_histogram_of_recording_each_value() -> None:
    rng = random.Random(4)
    values = [rng.lognormvariate(rng.uniform(-3, 7), 1.5) for _ in range(3000)] + [0.0001, 2.047, 2.048, 5e9]
    one_by_one = new_histogram()
    for value in values:
        record_ms(one_by_one, value)
    batch = histogram_of(values)
    assert encode(batch) == encode(one_by_one)
    assert (batch.get_total_count(), batch.get_min_value(), batch.get_max_value()) == (
        one_by_one.get_total_count(),
        one_by_one.get_min_value(),
        one_by_one.get_max_value(),
    )


def test_a_workers_schedule_holds_every_count_th_slot_of_the_global_one() -> None:
    schedule = ArrivalSchedule()
    t0 = time.time() - 100  # all slots overdue: claim() returns at once
    schedule.start(t0=t0, rate=10.0, index=1, count=3)
    claimed = [schedule.claim() - t0 for _ in range(4)]
    assert claimed == pytest.approx([0.1, 0.4, 0.7, 1.0])


def _report(worker: int, recorder: IntervalRecorder, *, everything: bool = False) -> WorkerReport:
    """The report as the master gets it from another process: encoded for the wire, decoded again."""
    through, seconds = recorder.drain(everything=everything)
    report = WorkerReport(worker=worker, through=through, cpu=10.0, seconds=seconds)
    return WorkerReport.from_message(report.to_message(encoded=True))


def test_a_worker_report_crosses_the_wire_and_back_unchanged() -> None:
    recorder = IntervalRecorder(open_model=True, clock=lambda: 1000.5)
    recorder.record_request("GET /x", 5.0, start_time=1000.5, intended=1000.49, failure="HTTP 404")
    recorder.record_visibility("accounts", 0.25)
    recorder.record_visibility("accounts", None)
    recorder.record_gc_pause(2.5, full=True)
    recorder.record_gc_pause(0.5, full=False)
    through, seconds = recorder.drain(everything=True)
    sent = WorkerReport(worker=3, through=through, cpu=None, seconds=seconds)
    wire = sent.to_message(encoded=True)
    assert isinstance(wire, dict)
    assert isinstance(wire["seconds"][0]["endpoints"]["GET /x"]["latency"], str)  # a histogram travels encoded
    received = WorkerReport.from_message(wire)
    second = received.seconds[0]
    assert (received.worker, second.second, second.not_visible) == (3, 1000, {"accounts": 1})
    assert second.endpoints["GET /x"].failures == {"HTTP 404": 1}
    assert (second.gc_pause_ms, second.gc_full_collections) == (3.0, 1)
    assert encode(second.endpoints["GET /x"].latency) == encode(seconds[0].endpoints["GET /x"].latency)
    intended = second.endpoints["GET /x"].intended
    assert intended is not None
    assert summary(intended).p50_ms == pytest.approx(15.0, abs=0.02)  # 10 ms late + 5
    assert WorkerReport.from_message(sent.to_message(encoded=False)) is sent  # within one process: as it is


def test_a_report_from_another_version_is_refused_saying_so() -> None:
    through, seconds = IntervalRecorder(open_model=False, clock=lambda: 5.5).drain(everything=True)
    wire = WorkerReport(worker=0, through=through, cpu=None, seconds=seconds).to_message(encoded=True)
    assert wire["format"] == MESSAGE_FORMAT
    with pytest.raises(MessageError, match=r"format 0 came from another version of cqrs-bench; this one reads format"):
        WorkerReport.from_message({**wire, "format": 0})
    with pytest.raises(MessageError, match=r"format None came from another version"):
        WorkerReport.from_message({key: value for key, value in wire.items() if key != "format"})


def test_a_malformed_worker_report_is_refused_naming_the_field() -> None:
    with pytest.raises(MessageError, match=r"\$\.seconds\[0\]\.actions"):
        WorkerReport.from_message(
            {
                "format": MESSAGE_FORMAT,
                "worker": 0,
                "through": 1,
                "cpu": None,
                "seconds": [
                    {
                        "second": 1,
                        "endpoints": {},
                        "visibility": {},
                        "not_visible": {},
                        "actions": "many",
                        "loop_lag_max_ms": 0.0,
                        "loop_lag_mean_ms": 0.0,
                    }
                ],
            }
        )


def test_workers_seconds_are_merged_once_every_worker_reported_past_them(tmp_path: Path) -> None:
    now = [1000.2]
    workers = [IntervalRecorder(open_model=True, clock=lambda: now[0]) for _ in range(2)]
    merger = IntervalMerger(tmp_path, expected_workers=2)
    merger.window = Window(1000, 1002)
    for second in (1000, 1001, 1002):
        now[0] = second + 0.5
        for index, recorder in enumerate(workers):
            for _ in range(10 * (index + 1)):
                recorder.record_request("GET /x", 5.0, start_time=now[0], intended=now[0] - 0.002, failure=None)
            recorder.record_request("POST /y", 7.0, start_time=now[0], intended=None, failure="HTTP 500")
        now[0] = second + 1.05
        merger.add_report(_report(0, workers[0]), now=now[0])
        assert not (tmp_path / "latency.csv").read_text().count(f"{second},all,"), "one worker is not enough"
        merger.add_report(_report(1, workers[1]), now=now[0])
        assert f"{second},all,32," in (tmp_path / "latency.csv").read_text()
    merger.close(now=now[0])
    steady = read_steady(tmp_path)
    assert steady is not None
    assert steady.seconds_measured == 2
    assert steady.latency[ALL].count == 64
    assert steady.latency["GET /x"].count == 60
    assert steady.latency["POST /y"].failures == 4
    assert steady.intended["GET /x"].p50_ms == pytest.approx(7.0, abs=0.01)  # 2 ms late + 5 ms
    assert steady.requests_recorded == 96  # every second, steady or not
    assert "1002,POST /y,HTTP 500,2" in (tmp_path / "failures.csv").read_text()


@pytest.mark.parametrize(("low", "high"), [(20.0, 40.0), (0.5, 1.5), (0.0, 2.0), (3.0, 3.0)])
def test_a_new_user_waits_the_rest_of_a_think_time_already_under_way(low: float, high: float) -> None:
    rng = random.Random(7)
    waits = [first_think_time(rng, low, high) for _ in range(50_000)]
    assert all(0 <= wait <= high for wait in waits)
    # The residual life of a renewal process in equilibrium has mean E[T^2] / (2 E[T]); for T uniform(low, high):
    expected = (low * low + low * high + high * high) / 3 / (low + high)
    assert statistics.fmean(waits) == pytest.approx(expected, rel=0.02)
    assert first_think_time(rng, 0.0, 0.0) == 0.0
