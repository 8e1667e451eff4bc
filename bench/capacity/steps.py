"""One step of a sweep, read from its run directory: what it measured, and its verdict.

The latency the SLOs judge is the one a user would have seen. In the open model that is the latency
measured from each action's intended start (histograms/steady.json "intended"): a request held back
because every in-flight user was still waiting for the target counts its wait, so a stall of the
target cannot hide (coordinated omission corrected). The latency from the actual send is kept beside
it as the uncorrected figure. In the closed model there is no intended start and the two are the same.

The verdict of a rate step, in this order:

1. The run did not complete: FAIL if the target (or a projector) died during it, the target's doing;
   otherwise VOID (a server or the harness failed: nothing learnt about the target).
2. The run is invalid for another reason than the load generator or the arrival rate (no steady second
   measured): VOID.
3. The achieved arrival rate fell short of the asked one (below 95%) with a healthy generator: the
   in-flight users were all busy waiting for the target (at least BUSY_SHARE of them by Little's law:
   requests/s x mean latency from the send), so the target could not keep up: FAIL. A shortfall with
   idle users, or with a saturated or late generator, is the generator not keeping its schedule: VOID,
   unless the late generator cannot explain the failure (6).
4. Otherwise PASS iff every SLO holds on the run's metrics (bench.report.slo.check_run, on the corrected
   latency); a shortfall (3) FAILs with the SLOs' verdicts added to its reason.
5. The load generator could not be trusted (a Locust process above the CPU limit, or its event loop
   late; bench/run/validity.py): a FAIL is VOID instead, since the generator may have caused it, unless
   the failure lies beyond its reach (6). A PASS stands. A late or busy generator can only add to the
   latency it measures (a send held back counts from its intended start, a response read late counts
   until it is read) and to its errors, and the arrival rate was checked in (3), so a target that met
   every SLO through it would meet them without it. Voiding such passes made a step of 6 seconds void
   on one late second (over 10% of them).
6. A loop that was only late (its CPU below the limit) woke each greenlet at most its worst measured
   lag (plus the probe's period, bench.rundir.columns.LOOP_LAG_PERIOD_S) late. The latency from the
   actual send counts only the wake-ups after the send (the answer, read in up to WAKE_UPS_PER_REQUEST
   parts), so the loop added at most that many of those delays to it. A latency SLO that the latency
   from the send fails even with that much taken off every request was failed by the target at the
   rate actually sent, at most the asked one: FAIL, with or without a shortfall. Errors are never put
   beyond a generator's reach. Without this, crud's steps at 1,200 and 1,600 actions/s in the default
   comparison (p99 of writes 6 s) were void, and run again, on a loop that was 20-100 ms late.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import msgspec

from bench.capacity.search import StepOutcome, Verdict
from bench.report.groups import ALL
from bench.report.metrics import LATENCY_MEAN, RunMetrics, errors_id, latency_id, run_metrics
from bench.report.rundata import RunData
from bench.report.slo import Slo, check_run
from bench.rundir.columns import LOOP_LAG_PERIOD_S
from bench.rundir.validity import GENERATOR_FINDINGS, EndKind, FindingKind

BUSY_SHARE = 0.8  # of the in-flight users busy on average: "all busy" within the noise of Little's law
WAKE_UPS_PER_REQUEST = 3  # waits of a request after its send (its answer in parts), each as late as the loop
LEVEL_VALID = "valid"  # the reason of a usable concurrency level


def corrected(run: RunData) -> RunData:
    """The run as its SLOs should see it: in the open model, latency measured from each intended start."""
    if run.steady is None or not run.steady.intended:
        return run
    return dataclasses.replace(run, steady=msgspec.structs.replace(run.steady, latency=run.steady.intended))


def _users(run: RunData) -> int:
    return run.manifest.settings.load.users


def _busy_users(run: RunData) -> float | None:
    """Little's law: requests/s times the mean time from send to answer is how many users wait on average."""
    overall = run.steady.latency.get(ALL) if run.steady is not None else None
    if overall is None or not overall.count or run.steady is None or not run.steady.seconds_measured:
        return None
    return overall.count / run.steady.seconds_measured * overall.mean_ms / 1000.0


def _generator_reach_ms(run: RunData) -> float | None:
    """The most a late event loop can have added to a request's latency from its send (rule 6); None when
    no bound is known: a saturated generator, or a lag not measured."""
    validity = run.validity
    worst = validity.measures.loop_lag_max_ms
    if validity.of_kind(FindingKind.GENERATOR_CPU) or not worst:
        return None
    return WAKE_UPS_PER_REQUEST * (max(worst.values()) + LOOP_LAG_PERIOD_S * 1000.0)


def _achieved(run: RunData) -> float | None:
    return run.steady.actions_per_second if run.steady is not None else None


def step_measures(run: RunData, metrics: RunMetrics, uncorrected: RunMetrics) -> dict[str, float]:
    """The figures a step is reported with (only those measured); latency in ms, corrected unless said."""
    found: dict[str, float | None] = {
        "actions_per_s": _achieved(run),
        "requests_per_s": metrics.values.get("requests_per_s"),
        "mean_ms": metrics.values.get(LATENCY_MEAN),
        "p50_ms": metrics.values.get(latency_id(ALL, "p50")),
        "p99_ms": metrics.values.get(latency_id(ALL, "p99")),
        "p50_uncorrected_ms": uncorrected.values.get(latency_id(ALL, "p50")),
        "p99_uncorrected_ms": uncorrected.values.get(latency_id(ALL, "p99")),
        "errors_percent": metrics.values.get(errors_id(ALL)),
        "in_flight_users": float(_users(run)),
        "busy_users": _busy_users(run),
        "cpu_target_percent": metrics.values.get("cpu_target_percent"),
        "cpu_generator_percent": metrics.values.get("cpu_generator_percent"),
    }
    return {name: float(value) for name, value in found.items() if value is not None}


