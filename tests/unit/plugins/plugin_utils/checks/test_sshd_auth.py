"""The sshd_auth check: what a compare reports from sshd_auth_info results, and the fleet's login graph."""

from __future__ import annotations

import copy
from datetime import datetime, timezone

import pytest

from ansible_collections.fleetwatch.audit.plugins.plugin_utils.checks import CHECKS, NotAbsorbable
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.compare import compare_host
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.context import CheckContext
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.fleet import analyze_fleet
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.policy import Policy, parse_policy
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.report import render_markdown

NOW = datetime(2025, 10, 2, 12, 0, tzinfo=timezone.utc)
CHECK = CHECKS["sshd_auth"]


def failure(source, user, kind="failed_password", count=1, invalid=False, first="2025-10-01T10:00:00Z", last=None):
    return {
        "source": source,
        "user": user,
        "invalid_user": invalid,
        "kind": kind,
        "count": count,
        "internal": False,
        "first_seen": first,
        "last_seen": last or first,
    }


def login(user, source, fingerprint="SHA256:k1", count=1, first="2025-10-01T09:00:00Z"):
    return {
        "user": user,
        "source": source,
        "internal": True,
        "method": "publickey",
        "key_type": "ED25519",
        "fingerprint": fingerprint,
        "count": count,
        "first_seen": first,
        "last_seen": first,
    }


def result(failures=(), accepted=(), users=("root", "deploy"), collected="2025-10-02T12:00:00Z", sources=None):
    attempts = sum(f["count"] for f in failures if f["kind"] != "invalid_user")
    return {
        "changed": False,
        "collected_at": collected,
        "since": "2025-09-24T12:00:00Z",
        "until": None,
        "failures": list(failures),
        "accepted": list(accepted),
        "totals": {"attempts": attempts, "sources": len({f["source"] for f in failures}), "internal_sources": 0},
        "local_users": list(users),
        "sources": sources or [{"name": "/var/log/auth.log", "kind": "file", "error": None}],
    }


def context_with(addresses=None, **document):
    policy = parse_policy(document) if document else Policy()
    return CheckContext(policy, addresses, NOW)


def judge(baseline_result, current_result, context=None, host="web1"):
    baseline = CHECK.normalize(baseline_result)
    current = CHECK.normalize(current_result)
    return CHECK.diff(host, baseline, current, context or context_with()), baseline, current


def test_normalize_and_inventory():
    data = CHECK.normalize(
        result(
            [failure("203.0.113.9", "root", count=1200), failure("10.0.0.5", "bob")],
            [
                login("deploy", "10.0.0.8", count=10),
                login("deploy", "10.0.0.8", "SHA256:k2", 2),
                login("ops", "10.0.0.9"),
            ],
        )
    )
    assert data["accepted"]["deploy@10.0.0.8"]["fingerprints"] == ["SHA256:k1", "SHA256:k2"]
    assert data["accepted"]["deploy@10.0.0.8"]["count"] == 12
    data["totals"].update(attempts=1234, sources=56, internal_sources=3)
    assert CHECK.inventory(data) == "1,234 failed attempts from 56 sources (3 internal), 13 accepted logins by 2 users"
    with pytest.raises(ValueError):
        CHECK.normalize({"failures": [{"source": 1}]})
    with pytest.raises(ValueError):
        CHECK.normalize({"accepted": []})


def test_external_noise_is_never_a_finding():
    noise = [failure("203.0.113.%d" % i, "admin", "invalid_user", 500, True) for i in range(50)]
    findings, _b, _c = judge(result(), result([*noise, failure("198.51.100.1", "root", count=10000)]))
    assert findings == []


def test_failures_from_inside():
    current = result(
        [
            failure("10.0.0.5", "root", count=2, last="2025-10-01T10:05:00Z"),
            failure("10.0.0.5", "root", "failed_publickey"),
            failure("10.0.0.6", "admin", "invalid_user", invalid=True),
            failure("10.0.0.6", "admin", "failed_password", invalid=True),
            failure("192.0.2.10", "deploy"),  # an inventory host's public address
        ]
    )
    context = context_with({"db1": ["192.0.2.10"], "app1": ["10.0.0.5"]})
    findings, _b, _c = judge(result(), current, context)
    by_subject = {f["subject"]: f for f in findings}
    assert sorted(by_subject) == ["failed admin@10.0.0.6", "failed deploy@192.0.2.10", "failed root@10.0.0.5"]
    root = by_subject["failed root@10.0.0.5"]
    assert root["severity"] == "high" and root["kind"] == "anomaly" and root["check"] == "sshd_auth"
    assert root["after"]["kinds"] == {"failed_password": 2, "failed_publickey": 1}
    assert root["after"]["source_hosts"] == ["app1"] and "10.0.0.5 (app1)" in root["summary"]
    assert root["since"] == "2025-10-01T10:00:00Z" and root["after"]["last_seen"] == "2025-10-01T10:05:00Z"
    assert by_subject["failed admin@10.0.0.6"]["severity"] == "critical"
    assert {f["rule"] for f in findings} == {"internal_failure"}
    assert "does not exist on web1" in by_subject["failed admin@10.0.0.6"]["summary"]
    assert by_subject["failed deploy@192.0.2.10"]["severity"] == "high"


