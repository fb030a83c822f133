"""Waiting with a deadline, and the life of the servers the harness starts: spawn, look up in /proc, stop.

Only ``wait_for`` sleeps, inside a polling loop with a deadline. Nothing here asserts on timing.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shlex
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from harness.environment import DEFAULT_TIMEOUT

_PR_SET_PDEATHSIG = 1
try:
    _LIBC: Any = ctypes.CDLL(None, use_errno=True)
except OSError:  # pragma: no cover - not Linux/glibc
    _LIBC = None


class HarnessError(RuntimeError):
    """The harness could not bring the fleet into the requested state (with the evidence in the message)."""


class ServerExited(HarnessError):
    """A server exited while the harness waited for it to be ready (``returncode``: its exit status)."""

    def __init__(self, message: str, returncode: int):
        super().__init__(message)
        self.returncode = returncode


def wait_for(
    predicate: Callable[[], Any],
    what: str,
    timeout: float = DEFAULT_TIMEOUT,
    interval: float = 0.05,
    details: Callable[[], str] | None = None,
) -> Any:
    """Poll ``predicate`` until it returns a truthy value (returned) or the deadline passes (HarnessError).

    The only place of the harness that sleeps. ``details`` adds evidence (e.g. a log tail) to the error.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            message = f"timed out after {timeout:g}s waiting for {what}"
            if details is not None:
                message += "\n" + details()
            raise HarnessError(message)
        time.sleep(min(interval, remaining))
        interval = min(interval * 1.5, 0.5)


def _child_setup() -> None:  # runs in the forked child before exec: no imports, no allocations of note
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)  # die with the test process


def spawn(argv: Sequence[str], stdout_path: Path, env: Mapping[str, str] | None = None) -> subprocess.Popen:
    """Start a long-running server: own session, output to a file, SIGTERM if the test process dies."""
    with open(stdout_path, "ab") as out:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            preexec_fn=_child_setup,
        )


def wait_ready(
    process: subprocess.Popen, ready: Callable[[], Any], what: str, timeout: float, details: Callable[[], str]
) -> Any:
    """``wait_for(ready)`` while ``process`` runs; ServerExited (with the ``details``) as soon as it has exited."""

    def check() -> Any:
        if process.poll() is not None:
            message = f"{shlex.join(process.args)} exited with {process.returncode} before {what}\n{details()}"
            raise ServerExited(message, process.returncode)
        return ready()

    return wait_for(check, what, timeout, details=details)


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, ppid) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[1])


def _children_map() -> dict:
    children: dict = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _proc_stat(int(entry))
            if stat is not None:
                children.setdefault(stat[1], []).append(int(entry))
    return children


def descendants(pid: int) -> list:
    """All live descendants of ``pid`` (children, grandchildren, ...), from /proc."""
    children = _children_map()
    found: list = []
    todo = list(children.get(pid, ()))
    while todo:
        child = todo.pop()
        if child not in found:
            found.append(child)
            todo.extend(children.get(child, ()))
    return found


def alive(pid: int) -> bool:
    stat = _proc_stat(pid)
    return stat is not None and stat[0] != "Z"  # a zombie is dead; its (new) parent reaps it


def send_signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def kill_process_tree(process: subprocess.Popen, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Stop ``process`` and everything below it, then reap it.

    sshd's per-connection processes call setsid() and survive the listener (and a session's command survives its
    sshd), so a process-group kill is not enough: freeze the tree with SIGSTOP (no new forks), SIGKILL every
    descendant, SIGTERM the root (sshd removes its pid file), wait for all of them with a deadline.
    """
    if process.poll() is not None:
        return
    root = process.pid
    send_signal(root, signal.SIGSTOP)
    frozen: list = []
    for _round in range(100):  # bounded: stop descendants until the tree no longer grows
        new = [pid for pid in descendants(root) if pid not in frozen]
        if not new:
            break
        for pid in new:
            send_signal(pid, signal.SIGSTOP)
        frozen.extend(new)
    for pid in frozen:
        send_signal(pid, signal.SIGKILL)
    send_signal(root, signal.SIGTERM)
    send_signal(root, signal.SIGCONT)
    _reap(process, timeout)
    wait_exited(frozen, f"the processes below pid {root} to exit", timeout)


def is_running(process: subprocess.Popen | None) -> bool:
    return process is not None and process.poll() is None


def stop_process(process: subprocess.Popen, timeout: float = DEFAULT_TIMEOUT) -> None:
    """SIGTERM a server without children of note (rsyslogd) and reap it."""
    if process.poll() is None:
        process.terminate()
        _reap(process, timeout)


def _reap(process: subprocess.Popen, timeout: float) -> None:
    """Wait for ``process`` to exit; SIGKILL it if it outlives the deadline."""
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


def wait_exited(pids: Sequence[int], what: str, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Wait until none of ``pids`` is alive (they are not our children: nothing to reap)."""
    wait_for(
        lambda: not any(alive(pid) for pid in pids),
        what,
        timeout=timeout,
        details=lambda: f"still alive: {[pid for pid in pids if alive(pid)]}",
    )


def cmdline(pid: int) -> str:
    """The command line of ``pid``, arguments separated by spaces ("" when the process is gone)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def pids_with_argument(text: str) -> list:
    """Pids (other than ours) whose command line contains ``text``."""
    own = os.getpid()
    return [
        int(entry)
        for entry in os.listdir("/proc")
        if entry.isdigit() and int(entry) != own and text in cmdline(int(entry))
    ]


def tail_text(text: str, lines: int = 30) -> str:
    """The last ``lines`` lines of ``text``, for the evidence of an error or assertion message."""
    return "\n".join(text.splitlines()[-lines:]) or "(empty)"


def tail_file(path: Path | None, lines: int = 30) -> str:
    if path is None:
        return "(none)"
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"({path}: {exc.strerror})"
    return tail_text(text, lines)
