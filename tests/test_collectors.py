"""The process collector on real process trees: descendants from one shared table, PSS read in turns."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from bench.infra.probe import wait_until
from bench.run.collectors.processes import ChildrenTable, ProcessTreeSampler

pytestmark = pytest.mark.timeout(60)

MIB = 1024 * 1024
SLEEPER = "import time; time.sleep(60)"
PARENT = f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {SLEEPER!r}]); time.sleep(60)"
# A process with a child, a grandchild and a sleeper of its own, which holds `GROW` MiB more (touched, so
# resident) once the file "grow" appears.
TREE = f"""
import subprocess, sys, time
from pathlib import Path
kids = [subprocess.Popen([sys.executable, "-c", code]) for code in ({PARENT!r}, {SLEEPER!r})]
Path(sys.argv[1], "started").write_text(" ".join(str(kid.pid) for kid in kids))
held = None
deadline = time.monotonic() + 60  # gone by itself should the test die without killing it
while time.monotonic() < deadline:
    if held is None and Path(sys.argv[1], "grow").exists():
        held = bytearray(int(sys.argv[2]) * 1024 * 1024)
        for at in range(0, len(held), 4096):
            held[at] = 1
        Path(sys.argv[1], "grown").touch()
    time.sleep(0.01)
"""
GROW = 64


@pytest.fixture
def tree(tmp_path: Path) -> Iterator[tuple[psutil.Process, list[int], Path]]:
    process = subprocess.Popen([sys.executable, "-c", TREE, str(tmp_path), str(GROW)])
    root = psutil.Process(process.pid)
    try:
        started = tmp_path / "started"
        # Exists before it is written: wait for both pids in it.
        wait_until(lambda: started.exists() and len(started.read_text().split()) == 2, timeout=20, what="the tree")
        parent = psutil.Process(int(started.read_text().split()[0]))
        wait_until(lambda: len(parent.children()) == 1, timeout=20, what="the grandchild to start")
        yield root, [child.pid for child in root.children(recursive=True)], tmp_path
    finally:
        for child in root.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        process.kill()
        process.wait(timeout=10)


def test_one_table_finds_every_descendant_that_psutil_finds(tree: tuple[psutil.Process, list[int], Path]) -> None:
    root, descendants, _ = tree
    assert len(descendants) == 3, "a child, its child and a sleeper"
    table = ChildrenTable.read()
    assert sorted(table.descendants(root.pid)) == sorted(descendants)
    assert len(table.children[root.pid]) == 2

    sampled = ProcessTreeSampler([root.pid]).sample(table)
    assert sampled is not None
    assert set(sampled.cpu_by_pid) == {root.pid, *descendants}
    alone = ProcessTreeSampler([root.pid], descendants=False).sample(table)
    assert alone is not None
    assert set(alone.cpu_by_pid) == {root.pid}


def test_pss_read_in_turns_still_sees_a_process_grow_within_its_period(
    tree: tuple[psutil.Process, list[int], Path],
) -> None:
    root, _, folder = tree
    every = 3
    sampler = ProcessTreeSampler([root.pid], pss_every=every)
    before = [sampler.sample() for _ in range(every)]
    assert all(sample is not None and sample.pss_bytes is not None for sample in before), before
    baseline = max(sample.pss_bytes for sample in before if sample is not None and sample.pss_bytes is not None)

    (folder / "grow").touch()
    wait_until(lambda: (folder / "grown").exists(), timeout=20, what="the child to hold its memory")
    first = sampler.sample()
    assert first is not None
    assert first.rss_bytes > GROW * MIB, "RSS is read at every sample"
    after = [first, *(sampler.sample() for _ in range(every - 1))]
    grown = [sample.pss_bytes for sample in after if sample is not None and sample.pss_bytes is not None]
    assert len(grown) == every, "between its reads a process's last PSS stands: no sample lacks it"
    assert max(grown) - baseline > GROW * MIB * 0.9, (baseline, grown)


def test_the_harness_trees_read_rss_only(tree: tuple[psutil.Process, list[int], Path]) -> None:
    root, _, _ = tree
    sample = ProcessTreeSampler([root.pid], pss=False).sample()
    assert sample is not None
    assert sample.rss_bytes > 0
    assert sample.uss_bytes is None
    assert sample.pss_bytes is None


def test_a_tree_whose_root_exited_gives_no_sample() -> None:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    sampler = ProcessTreeSampler([process.pid])
    assert sampler.sample() is not None
    process.kill()
    process.wait(timeout=10)
    assert sampler.sample() is None
