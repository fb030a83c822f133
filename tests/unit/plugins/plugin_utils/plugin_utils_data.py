"""Realistic setuid_info results and gathered data for the plugin_utils tests."""

from __future__ import annotations

import copy
from datetime import datetime, timezone

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
SHA_SU = "5f1b1a9d0c6e1f8b5d2a3c4e5f60718293a4b5c6d7e8f90123456789abcdef01"
SHA_SU_NEW = "9e8d7c6b5a49382716059f8e7d6c5b4a39281706f5e4d3c2b1a0987654321fed"
SHA_EVIL = "deadbeef" * 8

FILES = {
    "/usr/bin/su": {
        "kinds": ["setuid"],
        "mode": "4755",
        "size": 72000,
        "sha256": SHA_SU,
        "package": "util-linux",
    },
    "/usr/bin/passwd": {
        "kinds": ["setuid"],
        "mode": "4755",
        "size": 59976,
        "sha256": "1" * 64,
        "package": "passwd",
    },
    "/usr/bin/ping": {
        "kinds": ["capabilities"],
        "mode": "0755",
        "size": 90568,
        "sha256": "2" * 64,
        "capabilities": "cap_net_raw=ep",
        "package": "iputils-ping",
    },
}


def setuid_file(path: str, **changes) -> dict:
    """One file entry of setuid_info, root-owned, packaged and verified unless ``changes`` say otherwise."""
    entry = {
        "path": path,
        "kinds": ["setuid"],
        "mode": "4755",
        "uid": 0,
        "user": "root",
        "gid": 0,
        "group": "root",
        "size": 1000,
        "mtime": "2024-03-23T12:00:00Z",
        "ctime": "2025-01-02T03:04:05Z",
        "inode": 1234,
        "nlink": 1,
        "filesystem": "/",
        "fstype": "ext4",
        "nosuid": False,
        "world_writable": False,
        "parent_world_writable": False,
        "sha256": "0" * 64,
        "capabilities": None,
        "package": "coreutils",
        "package_verified": True,
    }
    entry.update(FILES.get(path, {}))
    entry.update(changes)
    return entry


def filesystems(*skipped: str) -> list[dict]:
    """The mount table as setuid_info reports it; mount points in ``skipped`` are not scanned."""
    mounts = [
        {"mount_point": "/", "fstype": "ext4", "source": "/dev/vda1", "nosuid": False},
        {"mount_point": "/home", "fstype": "ext4", "source": "/dev/vdb1", "nosuid": False},
        {"mount_point": "/proc", "fstype": "proc", "source": "proc", "nosuid": True},
    ]
    result = []
    for mount in mounts:
        scanned = mount["fstype"] != "proc" and mount["mount_point"] not in skipped
        reason = None if scanned else ("pseudo filesystem" if mount["fstype"] == "proc" else "excluded by option")
        result.append({**mount, "scanned": scanned, "reason": reason})
    return result


def setuid_result(files: list[dict] | None = None, mounts: list[dict] | None = None, **extra) -> dict:
    """A whole setuid_info result (as registered by the role)."""
    result = {
        "changed": False,
        "failed": False,
        "root": "/",
        "files": [setuid_file(path) for path in FILES] if files is None else files,
        "filesystems": filesystems() if mounts is None else mounts,
        "package_db": {"type": "dpkg", "message": None},
        "stats": {"directories": 5321, "files": 3, "errors": 0, "duration": 1.2},
        "errors": [],
        "errors_truncated": False,
    }
    result.update(extra)
    return result


def with_file(result: dict, entry: dict) -> dict:
    """A copy of ``result`` with ``entry`` added or replacing the file of the same path."""
    result = copy.deepcopy(result)
    result["files"] = [f for f in result["files"] if f["path"] != entry["path"]] + [entry]
    return result


def without_file(result: dict, path: str) -> dict:
    result = copy.deepcopy(result)
    result["files"] = [f for f in result["files"] if f["path"] != path]
    return result
