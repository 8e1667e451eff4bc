"""schemathesis against each target's own /openapi.json, every check on: no 5xx for anything the schema admits
or rejects, every answer as the schema describes it, and nothing the schema admits refused.

It runs the `st` command this environment installed, with tests/schemathesis_hooks.py (an Idempotency-Key of
its own per request) and a fixed seed, so that a failure here is one `st run ... --seed 1` repeats.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from bench.infra.target_process import RunningTarget

REPO = Path(__file__).parent.parent
EXAMPLES = 10  # per operation and phase: every operation, every check, in about a minute for all targets


@pytest.mark.timeout(300)
def test_schemathesis_finds_no_mismatch_between_a_targets_schema_and_its_answers(
    running_target: RunningTarget, tmp_path: Path
) -> None:
    st = Path(sys.executable).with_name("st")
    junit = tmp_path / "junit.xml"
    argv = [str(st), "run", f"{running_target.base_url}/openapi.json", "--checks", "all"]
    argv += ["--max-examples", str(EXAMPLES), "--seed", "1", "--workers", "2"]
    argv += ["--report", "junit", "--report-junit-path", str(junit)]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks", "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=280, env=env, cwd=REPO)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    # Every operation of the schema was tested, and none failed.
    suites = ElementTree.parse(junit).getroot()
    cases = suites.findall(".//testcase")
    assert len(cases) >= 12, ElementTree.tostring(suites)[:2000]
    assert not [case for case in cases if case.find("failure") is not None or case.find("error") is not None]
