"""Starting server processes that cannot outlive the harness, and stopping them with their children."""

import contextlib
import ctypes
import os
import pwd
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import psutil

from bench.infra.errors import InfraError

_PR_SET_PDEATHSIG = 1
_SECONDS_TO_DIE_AFTER_SIGKILL = 5.0


def spawn(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
    log_path: Path,
    death_signal: signal.Signals = signal.SIGTERM,
    cpus: Collection[int] | None = None,
) -> subprocess.Popen[bytes]:
    """Start `argv` with stdout and stderr appended to `log_path`, pinned to `cpus` unless None.

    The child gets its own session, so a Ctrl-C in the terminal reaches only the harness, which then
    stops the child in order. On Linux the kernel sends the child `death_signal` when the harness dies,
    even by SIGKILL. That signal is tied to the *thread* that spawned the child: spawn from a thread
    that lives as long as the server should (normally the main thread).

    `cpus` is set in the child before exec (sched_setaffinity), so that the program and every process
    it starts run only there; it needs Linux (bench.infra.cpus.can_pin).
    """
    account = pwd.getpwnam(user) if user is not None else None
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
            user=account.pw_uid if account else None,
            group=account.pw_gid if account else None,
            # Explicit, so that the child never keeps the harness's supplementary groups (root's, say).
            extra_groups=[account.pw_gid] if account else None,
            preexec_fn=_in_child(death_signal, cpus),
        )


def _in_child(death_signal: signal.Signals, cpus: Collection[int] | None) -> Callable[[], None] | None:
    """What runs in the child between fork and exec: the death signal, then the CPUs."""
    die_with_parent = _die_with_parent(death_signal)
    if cpus is None:
        return die_with_parent
    if not hasattr(os, "sched_setaffinity"):
        raise InfraError("this system cannot pin processes to CPUs; run without CPU lists (co-located)")
    allowed = frozenset(cpus)

    def pin_then_die_with_parent() -> None:
        os.sched_setaffinity(0, allowed)  # an error here fails the Popen in the parent, with its message
        if die_with_parent is not None:
            die_with_parent()

    return pin_then_die_with_parent


def _die_with_parent(death_signal: signal.Signals) -> Callable[[], None] | None:
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    parent_pid = os.getpid()

    # Runs in the child between fork and exec, after Popen switched user (which would clear the setting).
    def set_death_signal() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, int(death_signal), 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os.kill(os.getpid(), death_signal)

    return set_death_signal


def stop_process_tree(
    proc: "subprocess.Popen[Any] | psutil.Process",
    *,
    signal_first: signal.Signals = signal.SIGTERM,
    timeout: float = 10.0,
) -> None:
    """Send `signal_first` to `proc`, wait up to `timeout` s for it and its descendants, SIGKILL the rest.

    Descendants are collected before signalling, since a dying parent's children get reparented.
    Idempotent and silent when the process is already gone; a Popen is always reaped.
    """
    popen = proc if isinstance(proc, subprocess.Popen) else None
    if popen is not None and popen.poll() is not None:
        return  # already reaped: its pid may belong to someone else by now
    try:
        root = psutil.Process(proc.pid) if isinstance(proc, subprocess.Popen) else proc
        descendants = root.children(recursive=True)
        root.send_signal(signal_first)
    except psutil.NoSuchProcess:
        if popen is not None:
            popen.wait()
        return

    deadline = time.monotonic() + timeout
    survivors = _wait_for_exit(popen, root, descendants, deadline)
    for survivor in survivors:
        with contextlib.suppress(psutil.NoSuchProcess):
            survivor.kill()
    undead = _wait_for_exit(popen, root, survivors, time.monotonic() + _SECONDS_TO_DIE_AFTER_SIGKILL)
    if undead:
        pids = ", ".join(str(p.pid) for p in undead)
        raise InfraError(f"processes {pids} survived SIGKILL; they are probably stuck in the kernel (I/O)")


def _wait_for_exit(
    popen: "subprocess.Popen[Any] | None",
    root: psutil.Process,
    processes: list[psutil.Process],
    deadline: float,
) -> list[psutil.Process]:
    """Wait until `deadline` for `root` and `processes` to exit; return those still alive."""
    alive: list[psutil.Process] = []
    if popen is not None:
        # Popen reaps its own child so that its returncode stays right (psutil would reap it blindly).
        try:
            popen.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            alive.append(root)
        others = [p for p in processes if p.pid != root.pid]
    else:
        others = processes if root in processes else [root, *processes]
    _, still_running = psutil.wait_procs(others, timeout=max(0.0, deadline - time.monotonic()))
    return alive + [p for p in still_running if not _is_zombie(p)]


def _is_zombie(process: psutil.Process) -> bool:
    # An orphan that exited stays a zombie until init reaps it, which not every container init does.
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
