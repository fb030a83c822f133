"""A fleet of real sshd servers on loopback, reachable by Ansible over real SSH, for integration tests.

Every host is an independent ``sshd -D`` process (run as root) on its own loopback address (127.0.0.11, .12, ...)
and a free port, with its own host key, pid file, log and ``fixture_root`` directory (the tree that host audits
through the collection's ``root`` option, so the hosts differ). The controller reaches them with a real ed25519 user
key and a real ``known_hosts`` file (strict host key checking).

Public API (see also tests/integration/conftest.py for the pytest fixtures):

- ``start_fleet(base_dir, n=5, **options) -> SshFleet`` (also a context manager)
- ``SshFleet``: ``hosts``, ``fleet[i]`` / ``fleet["fw-host-1"]``, ``write_inventory()``, ``ensure_running()``,
  ``close()``
- ``SshHost``: ``name``, ``address``, ``port``, ``fixture_root``, ``log_path``, ``start()``, ``stop()``, log helpers
- ``run_playbook(...) -> PlaybookResult`` runs the real ``ansible-playbook`` of the venv as a subprocess
- ``run_adhoc(...) -> AdhocResult`` runs the real ``ansible`` (ad-hoc) of the venv as a subprocess
- ``run_with_ansible_runner(...) -> RunnerResult`` runs the same through ``ansible_runner.run``
- ``require_binaries(*names)``: skip (or fail when ``CI`` is set) naming the Debian package of a missing binary

Only ``wait_for`` sleeps, inside a polling loop with a deadline. Nothing here asserts on timing.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import dataclasses
import fcntl
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
import weakref
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_DIR = REPO_ROOT / ".venv"
VENV_BIN = VENV_DIR / "bin" if (VENV_DIR / "bin").is_dir() else Path(sys.executable).parent
COLLECTIONS_PATH = VENV_DIR / "collections"
#: The project's own configuration (enables the fleetwatch.audit.fleet_diff callback). Pass it explicitly as
#: ``ansible_config=PROJECT_ANSIBLE_CFG``; the default is a minimal harness configuration without callbacks.
PROJECT_ANSIBLE_CFG = REPO_ROOT / "ansible.cfg"

#: Bounded deadline (seconds) for every wait of the harness: server start, stop, log lines.
DEFAULT_TIMEOUT = float(os.environ.get("FLEETWATCH_HARNESS_TIMEOUT", "20"))
#: Deadline for one ansible-playbook / ansible-runner run.
DEFAULT_RUN_TIMEOUT = float(os.environ.get("FLEETWATCH_HARNESS_RUN_TIMEOUT", "600"))

#: Binary -> Debian package providing it (for skip / failure messages).
DEBIAN_PACKAGES = {
    "sshd": "openssh-server",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
    "sshpass": "sshpass",
    "rsyslogd": "rsyslog",
}
#: Searched after $PATH: sshd lives in /usr/sbin, which is not on every user's PATH.
SYSTEM_BIN_DIRS: tuple = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")

SYSLOG_SOCKET = "/dev/log"
UNREACHABLE_HOST_NAME = "fw-unreachable"
UNREACHABLE_ADDRESS = "127.0.0.254"
RECAP_FIELDS = ("ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored")

_DEVLOG_LOCK = Path(tempfile.gettempdir()) / "fleetwatch-harness-devlog.lock"
_PR_SET_PDEATHSIG = 1
try:
    _LIBC: Any = ctypes.CDLL(None, use_errno=True)
except OSError:  # pragma: no cover - not Linux/glibc
    _LIBC = None
_OPEN_FLEETS: weakref.WeakSet = weakref.WeakSet()


class HarnessError(RuntimeError):
    """The harness could not bring the fleet into the requested state (with the evidence in the message)."""


# --------------------------------------------------------------------------------------------------------------
# Environment checks: skip locally, fail in CI


def in_ci() -> bool:
    """True when the CI environment variable is set (CI must not silently skip)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def skip_or_fail(reason: str) -> None:
    """``pytest.skip(reason)``, or ``pytest.fail`` when running in CI."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set: failing instead of skipping)", pytrace=False)
    pytest.skip(reason)


def find_binary(name: str) -> str | None:
    """Absolute path of ``name`` on $PATH or in the usual system bin/sbin directories, else None."""
    dirs = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d]
    dirs += [d for d in SYSTEM_BIN_DIRS if d not in dirs]
    found = shutil.which(name, path=os.pathsep.join(dirs)) if dirs else None
    return os.path.abspath(found) if found else None


def require_binaries(*names: str) -> dict:
    """Return ``{name: absolute path}``; skip the test (fail under CI) naming the Debian packages if one is missing."""
    found = {name: find_binary(name) for name in names}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        packages = sorted({DEBIAN_PACKAGES.get(name, name) for name in missing})
        skip_or_fail(
            f"missing binar{'y' if len(missing) == 1 else 'ies'} {', '.join(missing)}: "
            f"install the Debian package{'s' if len(packages) > 1 else ''} {' '.join(packages)} "
            f"(apt-get install {' '.join(packages)})"
        )
    return found


def require_root() -> None:
    """The fleet runs sshd as root and logs in as root: skip (fail under CI) otherwise."""
    if os.geteuid() != 0:
        skip_or_fail("the sshd fleet needs root (sshd privilege separation, login as root)")


def target_python() -> str:
    """The machine's python3 for the target side (not the venv): $FLEETWATCH_TARGET_PYTHON, /usr/bin/python3, PATH."""
    explicit = os.environ.get("FLEETWATCH_TARGET_PYTHON")
    if explicit:
        return explicit
    if os.access("/usr/bin/python3", os.X_OK):
        return "/usr/bin/python3"
    return find_binary("python3") or "/usr/bin/python3"


