"""A published claim beside the measurement: its [claim] table, and a verdict per row that follows the delta."""

from __future__ import annotations

from typing import Any

import pytest

from bench.compare.claim import Claim, ClaimRow
from bench.compare.experiment import ExperimentError, parse_experiment
from bench.report.claim import claim_of, verdict
from bench.report.document import DeltaEntry, Verdict
from tests.test_experiment import minimal

pytestmark = pytest.mark.timeout(30)

LATENCY = {"metric": "latency_all_mean_ms", "baseline": 280, "optimized": 34}


def with_claim(**claim: Any) -> dict[str, Any]:
    document = minimal()
    document["claim"] = {"source": "a vendor", "optimized": "b", "rows": [LATENCY], **claim}
    return document


def test_a_claim_table_gives_the_rows_and_travels_in_the_recorded_definition() -> None:
    experiment = parse_experiment(with_claim())
    assert experiment.claim == Claim("a vendor", "a", "b", [ClaimRow("latency_all_mean_ms", 280.0, 34.0)])
    assert claim_of(experiment.as_dict()) == experiment.claim
    assert claim_of(parse_experiment(minimal()).as_dict()) is None
    assert experiment.claim is not None
    assert experiment.claim.rows[0].change_percent == pytest.approx(-87.857, abs=0.001)


@pytest.mark.parametrize(
    ("claim", "expected"),
    [
        ({"source": 3}, "claim.source = 3: expected a string"),
        ({"baseline": "b"}, "claim.baseline = 'b': expected the experiment's baseline, its first arm ('a')"),
        ({"optimized": "c"}, "claim.optimized = 'c': expected one of b"),
        ({"rows": []}, "claim.rows = []: expected at least one {metric, baseline, optimized}"),
        ({"rows": [{**LATENCY, "metric": "speed"}]}, "claim.rows[0].metric = 'speed': expected one of"),
        ({"rows": [{"metric": "latency_all_mean_ms", "baseline": 1}]}, "claim.rows[0].optimized is missing"),
        ({"rows": [{**LATENCY, "unit": "ms"}]}, "[claim.rows[0]] has no key 'unit'"),
        ({"rows": ["fast"]}, "claim.rows[0] = 'fast': expected a table"),
        ({"claimed": 1}, "[claim] has no key 'claimed'"),
    ],
)
def test_a_bad_claim_names_the_key_and_what_was_expected(claim: dict[str, Any], expected: str) -> None:
    with pytest.raises(ExperimentError) as raised:
        parse_experiment(with_claim(**claim))
    assert expected in str(raised.value)


def test_quick_keeps_the_users_the_file_asks_it_to() -> None:
    many = minimal(**{"load.users": 10_000, "quick.users": 10_000})
    assert parse_experiment(many).quick().load.users == 10_000
    assert parse_experiment(minimal(**{"load.users": 10_000})).quick().load.users == 100
    with pytest.raises(ExperimentError, match=r"quick.users = 0: expected a value from 1"):
        parse_experiment(minimal(**{"quick.users": 0}))


def test_quick_measures_as_long_as_the_file_asks_it_to() -> None:
    longer = minimal(**{"load.duration": "60s", "quick.duration": "20s"})
    assert parse_experiment(longer).quick().load.duration == 20
    assert parse_experiment(minimal(**{"load.duration": "60s"})).quick().load.duration == 10
    for bad in ("0s", "soon"):
        with pytest.raises(ExperimentError, match=rf"quick.duration = '{bad}': expected a duration above zero"):
            parse_experiment(minimal(**{"quick.duration": bad}))


def delta(absolute: float | None, ci: tuple[float, float] | None, *, significant: bool) -> DeltaEntry:
    relative = None if absolute is None else absolute / 10.0 * 100.0
    return DeltaEntry(absolute, relative, ci, significant, None if absolute is not None else "not measured in b")


FASTER = ClaimRow("latency_all_mean_ms", 280.0, 34.0)


@pytest.mark.parametrize(
    ("change", "expected", "says"),
    [
        (delta(-4.0, (-5.0, -3.0), significant=True), Verdict.SUPPORTS, "significant, the same way"),
        (delta(3.0, (2.0, 4.0), significant=True), Verdict.CONTRADICTS, "significant, the other way"),
        (delta(-1.0, (-3.0, 1.0), significant=False), Verdict.CANNOT_TELL, "no significant change"),
        (delta(None, None, significant=False), Verdict.CANNOT_TELL, "not measured in b"),
        (None, Verdict.CANNOT_TELL, "not measured"),
    ],
)
def test_the_verdict_follows_the_measured_delta_and_its_interval(
    change: DeltaEntry | None, expected: Verdict, says: str
) -> None:
    found, detail = verdict(FASTER, change)
    assert found is expected
    assert says in detail
    assert detail.startswith("claimed -87.9%")


def test_a_claim_of_no_change_is_contradicted_by_any_significant_change() -> None:
    same = ClaimRow("latency_all_mean_ms", 10.0, 10.0)
    assert verdict(same, delta(-4.0, (-5.0, -3.0), significant=True))[0] is Verdict.CONTRADICTS
    assert verdict(same, delta(-1.0, (-3.0, 1.0), significant=False))[0] is Verdict.CANNOT_TELL


def test_the_measured_change_is_said_in_the_metrics_unit_beside_its_share() -> None:
    _, detail = verdict(FASTER, DeltaEntry(26.7, 239.0, (12.9, 40.4), True, None), "ms")
    assert detail == "claimed -87.9%, measured +26.7 ms (+239%) [12.9, 40.4]: significant, the other way"
