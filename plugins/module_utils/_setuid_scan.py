# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Find setuid/setgid files and files with capabilities: the backend of ``setuid_info`` (private).

:func:`scan` is the whole job; the module only maps options to its arguments. Design:

- The filesystems come from the mount table (:mod:`._mounts`); each is walked once, never across into another mount
  (``find -xdev``): a directory on another device, or that is another mount's mount point, is not entered.
- The walk is iterative (an explicit stack), on directory file descriptors: ``os.scandir(fd)`` gives names and types
  (d_type) without a stat; only regular files get an ``lstat`` (``fstatat`` on the directory) and, unless
  ``capabilities`` is false, an ``llistxattr`` (relative to the directory, entered with ``fchdir``), so paths of any
  depth work. Symbolic links are never followed; FIFOs, sockets and devices are never opened.
- Paths deeper than 2048 bytes are opened relative to an ancestor's descriptor (kept open while its subtree is
  walked), so trees deeper than PATH_MAX work too.
- Only the matches are kept in memory and hashed: opened with O_NOFOLLOW|O_NONBLOCK (and O_NOATIME when allowed),
  then checked with fstat to be the same regular inode that was examined.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import stat
import time

from ansible_collections.fleetwatch.audit.plugins.module_utils._filecaps import XATTR_NAME, decode_vfs_cap
from ansible_collections.fleetwatch.audit.plugins.module_utils._mounts import (
    Excluder,
    is_under,
    plan_filesystems,
    read_mount_table,
)
from ansible_collections.fleetwatch.audit.plugins.module_utils._pathtext import path_to_text, text_to_path
from ansible_collections.fleetwatch.audit.plugins.module_utils._pkgdb import (
    detect,
    dpkg_lookup,
    rpm_lookup,
    run_command_default,
)
from ansible_collections.fleetwatch.audit.plugins.module_utils._rootview import RootView, error_text
from ansible_collections.fleetwatch.audit.plugins.module_utils._timestamps import iso_utc

DEFAULT_MAX_ERRORS = 100
ANCHOR_AT = 2048  # a directory whose path (from the last anchor) is longer keeps its descriptor for its subtree
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY
_O_NOATIME = getattr(os, "O_NOATIME", 0)
_GONE = frozenset((errno.ENOENT, errno.ENOTDIR, errno.ELOOP))  # vanished, or replaced by a file or a symlink
_NO_XATTRS = frozenset((errno.ENOTSUP, errno.EOPNOTSUPP))
_ENODATA = getattr(errno, "ENODATA", 61)
_SPECIAL = stat.S_ISUID | stat.S_ISGID
_CHUNK = 1 << 20


class _Interrupted(Exception):
    """The file examined was replaced before it could be hashed."""


def _new_hash(algo):
    try:
        return hashlib.new(algo, usedforsecurity=False)
    except TypeError:  # Python < 3.9
        return hashlib.new(algo)


class _Names(object):
    """uid/gid to name: the host's NSS for root ``/``, else the image's etc/passwd and etc/group."""

    def __init__(self, view):
        self._view = view
        self._tables = {}

    def _image_name(self, path, number):
        table = self._tables.get(path)
        if table is None:
            entries, _error = self._view.accounts(path)
            table = self._tables[path] = {}
            for name, known in entries or ():
                if known is not None:
                    table.setdefault(known, name.decode("utf-8", "replace"))
        return table.get(number)

    def user(self, uid):
        if not self._view.is_host:
            return self._image_name("/etc/passwd", uid)
        try:
            import pwd

            return pwd.getpwuid(uid).pw_name
        except (KeyError, ImportError):
            return None

    def group(self, gid):
        if not self._view.is_host:
            return self._image_name("/etc/group", gid)
        try:
            import grp

            return grp.getgrgid(gid).gr_name
        except (KeyError, ImportError):
            return None


