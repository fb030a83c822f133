# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Package database lookups: a small real dpkg database in a fake root, and captured rpm output."""

from __future__ import annotations

import hashlib
import os

import pytest
from image_data import write

from ansible_collections.fleetwatch.audit.plugins.module_utils._pkgdb import (
    RPM_QUERYFORMAT,
    detect,
    dpkg_lookup,
    parse_diversions,
    parse_md5sums,
    parse_rpm_output,
    rpm_lookup,
)
from ansible_collections.fleetwatch.audit.plugins.module_utils._rootview import RootView


def md5(data):
    return hashlib.md5(data).hexdigest()


def sha256(data):
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def dpkg_root(tmp_path):
    root = tmp_path / "img"
    write(root, "/usr/bin/good", b"good binary", 0o4755)
    write(root, "/usr/bin/bad", b"tampered binary", 0o4755)
    write(root, "/usr/bin/tool.distrib", b"foo's tool", 0o4755)
    write(root, "/usr/bin/tool", b"bar's tool", 0o4755)
    write(root, "/usr/lib/x86_64-linux-gnu/helper", b"helper", 0o2755)
    write(root, "/usr/local/bin/orphan", b"orphan", 0o4755)
    os.symlink("usr/bin", root / "bin")  # merged /usr, relative link
    os.symlink("/usr/lib", root / "lib")  # absolute link: resolved inside root, never to the host's /usr/lib
    info = "/var/lib/dpkg/info/"
    write(root, info + "foo.list", b"/.\n/bin\n/bin/good\n/usr\n/usr/bin\n/usr/bin/bad\n/usr/bin/tool\n")
    write(
        root,
        info + "foo.md5sums",
        (
            "%s  bin/good\n%s  usr/bin/bad\n%s  usr/bin/tool\n"
            % (md5(b"good binary"), md5(b"original binary"), md5(b"foo's tool"))
        ).encode(),
    )
    write(root, info + "bar.list", b"/usr/bin\n/usr/bin/tool")  # no final newline
    write(root, info + "bar.md5sums", ("%s  usr/bin/tool\n" % md5(b"bar's tool")).encode())
    write(root, info + "libx:amd64.list", b"/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu/helper\n")
    write(root, info + "libx:amd64.md5sums", ("%s  lib/x86_64-linux-gnu/helper\n" % md5(b"helper")).encode())
    write(root, info + "unrelated.list", b"/usr/share/doc/good\n/usr/bin/goodness\n")
    write(root, "/var/lib/dpkg/diversions", b"/usr/bin/tool\n/usr/bin/tool.distrib\nbar\n")
    return root


def test_detect(dpkg_root, tmp_path):
    assert detect(RootView(os.fsencode(dpkg_root)), None) == ("dpkg", None)
    empty = tmp_path / "empty"
    empty.mkdir()
    kind, message = detect(RootView(os.fsencode(empty)), "/usr/bin/rpm")
    assert kind is None and "no package database" in message
    write(empty, "/var/lib/rpm/rpmdb.sqlite", b"x")
    assert detect(RootView(os.fsencode(empty)), "/usr/bin/rpm") == ("rpm", None)
    kind, message = detect(RootView(os.fsencode(empty)), "")
    assert kind is None and message == "rpm database at /var/lib/rpm but no rpm command on this host"


def test_dpkg_lookup(dpkg_root):
    wanted = [
        b"/usr/bin/good",
        b"/usr/bin/bad",
        b"/usr/bin/tool",
        b"/usr/bin/tool.distrib",
        b"/usr/lib/x86_64-linux-gnu/helper",
        b"/usr/local/bin/orphan",
    ]
    owners, message = dpkg_lookup(RootView(os.fsencode(dpkg_root)), wanted)
    assert owners == {
        b"/usr/bin/good": ("foo", md5(b"good binary")),  # listed as /bin/good (merged /usr)
        b"/usr/bin/bad": ("foo", md5(b"original binary")),
        b"/usr/bin/tool": ("bar", md5(b"bar's tool")),  # the diverting package keeps the path
        b"/usr/bin/tool.distrib": ("foo", md5(b"foo's tool")),  # foo's /usr/bin/tool, diverted
        b"/usr/lib/x86_64-linux-gnu/helper": ("libx:amd64", md5(b"helper")),  # multiarch name as dpkg -S shows it
    }
    assert message == "4 packages"


