# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""fleetwatch.audit.setuid_info through the real ansible-playbook, on a built image and on this machine's root."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "setuid"))

from setuid_tree import build  # noqa: E402

from ansible_collections.fleetwatch.audit.plugins.module_utils._pathtext import path_to_text  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
VENV_BIN = os.path.join(REPO, ".venv", "bin")
COLLECTIONS = os.path.join(REPO, ".venv", "collections")
PLAYBOOK = os.path.join(HERE, "setuid", "scan.yml")

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="builds setuid files and capabilities, audits /: needs root"),
    pytest.mark.skipif(not shutil.which("setcap"), reason="needs libcap2-bin (setcap, getcap)"),
]


def _works(python):
    try:
        probe = [python, "-c", "import sys; sys.exit(sys.version_info < (3, 8))"]
        return subprocess.run(probe, timeout=60, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _target_pythons():
    """The target interpreters to run the module with: the system's python3, and Python 3.8 (the oldest) if found."""
    found = [p for p in ("/usr/bin/python3",) if os.path.exists(p) and _works(p)] or [sys.executable]
    pyenv = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.8*/bin/python3.8")))
    candidates = [shutil.which("python3.8"), *pyenv]
    oldest = next((c for c in candidates if c and _works(c)), None)
    return found + ([oldest] if oldest else [])


TARGET_PYTHONS = _target_pythons()


def run_setuid_info(tmp_path, python=TARGET_PYTHONS[0], **extra_vars):
    """Run the scan playbook with the real ansible-playbook (local connection); return the module's result."""
    result_file = tmp_path / "result.json"
    config = tmp_path / "ansible.cfg"  # this test's own settings: no project callbacks writing reports
    config.write_text("[defaults]\ninterpreter_python = auto_silent\nretry_files_enabled = False\n")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_CONFIG=str(config), ANSIBLE_NOCOLOR="1")
    env["PATH"] = VENV_BIN + os.pathsep + env.get("PATH", "")
    extra_vars["result_file"] = str(result_file)
    extra_vars["ansible_python_interpreter"] = python
    cmd = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", PLAYBOOK]
    proc = subprocess.run(
        [*cmd, "-e", json.dumps(extra_vars)], env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return json.loads(result_file.read_text())


def iso(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def expected_entry(root, path_text, raw_path, content, package, verified, fs):
    st = os.lstat(os.fsencode(str(root)) + raw_path)
    kinds = [kind for bit, kind in ((0o4000, "setuid"), (0o2000, "setgid")) if st.st_mode & bit]
    if path_text == "/usr/bin/ping":
        kinds.append("capabilities")
    names = {0: "root", 8: "mail", 42: "shadow"}
    return {
        "path": path_text,
        "kinds": kinds,
        "mode": "%04o" % (st.st_mode & 0o7777),
        "uid": st.st_uid,
        "user": {0: "root", 8: "mailer"}[st.st_uid],  # from the image's etc/passwd
        "gid": st.st_gid,
        "group": names[st.st_gid],
        "size": len(content),
        "mtime": iso(st.st_mtime_ns // 10**9),
        "ctime": iso(st.st_ctime_ns // 10**9),
        "inode": st.st_ino,
        "nlink": 1,
        "filesystem": "/",
        "fstype": fs["fstype"],
        "nosuid": fs["nosuid"],
        "world_writable": False,
        "parent_world_writable": path_text.startswith("/var/tmp/"),
        "sha256": hashlib.sha256(content).hexdigest(),
        "capabilities": "cap_net_raw=ep" if path_text == "/usr/bin/ping" else None,
        "capabilities_rootid": None,
        "package": package,
        "package_verified": verified,
    }


@pytest.mark.parametrize("python", TARGET_PYTHONS)
def test_image_exact_result(tmp_path, python):
    root = tmp_path / "image"
    root.mkdir()
    files = build(root)
    result = run_setuid_info(tmp_path, python, setuid_root=str(root))

    assert result["changed"] is False and not result.get("failed")
    assert result["root"] == str(root)
    assert result["package_db"] == {"type": "dpkg", "message": None}
    assert result["errors"] == [] and result["errors_truncated"] is False
    assert result["stats"]["errors"] == 0 and result["stats"]["vanished"] == 0
    holder = result["filesystems"][0]
    assert (holder["mount_point"], holder["scanned"], holder["reason"]) == ("/", True, None)

    expected = []
    for path, (content, package, verified) in files.items():
        text = path.replace("\n", "\\x0a")
        expected.append(expected_entry(root, text, path.encode(), content, package, verified, holder))
    expected.sort(key=lambda entry: entry["path"])
    assert result["files"] == expected
    # what getcap itself prints for the capability file
    getcap = subprocess.run(["getcap", str(root / "usr/bin/ping")], capture_output=True, text=True, check=True)
    assert getcap.stdout.split()[-1] == "cap_net_raw=ep"


def test_image_paths_and_exclude(tmp_path):
    root = tmp_path / "image"
    root.mkdir()
    build(root)
    result = run_setuid_info(
        tmp_path, setuid_root=str(root), setuid_paths=["/bin", "/var"], setuid_exclude=["/usr/bin/pa*"]
    )
    assert [entry["path"] for entry in result["files"]] == [
        "/usr/bin/chage",
        "/usr/bin/ping",
        "/usr/bin/su",
        "/var/tmp/.hidden\\x0aname",
    ]


def test_real_root_finds_everything_find_finds(tmp_path):
    started = time.time()
    result = run_setuid_info(tmp_path, setuid_root="/", setuid_checksum=False)
    assert result["root"] == "/"
    scanned = [fs["mount_point"] for fs in result["filesystems"] if fs["scanned"]]
    assert "/" in scanned
    for fs in result["filesystems"]:
        assert fs["scanned"] or fs["reason"], fs
        if fs["fstype"] in ("proc", "sysfs", "cgroup", "cgroup2", "devpts", "devtmpfs"):
            assert not fs["scanned"], fs
    found = {entry["path"] for entry in result["files"]}

    proc = subprocess.run(["find", *scanned, "-xdev", "-perm", "/6000", "-type", "f"], capture_output=True, check=False)
    missing = []
    for line in proc.stdout.split(b"\n"):
        if not line:
            continue
        text = path_to_text(line)
        if text in found:
            continue
        try:
            if os.lstat(line).st_ctime >= started - 1:
                continue  # created or changed while the test ran (another test's tree): not a miss
        except FileNotFoundError:
            continue
        missing.append(text)
    assert missing == [], "find found files the module did not: %s" % missing
    assert result["stats"]["directories"] > 100 and result["stats"]["files"] > 1000
