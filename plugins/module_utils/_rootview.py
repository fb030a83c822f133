# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The audited ``root`` as every gatherer sees it (private to the collection; target side, Python 3.8+, read-only).

A gatherer opens every file under ``root`` through one :class:`RootView`: paths are absolute as seen inside the root
(``/etc/passwd``), symbolic links are resolved inside the root (an absolute link target or ``..`` never leaves it), so
an offline image with ``etc/passwd -> /srv/passwd`` reads the image's ``srv/passwd``, never the host's. With root
``/`` the kernel resolves links as usual. Paths may be ``str`` or ``bytes``; results come back in the type given.
The local users and groups (``etc/passwd``, ``etc/group``) are read once per view. :func:`error_text` is the one text
for an error reading a file, whichever gatherer reports it.
"""

from __future__ import annotations

import errno
import os
import stat

MAX_LINKS = 40  # as the kernel's limit of symbolic links followed in one path
ACCOUNT_FILE_LIMIT = 16 * 1024 * 1024  # what is read of etc/passwd or etc/group at most


def error_text(exc):
    """``"Permission denied (EACCES)"`` for an OSError, ``"Type: message"`` for anything else."""
    if isinstance(exc, OSError) and exc.errno is not None:
        return "%s (%s)" % (exc.strerror or os.strerror(exc.errno), errno.errorcode.get(exc.errno, exc.errno))
    return "%s: %s" % (type(exc).__name__, exc)


def open_no_atime(host_path, flags=0):
    """A read-only file descriptor that leaves the access time alone where the kernel allows it (the owner or root).

    Reading a log must not change what an investigator sees of it afterwards.
    """
    flags |= os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    noatime = getattr(os, "O_NOATIME", 0)
    if noatime:
        try:
            return os.open(host_path, flags | noatime)
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EINVAL):
                raise
    return os.open(host_path, flags)


class RootView(object):
    """Read-only access to the files of ``root`` (a host path; ``/`` for the running system)."""

    def __init__(self, root="/"):
        root = os.path.abspath(os.fsdecode(root or "/"))
        self.root = root
        self.is_host = root == "/"
        self._root_b = os.fsencode(root)
        self._links = {}
        self._accounts = {}

    # -- paths ----------------------------------------------------------------------------------------------------

    def _readlink(self, rel):
        try:
            return self._links[rel]
        except KeyError:
            pass
        try:
            target = os.readlink(self._root_b + rel)
        except OSError:
            target = None
        self._links[rel] = target
        return target

    def _resolve(self, rel, follow_final):
        pending = [p for p in rel.split(b"/") if p and p != b"."]
        pending.reverse()
        done = []
        links = 0
        while pending:
            name = pending.pop()
            if name == b"..":
                if done:
                    done.pop()
                continue
            if not pending and not follow_final:
                done.append(name)
                break
            target = self._readlink(b"/" + b"/".join([*done, name]))
            if target is None:
                done.append(name)
                continue
            links += 1
            if links > MAX_LINKS:
                return None
            if target.startswith(b"/"):
                done = []
            pending.extend(reversed([p for p in target.split(b"/") if p and p != b"."]))
        return b"/" + b"/".join(done)

    def resolve(self, path, follow_final=False):
        """``path`` (absolute inside the root) with its symbolic links resolved inside the root; None on a link loop.

        Missing components are kept as written. ``follow_final=False`` leaves a link in the last component as it is.
        """
        if isinstance(path, str):
            got = self._resolve(os.fsencode(path), follow_final)
            return None if got is None else os.fsdecode(got)
        return self._resolve(path, follow_final)

    def join(self, path):
        """The host path of ``path`` as written (no link resolved): for messages about a path that did not resolve."""
        if self.is_host:
            return path
        return (self.root if isinstance(path, str) else self._root_b) + path

    def host(self, path, follow_final=True):
        """The host path of ``path`` inside the root (links resolved inside it), or None on a link loop."""
        resolved = self.resolve(path, follow_final)
        if resolved is None or self.is_host:
            return resolved
        prefix = self.root if isinstance(resolved, str) else self._root_b
        return prefix if len(resolved) == 1 else prefix + resolved

    def existing_host(self, path):
        """:meth:`host`, raising ``ELOOP`` (as the kernel would) where links loop."""
        host = self.host(path)
        if host is None:
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)
        return host

    def shown(self, host_path):
        """A host path as seen inside the root (for reports); the host path itself when it is outside the root."""
        if self.is_host:
            return host_path
        prefix, sep = (self.root, "/") if isinstance(host_path, str) else (self._root_b, b"/")
        if host_path == prefix:
            return sep
        return host_path[len(prefix) :] if host_path.startswith(prefix + sep) else host_path

    # -- files ----------------------------------------------------------------------------------------------------

    def open(self, path):
        """A read-only descriptor of the regular file ``path`` (the access time kept); OSError otherwise.

        Never a FIFO or a device, which could block the gatherer or have side effects.
        """
        host = self.existing_host(path)
        _check_regular(os.stat(host).st_mode, path)  # before open: opening a device can have side effects
        # Links are resolved above, inside the root: one swapped in since then is not followed.
        fd = open_no_atime(host, getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        try:
            _check_regular(os.fstat(fd).st_mode, path)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def read(self, path, limit=None):
        """The content of the regular file ``path`` (at most about ``limit`` bytes); OSError when it cannot be read."""
        fd = self.open(path)
        try:
            chunks = []
            size = 0
            while limit is None or size <= limit:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)

    def read_or_none(self, path, limit=None):
        try:
            return self.read(path, limit)
        except OSError:
            return None

    def isdir(self, path):
        host = self.host(path)
        return host is not None and os.path.isdir(host)

    def listdir(self, path):
        return os.listdir(self.existing_host(path))

    def lexists(self, path):
        host = self.host(path, follow_final=False)
        return host is not None and os.path.lexists(host)

    def stat(self, path):
        """``os.stat`` of ``path``, links resolved inside the root."""
        return os.stat(self.existing_host(path))

    # -- accounts -------------------------------------------------------------------------------------------------

    def accounts(self, path):
        """``(entries, error)`` of ``etc/passwd``-shaped ``path``, read once: entries ``[(name, id)]`` (bytes, int
        or None) in file order, NIS ``+``/``-`` lines and comments left out; error text when it cannot be read."""
        got = self._accounts.get(path)
        if got is None:
            try:
                data = self.read(path, ACCOUNT_FILE_LIMIT)
            except OSError as exc:
                got = (None, "%s: %s" % (os.fsdecode(path), error_text(exc)))
            else:
                got = (_account_entries(data), None)
            self._accounts[path] = got
        return got

    def users(self):
        """``(entries, error)`` of the root's ``/etc/passwd`` (see :meth:`accounts`)."""
        return self.accounts("/etc/passwd")

    def groups(self):
        """``(entries, error)`` of the root's ``/etc/group`` (see :meth:`accounts`)."""
        return self.accounts("/etc/group")


def _check_regular(mode, path):
    if stat.S_ISDIR(mode):
        raise OSError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    if not stat.S_ISREG(mode):
        raise OSError(errno.EINVAL, "not a regular file", path)


def _account_entries(data):
    entries = []
    for line in data.split(b"\n"):
        if not line or line.startswith((b"#", b"+", b"-")):
            continue
        fields = line.split(b":", 3)
        if not fields[0]:
            continue
        number = int(fields[2]) if len(fields) >= 3 and fields[2].isdigit() else None
        entries.append((fields[0], number))
    return entries


def as_view(root):
    """``root`` as a :class:`RootView` (a view is shared as it is, a path gets a view of its own)."""
    return root if isinstance(root, RootView) else RootView(root)