def test_ids_are_stable_and_follow_new_failures():
    current = result([failure("10.0.0.5", "root")])
    first, _b, _c = judge(result(), current)
    again, _b, _c = judge(result(), copy.deepcopy(current))
    assert [f["id"] for f in first] == [f["id"] for f in again]
    later, _b, _c = judge(result(), result([failure("10.0.0.5", "root", count=2, last="2025-10-02T08:00:00Z")]))
    assert later[0]["id"] != first[0]["id"]


def test_baseline_failures_and_accept():
    base = result([failure("10.0.0.5", "root")])
    findings, baseline, current = judge(base, base)
    assert findings == []
    newer = result([failure("10.0.0.5", "root", count=3, last="2025-10-02T09:00:00Z")])
    findings, baseline, current = judge(base, newer)
    assert len(findings) == 1
    absorbed = CHECK.apply_accept(baseline, current, findings[0])
    assert CHECK.diff("web1", absorbed, current, context_with()) == []
    with pytest.raises(NotAbsorbable):
        CHECK.apply_accept(baseline, CHECK.normalize(result()), findings[0])


def test_new_logins():
    base = result(accepted=[login("deploy", "10.0.0.8")])
    current = result(
        accepted=[
            login("deploy", "10.0.0.8", "SHA256:k2"),
            login("deploy", "10.0.0.9"),  # a fleet host
            login("root", "10.9.9.9"),  # a local address that is no inventory host
            login("alice", "198.51.100.4"),  # from outside
        ]
    )
    context = context_with({"app2": ["10.0.0.9"], "app1": ["10.0.0.8"]})
    findings, baseline, observed = judge(base, current, context)
    by_subject = {f["subject"]: f for f in findings}
    assert {s: f["severity"] for s, f in by_subject.items()} == {
        "accepted alice@198.51.100.4": "medium",
        "accepted deploy@10.0.0.8": "low",
        "accepted deploy@10.0.0.9": "medium",
        "accepted root@10.9.9.9": "high",
    }
    assert "no inventory host" in by_subject["accepted root@10.9.9.9"]["summary"]
    assert {s: f["rule"] for s, f in by_subject.items() if f["rule"] != "new_login"} == {
        "accepted deploy@10.0.0.8": "new_key"
    }
    assert by_subject["accepted deploy@10.0.0.8"]["before"] == {"fingerprints": ["SHA256:k1"]}
    assert by_subject["accepted deploy@10.0.0.8"]["after"] == {"fingerprints": ["SHA256:k2"]}
    absorbed = CHECK.apply_accept(baseline, observed, by_subject["accepted root@10.9.9.9"])
    assert "accepted root@10.9.9.9" not in {f["subject"] for f in CHECK.diff("web1", absorbed, observed, context)}


def test_policy_knobs_window_and_ignores():
    current = result(
        [
            failure("10.0.0.5", "root", last="2025-10-02T11:30:00Z"),
            failure("10.0.0.6", "backup", last="2025-09-25T01:00:00Z"),
        ],
        [login("x", "198.51.100.4", first="2025-09-25T01:00:00Z")],
    )
    findings, _b, _c = judge(result(), current, context_with(checks={"sshd_auth": {"window": 86400}}))
    assert [f["subject"] for f in findings] == ["failed root@10.0.0.5"]
    findings, _b, _c = judge(result(), current, context_with(checks={"sshd_auth": {"ignore_sources": ["10.0.0.0/24"]}}))
    assert [f["subject"] for f in findings] == ["accepted x@198.51.100.4"]
    findings, _b, _c = judge(result(), current, context_with(checks={"sshd_auth": {"ignore_users": ["back*", "root"]}}))
    assert [f["subject"] for f in findings] == ["accepted x@198.51.100.4"]
    internal = context_with(internal_networks=["198.51.100.0/24"])
    findings, _b, _c = judge(result(), current, internal)
    assert {f["subject"]: f["severity"] for f in findings}["accepted x@198.51.100.4"] == "high"