def test_parse_helpers():
    assert parse_diversions(b"/a\n/a.distrib\npkg\n/b\n/b.local\n:\n") == {
        b"/a": (b"/a.distrib", "pkg"),
        b"/b": (b"/b.local", ":"),
    }
    data = b"0123456789abcdef0123456789ABCDEF  usr/bin/with space\nshort line\n" + b"f" * 32 + b"  etc/x\n"
    assert parse_md5sums(data, {b"/usr/bin/with space"}) == {b"/usr/bin/with space": "0123456789abcdef0123456789abcdef"}


def _rpm_output(digests):
    """What ``rpm -qf --qf RPM_QUERYFORMAT`` prints (captured format): a block per owning package."""
    return (
        "@@fleetwatch-pkg@@\tutil-linux\t8\n"
        "/usr/bin\t\n"
        "/usr/bin/su\t%(su)s\n"
        "/usr/bin/mount\t%(mount)s\n"
        "/usr/share/doc/util-linux\t\n"
        "file /usr/local/bin/orphan is not owned by any package\n"
        "@@fleetwatch-pkg@@\tiputils\t8\n"
        "/usr/bin/ping\t%(ping)s\n"
        "@@fleetwatch-pkg@@\toldpkg\t(none)\n"
        "/usr/bin/old\t%(old)s\n"
    ) % digests


def test_parse_rpm_output():
    text = _rpm_output({"su": "AA" * 32, "mount": "bb" * 32, "ping": "cc" * 32, "old": "dd" * 16})
    assert parse_rpm_output(text) == [
        (
            "util-linux",
            "sha256",
            [
                (b"/usr/bin", ""),
                (b"/usr/bin/su", "aa" * 32),
                (b"/usr/bin/mount", "bb" * 32),
                (b"/usr/share/doc/util-linux", ""),
            ],
        ),
        ("iputils", "sha256", [(b"/usr/bin/ping", "cc" * 32)]),
        ("oldpkg", "md5", [(b"/usr/bin/old", "dd" * 16)]),
    ]


def test_rpm_lookup_is_one_batched_query(tmp_path):
    root = tmp_path / "rpmroot"
    for name in ("su", "ping", "old"):
        write(root, "/usr/bin/" + name, name.encode(), 0o4755)
    write(root, "/usr/local/bin/orphan", b"orphan", 0o4755)
    os.symlink("usr/bin", root / "bin")
    calls = []

    def run_command(cmd):
        calls.append(cmd)
        text = _rpm_output({"su": sha256(b"su"), "mount": "00" * 32, "ping": "ee" * 32, "old": md5(b"old")})
        return 1, text.replace("/usr/bin/old\t", "/bin/old\t"), ""

    wanted = [b"/usr/bin/su", b"/usr/bin/ping", b"/usr/bin/old", b"/usr/local/bin/orphan"]
    owners, message = rpm_lookup(RootView(os.fsencode(root)), wanted, run_command, "/usr/bin/rpm")
    assert message is None
    assert calls == [
        [
            "/usr/bin/rpm",
            "--root",
            str(root),
            "-qf",
            "--qf",
            RPM_QUERYFORMAT,
            "/usr/bin/old",
            "/usr/bin/ping",
            "/usr/bin/su",
            "/usr/local/bin/orphan",
        ]
    ]
    assert owners == {
        b"/usr/bin/su": ("util-linux", "sha256", sha256(b"su")),
        b"/usr/bin/ping": ("iputils", "sha256", "ee" * 32),
        b"/usr/bin/old": ("oldpkg", "md5", md5(b"old")),  # listed through the /bin link
    }


def test_rpm_failure_is_reported(tmp_path):
    def run_command(cmd):
        return 1, "", "error: cannot open Packages database in /x/var/lib/rpm\n"

    owners, message = rpm_lookup(RootView(os.fsencode(tmp_path)), [b"/usr/bin/su"], run_command, "/usr/bin/rpm")
    assert owners == {}
    assert message == "rpm query failed (rc=1): error: cannot open Packages database in /x/var/lib/rpm"