# --------------------------------------------------------------------------------------------------------------
# Polling and processes


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


def _spawn(argv: Sequence[str], stdout_path: Path) -> subprocess.Popen:
    """Start a long-running server: own session, output to a file, SIGTERM if the test process dies."""
    with open(stdout_path, "ab") as out:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_child_setup,
        )


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


def _alive(pid: int) -> bool:
    stat = _proc_stat(pid)
    return stat is not None and stat[0] != "Z"  # a zombie is dead; its (new) parent reaps it


def _signal(pid: int, sig: int) -> None:
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
    _signal(root, signal.SIGSTOP)
    frozen: list = []
    for _round in range(100):  # bounded: stop descendants until the tree no longer grows
        new = [pid for pid in descendants(root) if pid not in frozen]
        if not new:
            break
        for pid in new:
            _signal(pid, signal.SIGSTOP)
        frozen.extend(new)
    for pid in frozen:
        _signal(pid, signal.SIGKILL)
    _signal(root, signal.SIGTERM)
    _signal(root, signal.SIGCONT)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)
    wait_for(
        lambda: not any(_alive(pid) for pid in frozen),
        f"the processes below pid {root} to exit",
        timeout=timeout,
        details=lambda: f"still alive: {[pid for pid in frozen if _alive(pid)]}",
    )


def _tail(path: Path | None, lines: int = 30) -> str:
    if path is None:
        return "(none)"
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"({path}: {exc.strerror})"
    return "\n".join(text.splitlines()[-lines:]) or "(empty)"


# --------------------------------------------------------------------------------------------------------------
# Network helpers