def _reasons(run: RunData) -> tuple[list[str], list[str], list[str]]:
    """The run's invalidity findings, told apart by kind: the generator's, the rate shortfall's, and any other."""
    generator, shortfall, other = [], [], []
    for finding in run.findings:
        if finding.kind in GENERATOR_FINDINGS:
            generator.append(finding.detail)
        elif finding.kind is FindingKind.RATE_SHORTFALL:
            shortfall.append(finding.detail)
        else:
            other.append(finding.detail)
    return generator, shortfall, other


def _incomplete(run: RunData, measures: dict[str, float], achieved: float | None) -> StepOutcome:
    ended = run.manifest.ended
    why = ended.summary if ended is not None else "no reason recorded"
    if ended is not None and ended.kind is EndKind.TARGET_DIED:
        return StepOutcome(Verdict.FAIL, f"the target died under this load: {why}", achieved, measures)
    return StepOutcome(Verdict.VOID, f"the run did not complete: {why}", achieved, measures)


def _shortfall(measures: dict[str, float], reason: str) -> tuple[bool, str]:
    """(the target's doing?, a sentence): were the in-flight users all busy while the rate fell short?"""
    busy, users = measures.get("busy_users"), measures.get("in_flight_users")
    if busy is None or users is None:
        return False, f"{reason}, and how busy the in-flight users were is unknown"
    if busy >= BUSY_SHARE * users:
        return True, f"the target could not keep up: {reason}, with {busy:,.1f} of {users:,.0f} in-flight users busy"
    return False, (
        f"the generator did not keep its schedule: {reason}, though only {busy:,.1f} of {users:,.0f} in-flight "
        f"users were busy"
    )


def judge_rate_step(run: RunData, slos: Sequence[Slo]) -> StepOutcome:
    """PASS, FAIL or VOID by the rule of this module's docstring."""
    metrics, uncorrected = run_metrics(corrected(run)), run_metrics(run)
    measures = step_measures(run, metrics, uncorrected)
    achieved = measures.get("actions_per_s")
    if not run.complete:
        return _incomplete(run, measures, achieved)
    generator, shortfall, other = _reasons(run)
    if other:  # no steady state: a repeat would not measure one either
        return StepOutcome(Verdict.VOID, "; ".join(generator + other), achieved, measures)
    untrusted = "; ".join(generator)
    failed: list[str] = []
    if shortfall:
        target_to_blame, sentence = _shortfall(measures, "; ".join(shortfall))
        if not (target_to_blame or generator):
            return StepOutcome(Verdict.VOID, sentence, achieved, measures, generator_spoiled=True)
        failed.append(sentence if not generator else f"it fell short of the rate: {'; '.join(shortfall)}")
    results = [check_run(slo, metrics) for slo in slos]
    failed += [f"{result.slo.text}: {result.detail}" for result in results if not result.passed]
    if failed and generator:
        reach = _generator_reach_ms(run)
        beyond = [slo.text for slo in slos if _fails_beyond(slo, uncorrected, reach)]
        if not beyond:
            sentence = f"{untrusted}, and it failed, perhaps for it ({'; '.join(failed)})"
            return StepOutcome(Verdict.VOID, sentence, achieved, measures, generator_spoiled=True)
        sentence = (
            f"{'; '.join(failed)}; though {untrusted}, that added at most {reach:,.0f} ms to a request's latency "
            f"from its send, and {', '.join(beyond)} fails by more than that"
        )
        return StepOutcome(Verdict.FAIL, sentence, achieved, measures)
    if failed:
        return StepOutcome(Verdict.FAIL, "; ".join(failed), achieved, measures)
    met = "; ".join(f"{result.slo.text}: {result.detail}" for result in results)
    despite = f", though {untrusted}, which can only have added latency" if generator else ""
    return StepOutcome(Verdict.PASS, f"every SLO met ({met}){despite}", achieved, measures)


def _fails_beyond(slo: Slo, uncorrected: RunMetrics, reach: float | None) -> bool:
    """Does the latency from the send fail this SLO with `reach` ms taken off every request? (rule 6)"""
    value = uncorrected.values.get(slo.metric_id)
    if reach is None or value is None or slo.stat == "errors":
        return False
    return not slo.met_by(value - reach)


def judge_level(run: RunData) -> StepOutcome:
    """A concurrency level's point is usable (PASS) when its run is complete and valid, else VOID."""
    metrics = run_metrics(run)
    measures = step_measures(run, metrics, metrics)
    achieved = measures.get("actions_per_s")
    if not run.complete:
        return _incomplete(run, measures, achieved)
    if not run.valid:
        return StepOutcome(Verdict.VOID, "; ".join(run.invalid_reasons), achieved, measures)
    return StepOutcome(Verdict.PASS, LEVEL_VALID, achieved, measures)
