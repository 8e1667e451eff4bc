"""The rate search against a synthetic target: a known limit, optional noise near it, a generator ceiling."""

from __future__ import annotations

import json
import random
from collections.abc import Callable

import pytest

from bench.capacity.search import (
    SearchPolicy,
    SearchResult,
    StepOutcome,
    Verdict,
    confirm_failures,
    measured_step,
    retry_spoiled,
    search,
)

pytestmark = pytest.mark.timeout(30)

Model = Callable[[float], StepOutcome]


def synthetic_target(limit: float, *, generator_max: float | None = None, noise: float = 0.0, seed: int = 0) -> Model:
    """Passes up to `limit` (give or take `noise` of it), fails above; void above `generator_max`."""
    rng = random.Random(seed)

    def step(rate: float) -> StepOutcome:
        if generator_max is not None and rate > generator_max:
            return StepOutcome(Verdict.VOID, "the load generator saturated", achieved_rate=generator_max)
        effective = limit * (1 + rng.uniform(-noise, noise))
        if rate <= effective:
            return StepOutcome(Verdict.PASS, "every SLO met", achieved_rate=rate, measures={"p99_ms": 20.0})
        return StepOutcome(Verdict.FAIL, "p99 250 ms > 100 ms", achieved_rate=rate, measures={"p99_ms": 250.0})

    return step


def verdicts(result: SearchResult) -> list[str]:
    return [str(step.verdict) for step in result.steps]


@pytest.mark.parametrize("limit", [10.0, 13.7, 137.0, 1000.0, 4321.5, 99_999.0])
def test_the_known_limit_is_found_within_the_resolution(limit: float) -> None:
    result = search(synthetic_target(limit), SearchPolicy(start_rate=10.0))
    assert result.bounded_by == "slo", result.explanation
    assert result.limit is not None
    assert result.bracket is not None
    low, high = result.bracket
    assert low == result.limit <= limit < high
    assert high - low <= 0.05 * low
    assert f"{result.limit:,.0f}" in result.explanation or f"{result.limit:,.3g}" in result.explanation


def test_steps_go_up_geometrically_then_bisect_between_the_highest_pass_and_the_lowest_fail() -> None:
    result = search(synthetic_target(1000.0), SearchPolicy(start_rate=100.0, growth=2.0))
    assert [step.rate for step in result.steps[:5]] == [100.0, 200.0, 400.0, 800.0, 1600.0]
    assert [step.phase for step in result.steps[:5]] == ["start", "up", "up", "up", "up"]
    assert verdicts(result)[:5] == ["pass", "pass", "pass", "pass", "fail"]
    assert result.steps[5].phase == "bisect"
    assert result.steps[5].rate == 1200.0  # the middle of 800 (pass) and 1600 (fail)
    for step in result.steps:
        assert (step.verdict is Verdict.PASS) == (step.rate <= 1000.0), step


def test_an_absolute_resolution_alone_bounds_the_bracket() -> None:
    policy = SearchPolicy(start_rate=10.0, relative_resolution=None, absolute_resolution=2.0)
    result = search(synthetic_target(733.0), policy)
    assert result.bracket is not None
    low, high = result.bracket
    assert low <= 733.0 < high
    assert high - low <= 2.0
    assert high - low > 2.0 / 2  # no step more than needed: one bisection less would not have been within


def test_with_both_resolutions_the_looser_one_ends_the_search() -> None:
    relative = search(synthetic_target(3000.0), SearchPolicy(start_rate=10.0, relative_resolution=0.05))
    looser = search(synthetic_target(3000.0), SearchPolicy(start_rate=10.0, absolute_resolution=400.0))
    stricter = search(synthetic_target(3000.0), SearchPolicy(start_rate=10.0, absolute_resolution=10.0))
    assert looser.bracket is not None
    assert looser.bracket[1] - looser.bracket[0] <= 400.0
    assert len(looser.steps) < len(relative.steps) == len(stricter.steps)


@pytest.mark.parametrize("seed", range(8))
def test_noise_near_the_limit_moves_the_result_no_further_than_the_noise(seed: int) -> None:
    result = search(synthetic_target(1000.0, noise=0.03, seed=seed), SearchPolicy(start_rate=50.0))
    assert result.bounded_by == "slo"
    assert result.limit is not None
    assert 1000.0 * 0.97 / 1.05 <= result.limit <= 1000.0 * 1.03


def test_a_failing_start_rate_steps_down_until_a_pass_then_bisects() -> None:
    result = search(synthetic_target(70.0), SearchPolicy(start_rate=1000.0))
    assert [step.rate for step in result.steps[:5]] == [1000.0, 500.0, 250.0, 125.0, 62.5]
    assert [step.phase for step in result.steps[:5]] == ["start", "down", "down", "down", "down"]
    assert verdicts(result)[:5] == ["fail", "fail", "fail", "fail", "pass"]
    assert {step.phase for step in result.steps[5:]} == {"bisect"}
    assert result.bounded_by == "slo"
    assert result.bracket is not None
    assert result.bracket[0] <= 70.0 < result.bracket[1] <= 1.05 * result.bracket[0]


