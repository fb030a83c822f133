# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The setuid scan on real trees: real setuid/setgid bits, real capabilities, real special files (run as root)."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile

import pytest

from ansible_collections.fleetwatch.audit.plugins.module_utils._pathtext import text_to_path
from ansible_collections.fleetwatch.audit.plugins.module_utils._setuid_scan import scan

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="builds setuid files, devices and capabilities: needs root")

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
NOBODY = 65534


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def put(root, rel, data=b"\x7fELF binary", mode=0o755, uid=0, gid=0):
    path = os.path.join(os.fsencode(str(root)), os.fsencode(rel).lstrip(b"/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
    os.chown(path, uid, gid)
    os.chmod(path, mode)  # after chown, which clears setuid bits
    return path


def getcap(path):
    out = subprocess.run(["getcap", path], check=True, capture_output=True).stdout.decode()
    return out.rstrip("\n")[len(os.fsdecode(path)) + 1 :]


@pytest.fixture
def tree(tmp_path):
    """A small system: setuid, setgid, capabilities, hard links, symlinks, special files, odd names."""
    root = tmp_path / "root"
    put(root, "/etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nimguser:x:4321:4321::/home/imguser:/bin/sh\n", 0o644)
    put(root, "/etc/group", b"root:x:0:\nimggroup:x:4321:\n", 0o644)
    put(root, "/usr/bin/suid", b"setuid binary", 0o4755)
    put(root, "/usr/bin/sgid", b"setgid binary", 0o2711, uid=4321, gid=4321)
    put(root, "/usr/bin/both", b"both", 0o6755)
    put(root, "/usr/bin/plain", b"plain", 0o755)
    put(root, "/usr/bin/ping", b"ping binary", 0o755)
    subprocess.run(["setcap", "cap_net_raw+ep", str(root / "usr/bin/ping")], check=True)
    os.link(root / "usr/bin/suid", root / "usr/bin/suid-hardlink")
    os.symlink("suid", root / "usr/bin/link-to-suid")  # never followed, never reported twice
    os.symlink("/usr/bin/suid", root / "usr/bin/abs-link-to-suid")
    os.symlink("self-loop", root / "usr/bin/self-loop")
    os.symlink(".", root / "usr/bin/dir-loop")
    os.symlink("..", root / "usr/bin/up-loop")
    os.symlink("usr/bin", root / "bin")
    special = root / "special"
    special.mkdir()
    os.mkfifo(special / "fifo")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(special / "sock"))
    sock.close()
    os.mknod(special / "null", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    for name in ("fifo", "sock", "null"):
        os.chmod(special / name, 0o4777)  # a setuid bit on something that is not a regular file: ignored
    put(root, "/tmp/dropped", b"dropped", 0o4757)  # world-writable setuid file in a world-writable directory
    os.chmod(root / "tmp", 0o1777)
    put(root, b"/odd/caf\xe9", b"latin-1 name", 0o4755)
    put(root, b"/odd/new\nline", b"newline name", 0o4755)
    put(root, b"/odd/back\\slash", b"backslash name", 0o2755)
    return root


def by_path(result):
    return {entry["path"]: entry for entry in result["files"]}


def test_finds_every_special_file_and_nothing_else(tree):
    result = scan(root=str(tree), package_check=False)
    files = by_path(result)
    assert sorted(files) == [
        "/odd/back\\\\slash",
        "/odd/caf\\xe9",
        "/odd/new\\x0aline",
        "/tmp/dropped",
        "/usr/bin/both",
        "/usr/bin/ping",
        "/usr/bin/sgid",
        "/usr/bin/suid",
        "/usr/bin/suid-hardlink",
    ]
    assert [entry["path"] for entry in result["files"]] == sorted(files)
    assert result["errors"] == [] and not result["errors_truncated"]
    assert result["stats"]["errors"] == 0 and result["stats"]["vanished"] == 0
    assert result["root"] == str(tree)
    holder = result["filesystems"][0]
    assert holder["mount_point"] == "/" and holder["scanned"]
    assert result["package_db"] == {"type": None, "message": "package_check is false"}

    st = os.lstat(tree / "usr/bin/suid")
    assert files["/usr/bin/suid"] == {
        "path": "/usr/bin/suid",
        "kinds": ["setuid"],
        "mode": "4755",
        "uid": 0,
        "user": "root",
        "gid": 0,
        "group": "root",
        "size": len(b"setuid binary"),
        "mtime": files["/usr/bin/suid"]["mtime"],
        "ctime": files["/usr/bin/suid"]["ctime"],
        "inode": st.st_ino,
        "nlink": 2,
        "filesystem": "/",
        "fstype": holder["fstype"],
        "nosuid": holder["nosuid"],
        "world_writable": False,
        "parent_world_writable": False,
        "sha256": sha256(b"setuid binary"),
        "capabilities": None,
        "capabilities_rootid": None,
        "package": None,
        "package_verified": None,
    }
    assert ISO.match(files["/usr/bin/suid"]["mtime"]) and ISO.match(files["/usr/bin/suid"]["ctime"])
    assert files["/usr/bin/suid-hardlink"]["inode"] == st.st_ino
    sgid = files["/usr/bin/sgid"]
    assert (sgid["kinds"], sgid["mode"], sgid["uid"], sgid["user"], sgid["group"]) == (
        ["setgid"],
        "2711",
        4321,
        "imguser",  # names from the image's etc/passwd and etc/group, not the host's
        "imggroup",
    )
    assert files["/usr/bin/both"]["kinds"] == ["setuid", "setgid"] and files["/usr/bin/both"]["mode"] == "6755"
    dropped = files["/tmp/dropped"]
    assert dropped["world_writable"] and dropped["parent_world_writable"] and dropped["mode"] == "4757"


def test_capability_text_is_what_getcap_prints(tree):
    ping = by_path(scan(root=str(tree), package_check=False))["/usr/bin/ping"]
    assert ping["kinds"] == ["capabilities"] and ping["mode"] == "0755"
    assert ping["capabilities"] == getcap(str(tree / "usr/bin/ping")) == "cap_net_raw=ep"
    assert ping["sha256"] == sha256(b"ping binary")


def test_more_capability_sets(tmp_path):
    root = tmp_path / "caps"
    specs = {"a": "cap_net_bind_service,cap_net_raw+ep", "b": "cap_sys_admin+p cap_chown+i", "c": "all=eip"}
    for name, spec in specs.items():
        put(root, "/" + name, b"x")
        subprocess.run(["setcap", spec, str(root / name)], check=True)
    files = by_path(scan(root=str(root), package_check=False))
    for name in specs:
        assert files["/" + name]["capabilities"] == getcap(str(root / name))


def test_odd_names_round_trip(tree):
    files = by_path(scan(root=str(tree), package_check=False))
    for text, raw in (
        ("/odd/caf\\xe9", b"/odd/caf\xe9"),
        ("/odd/new\\x0aline", b"/odd/new\nline"),
        ("/odd/back\\\\slash", b"/odd/back\\slash"),
    ):
        assert text in files
        assert text_to_path(text) == raw
        assert os.path.exists(os.fsencode(str(tree)) + text_to_path(text))


def test_special_files_are_never_opened(tree, monkeypatch):
    opened = []
    real_open = os.open

    def recording_open(path, flags, mode=0o777, *, dir_fd=None):
        opened.append(os.fsencode(path).rpartition(b"/")[2])
        return real_open(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(os, "open", recording_open)
    result = scan(root=str(tree), package_check=False)
    assert opened, "the walk opens directories and matching files"
    assert not {b"fifo", b"sock", b"null", b"link-to-suid", b"self-loop", b"dir-loop", b"up-loop"} & set(opened)
    assert b"plain" not in opened  # only matches are read
    assert b"suid" in opened and b"special" in opened
    assert result["errors"] == []


def test_symlink_loops_and_links_are_not_followed(tree):
    result = scan(root=str(tree), package_check=False)
    assert not [p for p in by_path(result) if ("link" in p and "hardlink" not in p) or "loop" in p]
    # each real directory once: root, etc, usr, usr/bin, special, tmp, odd
    assert result["stats"]["directories"] == 7


def test_file_deleted_between_listing_and_stat(tree, monkeypatch):
    victim = tree / "usr/bin/vanishing"
    put(tree, "/usr/bin/vanishing", b"soon gone", 0o4755)
    real_scandir = os.scandir
    deleted = []

    class DeletingScandir(object):
        """os.scandir that really deletes the file after the directory listing returned its name."""

        def __init__(self, target):
            self._it = real_scandir(target)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._it.close()

        def __iter__(self):
            for entry in self._it:
                if entry.name == "vanishing":
                    os.unlink(victim)
                    deleted.append(entry.name)
                yield entry

    monkeypatch.setattr(os, "scandir", DeletingScandir)
    result = scan(root=str(tree), package_check=False)
    assert deleted == ["vanishing"] and not victim.exists()
    assert "/usr/bin/vanishing" not in by_path(result)
    assert "/usr/bin/suid" in by_path(result)
    assert result["stats"]["vanished"] == 1
    assert result["errors"] == []


def test_directory_deleted_between_listing_and_walk(tree, monkeypatch):
    put(tree, "/gone/deeper/suid", b"x", 0o4755)
    real_scandir = os.scandir

    class DeletingScandir(object):
        def __init__(self, target):
            self._it = real_scandir(target)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._it.close()

        def __iter__(self):
            for entry in self._it:
                if entry.name == "gone":
                    shutil.rmtree(tree / "gone")
                yield entry

    monkeypatch.setattr(os, "scandir", DeletingScandir)
    result = scan(root=str(tree), package_check=False)
    assert result["stats"]["vanished"] == 1 and result["errors"] == []
    assert "/usr/bin/suid" in by_path(result)


def _scan_as_nobody(**kwargs):
    """Run scan() in a forked child that dropped root for nobody, so permissions really apply."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(read_end)
            os.setgroups([])
            os.setresgid(NOBODY, NOBODY, NOBODY)
            os.setresuid(NOBODY, NOBODY, NOBODY)
            payload = json.dumps(scan(**kwargs)).encode()
        except BaseException as exc:  # report anything to the parent
            payload = json.dumps({"child_error": repr(exc)}).encode()
        with os.fdopen(write_end, "wb") as out:
            out.write(payload)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as handle:
        data = handle.read()
    os.waitpid(pid, 0)
    result = json.loads(data)
    assert "child_error" not in result, result
    return result


@pytest.fixture
def public_tree():
    """A tree that the user nobody can traverse (pytest's tmp_path is private to root)."""
    base = tempfile.mkdtemp(prefix="fleetwatch-setuid-")
    os.chmod(base, 0o755)
    try:
        yield base
    finally:
        for dirpath, dirnames, _files in os.walk(base):
            for name in dirnames:
                os.chmod(os.path.join(dirpath, name), 0o755)
        shutil.rmtree(base)


def test_permission_denied_is_listed_as_error(public_tree):
    put(public_tree, "/usr/bin/suid", b"readable", 0o4755)
    put(public_tree, "/usr/bin/unreadable-suid", b"exec only", 0o4711)
    put(public_tree, "/locked/hidden-suid", b"hidden", 0o4755)
    for index in range(4):
        put(public_tree, "/more/locked%d/x" % index, b"x", 0o644)
        os.chmod(os.path.join(public_tree, "more", "locked%d" % index), 0o000)
    os.chmod(os.path.join(public_tree, "locked"), 0o000)

    result = _scan_as_nobody(root=public_tree, package_check=False, max_errors=3)
    files = by_path(result)
    assert sorted(files) == ["/usr/bin/suid", "/usr/bin/unreadable-suid"]
    assert files["/usr/bin/suid"]["sha256"] == sha256(b"readable")
    assert files["/usr/bin/unreadable-suid"]["sha256"] is None  # found by stat, but not readable: no digest
    assert result["stats"]["errors"] == 6
    assert result["errors_truncated"] is True and len(result["errors"]) == 3
    assert all(e["error"].endswith("Permission denied (EACCES)") for e in result["errors"])
    everything = _scan_as_nobody(root=public_tree, package_check=False)
    assert sorted(everything["errors"], key=lambda e: e["path"]) == [
        {"path": "/locked", "error": "open directory: Permission denied (EACCES)"},
        {"path": "/more/locked0", "error": "open directory: Permission denied (EACCES)"},
        {"path": "/more/locked1", "error": "open directory: Permission denied (EACCES)"},
        {"path": "/more/locked2", "error": "open directory: Permission denied (EACCES)"},
        {"path": "/more/locked3", "error": "open directory: Permission denied (EACCES)"},
        {"path": "/usr/bin/unreadable-suid", "error": "read: Permission denied (EACCES)"},
    ]
    assert everything["errors_truncated"] is False


def _make_deep(base, depth, leaf_name, data):
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _round in range(depth):
            os.mkdir("d", dir_fd=fd)
            child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
        leaf = os.open(leaf_name, os.O_WRONLY | os.O_CREAT, 0o755, dir_fd=fd)
        os.write(leaf, data)
        os.fchmod(leaf, 0o4755)
        os.close(leaf)
    finally:
        os.close(fd)


def _remove_deep(base, depth, leaf_name):
    """Iterative removal (shutil.rmtree recurses once per level)."""
    cwd = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.chdir(base)
        for _round in range(depth):
            os.chdir("d")
        os.unlink(leaf_name)
        for _round in range(depth):
            os.chdir("..")
            os.rmdir("d")
    finally:
        os.fchdir(cwd)
        os.close(cwd)


def test_very_deep_tree(tmp_path):
    depth = 3000  # paths of 6000 bytes: deeper than PATH_MAX and than Python's recursion limit
    root = tmp_path / "deep"
    root.mkdir()
    _make_deep(str(root), depth, "bottom-suid", b"deep down")
    try:
        result = scan(root=str(root), package_check=False)
        assert result["errors"] == []
        assert result["stats"]["directories"] == depth + 1
        (entry,) = result["files"]
        assert entry["path"] == "/d" * depth + "/bottom-suid"
        assert entry["sha256"] == sha256(b"deep down")
        assert len(entry["path"]) > 4096
    finally:
        _remove_deep(str(root), depth, "bottom-suid")


def test_paths_and_exclude(tree):
    only_bin = scan(root=str(tree), paths=["/bin", "usr/bin/suid"], package_check=False)  # /bin -> usr/bin
    assert sorted(by_path(only_bin)) == [
        "/usr/bin/both",
        "/usr/bin/ping",
        "/usr/bin/sgid",
        "/usr/bin/suid",
        "/usr/bin/suid-hardlink",
    ]
    single = scan(root=str(tree), paths=["/usr/bin/suid", "/odd/new\\x0aline"], package_check=False)
    assert sorted(by_path(single)) == ["/odd/new\\x0aline", "/usr/bin/suid"]
    assert single["stats"]["directories"] == 0

    excluded = scan(root=str(tree), exclude=["/odd", "*-hardlink", "/usr/bin/b?th"], package_check=False)
    assert sorted(by_path(excluded)) == ["/tmp/dropped", "/usr/bin/ping", "/usr/bin/sgid", "/usr/bin/suid"]
    by_text_form = scan(root=str(tree), exclude=["/odd/caf\\xe9", "/odd/new\\x0aline"], package_check=False)
    assert sorted(p for p in by_path(by_text_form) if p.startswith("/odd/")) == ["/odd/back\\\\slash"]

    missing = scan(root=str(tree), paths=["/nonexistent", "/usr/bin/suid"], package_check=False)
    assert missing["errors"] == [{"path": "/nonexistent", "error": "stat: No such file or directory (ENOENT)"}]
    assert sorted(by_path(missing)) == ["/usr/bin/suid"]


def test_options_capabilities_and_checksum(tree):
    no_caps = scan(root=str(tree), capabilities=False, package_check=False)
    assert "/usr/bin/ping" not in by_path(no_caps)
    assert all("capabilities" not in entry["kinds"] for entry in no_caps["files"])
    no_sum = scan(root=str(tree), checksum=False, package_check=False)
    assert all(entry["sha256"] is None for entry in no_sum["files"])


def test_filesystem_without_xattrs_is_asked_once(tree, monkeypatch):
    calls = []

    def no_xattrs(path, follow_symlinks=True):
        calls.append(path)
        raise OSError(errno.EOPNOTSUPP, os.strerror(errno.EOPNOTSUPP))

    monkeypatch.setattr(os, "listxattr", no_xattrs)
    result = scan(root=str(tree), package_check=False)
    assert len(calls) == 1
    assert result["errors"] == [] and "/usr/bin/suid" in by_path(result)


def test_invalid_options(tmp_path):
    with pytest.raises(ValueError, match="both include_fstypes and exclude_fstypes: nfs"):
        scan(root=str(tmp_path), include_fstypes=["nfs"], exclude_fstypes=["nfs", "tmpfs"])
    with pytest.raises(ValueError, match="absolute"):
        scan(root="relative/dir")
    with pytest.raises(ValueError, match="not a directory"):
        scan(root=str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="max_errors"):
        scan(root=str(tmp_path), max_errors=-1)


def test_root_symlink_is_resolved(tree, tmp_path):
    os.symlink(tree, tmp_path / "alias")
    result = scan(root=str(tmp_path / "alias"), package_check=False)
    assert result["root"] == str(tree) and "/usr/bin/suid" in by_path(result)


# -- package verification through scan() ------------------------------------------------------------------------


def _md5(data):
    return hashlib.md5(data).hexdigest()


@pytest.fixture
def dpkg_image(tmp_path):
    """A fake root with a small dpkg database: one verified, one altered, one unowned setuid file."""
    root = tmp_path / "image"
    put(root, "/usr/bin/su", b"the real su", 0o4755)
    put(root, "/usr/bin/passwd", b"an altered passwd", 0o4755)
    put(root, "/usr/local/bin/backdoor", b"nobody's", 0o4755)
    os.symlink("usr/bin", root / "bin")
    put(root, "/var/lib/dpkg/info/util-linux.list", b"/.\n/bin\n/bin/su\n/usr/share/doc/util-linux\n", 0o644)
    put(root, "/var/lib/dpkg/info/util-linux.md5sums", ("%s  bin/su\n" % _md5(b"the real su")).encode(), 0o644)
    put(root, "/var/lib/dpkg/info/passwd:amd64.list", b"/usr/bin\n/usr/bin/passwd\n", 0o644)
    md5sums = "%s  usr/bin/passwd\n" % _md5(b"the original passwd")
    put(root, "/var/lib/dpkg/info/passwd:amd64.md5sums", md5sums.encode(), 0o644)
    return root


def test_dpkg_verification(dpkg_image):
    result = scan(root=str(dpkg_image))
    assert result["package_db"] == {"type": "dpkg", "message": None}
    verdicts = {e["path"]: (e["package"], e["package_verified"]) for e in result["files"]}
    assert verdicts == {
        "/usr/bin/su": ("util-linux", True),  # listed as /bin/su, merged /usr
        "/usr/bin/passwd": ("passwd:amd64", False),
        "/usr/local/bin/backdoor": (None, None),
    }
    no_check = scan(root=str(dpkg_image), package_check=False)
    assert {(e["package"], e["package_verified"]) for e in no_check["files"]} == {(None, None)}


def test_no_package_database(tree):
    result = scan(root=str(tree))
    assert result["package_db"]["type"] is None
    assert "no package database" in result["package_db"]["message"]
    assert {(e["package"], e["package_verified"]) for e in result["files"]} == {(None, None)}


def test_rpm_verification_with_one_query(tmp_path):
    root = tmp_path / "rpmimage"
    put(root, "/usr/bin/su", b"su", 0o4755)
    put(root, "/usr/bin/mount", b"changed mount", 0o4755)
    put(root, "/opt/x/helper", b"helper", 0o2755)
    put(root, "/var/lib/rpm/rpmdb.sqlite", b"db", 0o644)
    calls = []

    def run_command(cmd):
        calls.append(cmd)
        return (
            0,
            "@@fleetwatch-pkg@@\tutil-linux\t8\n/usr/bin/mount\t%s\n/usr/bin/su\t%s\n"
            "file /opt/x/helper is not owned by any package\n" % (sha256(b"original mount"), sha256(b"su")),
            "",
        )

    result = scan(root=str(root), rpm_bin="/usr/bin/rpm", run_command=run_command, checksum=False)
    assert len(calls) == 1 and calls[0][-3:] == ["/opt/x/helper", "/usr/bin/mount", "/usr/bin/su"]
    assert result["package_db"] == {"type": "rpm", "message": None}
    verdicts = {e["path"]: (e["package"], e["package_verified"], e["sha256"]) for e in result["files"]}
    assert verdicts == {
        "/opt/x/helper": (None, None, None),
        "/usr/bin/mount": ("util-linux", False, None),
        "/usr/bin/su": ("util-linux", True, None),
    }


# -- real mounts, in a private mount namespace ------------------------------------------------------------------

_NAMESPACE_SCRIPT = r"""
import json, os, subprocess, sys
from ansible_collections.fleetwatch.audit.plugins.module_utils._setuid_scan import scan
base = sys.argv[1]
def run(*cmd):
    subprocess.run(cmd, check=True)
def put(rel, mode=0o4755):
    path = os.path.join(base, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(rel.encode())
    os.chmod(path, mode)
put("rootfs-suid")
put("shared/sub/in-shared")
os.makedirs(os.path.join(base, "bind"))
run("mount", "--bind", os.path.join(base, "shared/sub"), os.path.join(base, "bind"))
os.makedirs(os.path.join(base, "tmpfs"))
run("mount", "-t", "tmpfs", "-o", "nosuid", "tmpfs", os.path.join(base, "tmpfs"))
put("tmpfs/on-tmpfs")
os.makedirs(os.path.join(base, "stack"))
run("mount", "-t", "tmpfs", "tmpfs", os.path.join(base, "stack"))
put("stack/hidden-below")
run("mount", "-t", "tmpfs", "tmpfs", os.path.join(base, "stack"))
put("stack/on-top")
os.makedirs(os.path.join(base, "skipme"))
run("mount", "-t", "tmpfs", "tmpfs", os.path.join(base, "skipme"))
put("skipme/excluded")
put("file-source")
put("file-target", 0o644)
run("mount", "--bind", os.path.join(base, "file-source"), os.path.join(base, "file-target"))
outside = base + "-outside"  # a filesystem mounted outside root: only one of its files is bound into root
os.makedirs(outside)
run("mount", "-t", "tmpfs", "tmpfs", outside)
with open(os.path.join(outside, "elsewhere"), "wb") as handle:
    handle.write(b"elsewhere")
os.chmod(os.path.join(outside, "elsewhere"), 0o4755)
put("file-from-elsewhere", 0o644)
run("mount", "--bind", os.path.join(outside, "elsewhere"), os.path.join(base, "file-from-elsewhere"))
print(json.dumps(scan(root=base, package_check=False, exclude=["/skipme"])))
"""


def test_real_mounts_in_a_private_namespace(tmp_path):
    if not shutil.which("unshare"):
        pytest.skip("unshare (util-linux) is not installed")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))  # the child imports what we import
    cmd = ["unshare", "--mount", "--propagation", "private", sys.executable, "-c", _NAMESPACE_SCRIPT]
    proc = subprocess.run([*cmd, str(tmp_path / "root")], env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0 and "unshare failed" in proc.stderr:
        pytest.skip("cannot create a mount namespace here: %s" % proc.stderr.strip())
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    files = by_path(result)
    assert sorted(files) == [
        "/file-from-elsewhere",  # a file bind mount from a filesystem not otherwise walked: examined on its own
        "/file-source",  # once: the file bind mount of it at /file-target is skipped
        "/rootfs-suid",
        "/shared/sub/in-shared",  # once: the bind mount of shared/sub is skipped
        "/stack/on-top",  # the tmpfs hidden under the one on top is not reachable
        "/tmpfs/on-tmpfs",
    ]
    assert files["/tmpfs/on-tmpfs"]["nosuid"] is True
    assert (files["/tmpfs/on-tmpfs"]["fstype"], files["/tmpfs/on-tmpfs"]["filesystem"]) == ("tmpfs", "/tmpfs")
    assert files["/rootfs-suid"]["filesystem"] == "/"
    elsewhere = files["/file-from-elsewhere"]
    assert (elsewhere["filesystem"], elsewhere["fstype"], elsewhere["sha256"]) == (
        "/file-from-elsewhere",
        "tmpfs",
        hashlib.sha256(b"elsewhere").hexdigest(),
    )
    fs = [(f["mount_point"], f["fstype"], f["scanned"], f["reason"]) for f in result["filesystems"]]
    rootfs = fs[0][1]
    assert fs[0] == ("/", rootfs, True, None)
    assert fs[1][:3] == ("/bind", rootfs, False) and fs[1][3].startswith("bind mount of /shared/sub (device ")
    assert fs[2] == ("/file-from-elsewhere", "tmpfs", True, None)
    assert fs[3][:3] == ("/file-target", rootfs, False) and fs[3][3].startswith("bind mount of /file-source (")
    assert fs[4] == ("/skipme", "tmpfs", False, "mount point excluded by exclude pattern /skipme")
    assert fs[5] == ("/stack", "tmpfs", False, "hidden under another filesystem mounted over it at /stack")
    assert fs[6] == ("/stack", "tmpfs", True, None)
    assert fs[7] == ("/tmpfs", "tmpfs", True, None)
    assert len(fs) == 8
    assert result["errors"] == []
