# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Files the controller writes and reads: private directories, atomic writes, stable JSON (store and reports)."""

from __future__ import annotations

import json
import os
import tempfile

from ansible_collections.fleetwatch.audit.plugins.plugin_utils.errors import StoreError

FILE_MODE = 0o600
DIR_MODE = 0o700


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