def free_port(address: str) -> int:
    """A TCP port free on ``address`` right now (bind to port 0, read it, close). Callers retry on a race."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def port_open(address: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def probe_ssh_banner(address: str, port: int, timeout: float = 2.0) -> str | None:
    """The server's SSH identification string ("SSH-2.0-OpenSSH_...") or None.

    Sends a client identification before closing, so sshd logs a closed pre-auth connection rather than a
    protocol error.
    """
    try:
        with socket.create_connection((address, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            data = b""
            while b"\n" not in data and len(data) < 1024:
                chunk = sock.recv(256)
                if not chunk:
                    break
                data += chunk
            if not data.startswith(b"SSH-"):
                return None
            with contextlib.suppress(OSError):
                sock.sendall(b"SSH-2.0-fleetwatch_harness_probe\r\n")
            return data.split(b"\n", 1)[0].decode("ascii", "replace").strip()
    except OSError:
        return None


# --------------------------------------------------------------------------------------------------------------
# Private rsyslogd owning /dev/log (option syslog=True)


class PrivateSyslog:
    """An ``rsyslogd -n`` listening on /dev/log that writes ``auth,authpriv.*`` to ``auth_log`` (real syslog lines).

    Started only when /dev/log is free (and no other harness holds the lock); otherwise ``reason`` says why not.
    """

    def __init__(self, workdir: Path, rsyslogd: str, socket_path: str = SYSLOG_SOCKET):
        self.workdir = workdir
        self.rsyslogd = rsyslogd
        self.socket_path = socket_path
        self.auth_log = workdir / "auth.log"
        self.config_path = workdir / "rsyslog.conf"
        self.pid_file = workdir / "rsyslogd.pid"
        self.output_path = workdir / "rsyslogd.out"
        self.process: subprocess.Popen | None = None
        self.reason: str | None = None
        self._lock: Any = None

    def start(self, timeout: float = DEFAULT_TIMEOUT) -> bool:
        """True when running; False (``reason`` set) when /dev/log is not free."""
        self.workdir.mkdir(parents=True, exist_ok=True)
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
        work = self.workdir / "rsyslog-work"
        work.mkdir(exist_ok=True)
        self.auth_log.touch()
        self.config_path.write_text(
            f'global(workDirectory="{work}")\n'
            f'module(load="imuxsock" SysSock.Name="{self.socket_path}" SysSock.Unlink="on"'
            ' SysSock.RateLimit.Interval="0")\n'
            f'auth,authpriv.* action(type="omfile" file="{self.auth_log}" template="RSYSLOG_TraditionalFileFormat")\n',
            encoding="utf-8",
        )
        argv = [self.rsyslogd, "-n", "-f", str(self.config_path), "-i", str(self.pid_file)]
        self.process = _spawn(argv, self.output_path)
        token = f"fleetwatch-harness-ready-{secrets.token_hex(6)}"
        sent: list = []

        def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise HarnessError(
                    f"rsyslogd exited with {self.process.returncode}: {shlex.join(argv)}\n"
                    f"--- output ---\n{_tail(self.output_path)}"
                )
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

        try:
            wait_for(
                ready,
                f"rsyslogd to own {self.socket_path} and write {self.auth_log}",
                timeout,
                details=lambda: f"--- output ---\n{_tail(self.output_path)}",
            )
        except BaseException:
            self.stop()
            raise
        return True

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=timeout)
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


# --------------------------------------------------------------------------------------------------------------
# Hosts and fleet

_SYSLOG_SSHD_LINE = re.compile(r"\bsshd(?:-session|-auth)?\[(\d+)\]:")


class SshHost:
    """One sshd server of the fleet.

    Attributes: ``name`` ("fw-host-1"), ``index`` (1-based), ``address`` ("127.0.0.11"), ``port``, ``workdir``,
    ``fixture_root`` (the tree this host audits through the collection's root option; starts with
    ``etc/hostname`` = name), ``config_path``, ``host_key_path``, ``host_public_key`` ("ssh-ed25519 AAAA..."),
    ``pid_file``, ``log_path`` (this host's ``sshd -E`` log, or the fleet's syslog auth.log when syslog is active).
    """

    def __init__(self, fleet: SshFleet, index: int, name: str, address: str):
        self.fleet = fleet
        self.index = index
        self.name = name
        self.address = address
        self.port: int = 0
        self.workdir = fleet.base_dir / name
        self.fixture_root = self.workdir / "root"
        self.config_path = self.workdir / "sshd_config"
        self.host_key_path = self.workdir / "ssh_host_ed25519_key"
        self.pid_file = self.workdir / "sshd.pid"
        self.output_path = self.workdir / "sshd.out"
        self.file_log_path = self.workdir / "sshd.log"
        self.host_public_key = ""
        self.banner = ""  # the server's SSH identification string, once started
        self.process: subprocess.Popen | None = None
        self._log_start = 0
        self._pids: set = set()  # listener pids of this host (syslog mode: attribute log lines)

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<SshHost {self.name} {self.address}:{self.port} {state}>"

    # -- state

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.running and self.process is not None else None

    @property
    def known_hosts_line(self) -> str:
        return f"[{self.address}]:{self.port} {self.host_public_key}"

    @property
    def log_path(self) -> Path:
        return self.fleet.auth_log_path if self.fleet.syslog_active else self.file_log_path

    def _prepare(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.fixture_root / "etc").mkdir(parents=True, exist_ok=True)
        (self.fixture_root / "etc" / "hostname").write_text(self.name + "\n", encoding="utf-8")
        _keygen(self.fleet.binaries["ssh-keygen"], self.host_key_path, comment=self.name)
        key = Path(f"{self.host_key_path}.pub").read_text(encoding="utf-8").split()
        self.host_public_key = f"{key[0]} {key[1]}"

    def _write_config(self) -> None:
        options = dict(self.fleet.sshd_options)  # sshd keeps the first value: user options go first
        lines = [f"{key} {value}" for key, value in options.items()]
        lines += [
            f"ListenAddress {self.address}:{self.port}",
            f"HostKey {self.host_key_path}",
            f"PidFile {self.pid_file}",
            f"AuthorizedKeysFile {self.fleet.authorized_keys_path}",
            "StrictModes no",
            "UsePAM no",
            "PermitRootLogin prohibit-password",
            "PubkeyAuthentication yes",
            "PasswordAuthentication yes",
            "KbdInteractiveAuthentication no",
            "LogLevel VERBOSE",
            "SyslogFacility AUTH",
            "UseDNS no",
            "PrintMotd no",
            "PrintLastLog no",
            "MaxStartups 50:30:100",
            "LoginGraceTime 30",
            "AcceptEnv LANG LC_*",
            "Subsystem sftp internal-sftp",
        ]
        self.config_path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def _launch(self) -> None:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation directory
        self._write_config()
        argv = [self.fleet.binaries["sshd"], "-D", "-f", str(self.config_path)]
        if not self.fleet.syslog_active:
            argv += ["-E", str(self.file_log_path)]
        self._log_start = self._log_size()
        self.process = _spawn(argv, self.output_path)
        self._pids.add(self.process.pid)

    def _log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def _failure_details(self) -> str:
        log = self.log_text(since=self._log_start)
        output = _tail(self.output_path)
        return (
            f"--- sshd log {self.log_path} (tail) ---\n{chr(10).join(log.splitlines()[-30:]) or '(empty)'}\n"
            f"--- sshd stdout/stderr {self.output_path} (tail) ---\n{output}\n"
            f"--- config {self.config_path} ---\n{_tail(self.config_path, 60)}"
        )

    def _wait_ready(self, timeout: float) -> str:
        def ready() -> str | None:
            if self.process is None or self.process.poll() is not None:
                raise _SshdExited(self.process.returncode if self.process else None)
            return probe_ssh_banner(self.address, self.port)

        return wait_for(
            ready,
            f"sshd of {self.name} to answer an SSH banner on {self.address}:{self.port}",
            timeout,
            details=self._failure_details,
        )

    def start(self, timeout: float | None = None) -> None:
        """Start (or restart) this host's sshd on the same address, port and host key; wait for its banner."""
        if self.running:
            return
        self._launch()
        self._finish_start(timeout if timeout is not None else self.fleet.timeout, allow_new_port=False)

    def _finish_start(self, timeout: float, allow_new_port: bool) -> None:
        for attempt in range(3):
            try:
                self.banner = self._wait_ready(timeout)
                return
            except _SshdExited as exited:
                details = self._failure_details()
                port_taken = "Address already in use" in details
                if not (port_taken and allow_new_port and attempt < 2):
                    self.process = None
                    raise HarnessError(
                        f"sshd of {self.name} on {self.address}:{self.port} exited with {exited.returncode} "
                        f"before answering{' (port taken)' if port_taken else ''}\n{details}"
                    ) from None
                self.port = free_port(self.address)  # lost the race for the port: try another
                self._launch()
            except HarnessError:
                self.stop()
                raise

    def stop(self, timeout: float | None = None) -> None:
        """Stop this host's sshd and every session below it (a host whose sshd is down); the port is closed."""
        if self.process is None:
            return
        kill_process_tree(self.process, timeout if timeout is not None else self.fleet.timeout)
        self.process = None
        wait_for(
            lambda: not port_open(self.address, self.port, timeout=0.5),
            f"{self.address}:{self.port} to refuse connections after stopping {self.name}",
            self.fleet.timeout,
        )

    def restart(self, timeout: float | None = None) -> None:
        self.stop(timeout)
        self.start(timeout)

    # -- logs

    def log_offset(self) -> int:
        """Current size of the log: pass it as ``since=`` to look only at later lines."""
        return self._log_size()

    def log_text(self, since: int = 0) -> str:
        """This host's sshd log (from byte offset ``since``). In syslog mode: the lines of this host's processes."""
        try:
            with open(self.log_path, "rb") as handle:
                handle.seek(since)
                text = handle.read().decode("utf-8", "replace")
        except OSError:
            return ""
        if not self.fleet.syslog_active:
            return text
        return "".join(line for line in text.splitlines(keepends=True) if self._owns_syslog_line(line))

    def _owns_syslog_line(self, line: str) -> bool:
        match = _SYSLOG_SSHD_LINE.search(line)
        if match is None:
            return False
        pid = int(match.group(1))
        if pid in self._pids:
            return True
        if "Connection from " in line and re.search(rf" on {re.escape(self.address)} port {self.port}\b", line):
            self._pids.add(pid)  # the per-connection process of this host: its later lines are ours
            return True
        return False

    def log_lines(self, since: int = 0) -> list:
        return self.log_text(since).splitlines()

    def wait_for_log(self, pattern: str, since: int = 0, timeout: float | None = None) -> re.Match:
        """Wait (bounded) until a line of this host's log (after ``since``) matches ``pattern``; return the match."""
        regex = re.compile(pattern)

        def search() -> re.Match | None:
            for line in self.log_lines(since):
                found = regex.search(line)
                if found:
                    return found
            return None

        return wait_for(
            search,
            f"a line matching {pattern!r} in the sshd log of {self.name} ({self.log_path})",
            timeout if timeout is not None else self.fleet.timeout,
            details=lambda: "--- log since mark (tail) ---\n" + "\n".join(self.log_lines(since)[-30:]),
        )

    # -- client side

    def ssh_options(self, strict: bool = True, batch_mode: bool = True) -> list:
        """ssh client options for this fleet: no user config, the fleet's known_hosts (strict checking)."""
        if strict:
            checking = ["-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={self.fleet.known_hosts_path}"]
        else:
            checking = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
        batch = ["-o", f"BatchMode={'yes' if batch_mode else 'no'}"]
        return ["-F", "/dev/null", "-o", "GlobalKnownHostsFile=/dev/null", *checking, *batch]

    def ssh_argv(self, *command: str, user: str = "root", options: Sequence[str] = (), key: bool = True) -> list:
        """argv of a real ssh to this host (public key login as root by default) running ``command``."""
        argv = [self.fleet.binaries["ssh"], *self.ssh_options(), *options, "-p", str(self.port)]
        if key:
            argv += ["-o", "IdentitiesOnly=yes", "-i", str(self.fleet.user_key_path)]
        return [*argv, f"{user}@{self.address}", *command]

    def password_login_argv(self, password: str, *command: str, user: str = "root") -> list:
        """argv of ``sshpass -p PASSWORD ssh`` with password authentication only (for failed-login tests; sshd
        logs ``Failed password for USER from 127.0.0.1 port N ssh2``). Needs sshpass (``require_binaries``)."""
        sshpass = find_binary("sshpass")
        if sshpass is None:
            raise HarnessError("sshpass not found: install the Debian package sshpass")
        options = [
            *self.ssh_options(batch_mode=False),
            *("-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password"),
            *("-o", "NumberOfPasswordPrompts=1"),
        ]
        ssh = [self.fleet.binaries["ssh"], *options, "-p", str(self.port), f"{user}@{self.address}", *command]
        return [sshpass, "-p", password, *ssh]

    def write_file(self, relative: str, content: str | bytes, mode: int | None = None) -> Path:
        """Create a file under ``fixture_root`` (parents included) so this host's audited tree differs."""
        path = self.fixture_root / relative.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        if mode is not None:
            path.chmod(mode)
        return path


