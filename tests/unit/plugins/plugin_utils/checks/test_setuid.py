from __future__ import annotations

import pytest
from plugin_utils_data import (
    SHA_EVIL,
    SHA_SU,
    SHA_SU_NEW,
    filesystems,
    setuid_file,
    setuid_result,
    with_file,
    without_file,
)

from ansible_collections.fleetwatch.audit.plugins.plugin_utils.checks import CHECKS, NotAbsorbable, normalize_result
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.checks.setuid import PACKAGE_DB, SCAN_ERRORS
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.context import CheckContext
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.policy import parse_policy

CHECK = CHECKS["setuid"]


def diff(before: dict, after: dict, policy=None) -> list[dict]:
    return CHECK.diff("h1", CHECK.normalize(before), CHECK.normalize(after), CheckContext(policy))


def finding_for(path: str, **changes) -> dict:
    """The one finding of a scan where ``path`` is (or became) a file with ``changes``."""
    before = setuid_result()
    return only(diff(before, with_file(before, setuid_file(path, **changes))))


def only(findings: list[dict]) -> dict:
    assert len(findings) == 1, [f["summary"] for f in findings]
    return findings[0]


def test_normalize_keeps_the_judged_fields_and_drops_run_noise():
    normalized = CHECK.normalize(setuid_result())
    su = normalized["files"]["/usr/bin/su"]
    assert set(su) == {
        "path", "kinds", "mode", "uid", "user", "gid", "group", "size", "mtime", "ctime", "sha256", "capabilities",
        "package", "package_verified", "filesystem", "fstype", "nosuid", "world_writable", "parent_world_writable",
    }  # fmt: skip
    assert su["sha256"] == SHA_SU and su["package"] == "util-linux"
    assert "inode" not in su and "nlink" not in su
    assert "stats" not in normalized and "duration" not in str(normalized)
    assert normalized["filesystems"]["/proc"] == {
        "mount_point": "/proc", "fstype": "proc", "source": "proc", "nosuid": True, "scanned": False,
        "reason": "pseudo filesystem",
    }  # fmt: skip
    assert normalized["package_db"] == {"type": "dpkg", "message": None}
    assert normalized["error_count"] == 0


def test_same_data_with_new_inode_and_ctime_is_clean():
    before = setuid_result()
    after = with_file(
        before, setuid_file("/usr/bin/su", inode=99999, ctime="2026-02-02T00:00:00Z", mtime="2026-02-01T00:00:00Z")
    )
    assert diff(before, after) == []


@pytest.mark.parametrize(
    ("changes", "severity", "words"),
    [
        ({"package": None, "package_verified": None}, "critical", "owned by no package"),
        ({"fstype": "tmpfs", "filesystem": "/dev/shm"}, "critical", "tmpfs"),
        ({"parent_world_writable": True}, "critical", "world-writable location"),
        ({"package": "evil", "package_verified": False}, "critical", "claims package evil but fails"),
        (
            {"package": "newpkg", "package_verified": True},
            "medium",
            "from package newpkg, verified: a new package was installed",
        ),
        ({"package": "newpkg", "package_verified": None}, "high", "could not be verified"),
    ],
)
def test_new_file_severity(changes, severity, words):
    finding = finding_for("/usr/local/bin/x", **changes)
    assert (finding["kind"], finding["rule"]) == ("added", "new_file")
    assert finding["severity"] == severity
    assert finding["subject"] == "/usr/local/bin/x"
    assert words in finding["summary"]
    assert finding["summary"].startswith("h1: new setuid file /usr/local/bin/x (mode 4755, owner root(0):root(0)), ")
    assert finding["since"] == "2025-01-02T03:04:05Z"  # ctime: when it became so
    assert finding["before"] is None and finding["after"]["sha256"] == "0" * 64
    assert "ctime" not in finding["after"]


def test_new_packaged_file_in_tmpfs_is_still_critical():
    before = setuid_result()
    after = with_file(before, setuid_file("/run/x", fstype="tmpfs", package="coreutils", package_verified=True))
    assert only(diff(before, after))["severity"] == "critical"


def test_new_capability_file():
    before = setuid_result()
    entry = setuid_file("/opt/tool", kinds=["capabilities"], mode="0755", capabilities="cap_setuid=ep", package=None)
    finding = only(diff(before, with_file(before, entry)))
    assert finding["severity"] == "critical"
    assert "new capability file /opt/tool" in finding["summary"]
    assert "capabilities cap_setuid=ep" in finding["summary"]


