"""One real sshd server on a loopback address, as a host of the fleet: its config, start and stop, its log, and
the argv of a real ssh client logging in to it."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from harness.environment import DEFAULT_TIMEOUT, find_binary
from harness.processes import (
    HarnessError,
    ServerExited,
    is_running,
    kill_process_tree,
    spawn,
    tail_file,
    tail_text,
    wait_for,
    wait_ready,
)

if TYPE_CHECKING:
    from harness.fleet import SshFleet


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


#: ssh options of a login by password only, with one try.
PASSWORD_ONLY = ("-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password")
PASSWORD_ONLY += ("-o", "NumberOfPasswordPrompts=1")
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
        return is_running(self.process)

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
        public_key = keygen(self.fleet.binaries["ssh-keygen"], self.host_key_path, self.name)
        self.host_public_key = " ".join(public_key.split()[:2])  # without the comment, as known_hosts has it

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
        self._log_start = self.log_offset()
        self.process = spawn(argv, self.output_path)
        self._pids.add(self.process.pid)

    def _failure_details(self) -> str:
        log = self.log_text(since=self._log_start)
        output = tail_file(self.output_path)
        return (
            f"--- sshd log {self.log_path} (tail) ---\n{tail_text(log)}\n"
            f"--- sshd stdout/stderr {self.output_path} (tail) ---\n{output}\n"
            f"--- config {self.config_path} ---\n{tail_file(self.config_path, 60)}"
        )

    def _wait_ready(self, timeout: float) -> str:
        return wait_ready(
            self.process,
            lambda: probe_ssh_banner(self.address, self.port),
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
            except ServerExited as exited:
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
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

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
            details=lambda: "--- log since mark (tail) ---\n" + tail_text(self.log_text(since)),
        )

    # -- client side

    def ssh_options(self, strict: bool = True, batch_mode: bool = True) -> list:
        """ssh client options for this fleet (``SshFleet.host_key_options``), with or without BatchMode."""
        return [*self.fleet.host_key_options(strict), "-o", f"BatchMode={'yes' if batch_mode else 'no'}"]

    def ssh_argv(
        self,
        *command: str,
        user: str = "root",
        options: Sequence[str] = (),
        key: bool | str | os.PathLike = True,
        batch_mode: bool = True,
    ) -> list:
        """argv of a real ssh to this host running ``command``. ``key``: True for the fleet's user key (root may
        log in with it), a path for another private key, False for none; only that key is offered."""
        argv = [self.fleet.binaries["ssh"], *self.ssh_options(batch_mode=batch_mode), *options, "-p", str(self.port)]
        if key:
            argv += ["-o", "IdentitiesOnly=yes", "-i", str(self.fleet.user_key_path if key is True else key)]
        return [*argv, f"{user}@{self.address}", *command]

    def password_login_argv(
        self, password: str, *command: str, user: str = "root", options: Sequence[str] = ()
    ) -> list:
        """argv of ``sshpass -p PASSWORD ssh`` with password authentication only (for failed-login tests; sshd
        logs ``Failed password for USER from 127.0.0.1 port N ssh2``). Needs sshpass (``require_binaries``)."""
        sshpass = find_binary("sshpass")
        if sshpass is None:
            raise HarnessError("sshpass not found: install the Debian package sshpass")
        ssh = self.ssh_argv(*command, user=user, options=(*PASSWORD_ONLY, *options), key=False, batch_mode=False)
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


def keygen(ssh_keygen: str, path: Path, comment: str) -> str:
    """Write a new ed25519 key pair without passphrase at ``path``; return the public key line."""
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
    return Path(f"{path}.pub").read_text(encoding="utf-8").strip()