class _SshdExited(Exception):
    def __init__(self, returncode: int | None):
        super().__init__(returncode)
        self.returncode = returncode


def _keygen(ssh_keygen: str, path: Path, comment: str) -> None:
    for stale in (path, Path(f"{path}.pub")):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
    result = subprocess.run(
        [ssh_keygen, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=DEFAULT_TIMEOUT,
    )
    if result.returncode != 0:
        raise HarnessError(f"ssh-keygen failed for {path}: {result.stderr.strip()}")


class SshFleet:
    """N independent sshd servers on loopback. Iterable over its ``hosts``; ``fleet[0]`` or ``fleet["fw-host-1"]``.

    Attributes: ``base_dir``, ``hosts``, ``user_key_path`` (ed25519 private key), ``user_public_key``,
    ``authorized_keys_path``, ``known_hosts_path`` (real ``[addr]:port ssh-ed25519 ...`` lines),
    ``target_python``, ``timeout``, ``binaries`` ({name: path}), ``syslog_requested``, ``syslog_active``,
    ``syslog_unavailable_reason``, ``auth_log_path`` (syslog mode), ``unreachable_port``.
    """

    def __init__(
        self,
        base_dir: Path,
        n: int = 5,
        *,
        name_prefix: str = "fw-host-",
        first_address: int = 11,
        syslog: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
        sshd_options: Mapping[str, str] | None = None,
        python: str | None = None,
    ):
        if n < 1 or first_address + n - 1 > 250:
            raise ValueError(f"cannot place {n} hosts from 127.0.0.{first_address}")
        self.base_dir = Path(base_dir).resolve()
        self.timeout = timeout
        self.sshd_options = dict(sshd_options or {})
        self.target_python = python or target_python()
        self.syslog_requested = syslog
        self.syslog: PrivateSyslog | None = None
        self.syslog_unavailable_reason: str | None = None
        self.user_key_path = self.base_dir / "id_ed25519"
        self.authorized_keys_path = self.base_dir / "authorized_keys"
        self.known_hosts_path = self.base_dir / "known_hosts"
        self.user_public_key = ""
        self.binaries: dict = {}
        self.unreachable_port = 0
        self.closed = False
        self.hosts = [
            SshHost(self, i, f"{name_prefix}{i}", f"127.0.0.{first_address + i - 1}") for i in range(1, n + 1)
        ]

    def __repr__(self) -> str:
        return f"<SshFleet {self.base_dir} {self.hosts!r}>"

    def __iter__(self) -> Iterator[SshHost]:
        return iter(self.hosts)

    def __len__(self) -> int:
        return len(self.hosts)

    def __getitem__(self, key: int | str) -> SshHost:
        if isinstance(key, str):
            return self.host(key)
        return self.hosts[key]

    def __enter__(self) -> SshFleet:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def names(self) -> list:
        return [host.name for host in self.hosts]

    def host(self, name: str) -> SshHost:
        for host in self.hosts:
            if host.name == name:
                return host
        raise KeyError(f"no host {name!r} in the fleet (hosts: {', '.join(self.names)})")

    @property
    def syslog_active(self) -> bool:
        return self.syslog is not None and self.syslog.running

    @property
    def auth_log_path(self) -> Path:
        return self.base_dir / "syslog" / "auth.log"

    # -- lifecycle

    def start(self) -> SshFleet:
        """Generate keys, start every sshd (in parallel), wait until all answer. Called by ``start_fleet``."""
        require_root()
        needed = ["sshd", "ssh", "ssh-keygen"] + (["rsyslogd"] if self.syslog_requested else [])
        self.binaries = require_binaries(*needed)
        self.base_dir.mkdir(parents=True, exist_ok=True)
        _OPEN_FLEETS.add(self)
        try:
            _keygen(self.binaries["ssh-keygen"], self.user_key_path, comment="fleetwatch-harness")
            self.user_public_key = Path(f"{self.user_key_path}.pub").read_text(encoding="utf-8").strip()
            self.authorized_keys_path.write_text(self.user_public_key + "\n", encoding="utf-8")
            if self.syslog_requested:
                self._start_syslog()
            for host in self.hosts:
                host._prepare()
                host.port = free_port(host.address)
                host._launch()
            for host in self.hosts:
                host._finish_start(self.timeout, allow_new_port=True)
            self.write_known_hosts()
            self.unreachable_port = free_port(UNREACHABLE_ADDRESS)
        except BaseException:
            self.close()
            raise
        return self

    def _start_syslog(self) -> None:
        syslog = PrivateSyslog(self.auth_log_path.parent, self.binaries["rsyslogd"])
        if syslog.start(self.timeout):
            self.syslog = syslog
            return
        self.syslog_unavailable_reason = f"syslog=True: {syslog.reason}; sshd logs to per-host files (-E) instead"
        warnings.warn(self.syslog_unavailable_reason, stacklevel=3)

    def ensure_running(self) -> None:
        """Start every host that is stopped (e.g. after a test stopped one)."""
        for host in self.hosts:
            if not host.running:
                host.start()

    def stop_all(self) -> None:
        errors = []
        for host in self.hosts:
            try:
                host.stop()
            except HarnessError as exc:
                errors.append(str(exc))
        if errors:
            raise HarnessError("\n".join(errors))

    def close(self) -> None:
        """Stop every sshd (and its sessions) and the private rsyslogd; idempotent."""
        if self.closed:
            return
        self.closed = True
        try:
            self.stop_all()
        finally:
            if self.syslog is not None:
                self.syslog.stop(self.timeout)
            _OPEN_FLEETS.discard(self)

    # -- client files

    def write_known_hosts(self, path: Path | None = None) -> Path:
        """Write ``[127.0.0.N]:PORT ssh-ed25519 ...`` lines for every host (default: ``known_hosts_path``)."""
        target = Path(path) if path is not None else self.known_hosts_path
        target.write_text("".join(host.known_hosts_line + "\n" for host in self.hosts), encoding="utf-8")
        return target

    def ssh_common_args(self, strict: bool = True, known_hosts: Path | None = None) -> str:
        if strict:
            checking = (
                "-o StrictHostKeyChecking=yes "
                f"-o UserKnownHostsFile={shlex.quote(str(known_hosts or self.known_hosts_path))}"
            )
        else:
            checking = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
        return f"-F /dev/null -o IdentitiesOnly=yes -o GlobalKnownHostsFile=/dev/null {checking}"

    def connection_vars(self, strict: bool = True, known_hosts: Path | None = None) -> dict:
        """Inventory variables every fleet host gets besides ansible_host / ansible_port."""
        return {
            "ansible_user": "root",
            "ansible_ssh_private_key_file": str(self.user_key_path),
            "ansible_ssh_common_args": self.ssh_common_args(strict, known_hosts),
            # The host variable wins over ANSIBLE_HOST_KEY_CHECKING / ansible.cfg host_key_checking=False (which
            # would put -o StrictHostKeyChecking=no first on the ssh command line, and ssh keeps the first value).
            "ansible_ssh_host_key_checking": strict,
            "ansible_python_interpreter": self.target_python,
        }

    def write_inventory(
        self,
        path: str | os.PathLike,
        groups: Mapping[str, Any] | None = None,
        extra_vars: Mapping[str, Any] | None = None,
        *,
        hosts: Iterable[SshHost | str] | None = None,
        host_vars: Mapping[str, Mapping[str, Any]] | None = None,
        unreachable: bool = False,
        strict_host_key_checking: bool = True,
        known_hosts: str | os.PathLike | None = None,
        root_var: str | None = "fleetwatch_root",
    ) -> Path:
        """Write a YAML inventory of the fleet and return its path.

        ``groups``: ``{group: [host or name, ...]}`` or ``{group: {"hosts": [...], "vars": {...}}}``.
        ``extra_vars``: variables of group ``all``. ``hosts``: subset of hosts (default all).
        ``host_vars``: ``{name: {var: value}}`` merged over the generated ones. ``unreachable``: add host
        ``fw-unreachable`` (127.0.0.254, a closed port). ``root_var``: host variable set to the host's
        ``fixture_root`` (the collect role's ``fleetwatch_root``); None to omit.
        """
        selected = [self.host(h) if isinstance(h, str) else h for h in (hosts if hosts is not None else self.hosts)]
        common = self.connection_vars(strict_host_key_checking, Path(known_hosts) if known_hosts else None)
        inventory_hosts: dict = {}
        for host in selected:
            entry = {"ansible_host": host.address, "ansible_port": host.port, **common}
            if root_var:
                entry[root_var] = str(host.fixture_root)
            inventory_hosts[host.name] = entry
        if unreachable:
            inventory_hosts[UNREACHABLE_HOST_NAME] = {
                "ansible_host": UNREACHABLE_ADDRESS,
                "ansible_port": self.unreachable_port or free_port(UNREACHABLE_ADDRESS),
                **common,
            }
        for name, variables in (host_vars or {}).items():
            if name not in inventory_hosts:
                raise KeyError(f"host_vars for {name!r}, which is not in this inventory")
            inventory_hosts[name].update(variables)
        children: dict = {}
        for group, members in (groups or {}).items():
            spec = members if isinstance(members, Mapping) else {"hosts": members}
            names = [m.name if isinstance(m, SshHost) else str(m) for m in spec.get("hosts", ())]
            unknown = [name for name in names if name not in inventory_hosts]
            if unknown:
                raise KeyError(f"group {group!r} names hosts not in this inventory: {unknown}")
            children[group] = {"hosts": dict.fromkeys(names)}
            if spec.get("vars"):
                children[group]["vars"] = dict(spec["vars"])
        top: dict = {"hosts": inventory_hosts}
        if extra_vars:
            top["vars"] = dict(extra_vars)
        if children:
            top["children"] = children
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump({"all": top}, default_flow_style=False, sort_keys=False), encoding="utf-8")
        return target


