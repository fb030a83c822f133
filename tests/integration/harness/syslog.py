"""Real ``rsyslogd`` daemons: ``Rsyslogd`` runs one with a given configuration; ``PrivateSyslog`` is the one that
owns /dev/log, so sshd's lines reach a real auth.log in real syslog format.

/dev/log is machine-wide: a lock file keeps two harnesses (of parallel test runs) from fighting over it, and an
existing /dev/log (a system syslog daemon) is left alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Callable, Mapping

from harness.environment import DEFAULT_TIMEOUT
from harness.processes import is_running, spawn, stop_process, tail_file, wait_ready

SYSLOG_SOCKET = "/dev/log"
_DEVLOG_LOCK = Path(tempfile.gettempdir()) / "fleetwatch-harness-devlog.lock"


class Rsyslogd:
    """A foreground ``rsyslogd -n`` whose configuration is ``rules`` (after its own work directory), with its pid
    file and output under ``workdir``. ``env``: its environment (e.g. a ``TZ`` for the traditional timestamps)."""

    def __init__(self, workdir: Path, rules: str, rsyslogd: str, env: Mapping[str, str] | None = None):
        self.workdir = workdir
        self.rules = rules
        self.rsyslogd = rsyslogd
        self.env = env
        self.config_path = workdir / "rsyslog.conf"
        self.pid_file = workdir / "rsyslogd.pid"
        self.output_path = workdir / "rsyslogd.out"
        self.process: subprocess.Popen | None = None

    def start(self, ready: Callable[[], Any], what: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Start rsyslogd and wait until ``ready()`` (HarnessError, rsyslogd stopped, if it exits or times out)."""
        work = self.workdir / "rsyslog-work"
        work.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(f'global(workDirectory="{work}")\n{self.rules}', encoding="utf-8")
        argv = [self.rsyslogd, "-n", "-f", str(self.config_path), "-i", str(self.pid_file)]
        self.process = spawn(argv, self.output_path, env=self.env)
        try:
            wait_ready(self.process, ready, what, timeout, details=lambda: f"--- output ---\n{self.output_tail()}")
        except BaseException:
            self.stop()
            raise

    @property
    def running(self) -> bool:
        return is_running(self.process)

    def output_tail(self) -> str:
        return tail_file(self.output_path)

    def stop(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        if self.process is not None:
            stop_process(self.process, timeout)


class PrivateSyslog:
    """An ``rsyslogd -n`` listening on /dev/log that writes ``auth,authpriv.*`` to ``auth_log`` (real syslog lines).

    Started only when /dev/log is free (and no other harness holds the lock); otherwise ``reason`` says why not.
    """

    def __init__(self, workdir: Path, rsyslogd: str, socket_path: str = SYSLOG_SOCKET):
        self.workdir = workdir
        self.socket_path = socket_path
        self.auth_log = workdir / "auth.log"
        rules = (
            f'module(load="imuxsock" SysSock.Name="{socket_path}" SysSock.Unlink="on" SysSock.RateLimit.Interval="0")\n'
            f'auth,authpriv.* action(type="omfile" file="{self.auth_log}" template="RSYSLOG_TraditionalFileFormat")\n'
        )
        self.daemon = Rsyslogd(workdir, rules, rsyslogd)
        self.reason: str | None = None
        self._lock: Any = None

    def start(self, timeout: float = DEFAULT_TIMEOUT) -> bool:
        """True when running; False (``reason`` set) when /dev/log is not free."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not self._take_socket():
            return False
        self.auth_log.touch()
        try:
            self.daemon.start(
                self._logs_a_token(), f"rsyslogd to own {self.socket_path} and write {self.auth_log}", timeout
            )
        except BaseException:
            self.stop()
            raise
        return True

    def _take_socket(self) -> bool:
        """Hold the harness lock on the socket path, if no other harness and no syslog daemon has it."""
        lock = open(_DEVLOG_LOCK, "a", encoding="utf-8")  # noqa: SIM115 - held for the lifetime of the rsyslogd
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            self.reason = f"{self.socket_path} is in use by another fleet harness (lock {_DEVLOG_LOCK})"
            return False
        if os.path.lexists(self.socket_path):
            lock.close()
            self.reason = f"{self.socket_path} already exists (a syslog daemon owns it): no private rsyslogd"
            return False
        self._lock = lock
        return True

    def _logs_a_token(self) -> Callable[[], bool]:
        """A readiness check: send one message through the socket once it exists, true once auth_log has it."""
        token = f"fleetwatch-harness-ready-{secrets.token_hex(6)}"
        sent: list = []

        def ready() -> bool:
            if not sent:
                if not os.path.exists(self.socket_path):
                    return False
                try:  # once bound, the socket queues the datagram until rsyslogd reads it
                    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                        sock.sendto(f"<86>fleetwatch-harness: {token}".encode(), self.socket_path)  # authpriv.info
                except OSError:
                    return False
                sent.append(True)
            return token in self.auth_log.read_text(encoding="utf-8", errors="replace")

        return ready

    @property
    def running(self) -> bool:
        return self.daemon.running

    def stop(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        if self.daemon.process is not None:
            self.daemon.stop(timeout)
            if os.path.exists(self.socket_path) and not unix_socket_listening(self.socket_path):
                with contextlib.suppress(OSError):  # rsyslogd unlinks it; remove it if it did not
                    os.unlink(self.socket_path)
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def unix_socket_listening(path: str) -> bool:
    """True when a datagram unix socket at ``path`` accepts a connection (someone is listening)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(path)
            return True
    except OSError:
        return False
