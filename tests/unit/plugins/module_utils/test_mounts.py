# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Mount table parsing and the choice of filesystems, on captured mount tables."""

from __future__ import annotations

import pytest

from ansible_collections.fleetwatch.audit.plugins.module_utils._mounts import (
    Excluder,
    MountTree,
    parse_mountinfo,
    parse_proc_mounts,
    plan_filesystems,
    read_mount_table,
)
from ansible_collections.fleetwatch.audit.plugins.module_utils._pathtext import path_to_text

# A workstation-like /proc/self/mountinfo (kernel escapes: \040 space, \012 newline, \134 backslash).
MOUNTINFO = rb"""21 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
22 21 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
23 21 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw
24 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate
25 21 0:5 / /dev rw,nosuid,relatime shared:8 - devtmpfs udev rw,size=8000000k,nr_inodes=2000000,mode=755
26 25 0:27 / /dev/shm rw,nosuid,nodev shared:9 - tmpfs tmpfs rw,inode64
27 25 0:24 / /dev/pts rw,nosuid,noexec,relatime shared:10 - devpts devpts rw,gid=5,mode=620,ptmxmode=000
28 21 0:28 / /run rw,nosuid,nodev,noexec,relatime shared:13 - tmpfs tmpfs rw,size=1600000k,mode=755
29 21 0:29 / /tmp rw,nosuid,nodev shared:14 - tmpfs tmpfs rw
30 21 8:2 / /home rw,relatime shared:15 - ext4 /dev/sda2 rw
31 21 8:2 /alice/shared /srv/alice\040shared rw,nosuid,relatime shared:15 - ext4 /dev/sda2 rw
32 21 8:1 /srv/chroot /var/chroot rw,relatime shared:1 - ext4 /dev/sda1 rw
33 21 8:1 /home /mnt/old\134home rw,relatime shared:1 - ext4 /dev/sda1 rw
34 21 0:40 / /mnt/nfs rw,relatime shared:20 - nfs4 fileserver:/export/home rw,vers=4.2,addr=10.0.0.2
35 21 0:41 / /mnt/ssh rw,nosuid,nodev,relatime shared:21 - fuse.sshfs alice@box:/ rw,user_id=0,group_id=0
36 21 8:3 / /data rw,relatime shared:22 - xfs /dev/sda3 rw
37 36 8:17 / /data rw,relatime shared:23 - ext4 /dev/sdb1 rw
38 36 8:3 /x /data/inner rw,relatime - xfs /dev/sda3 rw
39 21 0:50 / /var/lib/docker/overlay2/abc/merged rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w
40 21 0:51 / /mnt/new\012line rw,nosuid - tmpfs tmpfs rw
41 22 0:52 / /proc/sys/fs/binfmt_misc rw,relatime - binfmt_misc binfmt_misc rw
42 21 8:15 / /boot/efi rw,relatime - vfat /dev/sda15 rw,fmask=0077
43 21 7:0 / /snap/core/1 ro,nodev,relatime - squashfs /dev/loop0 ro
44 21 0:55 / /mnt/win rw,relatime - 9p C:\134 rw,trans=fd
45 21 8:49 / /opt/sub rw,relatime - ext4 /dev/sdd1 rw
46 21 0:61 / /opt rw,nosuid - tmpfs tmpfs rw
this line is not a mount
"""


def _plan(root=b"/", starts=None, exclude=(), include=(), exclude_types=(), mountinfo=MOUNTINFO):
    excluder = Excluder([(p, p.encode()) for p in exclude])
    plans, _tree = plan_filesystems(
        parse_mountinfo(mountinfo), root, starts or [root], excluder, frozenset(include), frozenset(exclude_types)
    )
    return [(path_to_text(p.rel_mount_point), p.mount.fstype, p.scanned, p.reason, p.starts) for p in plans]


def test_parse_mountinfo_fields_and_escapes():
    mounts = parse_mountinfo(MOUNTINFO)
    assert len(mounts) == 26  # the malformed line is ignored
    by_point = {m.mount_point: m for m in mounts}
    alice = by_point[b"/srv/alice shared"]
    assert (alice.mount_id, alice.parent_id, alice.device, alice.fs_root) == (31, 21, "8:2", b"/alice/shared")
    assert alice.fstype == "ext4" and alice.source == b"/dev/sda2" and alice.nosuid
    assert b"/mnt/new\nline" in by_point
    assert b"/mnt/old\\home" in by_point
    assert by_point[b"/mnt/win"].source == b"C:\\"
    nfs = by_point[b"/mnt/nfs"]
    assert nfs.fstype == "nfs4" and nfs.source == b"fileserver:/export/home" and not nfs.nosuid
    assert by_point[b"/mnt/ssh"].fstype == "fuse.sshfs"
    assert by_point[b"/tmp"].nosuid and by_point[b"/tmp"].fstype == "tmpfs"