def start_fleet(base_dir: str | os.PathLike, n: int = 5, **options: Any) -> SshFleet:
    """Start ``n`` sshd hosts under ``base_dir`` and return the running fleet (close it, or use ``with``).

    Options: ``name_prefix="fw-host-"``, ``first_address=11`` (127.0.0.11, .12, ...), ``syslog=False`` (private
    rsyslogd on /dev/log if free, auth.log in ``<base_dir>/syslog/``), ``timeout=DEFAULT_TIMEOUT`` (every wait),
    ``sshd_options={}`` (extra sshd_config keywords; they win over the defaults), ``python`` (target interpreter).
    """
    return SshFleet(Path(base_dir), n, **options).start()


@atexit.register
def _close_leftover_fleets() -> None:  # a fleet nobody closed (interrupted run): no stray sshd
    for fleet in list(_OPEN_FLEETS):
        with contextlib.suppress(Exception):
            fleet.close()


# --------------------------------------------------------------------------------------------------------------
# Running Ansible for real

_HARNESS_CFG = """\
# Written by tests/integration/fleet_harness.py: the project's settings without the fleet_diff callback.
[defaults]
host_key_checking = False
interpreter_python = auto_silent
retry_files_enabled = False
nocows = True
stdout_callback = default
result_format = yaml
forks = 10
"""