@pytest.mark.parametrize(
    ("changes", "severity", "words"),
    [
        (
            {"sha256": SHA_SU_NEW, "package_verified": True},
            "info",
            "content changed (sha256 5f1b1a9d0c6e… → 9e8d7c6b5a49…), "
            "verified against package util-linux: a package upgrade",
        ),
        ({"sha256": SHA_EVIL, "package_verified": False}, "critical", "fails package util-linux's checksums"),
        ({"sha256": SHA_EVIL, "package_verified": None}, "critical", "could not be checked against package util-linux"),
        ({"sha256": SHA_EVIL, "package": None, "package_verified": None}, "critical", "and no package owns it"),
        ({"mode": "4777"}, "high", "mode 4755 → 4777"),
        ({"mode": "6755", "kinds": ["setgid", "setuid"]}, "high", "mode 4755 → 6755"),
        ({"uid": 1000, "user": "bob"}, "high", "owner root(0):root(0) → bob(1000):root(0)"),
        ({"gid": 50, "group": "staff"}, "high", "owner root(0):root(0) → root(0):staff(50)"),
        ({"capabilities": "cap_setuid=ep"}, "high", "capabilities none → cap_setuid=ep"),
        ({"package_verified": False}, "high", "package verification true → false with unchanged content"),
        ({"user": "toor"}, "low", "owner name root(0):root(0) → toor(0):root(0) (same ids)"),
        ({"package": "util-linux-extra"}, "low", "owning package util-linux → util-linux-extra"),
        ({"parent_world_writable": True}, "high", "location parent_world_writable false → true"),
        ({"nosuid": True}, "medium", "location nosuid false → true"),
    ],
)
def test_changed_file_severity(changes, severity, words):
    finding = finding_for("/usr/bin/su", **changes)
    assert (finding["kind"], finding["rule"]) == ("changed", "file_changed")
    assert finding["severity"] == severity
    assert finding["summary"].startswith("h1: ")
    assert "/usr/bin/su changed: " in finding["summary"]
    assert words in finding["summary"]
    changed_fields = {k for k in finding["after"] if finding["after"][k] != finding["before"][k]}
    assert changed_fields <= set(changes)
    assert changed_fields
    assert finding["since"] == "2025-01-02T03:04:05Z"


def test_several_changes_make_one_finding_at_the_highest_severity():
    before = setuid_result()
    after = with_file(before, setuid_file("/usr/bin/su", sha256=SHA_SU_NEW, mode="4777", ctime="2026-02-27T22:10:00Z"))
    finding = only(diff(before, after))
    assert finding["severity"] == "high"  # info content (verified) + high mode
    assert "content changed" in finding["summary"] and "mode 4755 → 4777" in finding["summary"]
    assert finding["before"]["mode"] == "4755" and finding["after"]["mode"] == "4777"
    assert finding["since"] == "2026-02-27T22:10:00Z"


def test_checksums_turned_off_are_no_content_change():
    before = setuid_result()
    assert diff(before, with_file(before, setuid_file("/usr/bin/su", sha256=None))) == []
    grown = only(diff(before, with_file(before, setuid_file("/usr/bin/su", sha256=None, size=80000))))
    assert grown["severity"] == "info" and "content changed (sha256 5f1b1a9d0c6e… → none)" in grown["summary"]


def test_removed_file_is_low():
    before = setuid_result()
    finding = only(diff(before, without_file(before, "/usr/bin/passwd")))
    assert (finding["kind"], finding["severity"], finding["subject"]) == ("removed", "low", "/usr/bin/passwd")
    assert finding["rule"] == "file_removed"
    assert finding["before"]["package"] == "passwd" and finding["after"] is None
    assert "h1: setuid file /usr/bin/passwd" in finding["summary"] and "is gone" in finding["summary"]


def test_filesystem_no_longer_scanned_is_a_coverage_gap():
    before = setuid_result()
    finding = only(diff(before, setuid_result(mounts=filesystems("/home"))))
    assert (finding["kind"], finding["severity"], finding["subject"]) == ("coverage", "medium", "/home")
    assert finding["rule"] == "filesystem_unscanned"
    assert finding["summary"] == (
        "h1: filesystem /home (ext4) was scanned for setuid files in the baseline but not now: excluded by option"
    )
    unmounted = [m for m in filesystems() if m["mount_point"] != "/home"]
    assert "no longer mounted" in only(diff(before, setuid_result(mounts=unmounted)))["summary"]


def test_pseudo_filesystems_not_scanned_in_the_baseline_are_no_gap():
    assert diff(setuid_result(), setuid_result()) == []


def test_package_database_lost_and_scan_errors():
    before = setuid_result()
    after = setuid_result(
        package_db={"type": None, "message": "dpkg status unreadable"},
        errors=["/var/lib/x: Permission denied"],
        stats={"errors": 1},
    )
    found = {f["subject"]: f for f in diff(before, after)}
    assert set(found) == {PACKAGE_DB, SCAN_ERRORS}
    assert (found[PACKAGE_DB]["rule"], found[SCAN_ERRORS]["rule"]) == ("package_db_changed", "scan_errors")
    assert found[PACKAGE_DB]["severity"] == "medium"
    assert "was dpkg in the baseline and is unavailable now (dpkg status unreadable)" in found[PACKAGE_DB]["summary"]
    assert found[SCAN_ERRORS]["severity"] == "low"
    assert "1 errors while scanning for setuid files (baseline scan: 0)" in found[SCAN_ERRORS]["summary"]
    assert "/var/lib/x: Permission denied" in found[SCAN_ERRORS]["summary"]


