"""invariants.json: the data checks run after an arm's load stopped (the checks themselves live with each target)."""

from __future__ import annotations

import msgspec

from targets.common.checks import DataCheck


class DataChecks(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    checked: bool
    checks: list[DataCheck] = []
    why_not_checked: str | None = None
    seconds: float | None = None

    @property
    def passed(self) -> bool | None:
        return all(check.passed for check in self.checks) if self.checked else None


def not_checked(reason: str) -> DataChecks:
    return DataChecks(checked=False, why_not_checked=reason)
