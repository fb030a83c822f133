from __future__ import annotations

from datetime import timedelta

import pytest
from plugin_utils_data import NOW, setuid_file, setuid_result, with_file

from ansible_collections.fleetwatch.audit.plugins.plugin_utils.baselines import accept, new_baseline
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.compare import compare_host
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.context import CheckContext
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.errors import StoreError


def baseline(host="h1", gathered=None):
    return new_baseline(host, gathered or {"setuid": setuid_result()}, NOW)[0]


def test_new_baseline_document():
    document, warnings = new_baseline("h1", {"setuid": setuid_result(), "teleport": {"x": 1}}, NOW)
    assert set(document) == {"schema", "host", "created", "updated", "checks", "accepted"}
    assert document["schema"] == 1 and document["host"] == "h1"
    assert document["created"] == document["updated"] == "2026-03-01T12:00:00Z"
    assert list(document["checks"]) == ["setuid"]
    assert document["accepted"] == []
    known = "egress, firewall_log, log_rate, setuid, sshd_auth"
    assert warnings == [f"teleport: unknown check 'teleport' (known: {known}); left out"]


def test_accept_absorbs_selected_findings_and_records_who_why_when():
    base = baseline()
    observed = {
        "setuid": with_file(
            with_file(setuid_result(), setuid_file("/opt/a", package=None)), setuid_file("/opt/b", package=None)
        )
    }
    findings = compare_host("h1", base, observed, CheckContext(now=NOW))["findings"]
    chosen = next(f for f in findings if f["subject"] == "/opt/a")
    later = NOW + timedelta(days=1)
    document, accepted, skipped = accept(base, observed, [chosen], "CHG-7 new agent", "alice", later)
    assert accepted == [chosen] and skipped == []
    assert document["accepted"] == [
        {
            "id": chosen["id"], "check": "setuid", "kind": "added", "subject": "/opt/a", "summary": chosen["summary"],
            "reason": "CHG-7 new agent", "who": "alice", "when": "2026-03-02T12:00:00Z",
        }
    ]  # fmt: skip
    assert document["updated"] == "2026-03-02T12:00:00Z" and document["created"] == base["created"]
    remaining = compare_host("h1", document, observed, CheckContext(now=NOW))["findings"]
    assert [f["subject"] for f in remaining] == ["/opt/b"]
    assert base["accepted"] == []  # not modified in place


def test_accept_check_level_findings_and_skips():
    base = baseline()
    observed = {"setuid": {"failed": True, "msg": "boom"}}
    failed = compare_host("h1", base, observed, CheckContext(now=NOW))["findings"]
    document, accepted, skipped = accept(base, observed, failed, "r", "w", NOW)
    assert accepted == [] and skipped[0]["id"] == failed[0]["id"]
    assert document == base
    # a check no longer gathered: accepting drops it from the baseline
    missing = compare_host("h1", base, {}, CheckContext(now=NOW))["findings"]
    document, accepted, skipped = accept(base, {}, missing, "setuid check retired", "w", NOW)
    assert skipped == []
    assert accepted == missing and document["checks"] == {}
    assert compare_host("h1", document, {}, CheckContext(now=NOW))["findings"] == []
    # a check without baseline data: accepting adds it
    empty = {**base, "checks": {}}
    gathered = {"setuid": setuid_result()}
    unbaselined = compare_host("h1", empty, gathered, CheckContext(now=NOW))["findings"]
    document, accepted, skipped = accept(empty, gathered, unbaselined, "enable setuid", "w", NOW)
    assert accepted == unbaselined and skipped == []
    assert compare_host("h1", document, gathered, CheckContext(now=NOW))["findings"] == []
    with pytest.raises(StoreError, match="needs a reason"):
        accept(base, gathered, [], "", "w", NOW)


def test_accept_skips_fleet_findings():
    outlier = {"id": "0" * 12, "check": "fleet", "kind": "coverage", "subject": "h1", "summary": "s"}
    document, accepted, skipped = accept(baseline(), {"setuid": setuid_result()}, [outlier], "r", "w", NOW)
    assert document == baseline()
    assert accepted == [] and "use an allow rule" in skipped[0]["reason"]


def test_accept_decides_by_rule_and_names_a_finding_without_one():
    base = baseline()
    observed = {"setuid": with_file(setuid_result(), setuid_file("/opt/a", package=None))}
    (finding,) = compare_host("h1", base, observed, CheckContext(now=NOW))["findings"]
    assert finding["rule"] == "new_file"
    # The rule decides, not the kind: the same finding under another kind is still a new file to take in.
    document, accepted, skipped = accept(base, observed, [{**finding, "kind": "anomaly"}], "r", "w", NOW)
    assert skipped == [] and "/opt/a" in document["checks"]["setuid"]["files"]
    legacy = {key: value for key, value in finding.items() if key != "rule"}  # kept from an older version
    document, accepted, skipped = accept(base, observed, [legacy], "r", "w", NOW)
    assert accepted == [] and document == base
    assert skipped == [
        {
            "id": finding["id"],
            "reason": f"finding {finding['id']} names no rule (made by an older fleetwatch.audit): compare again and "
            "accept the finding of that compare",
        }
    ]


def test_accept_replaces_baseline_data_that_cannot_be_compared():
    broken = {**baseline(), "checks": {"setuid": {"files": {}}}}  # stored by another version
    gathered = {"setuid": setuid_result()}
    (finding,) = compare_host("h1", broken, gathered, CheckContext(now=NOW))["findings"]
    assert finding["rule"] == "baseline_unreadable"
    document, accepted, skipped = accept(broken, gathered, [finding], "new data format", "w", NOW)
    assert accepted == [finding] and skipped == []
    assert compare_host("h1", document, gathered, CheckContext(now=NOW))["findings"] == []