def test_default_plan_of_the_whole_system():
    plan = {(mp, fstype): (scanned, reason, starts) for mp, fstype, scanned, reason, starts in _plan()}
    scanned = sorted(mp for (mp, _t), (ok, _r, _s) in plan.items() if ok)
    assert scanned == [
        "/",
        "/boot/efi",
        "/data",
        "/dev/shm",
        "/home",
        "/mnt/new\\x0aline",
        "/mnt/old\\\\home",  # the old /home directory of the root filesystem, hidden under /home: only seen here
        "/opt",
        "/run",
        "/snap/core/1",
        "/tmp",
        "/var/lib/docker/overlay2/abc/merged",  # overlay is local
    ]
    assert plan[("/", "ext4")] == (True, None, [b"/"])
    assert plan[("/home", "ext4")] == (True, None, [b"/home"])
    assert plan[("/proc", "proc")][1] == "pseudo filesystem (proc)"
    assert plan[("/proc/sys/fs/binfmt_misc", "binfmt_misc")][1] == "pseudo filesystem (binfmt_misc)"
    assert plan[("/sys/fs/cgroup", "cgroup2")][1] == "pseudo filesystem (cgroup2)"
    assert plan[("/dev", "devtmpfs")][1] == "device filesystem (devtmpfs): device nodes only"
    assert plan[("/dev/pts", "devpts")][1] == "pseudo filesystem (devpts)"
    assert plan[("/mnt/nfs", "nfs4")][1] == "network filesystem (nfs4)"
    assert plan[("/mnt/ssh", "fuse.sshfs")][1] == "network filesystem (fuse.sshfs)"
    assert plan[("/mnt/win", "9p")][1] == "network filesystem (9p)"
    assert plan[("/srv/alice shared", "ext4")][1] == (
        "bind mount of /home/alice/shared (device 8:2, filesystem root /alice/shared), already scanned there"
    )
    assert plan[("/var/chroot", "ext4")][1] == (
        "bind mount of /srv/chroot (device 8:1, filesystem root /srv/chroot), already scanned there"
    )
    assert plan[("/data/inner", "xfs")][1] == "hidden under another filesystem mounted over it at /data"
    assert plan[("/opt/sub", "ext4")][1] == "hidden under another filesystem mounted over it at /opt"


def test_stacked_mounts_hidden_one_listed_first():
    data = [(mp, fstype, scanned, reason) for mp, fstype, scanned, reason, _s in _plan() if mp == "/data"]
    assert data == [
        ("/data", "xfs", False, "hidden under another filesystem mounted over it at /data"),
        ("/data", "ext4", True, None),
    ]


def test_tree_resolution():
    tree = MountTree(parse_mountinfo(MOUNTINFO))
    assert tree.resolve(b"/data/inner/x").device == "8:17"
    assert tree.resolve(b"/home/alice").device == "8:2"
    assert tree.resolve(b"/homework").device == "8:1"
    assert tree.resolve(b"/").device == "8:1"


def test_root_is_a_mount_point():
    assert _plan(root=b"/home") == [("/", "ext4", True, None, [b"/home"])]


def test_root_is_a_plain_directory():
    # /srv is a directory of the root filesystem: that filesystem is walked from /srv, mounts below are relative
    plan = _plan(root=b"/srv")
    assert plan == [
        ("/", "ext4", True, None, [b"/srv"]),
        ("/alice shared", "ext4", True, None, [b"/srv/alice shared"]),  # its covering /home is outside root
    ]


def test_paths_limit_the_scope():
    plan = {
        mp: (scanned, reason, starts) for mp, _t, scanned, reason, starts in _plan(starts=[b"/usr", b"/data", b"/mnt"])
    }
    assert plan["/"] == (True, None, [b"/usr", b"/mnt"])
    assert plan["/data"] == (True, None, [b"/data"])
    assert plan["/mnt/new\\x0aline"] == (True, None, [b"/mnt/new\nline"])
    assert plan["/mnt/nfs"][1] == "network filesystem (nfs4)"
    assert plan["/home"] == (False, "not under any of paths", [])
    assert plan["/tmp"] == (False, "not under any of paths", [])
    assert plan["/proc"][1] == "pseudo filesystem (proc)"


def test_explicit_path_on_a_skipped_type_is_scanned():
    plan = {mp: (scanned, reason) for mp, _t, scanned, reason, _s in _plan(starts=[b"/mnt/nfs/projects"])}
    assert plan["/mnt/nfs"] == (True, None)
    assert plan["/"] == (False, "not under any of paths")


def test_root_on_a_network_type_is_scanned():
    table = b"1 0 0:30 / / rw - virtiofs myfs rw\n2 1 0:31 / /mnt rw - virtiofs other rw\n"
    assert _plan(mountinfo=table) == [
        ("/", "virtiofs", True, None, [b"/"]),
        ("/mnt", "virtiofs", False, "network filesystem (virtiofs)", []),
    ]


