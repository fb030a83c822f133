# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The baseline store: one JSON file per host, its history, the latest observation (see docs/store.md)."""

from __future__ import annotations

import copy
import fcntl
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

from ansible_collections.fleetwatch.audit.plugins.plugin_utils.checks import CHECKS, NotFoldable, normalize_result
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.compare import COMPARE_CHECK
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.errors import StoreError
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.escape import filename_to_host, host_to_filename
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.findings import as_utc, utc_iso

SCHEMA = 1
FILE_MODE = 0o600
DIR_MODE = 0o700
_VERSION = re.compile(r"^\d{8}T\d{6}\.\d{6}Z(-\d+)?$")
LOCK_TIMEOUT = 120.0  # seconds a change of a host's baseline waits for another run's change of it


def ensure_dir(path: str) -> str:
    """Create ``path`` and its missing parents with mode 0700 (existing directories are left as they are)."""
    missing = []
    current = os.path.abspath(path)
    while not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    try:
        for directory in reversed(missing):
            os.mkdir(directory, DIR_MODE)
            os.chmod(directory, DIR_MODE)  # the umask may have narrowed mkdir's mode; never widen beyond 0700
    except FileExistsError:
        if not os.path.isdir(path):
            raise StoreError(f"cannot create directory {path}: a file of that name exists") from None
    except OSError as exc:
        raise StoreError(f"cannot create directory {path}: {exc.strerror or exc}") from exc
    return path


def atomic_write(path: str, data: bytes, mode: int = FILE_MODE) -> str:
    """Replace ``path`` with ``data`` atomically: a reader sees the old file or the new one, never a mix.

    Temp file in the same directory, write, flush, fsync, rename over, fsync the directory. On any failure the old
    file is untouched, the temp file removed, and ``StoreError`` raised naming the file.
    """
    directory = ensure_dir(os.path.dirname(os.path.abspath(path)))
    try:
        fd, temp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
        _fsync_dir(directory)
    except BaseException as exc:
        if os.path.exists(temp):
            os.unlink(temp)
        if isinstance(exc, (OSError, TypeError, ValueError)):
            raise StoreError(f"cannot write {path}: {getattr(exc, 'strerror', None) or exc}") from exc
        raise
    return path


def _fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def dump_json(document: object, path: str = "document") -> bytes:
    """Stable, pretty, ASCII-only JSON; ``StoreError`` naming ``path`` when the data is not serialisable."""
    try:
        text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"cannot write {path}: data is not JSON-serialisable: {exc}") from exc
    return (text + "\n").encode("ascii")


def write_json(path: str, document: object) -> str:
    """Serialise first (nothing touched if that fails), then :func:`atomic_write`."""
    return atomic_write(path, dump_json(document, path))


def read_json(path: str) -> dict | None:
    """The JSON object in ``path``, ``None`` if there is no such file; ``StoreError`` naming a corrupt file."""
    try:
        with open(path, "rb") as handle:
            document = json.loads(handle.read().decode("utf-8"))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise StoreError(f"corrupt store file {path}: {exc}") from exc
    if not isinstance(document, dict):
        raise StoreError(f"corrupt store file {path}: not a JSON object")
    return document


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


def normalize_gathered(gathered: dict) -> tuple[dict, list[str]]:
    """Normalise each check of ``fleetwatch_results``; results that cannot be used are listed as warnings."""
    checks, warnings = {}, []
    for name, result in sorted(gathered.items()):
        normalized, error = normalize_result(name, result)
        if error:
            warnings.append(f"{name}: {error}; left out")
        else:
            checks[name] = normalized
    return checks, warnings


def new_baseline(host: str, gathered: dict, now: datetime) -> tuple[dict, list[str]]:
    """A baseline document from one host's ``fleetwatch_results``, and warnings for what was left out."""
    if not isinstance(gathered, dict):
        raise StoreError(f"gathered data of {host} is not a mapping of check name to result")
    checks, warnings = normalize_gathered(gathered)
    stamp = utc_iso(now)
    document = {"schema": SCHEMA, "host": host, "created": stamp, "updated": stamp, "checks": checks, "accepted": []}
    return document, warnings


def accept(
    baseline: dict, observed: dict, findings: Iterable[dict], reason: str, who: str, now: datetime
) -> tuple[dict, list[dict], list[dict]]:
    """Fold reviewed findings of a compare of ``observed`` (gathered data) into a copy of ``baseline``.

    Returns ``(new baseline, accepted findings, skipped)``; ``skipped`` lists ``{"id", "reason"}`` for findings no
    baseline can absorb (fleet and policy findings, scan errors, failed gatherers). Each accepted finding is recorded
    in ``accepted`` with who, why and when.
    """
    if not reason or not who:
        raise StoreError("an accept needs a reason and who accepts")
    document = copy.deepcopy(baseline)
    current = normalize_gathered(observed)[0]
    accepted, skipped = [], []
    for finding in findings:
        try:
            document["checks"] = _fold(document["checks"], current, observed, finding)
        except NotFoldable as exc:
            skipped.append({"id": finding["id"], "reason": str(exc)})
            continue
        accepted.append(finding)
        document["accepted"].append(
            {
                "id": finding["id"],
                "check": finding["check"],
                "kind": finding["kind"],
                "subject": finding["subject"],
                "summary": finding["summary"],
                "reason": reason,
                "who": who,
                "when": utc_iso(now),
            }
        )
    if accepted:
        document["updated"] = utc_iso(now)
    return document, accepted, skipped


def _fold(checks: dict, current: dict, observed: dict, finding: dict) -> dict:
    """Baseline ``checks`` with one finding folded in."""
    name = finding["check"]
    if name == COMPARE_CHECK:  # a whole check appeared, disappeared or failed
        check_name = finding["subject"]
        result = dict(checks)
        if check_name in current:
            result[check_name] = copy.deepcopy(current[check_name])
        elif check_name in checks and check_name not in observed:
            del result[check_name]
        else:
            raise NotFoldable(f"{finding['summary']}: not something a baseline can absorb; fix the cause")
        return result
    if name not in CHECKS:
        raise NotFoldable(f"{name} findings compare hosts or rules, not a host with its baseline: use an allow rule")
    if name not in checks or name not in current:
        raise NotFoldable(f"check {name} is not in both the baseline and the observed data")
    return {**checks, name: CHECKS[name].apply_accept(checks[name], current[name], finding)}
