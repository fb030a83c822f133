# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Mount table parsing and the choice of filesystems to scan (private to the collection).

Paths are bytes throughout (as the kernel gives them); nothing here touches the file system except
:func:`read_mount_table`, so the planning is tested on captured mount tables.
"""

from __future__ import annotations

import fnmatch
import re

from ansible_collections.fleetwatch.audit.plugins.module_utils._pathtext import path_to_text

# Filesystems without files of their own on a disk: kernel interfaces and in-memory views of kernel state.
PSEUDO_FSTYPES = frozenset(
    (
        "anon_inodefs",
        "autofs",
        "binfmt_misc",
        "bpf",
        "cgroup",
        "cgroup2",
        "configfs",
        "cpuset",
        "debugfs",
        "devpts",
        "efivarfs",
        "fuse.gvfsd-fuse",
        "fuse.lxcfs",
        "fuse.portal",
        "fusectl",
        "hugetlbfs",
        "mqueue",
        "nfsd",
        "nsfs",
        "pipefs",
        "proc",
        "pstore",
        "resctrl",
        "rpc_pipefs",
        "securityfs",
        "selinuxfs",
        "smackfs",
        "sockfs",
        "sysfs",
        "tracefs",
        "usbfs",
    )
)
# Filesystems whose files live on another machine (or the hypervisor's host): audit them where they are stored.
NETWORK_FSTYPES = frozenset(
    (
        "9p",
        "afs",
        "beegfs",
        "ceph",
        "cifs",
        "coda",
        "davfs",
        "fuse.ceph",
        "fuse.cephfs",
        "fuse.davfs2",
        "fuse.gcsfuse",
        "fuse.glusterfs",
        "fuse.juicefs",
        "fuse.rclone",
        "fuse.s3fs",
        "fuse.sshfs",
        "glusterfs",
        "gpfs",
        "lustre",
        "ncpfs",
        "nfs",
        "nfs4",
        "orangefs",
        "smb3",
        "smbfs",
        "sshfs",
        "virtiofs",
    )
)
# Filesystems of device nodes only: no regular file can be setuid there.
DEVICE_FSTYPES = frozenset(("devtmpfs", "devfs"))

_OCTAL = re.compile(rb"\\([0-7]{3})")
_GLOB = re.compile(rb"[*?[]")


class Mount(object):
    """One line of the mount table."""

    __slots__ = (
        "device",
        "fs_root",
        "fstype",
        "index",
        "mount_id",
        "mount_point",
        "options",
        "parent_id",
        "source",
    )

    def __init__(
        self, index, mount_point, fstype, source, options, mount_id=None, parent_id=None, device=None, fs_root=None
    ):
        self.index = index
        self.mount_point = mount_point  # bytes, absolute, as seen by this process
        self.fstype = fstype  # text, e.g. "ext4", "fuse.sshfs"
        self.source = source  # bytes
        self.options = options  # frozenset of text: the per-mount options (nosuid, ro, ...)
        self.mount_id = mount_id
        self.parent_id = parent_id
        self.device = device  # "major:minor" text, or None from /proc/mounts
        self.fs_root = fs_root  # bytes: the directory of the filesystem mounted here, or None

    @property
    def nosuid(self):
        return "nosuid" in self.options

    def __repr__(self):
        return "Mount(%r, %r, %r)" % (self.mount_point, self.fstype, self.device)


def _unescape(field):
    """Undo the kernel's octal escapes (``\\040`` space, ``\\011`` tab, ``\\012`` newline, ``\\134`` backslash)."""
    if b"\\" not in field:
        return field
    return _OCTAL.sub(lambda m: bytes((int(m.group(1), 8) & 0xFF,)), field)


def parse_mountinfo(data):
    """Parse ``/proc/self/mountinfo`` content (bytes) into a list of :class:`Mount`, in table order.

    Line format (proc(5)): ``id parent major:minor root mount_point options [optional fields...] - fstype source
    super_options``. Malformed lines are ignored.
    """
    mounts = []
    for line in data.split(b"\n"):
        fields = line.split(b" ")
        if len(fields) < 10:
            continue
        try:
            sep = fields.index(b"-", 6)
        except ValueError:
            continue
        if len(fields) < sep + 3:
            continue
        try:
            mount_id, parent_id = int(fields[0]), int(fields[1])
        except ValueError:
            continue
        mounts.append(
            Mount(
                index=len(mounts),
                mount_point=_unescape(fields[4]),
                fstype=fields[sep + 1].decode("utf-8", "replace"),
                source=_unescape(fields[sep + 2]),
                options=frozenset(fields[5].decode("utf-8", "replace").split(",")),
                mount_id=mount_id,
                parent_id=parent_id,
                device=fields[2].decode("ascii", "replace"),
                fs_root=_unescape(fields[3]),
            )
        )
    return mounts