def test_scan_errors_the_baseline_had_too_are_info():
    errors = setuid_result(errors=["/root: Permission denied"], stats={"errors": 3})
    finding = only(diff(errors, errors))
    assert (finding["subject"], finding["severity"]) == (SCAN_ERRORS, "info")
    assert "3 errors while scanning for setuid files (baseline scan: 3)" in finding["summary"]


def test_ignore_paths_knob():
    policy = parse_policy({"checks": {"setuid": {"ignore_paths": ["/snap/*"]}}})
    before = setuid_result()
    after = with_file(before, setuid_file("/snap/core22/1234/usr/bin/su", package=None))
    assert diff(before, after, policy) == []
    assert only(diff(before, after))["severity"] == "critical"


def test_ids_are_stable_across_runs_and_differ_between_changes():
    before = setuid_result()
    after_a = with_file(before, setuid_file("/usr/bin/su", mode="4777"))
    after_b = with_file(before, setuid_file("/usr/bin/su", mode="4775"))
    first, again = (
        only(diff(before, after_a)),
        only(diff(before, with_file(after_a, setuid_file("/usr/bin/su", mode="4777", inode=7)))),
    )
    assert first["id"] == again["id"]
    assert only(diff(before, after_b))["id"] != first["id"]


@pytest.mark.parametrize(
    "after",
    [
        with_file(setuid_result(), setuid_file("/usr/local/bin/x", package=None)),
        without_file(setuid_result(), "/usr/bin/passwd"),
        with_file(setuid_result(), setuid_file("/usr/bin/su", mode="4777")),
        setuid_result(mounts=filesystems("/home")),
        setuid_result(package_db={"type": None, "message": "gone"}),
    ],
    ids=["added", "removed", "changed", "filesystem", "package-db"],
)
def test_accept_absorbs_exactly_one_finding(after):
    other = setuid_file("/opt/other", package=None)
    before = CHECK.normalize(setuid_result())
    current = CHECK.normalize(with_file(after, other))
    findings = CHECK.diff("h1", before, current, CheckContext())
    target = next(f for f in findings if f["subject"] != "/opt/other")
    absorbed = CHECK.apply_accept(before, current, target)
    remaining = CHECK.diff("h1", absorbed, current, CheckContext())
    assert [f["subject"] for f in remaining] == ["/opt/other"]
    assert CHECK.diff("h1", before, current, CheckContext()) == findings  # the input baseline is not modified


def test_scan_errors_cannot_be_absorbed():
    before = CHECK.normalize(setuid_result())
    current = CHECK.normalize(setuid_result(errors=["boom"], stats={"errors": 1}))
    finding = only(CHECK.diff("h1", before, current, CheckContext()))
    with pytest.raises(NotAbsorbable, match="allow rule"):
        CHECK.apply_accept(before, current, finding)


def test_fleet_observations():
    current = CHECK.normalize(setuid_result())
    observations = list(CHECK.fleet_observations("h1", current, CheckContext()))
    assert ("setuid-path", "/usr/bin/su") in observations
    assert ("setuid-digest", "/usr/bin/su", "util-linux", SHA_SU) in observations
    assert len(observations) == 6
    assert CHECK.observation_text(("setuid-path", "/x")) == "/x is setuid/setgid or capability-bearing"
    assert CHECK.observation_text(("setuid-digest", "/x", None, SHA_SU)) == "/x (no package) has sha256 5f1b1a9d0c6e…"


@pytest.mark.parametrize(
    ("result", "error"),
    [
        ({"failed": True, "msg": "find: permission denied"}, "gatherer failed: find: permission denied"),
        ({"skipped": True, "skip_reason": "Conditional result was False"}, "gatherer skipped: Conditional result"),
        ({"changed": False}, "malformed setuid_info result: no 'files' list"),
        ({"files": [{"mode": "4755"}]}, "malformed setuid_info result: file entry without a path"),
        ("garbage", "not a module result: str"),
    ],
)
def test_unusable_results_are_reported_not_raised(result, error):
    normalized, message = normalize_result("setuid", result)
    assert normalized is None
    assert message.startswith(error)


def test_paths_with_module_escapes_are_opaque():
    path = "/tmp/\\x1b[31mevil\\xff"
    before = setuid_result()
    finding = only(diff(before, with_file(before, setuid_file(path, package=None))))
    assert finding["subject"] == path
