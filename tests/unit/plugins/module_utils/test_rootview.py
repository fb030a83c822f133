"""The one view of the audited root: links resolved inside it, files opened through it, accounts read once."""

from __future__ import annotations

import errno
import os

import pytest
from image_data import write

from ansible_collections.fleetwatch.audit.plugins.module_utils import _setuid_scan, _sshd_scan
from ansible_collections.fleetwatch.audit.plugins.module_utils._rootview import RootView, error_text


@pytest.fixture
def image(tmp_path):
    root = tmp_path / "img"
    write(root, "/usr/bin/good", b"good binary")
    write(root, "/usr/lib/x86_64-linux-gnu/helper", b"helper")
    os.symlink("usr/bin", root / "bin")  # merged /usr, relative link
    os.symlink("/usr/lib", root / "lib")  # absolute link: resolved inside root, never to the host's /usr/lib
    return root


def test_resolve_inside_root(image):
    fs = RootView(os.fsencode(image))
    assert fs.resolve(b"/bin/good") == b"/usr/bin/good"  # final component kept, directories resolved
    assert fs.resolve(b"/lib/x86_64-linux-gnu/helper") == b"/usr/lib/x86_64-linux-gnu/helper"
    assert fs.resolve(b"/bin", follow_final=True) == b"/usr/bin"
    assert fs.resolve(b"/../../etc/x") == b"/etc/x"  # ".." never leaves root
    assert fs.resolve(b"/bin/../etc/x") == b"/usr/etc/x"  # ".." after a link is its target's parent, as the kernel does
    os.symlink("/etc/../../../../outside", image / "escape")
    assert fs.resolve(b"/escape/x") == b"/outside/x"
    os.symlink("loop2", image / "loop1")
    os.symlink("loop1", image / "loop2")
    assert fs.resolve(b"/loop1/x") is None
    assert fs.read_or_none(b"/bin/good") == b"good binary"
    assert fs.read_or_none(b"/escape") is None


def test_paths_as_text_and_host_paths(image):
    view = RootView(str(image))
    assert view.resolve("/bin/good", follow_final=True) == "/usr/bin/good"
    assert view.host("/lib/x86_64-linux-gnu/helper") == str(image / "usr/lib/x86_64-linux-gnu/helper")
    assert view.host("/") == str(image)
    assert view.shown(str(image / "usr/bin/good")) == "/usr/bin/good"
    assert view.shown("/elsewhere") == "/elsewhere"
    assert view.join("/loop/x") == str(image) + "/loop/x"
    host = RootView("/")
    assert host.is_host and host.host("/etc/passwd") == "/etc/passwd" and host.shown("/etc") == "/etc"


def test_only_regular_files_are_opened(image):
    view = RootView(str(image))
    os.mkfifo(image / "fifo")  # opening a FIFO for reading would block without O_NONBLOCK; it is refused first
    with pytest.raises(OSError) as fifo:
        view.open("/fifo")
    assert fifo.value.errno == errno.EINVAL and error_text(fifo.value) == "not a regular file (EINVAL)"
    with pytest.raises(OSError) as directory:
        view.open("/usr")
    assert error_text(directory.value) == "Is a directory (EISDIR)"
    assert error_text(ValueError("bad")) == "ValueError: bad"


def test_accounts_are_read_once_and_skip_comments_and_nis(image):
    write(
        image, "/etc/passwd", b"root:x:0:0::/root:/bin/sh\n# comment\n+nis\ndeploy:x:1000:1000::/home/d:/bin/sh\nodd\n"
    )
    view = RootView(str(image))
    assert view.users() == ([(b"root", 0), (b"deploy", 1000), (b"odd", None)], None)
    os.unlink(image / "etc/passwd")
    assert view.users()[0] == [(b"root", 0), (b"deploy", 1000), (b"odd", None)]  # the first reading is kept
    entries, error = RootView(str(image)).groups()
    assert entries is None and error.startswith("/etc/group: ") and "ENOENT" in error


def test_an_absolute_passwd_link_is_followed_inside_the_image_never_on_the_host(tmp_path):
    """etc/passwd -> an absolute path: the image's file is read; a host file of that path is never opened."""
    root = tmp_path / "img"
    write(root, "/srv/accounts", b"intruder:x:0:0::/root:/bin/sh\nstaff:x:1001:1001::/home/s:/bin/sh\n")
    write(root, "/etc/group", b"staff:x:1001:\n")
    os.symlink("/srv/accounts", root / "etc/passwd")  # on the host, /srv/accounts does not exist
    host_file = write(tmp_path, "/host-passwd", b"hostuser:x:0:0::/root:/bin/sh\n")
    missing = tmp_path / "img2"
    (missing / "etc").mkdir(parents=True)
    os.symlink(host_file, missing / "etc/passwd")  # exists on the host, not inside the image: must not be read

    result = _sshd_scan.gather(root=str(root), since="all", sources=[{"path": "/var/log/none"}])
    assert result["local_users"] == ["intruder", "staff"] and result["local_users_error"] is None
    result = _sshd_scan.gather(root=str(missing), since="all", sources=[{"path": "/var/log/none"}])
    assert result["local_users"] == [] and "ENOENT" in result["local_users_error"]

    names = _setuid_scan._Names(RootView(str(root)))
    assert (names.user(0), names.user(1001), names.group(1001), names.user(4242)) == (
        "intruder",
        "staff",
        "staff",
        None,
    )
    assert _setuid_scan._Names(RootView(str(missing))).user(0) is None  # not the host's root


def test_log_paths_resolve_inside_the_image(tmp_path):
    root = tmp_path / "img"
    (root / "data/log").mkdir(parents=True)
    (root / "var").mkdir()
    (root / "var/log").symlink_to("/data/log")  # absolute: inside the image, not the host's /data
    (root / "loop").symlink_to("loop")
    view = RootView(str(root))
    assert view.host("/var/log/syslog") == str(root / "data/log/syslog")
    assert view.host("/../../etc/passwd") == str(root / "etc/passwd")
    assert view.host("/loop/x") is None
    assert RootView("/").host("/var/log/syslog") == "/var/log/syslog"