def parse_proc_mounts(data):
    """Parse ``/proc/mounts`` (fstab format: ``source mount_point fstype options dump pass``), in table order."""
    mounts = []
    for line in data.split(b"\n"):
        fields = line.split()
        if len(fields) < 4:
            continue
        mounts.append(
            Mount(
                index=len(mounts),
                mount_point=_unescape(fields[1]),
                fstype=fields[2].decode("utf-8", "replace"),
                source=_unescape(fields[0]),
                options=frozenset(fields[3].decode("utf-8", "replace").split(",")),
            )
        )
    return mounts


def read_mount_table():
    """Return ``(mounts, source)`` from /proc/self/mountinfo, else /proc/mounts; ``([], None)`` without either."""
    for path, parser in (("/proc/self/mountinfo", parse_mountinfo), ("/proc/mounts", parse_proc_mounts)):
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            continue
        mounts = parser(data)
        if mounts:
            return mounts, path
    return [], None


def is_under(path, top):
    """True when bytes ``path`` is ``top`` or inside it (both absolute and normalised)."""
    if top == b"/":
        return path.startswith(b"/")
    return path == top or path.startswith(top + b"/")


def _ancestors(path):
    """Yield the absolute prefixes of ``path`` below ``/``: ``/a``, ``/a/b``, ... ``path``."""
    pos = 0
    while True:
        pos = path.find(b"/", pos + 1)
        if pos == -1:
            if path != b"/":
                yield path
            return
        yield path[:pos]


class MountTree(object):
    """Which mount a path resolves to, and which mounts are hidden under others."""

    def __init__(self, mounts):
        self.mounts = mounts
        ids = {m.mount_id for m in mounts if m.mount_id is not None}
        self._children = {}
        self._top = None
        if ids and all(m.mount_id is not None for m in mounts):
            for mount in mounts:
                self._children.setdefault(mount.parent_id, []).append(mount)
            tops = [m for m in mounts if m.parent_id not in ids and m.mount_point == b"/"]
            if tops:
                self._top = self._stack_top(tops[-1])
        self.visible = {}  # mount_point -> the visible Mount there
        if self._top is not None:
            for mount in mounts:
                if self._resolve_tree(mount.mount_point) is mount:
                    self.visible[mount.mount_point] = mount
        else:  # no parent links (/proc/mounts): the last mount on a mount point is the one on top
            for mount in mounts:
                self.visible[mount.mount_point] = mount
            if b"/" not in self.visible:
                self.visible = {}

    def _stack_top(self, mount):
        while True:
            above = [c for c in self._children.get(mount.mount_id, ()) if c.mount_point == mount.mount_point]
            if not above:
                return mount
            mount = above[-1]

    def _resolve_tree(self, path):
        current = self._top
        for prefix in _ancestors(path):
            kids = [c for c in self._children.get(current.mount_id, ()) if c.mount_point == prefix]
            if kids:
                current = self._stack_top(kids[-1])
        return current

    def resolve(self, path):
        """Return the visible mount that absolute ``path`` lies on, or None when nothing is mounted on ``/``."""
        found = self.visible.get(b"/")
        for prefix in _ancestors(path):
            mount = self.visible.get(prefix)
            if mount is not None:
                found = mount
        return found

    def hidden_by(self, mount):
        """Return the mount that hides ``mount`` (mounted over its mount point or a parent of it), or None."""
        if self.visible.get(mount.mount_point) is mount:
            return None
        return self.resolve(mount.mount_point)


def fstype_skip_reason(fstype, include_fstypes, exclude_fstypes, explicit=False):
    """Return why a filesystem of ``fstype`` is not scanned, or None to scan it.

    ``explicit``: the filesystem holds ``root`` or one of ``paths`` itself, so the default type lists do not apply.
    """
    if fstype in exclude_fstypes:
        return "type %s is in exclude_fstypes" % fstype
    if explicit or fstype in include_fstypes:
        return None
    if fstype in PSEUDO_FSTYPES:
        return "pseudo filesystem (%s)" % fstype
    if fstype in NETWORK_FSTYPES:
        return "network filesystem (%s)" % fstype
    if fstype in DEVICE_FSTYPES:
        return "device filesystem (%s): device nodes only" % fstype
    return None


class Excluder(object):
    """Match root-relative bytes paths against the ``exclude`` option.

    A pattern without ``*``, ``?`` or ``[`` is a path: it excludes itself and everything below it. Any other pattern
    is a shell glob matched against the whole root-relative path, ``*`` matching ``/`` too.
    """

    def __init__(self, patterns):
        self._prefixes = []
        self._globs = []
        for text, pattern in patterns:
            if not pattern.startswith(b"/"):
                pattern = b"/" + pattern
            if _GLOB.search(pattern):
                regex = fnmatch.translate(pattern.decode("latin-1")).encode("latin-1")
                self._globs.append((text, re.compile(regex, re.DOTALL)))
            else:
                pattern = pattern.rstrip(b"/") or b"/"
                self._prefixes.append((text, pattern))

    def __bool__(self):
        return bool(self._prefixes or self._globs)

    __nonzero__ = __bool__

    def match(self, rel):
        """Return the pattern (text) that excludes root-relative ``rel``, or None."""
        for text, prefix in self._prefixes:
            if is_under(rel, prefix):
                return text
        for text, regex in self._globs:
            if regex.match(rel):
                return text
        return None