def test_a_target_that_fails_even_at_the_floor_has_no_limit() -> None:
    result = search(synthetic_target(0.5), SearchPolicy(start_rate=100.0, floor=2.0))
    assert result.bounded_by == "floor"
    assert result.limit is None
    assert result.bracket is None
    assert result.steps[-1].rate == 2.0  # the floor itself is tried, not just the last power of two above it
    assert min(step.rate for step in result.steps) == 2.0
    assert set(verdicts(result)) == {"fail"}
    assert "floor" in result.explanation


def test_a_saturated_generator_bounds_the_search_and_its_void_steps_count_neither_way() -> None:
    result = search(synthetic_target(5000.0, generator_max=800.0), SearchPolicy(start_rate=100.0))
    assert result.bounded_by == "generator", result.explanation
    assert result.limit is not None
    assert 800.0 / 1.05 <= result.limit <= 800.0
    assert result.generator_limit is not None
    assert 800.0 < result.generator_limit <= 1.05 * result.limit
    assert result.bracket is None  # nothing failed: the target's limit was never seen
    void = result.void_steps
    assert void
    assert all(step.rate > 800.0 and step.outcome.reason == "the load generator saturated" for step in void)
    assert [step.verdict for step in result.steps if step.rate > 800.0] == [Verdict.VOID] * len(void)
    assert result.limit == max(step.rate for step in result.steps if step.verdict is Verdict.PASS)
    assert "at least" in result.explanation
    assert "could not go beyond" in result.explanation


def test_a_failure_below_the_generator_ceiling_still_ends_on_the_slo() -> None:
    # 640 passes, 1280 is void, 960 is void, then 800 passes and 880 fails: the voids do not matter.
    result = search(synthetic_target(850.0, generator_max=900.0), SearchPolicy(start_rate=10.0))
    assert result.bounded_by == "slo"
    assert result.bracket is not None
    assert result.bracket[0] <= 850.0 < result.bracket[1]
    assert len(result.void_steps) >= 2
    assert result.generator_limit == min(step.rate for step in result.void_steps)


def test_a_generator_that_cannot_produce_the_start_rate_steps_down() -> None:
    result = search(synthetic_target(5000.0, generator_max=300.0), SearchPolicy(start_rate=1000.0))
    assert verdicts(result)[:3] == ["void", "void", "pass"]
    assert result.bounded_by == "generator"
    assert result.limit is not None
    assert 300.0 / 1.05 <= result.limit <= 300.0


def test_a_generator_that_cannot_produce_even_the_floor_leaves_no_limit() -> None:
    result = search(synthetic_target(5000.0, generator_max=0.5), SearchPolicy(start_rate=8.0, floor=1.0))
    assert result.bounded_by == "generator"
    assert result.limit is None
    assert [step.rate for step in result.steps] == [8.0, 4.0, 2.0, 1.0]
    assert "could not produce even" in result.explanation


def test_the_ceiling_is_tried_exactly_and_ends_the_search_when_it_passes() -> None:
    result = search(synthetic_target(1e9), SearchPolicy(start_rate=100.0, ceiling=1000.0))
    assert [step.rate for step in result.steps] == [100.0, 200.0, 400.0, 800.0, 1000.0]
    assert result.bounded_by == "ceiling"
    assert result.limit == 1000.0
    assert "ceiling" in result.explanation


def test_a_limit_below_the_ceiling_is_found_without_asking_above_it() -> None:
    result = search(synthetic_target(900.0), SearchPolicy(start_rate=100.0, ceiling=1000.0))
    assert result.bounded_by == "slo"
    assert max(step.rate for step in result.steps) == 1000.0
    assert result.bracket is not None
    assert result.bracket[0] <= 900.0 < result.bracket[1]


def test_max_steps_ends_a_search_that_never_fails() -> None:
    result = search(synthetic_target(1e9), SearchPolicy(start_rate=10.0, max_steps=5))
    assert len(result.steps) == 5
    assert result.bounded_by == "max_steps"
    assert result.limit == 160.0
    assert result.bracket is None
    assert "at least" in result.explanation


def test_max_steps_ends_a_bisection_before_the_resolution() -> None:
    # 10 .. 640 pass (7 steps), 1280 fails (8), one bisection (9).
    result = search(synthetic_target(1000.0), SearchPolicy(start_rate=10.0, max_steps=9))
    assert len(result.steps) == 9
    assert result.bounded_by == "max_steps"
    assert result.bracket == (960.0, 1280.0)
    assert result.limit == 960.0
    assert "wider than the resolution" in result.explanation


