from __future__ import annotations

from plugin_utils_data import NOW, setuid_file, setuid_result, with_file, without_file

from ansible_collections.fleetwatch.audit.plugins.plugin_utils.baselines import new_baseline
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.compare import compare_host
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.context import CheckContext
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.policy import parse_policy

BASELINE = new_baseline("h1", {"setuid": setuid_result()}, NOW)[0]


def test_clean_host():
    result = compare_host("h1", BASELINE, {"setuid": setuid_result()}, CheckContext(now=NOW))
    assert result == {
        "host": "h1",
        "status": "compared",
        "findings": [],
        "counts": {"critical": 0, "high": 0, "medium": 0, "low": 0, "info": 0},
        "checks": {"setuid": "ok"},
        "worst_severity": None,
        "suppressed": 0,
        "accepted": [],
        "inventory": {
            "setuid": "3 files (2 setuid, 0 setgid, 1 with capabilities; 0 owned by no package, 0 failing their "
            "package checksums) on 2 filesystems (1 skipped), 0 scan errors"
        },
    }


def test_no_baseline_is_a_finding_not_a_crash():
    result = compare_host("h1", None, {"setuid": setuid_result()}, CheckContext(now=NOW))
    assert result["status"] == "no_baseline"
    [finding] = result["findings"]
    assert (finding["kind"], finding["severity"], finding["rule"]) == ("coverage", "high", "no_baseline")
    assert finding["summary"] == "h1: no baseline for host h1: run the snapshot playbook"
    assert result["checks"] == {"setuid": "ok"}
    assert result["worst_severity"] == "high"


def test_missing_and_failed_gatherers_are_coverage_findings():
    missing = compare_host("h1", BASELINE, {}, CheckContext(now=NOW))
    assert missing["checks"] == {"setuid": "missing"}
    assert (missing["findings"][0]["severity"], missing["findings"][0]["rule"]) == ("high", "check_missing")
    assert "check setuid is in the baseline but was not gathered" in missing["findings"][0]["summary"]
    failed = compare_host(
        "h1", BASELINE, {"setuid": {"failed": True, "msg": "Permission denied: /root"}}, CheckContext(now=NOW)
    )
    assert failed["checks"] == {"setuid": "error: gatherer failed: Permission denied: /root"}
    assert failed["findings"][0]["rule"] == "gatherer_error"
    assert (
        failed["findings"][0]["summary"]
        == "h1: check setuid was not audited: gatherer failed: Permission denied: /root"
    )
    assert compare_host("h1", BASELINE, None, CheckContext(now=NOW))["checks"] == {"setuid": "missing"}


def test_unknown_and_unbaselined_checks():
    empty = {**BASELINE, "checks": {}}
    result = compare_host("h1", empty, {"setuid": setuid_result(), "teleport": {"ok": True}}, CheckContext(now=NOW))
    assert result["checks"]["setuid"] == "no baseline"
    assert result["checks"]["teleport"].startswith("error: unknown check 'teleport'")
    assert [(f["subject"], f["severity"]) for f in result["findings"]] == [("setuid", "medium"), ("teleport", "info")]
    assert [f["rule"] for f in result["findings"]] == ["check_unbaselined", "check_unknown"]


def test_corrupt_baseline_data_is_a_finding():
    broken = {**BASELINE, "checks": {"setuid": {"files": {}}}}
    result = compare_host("h1", broken, {"setuid": setuid_result()}, CheckContext(now=NOW))
    assert result["checks"]["setuid"].startswith("error: cannot compare with the stored baseline (KeyError")
    assert result["worst_severity"] == "high"
    assert [f["rule"] for f in result["findings"]] == ["baseline_unreadable"]


def test_findings_sorted_and_policy_applied():
    current = setuid_result()
    current = with_file(current, setuid_file("/usr/bin/su", mode="4777"))
    current = with_file(current, setuid_file("/tmp/x", package=None))
    current = without_file(current, "/usr/bin/passwd")
    policy = parse_policy(
        {
            "allow": [
                {"match": "subject == '/tmp/x'", "reason": "pentest", "owner": "red-team", "expires": "2026-03-31"}
            ],
            "severity_overrides": [{"match": "kind == 'removed'", "severity": "medium", "reason": "r", "owner": "o"}],
        }
    )
    result = compare_host("h1", BASELINE, {"setuid": current}, CheckContext(policy, now=NOW))
    assert [(f["severity"], f["subject"]) for f in result["findings"]] == [
        ("critical", "/tmp/x"), ("high", "/usr/bin/su"), ("medium", "/usr/bin/passwd")
    ]  # fmt: skip
    assert result["findings"][0]["suppressed"]["owner"] == "red-team"
    assert result["counts"] == {"critical": 0, "high": 1, "medium": 1, "low": 0, "info": 0}
    assert result["suppressed"] == 1
    assert result["worst_severity"] == "high"