_RECAP_LINE = re.compile(r"^(?P<host>\S+)\s+:\s+(?P<counts>(?:\w+=\d+\s*)+)$")
_ADHOC_LINE = re.compile(r"^(?P<host>\S+) \| (?P<status>SUCCESS|CHANGED|FAILED!|UNREACHABLE!|SKIPPED)\b")


def parse_recap(stdout: str) -> dict:
    """``{host: {"ok": n, "changed": n, "unreachable": n, "failed": n, "skipped": n, "rescued": n, "ignored": n}}``
    from the (last) PLAY RECAP of ansible-playbook's default stdout callback."""
    recap: dict = {}
    lines = stdout.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("PLAY RECAP")]
    if not starts:
        return recap
    for line in lines[starts[-1] + 1 :]:
        match = _RECAP_LINE.match(line.strip())
        if match is None:
            if line.strip():
                break
            continue
        counts = dict.fromkeys(RECAP_FIELDS, 0)
        for item in match.group("counts").split():
            key, value = item.split("=", 1)
            counts[key] = int(value)
        recap[match.group("host")] = counts
    return recap


def _tail_text(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


@dataclasses.dataclass
class PlaybookResult:
    """Outcome of ``run_playbook``: ``returncode``, ``stdout``, ``stderr``, ``recap`` ({host: counts}), ``argv``."""

    argv: list
    returncode: int
    stdout: str
    stderr: str
    recap: dict

    def hosts_with(self, field: str) -> list:
        """Hosts whose recap ``field`` (ok/changed/unreachable/failed/...) is non-zero."""
        return sorted(host for host, counts in self.recap.items() if counts.get(field, 0))

    def describe(self) -> str:
        """For assertion messages: command, return code, recap, output tails."""
        return (
            f"$ {shlex.join(self.argv)}\nreturncode={self.returncode}\nrecap={json.dumps(self.recap, indent=1)}\n"
            f"--- stdout (tail) ---\n{_tail_text(self.stdout)}\n--- stderr (tail) ---\n{_tail_text(self.stderr)}"
        )


@dataclasses.dataclass
class AdhocResult:
    """Outcome of ``run_adhoc``: ``statuses`` is ``{host: "SUCCESS" | "CHANGED" | "FAILED!" | "UNREACHABLE!"}``."""

    argv: list
    returncode: int
    stdout: str
    stderr: str
    statuses: dict

    def describe(self) -> str:
        return (
            f"$ {shlex.join(self.argv)}\nreturncode={self.returncode}\nstatuses={self.statuses}\n"
            f"--- stdout (tail) ---\n{_tail_text(self.stdout)}\n--- stderr (tail) ---\n{_tail_text(self.stderr)}"
        )


@dataclasses.dataclass
class RunnerResult:
    """Outcome of ``run_with_ansible_runner``: ``status`` ("successful", "failed", "timeout", ...), ``rc``,
    ``stats`` (ansible-runner's: ok/dark/failures/changed/skipped/rescued/ignored/processed -> {host: n}),
    ``recap`` (same shape as PlaybookResult.recap), ``events`` (list of event dicts), ``stdout``."""

    status: str
    rc: int
    stats: dict
    recap: dict
    events: list
    stdout: str
    private_data_dir: Path

    def describe(self) -> str:
        return (
            f"status={self.status} rc={self.rc}\nstats={json.dumps(self.stats, indent=1)}\n"
            f"--- stdout (tail) ---\n{_tail_text(self.stdout)}"
        )


def _resolve_config(ansible_config: str | os.PathLike | None, workdir: Path) -> Path:
    if ansible_config is not None:
        return Path(ansible_config).resolve()
    path = workdir / "ansible.cfg"
    path.write_text(_HARNESS_CFG, encoding="utf-8")
    return path


def _write_playbook(playbook: Any, workdir: Path) -> Path:
    if isinstance(playbook, (list, dict)):
        path = workdir / "playbook.yml"
        plays = playbook if isinstance(playbook, list) else [playbook]
        path.write_text(yaml.safe_dump(plays, default_flow_style=False, sort_keys=False), encoding="utf-8")
        return path
    return Path(playbook).resolve()


def ansible_env(
    ansible_config: Path,
    local_tmp: Path,
    control_path_dir: Path,
    env: Mapping[str, str | None] | None = None,
) -> dict:
    """Environment of an ansible run: the caller's minus every ANSIBLE_* variable, then the harness settings
    (config, collections path, private local temp and ssh control path dir, no colour), then ``env``
    (a value of None removes the variable)."""
    result = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    result.update(
        {
            "ANSIBLE_CONFIG": str(ansible_config),
            "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS_PATH),
            "ANSIBLE_LOCAL_TEMP": str(local_tmp),
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control_path_dir),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "PATH": os.pathsep.join([str(VENV_BIN), result.get("PATH", os.defpath)]),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    for key, value in (env or {}).items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = str(value)
    return result


@contextlib.contextmanager
def _run_dirs(private_data_dir: str | os.PathLike | None, prefix: str) -> Iterator[tuple]:
    """(workdir, local tmp, control path dir). The control path dir is short (unix socket path limit) and its
    ControlPersist masters are closed afterwards, so no ssh process outlives the run."""
    created = private_data_dir is None
    workdir = Path(tempfile.mkdtemp(prefix=prefix)) if created else Path(private_data_dir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    local_tmp = workdir / "local_tmp"
    local_tmp.mkdir(exist_ok=True)
    control_dir = Path(tempfile.mkdtemp(prefix="fwcp-"))
    try:
        yield workdir, local_tmp, control_dir
    finally:
        close_control_masters(control_dir)
        shutil.rmtree(control_dir, ignore_errors=True)
        if created:
            shutil.rmtree(workdir, ignore_errors=True)


def close_control_masters(control_dir: Path) -> None:
    """Ask every ssh ControlMaster with a socket in ``control_dir`` to exit; kill any that did not."""
    ssh = find_binary("ssh")
    if ssh is not None and control_dir.is_dir():
        for entry in control_dir.iterdir():
            if entry.is_socket():
                subprocess.run(
                    [ssh, "-F", "/dev/null", "-o", f"ControlPath={entry}", "-O", "exit", "fleetwatch-harness"],
                    capture_output=True,
                    check=False,
                    timeout=DEFAULT_TIMEOUT,
                )
    marker = str(control_dir).encode()
    leftovers = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    if marker in handle.read():
                        leftovers.append(int(entry))
            except OSError:
                continue
    for pid in leftovers:  # only processes started with our own private control path
        _signal(pid, signal.SIGTERM)
    if leftovers:
        wait_for(lambda: not any(_alive(pid) for pid in leftovers), "ssh control masters to exit")


def _run_ansible_command(argv: list, env: dict, cwd: Path, timeout: float) -> tuple:
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        raise HarnessError(
            f"{shlex.join(argv)} did not finish within {timeout:g}s\n--- stdout (tail) ---\n{_tail_text(stdout)}\n"
            f"--- stderr (tail) ---\n{_tail_text(stderr)}"
        ) from None
    return process.returncode, stdout, stderr


def _common_args(inventory: Any, extra_vars: Any, limit: Any, workdir: Path) -> list:
    args = ["-i", str(Path(inventory).resolve()) if isinstance(inventory, (str, Path)) else str(inventory)]
    if isinstance(extra_vars, Mapping):
        path = workdir / "extra_vars.json"
        path.write_text(json.dumps(dict(extra_vars)), encoding="utf-8")
        args += ["-e", f"@{path}"]
    elif extra_vars:
        args += ["-e", str(extra_vars)]
    if limit:
        args += ["--limit", limit if isinstance(limit, str) else ",".join(limit)]
    return args


def run_playbook(
    playbook: str | os.PathLike | list | dict,
    inventory: str | os.PathLike,
    extra_vars: Mapping[str, Any] | str | None = None,
    limit: str | Sequence[str] | None = None,
    env: Mapping[str, str | None] | None = None,
    private_data_dir: str | os.PathLike | None = None,
    *,
    ansible_config: str | os.PathLike | None = None,
    args: Sequence[str] = (),
    timeout: float = DEFAULT_RUN_TIMEOUT,
) -> PlaybookResult:
    """Run the real ``.venv/bin/ansible-playbook`` as a subprocess and parse its PLAY RECAP.

    ``playbook``: a path, or plays as Python data (written to ``<private_data_dir>/playbook.yml``).
    ``extra_vars``: a dict (passed as ``-e @file.json``) or a string. ``limit``: pattern or list of names.
    ``env``: overrides of the run's environment (see ``ansible_env``). ``private_data_dir``: working directory of
    the run (cwd, local temp, written playbook / extra vars); default a temporary directory removed afterwards.
    ``ansible_config``: None = a minimal harness ansible.cfg without callbacks; ``PROJECT_ANSIBLE_CFG`` for the
    project's. ``args``: more command-line arguments (e.g. ``["-v"]``). Never raises on a failed play: check
    ``returncode`` / ``recap``; raises HarnessError only when the run exceeds ``timeout``.
    """
    with _run_dirs(private_data_dir, "fw-play-") as (workdir, local_tmp, control_dir):
        config = _resolve_config(ansible_config, workdir)
        path = _write_playbook(playbook, workdir)
        argv = [str(VENV_BIN / "ansible-playbook"), *_common_args(inventory, extra_vars, limit, workdir), *args]
        argv.append(str(path))
        returncode, stdout, stderr = _run_ansible_command(
            argv, ansible_env(config, local_tmp, control_dir, env), workdir, timeout
        )
    return PlaybookResult(argv, returncode, stdout, stderr, parse_recap(stdout))


def run_adhoc(
    pattern: str,
    inventory: str | os.PathLike,
    module: str = "ansible.builtin.ping",
    module_args: str | None = None,
    extra_vars: Mapping[str, Any] | str | None = None,
    env: Mapping[str, str | None] | None = None,
    private_data_dir: str | os.PathLike | None = None,
    *,
    ansible_config: str | os.PathLike | None = None,
    args: Sequence[str] = (),
    timeout: float = DEFAULT_RUN_TIMEOUT,
) -> AdhocResult:
    """Run the real ``.venv/bin/ansible PATTERN -m MODULE`` and parse each host's status line."""
    with _run_dirs(private_data_dir, "fw-adhoc-") as (workdir, local_tmp, control_dir):
        config = _resolve_config(ansible_config, workdir)
        argv = [str(VENV_BIN / "ansible"), pattern, *_common_args(inventory, extra_vars, None, workdir)]
        argv += ["-m", module, *(["-a", module_args] if module_args else []), *args]
        returncode, stdout, stderr = _run_ansible_command(
            argv, ansible_env(config, local_tmp, control_dir, env), workdir, timeout
        )
    statuses = {}
    for line in stdout.splitlines():
        match = _ADHOC_LINE.match(line)
        if match:
            statuses[match.group("host")] = match.group("status")
    return AdhocResult(argv, returncode, stdout, stderr, statuses)


@contextlib.contextmanager
def _without_ansible_environment() -> Iterator[None]:
    """ansible-runner seeds its child's environment from os.environ: hide the caller's ANSIBLE_* for the run."""
    saved = {key: os.environ.pop(key) for key in list(os.environ) if key.startswith("ANSIBLE_")}
    try:
        yield
    finally:
        os.environ.update(saved)


def run_with_ansible_runner(
    playbook: str | os.PathLike | list | dict,
    inventory: str | os.PathLike,
    extra_vars: Mapping[str, Any] | None = None,
    limit: str | Sequence[str] | None = None,
    env: Mapping[str, str | None] | None = None,
    private_data_dir: str | os.PathLike | None = None,
    *,
    ansible_config: str | os.PathLike | None = None,
    timeout: float = DEFAULT_RUN_TIMEOUT,
    quiet: bool = True,
) -> RunnerResult:
    """Run the playbook through ``ansible_runner.run`` (in this Python, the venv's) with the venv's
    ansible-playbook (found first on the run's PATH). Same parameters as ``run_playbook``; ``private_data_dir``
    keeps runner's artifacts (default: a temporary directory, removed after events and stdout were read)."""
    import ansible_runner  # only the tests that use ansible-runner need it

    with _run_dirs(private_data_dir, "fw-runner-") as (workdir, local_tmp, control_dir):
        config = _resolve_config(ansible_config, workdir)
        path = _write_playbook(playbook, workdir)
        run_env = ansible_env(config, local_tmp, control_dir, env)
        envvars = {
            key: value for key, value in run_env.items() if key.startswith(("ANSIBLE_", "FLEETWATCH_")) or key == "PATH"
        }
        with _without_ansible_environment():
            runner = ansible_runner.run(
                private_data_dir=str(workdir),
                playbook=str(path),
                inventory=str(Path(inventory).resolve()),
                extravars=dict(extra_vars or {}),
                limit=(limit if isinstance(limit, str) else ",".join(limit)) if limit else None,
                envvars=envvars,  # its PATH starts with the venv's bin: runner's pexpect finds its ansible-playbook
                quiet=quiet,
                timeout=int(timeout),
            )
        events = list(runner.events)
        stdout = ""
        if runner.stdout is not None:
            with runner.stdout as handle:
                stdout = handle.read()
        stats = runner.stats or {}
    recap = {}
    for host in stats.get("processed") or {}:
        recap[host] = {
            "ok": stats.get("ok", {}).get(host, 0),
            "changed": stats.get("changed", {}).get(host, 0),
            "unreachable": stats.get("dark", {}).get(host, 0),
            "failed": stats.get("failures", {}).get(host, 0),
            "skipped": stats.get("skipped", {}).get(host, 0),
            "rescued": stats.get("rescued", {}).get(host, 0),
            "ignored": stats.get("ignored", {}).get(host, 0),
        }
    return RunnerResult(runner.status, runner.rc, stats, recap, events, stdout, workdir)