def test_unreadable_source_is_coverage():
    sources = [{"name": "journal", "kind": "journal", "error": "journalctl exited with 1"}]
    findings, _b, _c = judge(result(), result(sources=sources))
    assert [(f["kind"], f["severity"], f["subject"]) for f in findings] == [("coverage", "medium", "source journal")]
    assert findings[0]["rule"] == "source_error"
    findings, _b, _c = judge(result(sources=sources), result(sources=sources))
    assert findings[0]["severity"] == "info"


def test_compare_host_runs_the_check():
    baseline = {"checks": {"sshd_auth": CHECK.normalize(result())}, "accepted": []}
    compare = compare_host(
        "web1", baseline, {"sshd_auth": result([failure("10.0.0.5", "root")])}, CheckContext(now=NOW)
    )
    assert compare["checks"] == {"sshd_auth": "ok"}
    assert [f["severity"] for f in compare["findings"]] == ["high"]
    assert compare["inventory"]["sshd_auth"].startswith("1 failed attempts from 1 sources")


# ---------------------------------------------------------------------------------------------- fleet


def test_fleet_users_that_exist_nowhere():
    per_host = {
        "web1": CHECK.normalize(
            result(
                [
                    failure("10.0.0.5", "oracle", invalid=True),  # inside, a user no host has
                    failure("10.0.0.5", "deploy", invalid=True),  # inside, a user db1 has
                    failure("198.51.100.4", "ghost", invalid=True),  # a known outside source (logs in on db1)
                    failure("203.0.113.9", "admin", invalid=True),  # noise
                ],
                users=["root"],
            )
        ),
        "db1": CHECK.normalize(result(accepted=[login("ops", "198.51.100.4")], users=["root", "deploy", "ops"])),
    }
    findings = CHECK.fleet_findings(per_host, context_with())
    assert [(f["host"], f["severity"], f["subject"], f["after"]["users"]) for f in findings] == [
        ("web1", "medium", "unknown users from 10.0.0.5", ["oracle"]),
        ("web1", "medium", "unknown users from 198.51.100.4", ["ghost"]),
    ]
    assert {f["rule"] for f in findings} == {"unknown_users"}
    per_host["db1"]["local_users"] = []
    assert CHECK.fleet_findings(per_host, context_with()) == []  # a host's user list is unknown: not judged


def test_login_graph_and_report():
    gathered = {
        "web1": {"sshd_auth": result(accepted=[login("deploy", "10.0.0.8"), login("root", "10.9.9.9")])},
        "app1": {"sshd_auth": result(accepted=[login("deploy", "10.0.0.7")])},
    }
    baselines = {
        "web1": {
            "checks": {"sshd_auth": CHECK.normalize(result(accepted=[login("deploy", "10.0.0.8")]))},
            "accepted": [],
        },
        "app1": {"checks": {"sshd_auth": CHECK.normalize(result())}, "accepted": []},
    }
    addresses = {"web1": ["10.0.0.7"], "app1": ["10.0.0.8"]}
    context = context_with(addresses)
    host_results = {
        host: {"compare": compare_host(host, baselines[host], gathered[host], context), "gathered": gathered[host]}
        for host in gathered
    }
    report = analyze_fleet(host_results, {}, list(gathered), {}, context)
    graph = report["login_graph"]
    assert [(e["from"], e["from_address"], e["user"], e["to"], e["new"]) for e in graph["edges"]] == [
        ("web1", "10.0.0.7", "deploy", "app1", True),
        ("app1", "10.0.0.8", "deploy", "web1", False),
        (None, "10.9.9.9", "root", "web1", True),
    ]
    assert len(graph["new_edges"]) == 2
    markdown = render_markdown(report)
    assert "## Login graph: new edges" in markdown
    assert "| web1 | 10\\.0.0.7 | deploy | app1 | publickey | 1 |" in markdown
    assert "(no inventory host)" in markdown and "2 new of 3 login edges." in markdown
    assert report["hosts"]["web1"]["findings"][0]["severity"] == "high"


def test_fleet_report_without_sshd_auth_has_no_graph():
    report = analyze_fleet({}, {}, [], {}, CheckContext(now=NOW))
    assert "login_graph" not in report and "Login graph" not in render_markdown(report)