def test_include_and_exclude_fstypes():
    plan = {(mp, t): (ok, reason) for mp, t, ok, reason, _s in _plan(include=["nfs4"], exclude_types=["tmpfs", "ext4"])}
    assert plan[("/mnt/nfs", "nfs4")] == (True, None)
    assert plan[("/tmp", "tmpfs")] == (False, "type tmpfs is in exclude_fstypes")
    assert plan[("/", "ext4")] == (False, "type ext4 is in exclude_fstypes")  # applies to root's filesystem too


def test_exclude_patterns_on_mount_points():
    plan = {mp: (ok, reason) for mp, _t, ok, reason, _s in _plan(exclude=["/mnt/*", "/home"])}
    assert plan["/mnt/old\\\\home"] == (False, "mount point excluded by exclude pattern /mnt/*")
    assert plan["/home"] == (False, "mount point excluded by exclude pattern /home")
    # /home is not walked, so the bind mount of a subtree of its filesystem is the way in: scanned
    assert plan["/srv/alice shared"] == (True, None)


def test_bind_mount_of_the_same_subtree_twice():
    table = (
        b"1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
        b"2 1 8:2 /exports /srv/a rw - ext4 /dev/sda2 rw\n"
        b"3 1 8:2 /exports /srv/b rw - ext4 /dev/sda2 rw\n"
        b"4 1 8:2 /exports/sub /srv/c rw - ext4 /dev/sda2 rw\n"
    )
    assert [(mp, ok, reason) for mp, _t, ok, reason, _s in _plan(mountinfo=table)] == [
        ("/", True, None),
        ("/srv/a", True, None),
        ("/srv/b", False, "bind mount of /srv/a (device 8:2, filesystem root /exports), already scanned there"),
        ("/srv/c", False, "bind mount of /srv/a/sub (device 8:2, filesystem root /exports/sub), already scanned there"),
    ]


def test_proc_mounts_fallback():
    data = (
        b"/dev/sda1 / ext4 rw,relatime 0 0\n"
        b"proc /proc proc rw,nosuid 0 0\n"
        b"tmpfs /tmp tmpfs rw,nosuid 0 0\n"
        b"/dev/sdb1 /mnt/my\\040disk ext4 rw 0 0\n"
        b"/dev/sdc1 /mnt/my\\040disk xfs rw 0 0\n"
    )
    mounts = parse_proc_mounts(data)
    assert [m.mount_point for m in mounts] == [b"/", b"/proc", b"/tmp", b"/mnt/my disk", b"/mnt/my disk"]
    assert mounts[2].nosuid and mounts[0].device is None and mounts[0].fs_root is None
    plans, _tree = plan_filesystems(mounts, b"/", [b"/"], Excluder([]))
    assert [(p.rel_mount_point, p.mount.fstype, p.scanned, p.reason) for p in plans] == [
        (b"/", "ext4", True, None),
        (b"/mnt/my disk", "ext4", False, "hidden under another filesystem mounted over it at /mnt/my disk"),
        (b"/mnt/my disk", "xfs", True, None),
        (b"/proc", "proc", False, "pseudo filesystem (proc)"),
        (b"/tmp", "tmpfs", True, None),
    ]


def test_no_mount_table():
    plans, _tree = plan_filesystems([], b"/srv", [b"/srv"], Excluder([]))
    assert [(p.rel_mount_point, p.mount.fstype, p.scanned, p.starts) for p in plans] == [
        (b"/", "unknown", True, [b"/srv"])
    ]


@pytest.mark.parametrize(
    ("pattern", "path", "matched"),
    [
        ("/var/cache", b"/var/cache", True),
        ("/var/cache", b"/var/cache/apt/x", True),
        ("/var/cache", b"/var/cachefiles", False),
        ("var/cache/", b"/var/cache/x", True),  # relative and trailing slash normalised
        ("/home/*/.cache", b"/home/alice/.cache", True),
        ("/home/*/.cache", b"/home/alice/.cache/x", False),  # a glob matches the whole path...
        ("*.bak", b"/srv/deep/dir/old.bak", True),  # ...and * matches / too
        ("/tmp/[ab]?", b"/tmp/ax", True),
        ("/tmp/[ab]?", b"/tmp/cx", False),
    ],
)
def test_excluder(pattern, path, matched):
    excluder = Excluder([(pattern, pattern.encode())])
    assert (excluder.match(path) == pattern) is matched


def test_this_machines_mount_table_parses():
    mounts, source = read_mount_table()
    assert source in ("/proc/self/mountinfo", "/proc/mounts")
    assert any(m.mount_point == b"/" for m in mounts)
