"""N independent sshd hosts on loopback (127.0.0.11, .12, ...), reachable by Ansible over real SSH.

Every host is an independent ``sshd -D`` process (run as root) on its own loopback address and a free port, with its
own host key, pid file, log and ``fixture_root`` directory (the tree that host audits through the collection's
``root`` option, so the hosts differ). The controller reaches them with a real ed25519 user key and a real
``known_hosts`` file (strict host key checking).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shlex
import warnings
import weakref
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import yaml

from harness.environment import DEFAULT_TIMEOUT, require_binaries, require_root, target_python
from harness.processes import HarnessError
from harness.sshd import SshHost, free_port, keygen
from harness.syslog import PrivateSyslog

UNREACHABLE_HOST_NAME = "fw-unreachable"
UNREACHABLE_ADDRESS = "127.0.0.254"

_OPEN_FLEETS: weakref.WeakSet = weakref.WeakSet()


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
            self.user_public_key = keygen(self.binaries["ssh-keygen"], self.user_key_path, "fleetwatch-harness")
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

    def host_key_options(self, strict: bool = True, known_hosts: Path | None = None) -> list:
        """ssh options of every client of the fleet: no user config; strict checking against ``known_hosts``
        (default the fleet's), or no checking at all."""
        if strict:
            known = known_hosts or self.known_hosts_path
            checking = ["-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known}"]
        else:
            checking = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
        return ["-F", "/dev/null", "-o", "GlobalKnownHostsFile=/dev/null", *checking]

    def ssh_common_args(self, strict: bool = True, known_hosts: Path | None = None) -> str:
        """``ansible_ssh_common_args``: the fleet's client options, offering only the inventory's key."""
        return shlex.join([*self.host_key_options(strict, known_hosts), "-o", "IdentitiesOnly=yes"])

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
        inventory_hosts = self._inventory_hosts(selected, common, unreachable, root_var)
        for name, variables in (host_vars or {}).items():
            if name not in inventory_hosts:
                raise KeyError(f"host_vars for {name!r}, which is not in this inventory")
            inventory_hosts[name].update(variables)
        children = _inventory_groups(groups or {}, inventory_hosts)
        top: dict = {"hosts": inventory_hosts}
        if extra_vars:
            top["vars"] = dict(extra_vars)
        if children:
            top["children"] = children
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump({"all": top}, default_flow_style=False, sort_keys=False), encoding="utf-8")
        return target

    def _inventory_hosts(self, selected: list, common: dict, unreachable: bool, root_var: str | None) -> dict:
        """``{name: variables}`` of the selected hosts, and of ``fw-unreachable`` if asked for."""
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
        return inventory_hosts


def _inventory_groups(groups: Mapping[str, Any], inventory_hosts: Mapping[str, Any]) -> dict:
    """The inventory's child groups: ``{group: {"hosts": {name: None}, "vars": {...}}}``; every member must be one of
    ``inventory_hosts``."""
    children: dict = {}
    for group, members in groups.items():
        spec = members if isinstance(members, Mapping) else {"hosts": members}
        names = [m.name if isinstance(m, SshHost) else str(m) for m in spec.get("hosts", ())]
        unknown = [name for name in names if name not in inventory_hosts]
        if unknown:
            raise KeyError(f"group {group!r} names hosts not in this inventory: {unknown}")
        children[group] = {"hosts": dict.fromkeys(names)}
        if spec.get("vars"):
            children[group]["vars"] = dict(spec["vars"])
    return children


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
