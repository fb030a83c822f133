# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The baseline store: one JSON file per host, its history, the latest observation (see docs/store.md)."""

from __future__ import annotations

import fcntl
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

from ansible_collections.fleetwatch.audit.plugins.plugin_utils.errors import StoreError
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.escape import filename_to_host, host_to_filename
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.files import (
    FILE_MODE,
    atomic_write,
    dump_json,
    ensure_dir,
    read_json,
    write_json,
)
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.findings import as_utc, utc_iso

SCHEMA = 1
_VERSION = re.compile(r"^\d{8}T\d{6}\.\d{6}Z(-\d+)?$")
LOCK_TIMEOUT = 120.0  # seconds a change of a host's baseline waits for another run's change of it


class DirectoryStore:
    """Baselines under ``root``: ``hosts/<host>.json``, ``history/<host>/<stamp>.json``, ``observed/<host>.json``;
    ``locks/<host>.lock`` serialises the changes of one host's baseline between runs (:meth:`locked`)."""

    def __init__(self, root: str, clock: Callable[[], datetime] | None = None, lock_timeout: float = LOCK_TIMEOUT):
        self.root = os.path.abspath(os.path.expanduser(root))
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self.lock_timeout = lock_timeout

    @contextmanager
    def locked(self, host: str) -> Iterator[None]:
        """Hold the host's lock (an exclusive ``flock`` on ``locks/<host>.lock``) for a read-modify-write of its
        baseline, so that two runs changing it at once (two accepts, an accept and a snapshot) do not lose one
        change. Waits up to ``lock_timeout`` seconds, then raises StoreError."""
        path = os.path.join(self.root, "locks", self._stem(host) + ".lock")
        ensure_dir(os.path.dirname(path))
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
        except OSError as exc:
            raise StoreError(f"cannot open the lock {path}: {exc.strerror or exc}") from exc
        try:
            deadline = time.monotonic() + self.lock_timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise StoreError(
                            f"the baseline of {host} is being changed by another run (lock {path} held for more "
                            f"than {self.lock_timeout:g} s); try again when it has finished"
                        ) from None
                    time.sleep(0.05)
            yield
        finally:
            os.close(fd)  # releases the lock

    @staticmethod
    def _stem(host: str) -> str:
        """The host's name as a file name (without extension)."""
        try:
            return host_to_filename(host)
        except ValueError as exc:
            raise StoreError(f"cannot store host {host!r}: {exc}") from exc

    def _file(self, area: str, host: str) -> str:
        return os.path.join(self.root, area, self._stem(host) + ".json")

    def _history_dir(self, host: str) -> str:
        return os.path.join(self.root, "history", self._stem(host))

    def _checked(self, host: str, path: str, document: dict | None) -> dict | None:
        if document is not None:
            if document.get("schema") != SCHEMA:
                raise StoreError(f"{path}: unsupported schema {document.get('schema')!r} (this version reads {SCHEMA})")
            if document.get("host") != host:
                raise StoreError(f"{path}: belongs to host {document.get('host')!r}, not {host!r}")
        return document

    def baseline_path(self, host: str) -> str:
        return self._file("hosts", host)

    def load_baseline(self, host: str) -> dict | None:
        """The host's baseline, or ``None`` when it has none."""
        path = self.baseline_path(host)
        return self._checked(host, path, read_json(path))

    def save_baseline(self, host: str, document: dict) -> str:
        """Keep the current baseline in the history, then write ``document``; returns the baseline's path."""
        self._checked(host, "new baseline", document)
        path = self.baseline_path(host)
        data = dump_json(document, path)
        try:
            with open(path, "rb") as handle:
                previous = handle.read()
        except FileNotFoundError:
            previous = None
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from exc
        if previous is not None:
            atomic_write(self._new_version_path(host), previous)
        return atomic_write(path, data)

    def _new_version_path(self, host: str) -> str:
        directory = self._history_dir(host)
        stamp = as_utc(self._clock()).strftime("%Y%m%dT%H%M%S.%fZ")
        candidate, number = stamp, 0
        while os.path.exists(os.path.join(directory, candidate + ".json")):
            number += 1
            candidate = f"{stamp}-{number}"
        return os.path.join(directory, candidate + ".json")

    def history(self, host: str) -> list[str]:
        """Versions of the host's previous baselines, oldest first (names for :meth:`restore`)."""
        try:
            names = os.listdir(self._history_dir(host))
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StoreError(f"cannot list {self._history_dir(host)}: {exc.strerror or exc}") from exc
        versions = [name[: -len(".json")] for name in names if name.endswith(".json")]
        return sorted((v for v in versions if _VERSION.match(v)), key=_version_key)

    def load_version(self, host: str, version: str) -> dict:
        """One previous baseline of the host."""
        if not isinstance(version, str) or not _VERSION.match(version):
            raise StoreError(f"not a history version: {version!r} (see history)")
        path = os.path.join(self._history_dir(host), version + ".json")
        document = self._checked(host, path, read_json(path))
        if document is None:
            raise StoreError(f"host {host!r} has no history version {version} ({path})")
        return document

    def restore(self, host: str, version: str) -> str:
        """Make a previous baseline current again (undo an accept); the replaced one goes to the history too."""
        return self.save_baseline(host, self.load_version(host, version))

    def save_observed(self, host: str, data: dict) -> str:
        """Keep the gathered data of the host's latest compare, for a later accept."""
        document = {"schema": SCHEMA, "host": host, "saved": utc_iso(self._clock()), "data": data}
        return write_json(self._file("observed", host), document)

    def load_observed(self, host: str) -> dict | None:
        """The gathered data saved by the latest :meth:`save_observed`, or ``None``."""
        path = self._file("observed", host)
        document = self._checked(host, path, read_json(path))
        return None if document is None else document.get("data")

    def hosts(self) -> list[str]:
        """Hosts that have a baseline."""
        try:
            names = os.listdir(os.path.join(self.root, "hosts"))
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StoreError(f"cannot list {os.path.join(self.root, 'hosts')}: {exc.strerror or exc}") from exc
        hosts = (filename_to_host(name[: -len(".json")]) for name in names if name.endswith(".json"))
        return sorted(host for host in hosts if host is not None)


def _version_key(version: str) -> tuple[str, int]:
    parts = version.split("-")
    return parts[0], int(parts[1]) if len(parts) > 1 else 0