def test_the_search_is_deterministic_and_its_result_serializes() -> None:
    first = search(synthetic_target(1234.0, noise=0.02, seed=3), SearchPolicy(start_rate=10.0))
    second = search(synthetic_target(1234.0, noise=0.02, seed=3), SearchPolicy(start_rate=10.0))
    assert first == second
    loaded = json.loads(json.dumps(first.as_dict()))
    assert loaded["bounded_by"] == "slo"
    assert loaded["steps"][0] == {
        "rate": 10.0,
        "phase": "start",
        "verdict": "pass",
        "reason": "every SLO met",
        "achieved_rate": 10.0,
        "measures": {"p99_ms": 20.0},
    }


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"start_rate": 0.0}, "start_rate"),
        ({"start_rate": float("nan")}, "start_rate"),
        ({"start_rate": 10.0, "growth": 1.0}, "growth"),
        ({"start_rate": 10.0, "relative_resolution": None}, "resolution"),
        ({"start_rate": 10.0, "absolute_resolution": -1.0}, "absolute_resolution"),
        ({"start_rate": 10.0, "max_steps": 0}, "max_steps"),
        ({"start_rate": 10.0, "ceiling": 5.0}, "ceiling"),
        ({"start_rate": 10.0, "floor": 20.0}, "floor"),
        ({"start_rate": 10.0, "floor": 0.0}, "floor"),
    ],
)
def test_a_policy_that_cannot_work_is_refused(settings: dict[str, float | None], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SearchPolicy(**settings)  # type: ignore[arg-type]


def test_a_failure_counts_only_when_its_repeat_does_not_pass() -> None:
    """A transient stall fails one step; its repeat passes and decides. A real limit fails twice."""
    calls: list[float] = []
    stalls = {600.0}  # the first run at 600/s hits a stall; the limit is 1,000/s

    def step(rate: float) -> StepOutcome:
        calls.append(rate)
        if rate in stalls:
            stalls.discard(rate)
            return StepOutcome(Verdict.FAIL, "p99 over the SLO (a stall)")
        return StepOutcome(Verdict.PASS if rate < 1000 else Verdict.FAIL, "slo")

    result = search(confirm_failures(step), SearchPolicy(start_rate=150, relative_resolution=0.05))
    assert result.limit is not None
    assert 950 <= result.limit < 1000
    assert calls.count(600.0) == 2
    repeated = [s for s in result.steps if s.rate == 600.0]
    assert repeated[0].verdict is Verdict.PASS
    assert "the first run failed" in repeated[0].outcome.reason
    failed = [s for s in result.steps if s.verdict is Verdict.FAIL]
    assert failed
    assert all("failed twice" in s.outcome.reason for s in failed)


def test_a_void_repeat_leaves_the_failure_standing() -> None:
    outcomes = iter([StepOutcome(Verdict.FAIL, "slo"), StepOutcome(Verdict.VOID, "generator saturated")])
    decided = confirm_failures(lambda rate: next(outcomes))(100.0)
    assert decided.verdict is Verdict.FAIL
    assert "repeat was void" in decided.reason


SPOILED = StepOutcome(Verdict.VOID, "the event loop lagged", generator_spoiled=True)
SERVER_FAILED = StepOutcome(Verdict.VOID, "the run did not complete: PostgreSQL died")


def scripted(*outcomes: StepOutcome) -> tuple[Model, list[float]]:
    """A step that answers `outcomes` in order, and the rates it was asked for."""
    remaining, calls = list(outcomes), []

    def step(rate: float) -> StepOutcome:
        calls.append(rate)
        return remaining.pop(0)

    return step, calls


def test_a_step_the_generator_spoiled_is_run_again_and_the_first_unspoiled_run_decides() -> None:
    step, calls = scripted(SPOILED, SPOILED, StepOutcome(Verdict.FAIL, "p99 250 ms > 100 ms"))
    decided = retry_spoiled(step, 3)(200.0)
    assert calls == [200.0, 200.0, 200.0]
    assert decided.verdict is Verdict.FAIL
    assert decided.reason.startswith("p99 250 ms > 100 ms (after 2 earlier run(s) spoiled by the load generator")


def test_retries_stop_at_their_limit_and_leave_the_step_void() -> None:
    step, calls = scripted(SPOILED, SPOILED, StepOutcome(Verdict.PASS, "slo"))
    decided = retry_spoiled(step, 1)(200.0)
    assert len(calls) == 2
    assert decided.verdict is Verdict.VOID
    assert decided.retryable


def test_a_void_the_generator_is_not_to_blame_for_is_not_retried() -> None:
    step, calls = scripted(SERVER_FAILED, StepOutcome(Verdict.PASS, "slo"))
    assert retry_spoiled(step, 3)(200.0) is SERVER_FAILED
    assert len(calls) == 1


def test_a_failure_is_confirmed_by_a_run_the_generator_did_not_spoil() -> None:
    # FAIL, then its repeat: spoiled once, then a pass that decides the step.
    step, calls = scripted(StepOutcome(Verdict.FAIL, "slo"), SPOILED, StepOutcome(Verdict.PASS, "slo met"))
    decided = measured_step(step, confirm=True, retries=1)(300.0)
    assert len(calls) == 3
    assert decided.verdict is Verdict.PASS


def test_without_retries_a_spoiled_step_stays_void() -> None:
    step, calls = scripted(SPOILED, StepOutcome(Verdict.PASS, "slo"))
    assert measured_step(step, confirm=True, retries=0)(300.0) is SPOILED
    assert len(calls) == 1