class FsPlan(object):
    """What to do with one filesystem under root: its report entry and where to start walking it."""

    __slots__ = ("mount", "reason", "rel_mount_point", "scanned", "starts", "visible", "xattrs")

    def __init__(self, mount, rel_mount_point, visible):
        self.mount = mount
        self.rel_mount_point = rel_mount_point
        self.visible = visible
        self.scanned = False
        self.reason = None
        self.starts = []  # absolute bytes paths where the walk of this filesystem starts
        self.xattrs = True  # False once the filesystem answered that it has no extended attributes


def rel_to_root(path, root):
    """Return absolute ``path`` relative to ``root`` (``/`` for root itself)."""
    if root == b"/":
        return path
    return path[len(root) :] or b"/"


def plan_filesystems(mounts, root, starts, excluder, include_fstypes=(), exclude_fstypes=()):
    """Decide for every mount at or under ``root`` (and the one holding ``root``) whether and where to walk it.

    ``root`` is an absolute normalised bytes path; ``starts`` the absolute bytes paths to cover (``[root]``, or the
    resolved ``paths`` option), none inside another. Returns ``(plans, tree)``: the plans sorted by mount point
    (a mount hidden under another one before the one on top), and the :class:`MountTree`.
    """
    tree = MountTree(mounts)
    holder = tree.resolve(root)
    if holder is None:  # a mount table without "/" (unusual chroots): root's filesystem alone, type unknown
        holder = Mount(len(mounts), b"/", "unknown", b"", frozenset())
        mounts = [*mounts, holder]
        tree = MountTree([holder])
    plans = []
    for mount in mounts:
        mount_point = mount.mount_point
        if mount is holder:
            rel = b"/"
        elif mount_point != root and is_under(mount_point, root):
            rel = rel_to_root(mount_point, root)
        else:
            continue
        plan = FsPlan(mount, rel, tree.visible.get(mount_point) is mount)
        plans.append(plan)
        if not plan.visible:
            over = tree.hidden_by(mount)
            plan.reason = "hidden under another filesystem mounted over it"
            if over is not None and is_under(over.mount_point, root):
                plan.reason += " at " + path_to_text(rel_to_root(over.mount_point, root))
            continue
        # The starts on this filesystem make it explicitly requested; a start above it covers all of it.
        inside = [start for start in starts if tree.resolve(start) is mount]
        if mount is not holder and any(is_under(mount_point, start) for start in starts):
            walk_from = [mount_point]
        else:
            walk_from = inside
        reason = fstype_skip_reason(mount.fstype, include_fstypes, exclude_fstypes, explicit=bool(inside))
        if reason is None and not walk_from:
            reason = "not under any of paths"
        if reason is None and excluder and rel != b"/":
            pattern = excluder.match(rel)
            if pattern is not None:
                reason = "mount point excluded by exclude pattern %s" % pattern
        if reason is not None:
            plan.reason = reason
            continue
        plan.scanned = True
        plan.starts = walk_from
    _skip_covered_binds(plans, tree, root, excluder)
    plans.sort(key=lambda p: (p.rel_mount_point, p.visible, p.mount.index))
    return plans, tree


def _skip_covered_binds(plans, tree, root, excluder):
    """Skip a bind mount whose subtree is already walked through another mount of the same filesystem.

    Mounts of one device are taken shortest filesystem root first; a later one is skipped when its root lies inside
    an earlier one's and that place is really walked there (not hidden by a third mount, not excluded).
    """
    walked = [p for p in plans if p.scanned and p.mount.device and p.mount.fs_root is not None]
    walked.sort(key=lambda p: (len(p.mount.fs_root), p.mount.index))
    kept = []
    for plan in walked:
        mount = plan.mount
        for other in kept:
            if other.mount.device != mount.device or not is_under(mount.fs_root, other.mount.fs_root):
                continue
            inner = mount.fs_root[len(other.mount.fs_root.rstrip(b"/")) :]
            same_place = other.mount.mount_point.rstrip(b"/") + inner if inner not in (b"", b"/") else b""
            same_place = same_place or other.mount.mount_point
            if tree.resolve(same_place) is not other.mount:
                continue  # a third mount covers that place: this bind mount is the only way into the subtree
            if not any(is_under(same_place, start) for start in other.starts):
                continue
            if excluder and any(
                excluder.match(rel_to_root(step, root)) is not None
                for step in _ancestors(same_place)
                if step != root and is_under(step, root)
            ):
                continue
            plan.scanned = False
            plan.starts = []
            plan.reason = "bind mount of %s (device %s, filesystem root %s), already scanned there" % (
                path_to_text(rel_to_root(same_place, root)),
                mount.device,
                path_to_text(mount.fs_root),
            )
            break
        else:
            kept.append(plan)
