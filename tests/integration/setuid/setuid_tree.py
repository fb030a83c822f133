# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Build a small offline system image for setuid_info: real setuid/setgid bits, a real capability, a dpkg database.

``build(root)`` returns ``{path text: (content, package, verified)}`` for every file the module must report.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess


def md5(data):
    return hashlib.md5(data).hexdigest()


def put(root, rel, data, mode, uid=0, gid=0):
    path = os.fsencode(str(root)) + os.fsencode(rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
    os.chown(path, uid, gid)
    os.chmod(path, mode)
    return path


def build(root):
    root = str(root)
    put(root, "/etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nmailer:x:8:8::/var/mail:/usr/sbin/nologin\n", 0o644)
    put(root, "/etc/group", b"root:x:0:\nmail:x:8:\nshadow:x:42:\n", 0o644)
    os.symlink("usr/bin", os.path.join(root, "bin"))  # merged /usr: dpkg lists /bin/su for /usr/bin/su
    os.symlink("usr/sbin", os.path.join(root, "sbin"))
    files = {
        "/usr/bin/su": (b"genuine su", "util-linux", True),
        "/usr/bin/passwd": (b"trojaned passwd", "passwd", False),
        "/usr/bin/chage": (b"genuine chage", "passwd", True),
        "/usr/bin/ping": (b"genuine ping", "iputils-ping", True),
        "/usr/sbin/unix_chkpwd": (b"genuine unix_chkpwd", "libpam-modules-bin", True),
        "/usr/lib/x86_64-linux-gnu/utempter/utempter": (b"genuine utempter", "libutempter0:amd64", True),
        "/usr/local/bin/rootshell": (b"dropped", None, None),
        "/var/tmp/.hidden\nname": (b"dropped too", None, None),
    }
    put(root, "/usr/bin/su", b"genuine su", 0o4755)
    put(root, "/usr/bin/passwd", b"trojaned passwd", 0o4755)
    put(root, "/usr/bin/chage", b"genuine chage", 0o2755, gid=42)
    put(root, "/usr/bin/ping", b"genuine ping", 0o755)
    subprocess.run(["setcap", "cap_net_raw+ep", os.path.join(root, "usr/bin/ping")], check=True)
    put(root, "/usr/sbin/unix_chkpwd", b"genuine unix_chkpwd", 0o2755, gid=42)
    put(root, "/usr/lib/x86_64-linux-gnu/utempter/utempter", b"genuine utempter", 0o2755, gid=8)
    put(root, "/usr/local/bin/rootshell", b"dropped", 0o6755, uid=8, gid=8)
    put(root, "/var/tmp/.hidden\nname", b"dropped too", 0o4755)
    os.chmod(os.path.join(root, "var/tmp"), 0o1777)
    put(root, "/usr/bin/plain", b"not special", 0o755)
    os.symlink("su", os.path.join(root, "usr/bin/su-link"))
    os.mkfifo(os.path.join(root, "var/tmp/fifo"))
    os.chmod(os.path.join(root, "var/tmp/fifo"), 0o4777)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(os.path.join(root, "var/tmp/s"))
    sock.close()

    info = "/var/lib/dpkg/info/"
    packages = {
        "util-linux": [("/bin/su", b"genuine su")],
        "passwd": [("/usr/bin/passwd", b"genuine passwd"), ("/usr/bin/chage", b"genuine chage")],
        "iputils-ping": [("/bin/ping", b"genuine ping")],
        "libpam-modules-bin": [("/sbin/unix_chkpwd", b"genuine unix_chkpwd")],
        "libutempter0:amd64": [("/usr/lib/x86_64-linux-gnu/utempter/utempter", b"genuine utempter")],
        "coreutils": [("/bin/ls", b"ls")],
    }
    for package, entries in packages.items():
        listing = b"/.\n/usr\n" + b"".join(path.encode() + b"\n" for path, _data in entries)
        put(root, info + package + ".list", listing, 0o644)
        sums = "".join("%s  %s\n" % (md5(data), path.lstrip("/")) for path, data in entries)
        put(root, info + package + ".md5sums", sums.encode(), 0o644)
    put(root, "/var/lib/dpkg/status", b"", 0o644)
    return files