class _Scan(object):
    def __init__(self, root, excluder, capabilities, algos, max_errors, mount_points):
        self.root = root
        self.rootlen = 0 if root == b"/" else len(root)
        self.excluder = excluder if excluder else None
        self.capabilities = capabilities
        self.algos = algos
        self.max_errors = max_errors
        self.mount_points = mount_points
        self.errors = []
        self.error_count = 0
        self.directories = 0
        self.files = 0
        self.vanished = 0
        self.matches = []  # (rel path, entry dict, {algo: hex digest})

    def rel(self, path):
        return path[self.rootlen :] or b"/"

    def error(self, path, what, exc=None):
        self.error_count += 1
        if len(self.errors) < self.max_errors:
            message = what if exc is None else "%s: %s" % (what, error_text(exc))
            self.errors.append({"path": path_to_text(self.rel(path)), "error": message})

    # -- the walk -------------------------------------------------------------------------------------------------

    def walk(self, plan, start):
        """Walk one start of one filesystem. Return False when the start itself could not be read."""
        try:
            st = os.lstat(start)
        except OSError as exc:
            self.error(start, "stat", exc)
            return False
        if stat.S_ISREG(st.st_mode):
            return self._walk_file(plan, start, st)
        if not stat.S_ISDIR(st.st_mode):
            return True
        btrfs = plan.mount.fstype == "btrfs"
        devices = {st.st_dev}
        stack = [start]
        anchors = []  # (path prefix ending with "/", open descriptor)
        try:
            while stack:
                path = stack.pop()
                while anchors and not path.startswith(anchors[-1][0]):
                    os.close(anchors.pop()[1])
                if anchors:
                    anchor_prefix, anchor_fd = anchors[-1]
                    name = path[len(anchor_prefix) :]
                else:
                    anchor_fd, name = None, path
                try:
                    fd = os.open(name, _DIR_FLAGS, dir_fd=anchor_fd)
                except OSError as exc:
                    if exc.errno in _GONE:
                        self.vanished += 1
                    else:
                        self.error(path, "open directory", exc)
                    if path == start:
                        return False
                    continue
                keep = False
                try:
                    dir_st = os.fstat(fd)
                    if dir_st.st_dev not in devices:
                        if btrfs:  # a btrfs subvolume inside the same filesystem has its own st_dev
                            devices.add(dir_st.st_dev)
                        else:
                            self.error(path, "another filesystem, not in the mount table, is mounted here: not scanned")
                            continue
                    pushed = len(stack)
                    self._directory(plan, path, fd, dir_st, stack)
                    if len(stack) > pushed and len(name) > ANCHOR_AT:
                        anchors.append((path + b"/", fd))
                        keep = True
                finally:
                    if not keep:
                        os.close(fd)
        finally:
            for _prefix, fd in anchors:
                os.close(fd)
        return True

    def _directory(self, plan, path, fd, dir_st, stack):
        """List one open directory: push its subdirectories, examine its regular files."""
        try:
            os.fchdir(fd)
        except OSError as exc:
            self.error(path, "enter directory", exc)
            return
        self.directories += 1
        prefix = path if path.endswith(b"/") else path + b"/"
        fsencode = os.fsencode
        mount_points = self.mount_points
        excluder = self.excluder
        rootlen = self.rootlen
        push = stack.append
        listxattr = os.listxattr
        xattrs = self.capabilities and plan.xattrs
        files = 0
        try:
            with os.scandir(fd) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            child = prefix + fsencode(entry.name)
                            if child in mount_points:
                                continue  # another mount: walked (or reported) as its own filesystem
                            if excluder and excluder.match(child[rootlen:]) is not None:
                                continue
                            push(child)
                            continue
                        files += 1
                        if not entry.is_file(follow_symlinks=False):
                            continue  # symlinks, FIFOs, sockets, devices: never opened, never followed
                        st = entry.stat(follow_symlinks=False)
                        raw = None
                        if xattrs:
                            try:
                                names = listxattr(entry.name, follow_symlinks=False)
                            except OSError as exc:
                                if exc.errno not in _NO_XATTRS:
                                    raise
                                xattrs = plan.xattrs = False  # this filesystem has no xattrs: stop asking it
                                names = ()
                            if names and XATTR_NAME in names:
                                raw = self._capability(entry.name)
                        if st.st_mode & _SPECIAL or raw is not None:
                            self._match(plan, fd, dir_st, prefix, entry.name, st, raw)
                    except OSError as exc:
                        if exc.errno in _GONE:
                            self.vanished += 1
                        else:
                            self.error(prefix + fsencode(entry.name), "examine", exc)
        except OSError as exc:
            self.error(path, "list directory", exc)
        finally:
            self.files += files

    def _walk_file(self, plan, path, st):
        """A start that is a regular file (a path of the ``paths`` option, or a file bind mount)."""
        parent = path.rpartition(b"/")[0] or b"/"
        try:
            fd = os.open(parent, _DIR_FLAGS)
        except OSError as exc:
            self.error(parent, "open directory", exc)
            return False
        try:
            os.fchdir(fd)
            dir_st = os.fstat(fd)
            name = os.fsdecode(path.rpartition(b"/")[2])
            self.files += 1
            raw = None
            if self.capabilities and plan.xattrs:
                try:
                    if XATTR_NAME in os.listxattr(name, follow_symlinks=False):
                        raw = self._capability(name)
                except OSError as exc:
                    if exc.errno not in _NO_XATTRS:
                        raise
            if st.st_mode & _SPECIAL or raw is not None:
                self._match(plan, fd, dir_st, parent.rstrip(b"/") + b"/", name, st, raw, is_start=True)
        except OSError as exc:
            self.error(path, "examine", exc)
            return False
        finally:
            os.close(fd)
        return True

    def _capability(self, name):
        """The raw security.capability of ``name`` in the current directory, or None if it went away."""
        try:
            return os.getxattr(name, XATTR_NAME, follow_symlinks=False)
        except OSError as exc:
            if exc.errno == _ENODATA:
                return None
            raise

    # -- a match ----------------------------------------------------------------------------------------------------

    def _match(self, plan, dir_fd, dir_st, prefix, name, st, raw, is_start=False):
        mode = st.st_mode
        if not stat.S_ISREG(mode):
            return
        path = prefix + os.fsencode(name)
        if not is_start and path in self.mount_points:
            return  # a file bind mount: examined as its own filesystem
        rel = self.rel(path)
        if self.excluder and self.excluder.match(rel) is not None:
            return
        kinds = []
        if mode & stat.S_ISUID:
            kinds.append("setuid")
        if mode & stat.S_ISGID:
            kinds.append("setgid")
        capabilities = rootid = None
        if raw is not None:
            kinds.append("capabilities")
            try:
                decoded = decode_vfs_cap(raw)
            except ValueError as exc:
                self.error(path, "capabilities: %s" % exc)
            else:
                capabilities, rootid = decoded.text(), decoded.rootid
        digests = self._digest(dir_fd, name, st, path) if self.algos else {}
        entry = {
            "path": path_to_text(rel),
            "kinds": kinds,
            "mode": "%04o" % stat.S_IMODE(mode),
            "uid": st.st_uid,
            "user": None,
            "gid": st.st_gid,
            "group": None,
            "size": st.st_size,
            "mtime": iso_utc(st.st_mtime_ns // 1000000000),
            "ctime": iso_utc(st.st_ctime_ns // 1000000000),
            "inode": st.st_ino,
            "nlink": st.st_nlink,
            "filesystem": path_to_text(plan.rel_mount_point),
            "fstype": plan.mount.fstype,
            "nosuid": plan.mount.nosuid,
            "world_writable": bool(mode & stat.S_IWOTH),
            "parent_world_writable": bool(dir_st.st_mode & stat.S_IWOTH),
            "sha256": None,
            "capabilities": capabilities,
            "capabilities_rootid": rootid,
            "package": None,
            "package_verified": None,
        }
        self.matches.append((rel, entry, digests, path, (st.st_dev, st.st_ino)))

    def _digest(self, dir_fd, name, st, path):
        """Hash the file ``name`` of the open directory with every algorithm wanted; {} if it cannot be read."""
        try:
            return hash_file(name, self.algos, (st.st_dev, st.st_ino), dir_fd=dir_fd)
        except _Interrupted:
            self.vanished += 1
        except OSError as exc:
            if exc.errno in _GONE:
                self.vanished += 1
            else:
                self.error(path, "read", exc)
        return {}


def hash_file(path, algos, identity, dir_fd=None):
    """Return ``{algo: hex digest}`` of a regular file, refusing anything but the inode ``identity`` (dev, ino).

    Raises OSError, or :class:`_Interrupted` when the path is now another file.
    """
    try:
        fd = os.open(path, _FILE_FLAGS | _O_NOATIME, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno != errno.EPERM or not _O_NOATIME:
            raise
        fd = os.open(path, _FILE_FLAGS, dir_fd=dir_fd)  # O_NOATIME needs ownership or CAP_FOWNER
    try:
        fst = os.fstat(fd)
        if not stat.S_ISREG(fst.st_mode) or (fst.st_dev, fst.st_ino) != identity:
            raise _Interrupted()
        hashes = [(algo, _new_hash(algo)) for algo in algos]
        while True:
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                break
            for _algo, digest in hashes:
                digest.update(chunk)
        return {algo: digest.hexdigest() for algo, digest in hashes}
    finally:
        os.close(fd)


def _normalise(path):
    """Absolute, normalised bytes path (``//a/./b/`` -> ``/a/b``), without resolving links."""
    path = os.path.normpath(b"/" + path.lstrip(b"/"))
    return b"/" if path == b"//" else path


def _starts(root, view, paths, excluder, scan):
    """Absolute host paths to walk: root, or each of ``paths`` resolved inside root, none inside another."""
    if not paths:
        return [root]
    found = []
    for text in paths:
        rel = view.resolve(_normalise(text_to_path(text)), follow_final=True)
        if rel is None:
            scan.error(view.join(_normalise(text_to_path(text))), "resolve: too many levels of symbolic links")
            continue
        host = view.host(rel) if rel != b"/" else root
        if excluder and rel != b"/" and excluder.match(rel) is not None:
            continue
        try:
            os.lstat(host)
        except OSError as exc:
            scan.error(host, "stat", exc)
            continue
        found.append(host)
    found = sorted(set(found), key=lambda p: (len(p), p))
    kept = []
    for path in found:
        if not any(is_under(path, top) for top in kept):
            kept.append(path)
    return kept


def scan(
    root="/",
    paths=None,
    exclude=None,
    include_fstypes=None,
    exclude_fstypes=None,
    checksum=True,
    package_check=True,
    capabilities=True,
    max_errors=DEFAULT_MAX_ERRORS,
    run_command=None,
    rpm_bin=None,
    mount_table=None,
):
    """Scan and return the module's result (without ``changed``). Raise ValueError on invalid arguments.

    ``run_command``: a ``module.run_command``-like callable for rpm; ``rpm_bin``: the rpm command, looked up on PATH
    when None (pass ``""`` for none); ``mount_table``: ``(mounts, source)`` instead of reading /proc (tests).
    """
    started = time.monotonic()
    include_fstypes = frozenset(include_fstypes or ())
    exclude_fstypes = frozenset(exclude_fstypes or ())
    both = sorted(include_fstypes & exclude_fstypes)
    if both:
        raise ValueError("filesystem types in both include_fstypes and exclude_fstypes: %s" % ", ".join(both))
    if max_errors is None or max_errors < 0:
        raise ValueError("max_errors must be 0 or more")
    root_b = _root_of(root)
    view = RootView(root_b)
    excluder = Excluder([(text, text_to_path(text)) for text in exclude or ()])
    if package_check:
        db_type, db_message = detect(view, shutil.which("rpm") if rpm_bin is None else rpm_bin)
    else:
        db_type, db_message = None, "package_check is false"
    # sha256 is what is reported; md5 is what dpkg records; rpm records either, so both are computed for it
    algos = (["sha256"] if checksum or db_type == "rpm" else []) + (["md5"] if db_type in ("dpkg", "rpm") else [])
    mounts, table_source = read_mount_table() if mount_table is None else mount_table
    scan_state = _Scan(root_b, excluder, capabilities, tuple(algos), max_errors, frozenset())
    starts = _starts(root_b, view, paths, excluder, scan_state)
    plans, tree = plan_filesystems(mounts, root_b, starts, excluder, include_fstypes, exclude_fstypes)
    scan_state.mount_points = frozenset(tree.visible)
    _walk_plans(scan_state, plans)
    package_db = {"type": db_type, "message": db_message}
    if db_type is not None and scan_state.matches:
        _verify(scan_state, view, db_type, package_db, run_command or run_command_default, rpm_bin)
    return {
        "root": path_to_text(root_b),
        "files": _file_entries(scan_state, _Names(view), checksum),
        "filesystems": [_filesystem_entry(plan) for plan in plans],
        "mount_table": table_source,
        "package_db": package_db,
        "stats": {
            "directories": scan_state.directories,
            "files": scan_state.files,
            "vanished": scan_state.vanished,
            "errors": scan_state.error_count,
            "duration": round(time.monotonic() - started, 3),
        },
        "errors": scan_state.errors,
        "errors_truncated": scan_state.error_count > len(scan_state.errors),
    }


def _root_of(root):
    """The real host path (bytes) of the ``root`` option; ValueError when it is not an absolute directory."""
    root_b = text_to_path(root) if isinstance(root, str) else root
    if not root_b.startswith(b"/"):
        raise ValueError("root must be an absolute path: %s" % path_to_text(root_b))
    root_b = os.path.realpath(root_b)
    if not os.path.isdir(root_b):
        raise ValueError("root is not a directory: %s" % path_to_text(root_b))
    return root_b


def _walk_plans(scan_state, plans):
    """Walk every filesystem to scan; the walk changes directory, so the current one is restored afterwards."""
    try:
        cwd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:  # the current directory is gone or unreadable: end in "/"
        cwd = None
    try:
        for plan in plans:
            if not plan.scanned:
                continue
            readable = [scan_state.walk(plan, start) for start in plan.starts]
            if not any(readable):
                plan.scanned = False
                plan.reason = "not readable (see errors)"
    finally:
        if cwd is not None:
            os.fchdir(cwd)
            os.close(cwd)
        else:
            os.chdir("/")


def _file_entries(scan_state, names, checksum):
    files = []
    for _rel, entry, digests, _path, _identity in scan_state.matches:
        entry["user"] = names.user(entry["uid"])
        entry["group"] = names.group(entry["gid"])
        if checksum:
            entry["sha256"] = digests.get("sha256")
        files.append(entry)
    files.sort(key=lambda e: e["path"])
    return files


def _filesystem_entry(plan):
    return {
        "mount_point": path_to_text(plan.rel_mount_point),
        "fstype": plan.mount.fstype,
        "source": path_to_text(plan.mount.source),
        "device": plan.mount.device,
        "fs_root": None if plan.mount.fs_root is None else path_to_text(plan.mount.fs_root),
        "nosuid": plan.mount.nosuid,
        "scanned": plan.scanned,
        "reason": plan.reason,
    }


def _verify(scan_state, view, db_type, package_db, run_command, rpm_bin):
    """Fill ``package`` and ``package_verified`` of every match from the package database."""
    wanted = [match[0] for match in scan_state.matches]
    try:
        if db_type == "dpkg":
            owners, _info = dpkg_lookup(view, wanted)
            owners = {rel: (package, "md5", digest) for rel, (package, digest) in owners.items()}
        else:
            owners, message = rpm_lookup(view, wanted, run_command, rpm_bin or shutil.which("rpm"))
            if message:
                package_db["message"] = message
    except OSError as exc:
        package_db["message"] = "reading the %s database failed: %s" % (db_type, error_text(exc))
        return
    for rel, entry, digests, path, identity in scan_state.matches:
        owner = owners.get(rel)
        if owner is None:
            continue
        package, algo, expected = owner
        entry["package"] = package
        if not expected or algo is None:
            continue
        actual = digests.get(algo)
        if actual is None and digests and algo in hashlib.algorithms_available:
            try:
                actual = hash_file(path, (algo,), identity).get(algo)
            except (OSError, _Interrupted):
                actual = None
        if actual is not None:
            entry["package_verified"] = actual == expected.lower()
