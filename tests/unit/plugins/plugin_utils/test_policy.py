from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ansible_collections.fleetwatch.audit.plugins.plugin_utils.errors import PolicyError
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.findings import make_finding
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.policy import Policy, load_policy, parse_policy

TODAY = date(2026, 3, 1)
ALLOW = {
    "match": "subject == '/usr/local/bin/x'",
    "reason": "CHG-1 vendor agent",
    "owner": "alice",
    "expires": "2026-06-30",
}


def finding(subject="/usr/local/bin/x", host="h1", severity="critical", kind="added"):
    return make_finding(host, "setuid", kind, severity, subject, f"{host}: new setuid file {subject}", rule="new_file")


def errors_of(document) -> list[str]:
    with pytest.raises(PolicyError) as info:
        parse_policy(document, "p.yml")
    return info.value.errors


def test_default_policy():
    policy = Policy()
    assert policy.fail_on == "high"
    assert policy.fleet == {"outlier_max_fraction": 0.2, "outlier_min_hosts": 5}
    assert policy.knob("setuid", "ignore_paths", ["d"]) == ["d"]
    assert load_policy(None).fail_on == "high"


def test_full_policy_loads(tmp_path):
    path = tmp_path / "policy.yml"
    path.write_text(
        """
fail_on: medium
severity_overrides:
  - match: "check == 'setuid' && kind == 'removed'"
    severity: info
    reason: removals are handled by change management
    owner: secops
allow:
  - match: "host == 'build1' && starts_with(subject, '/opt/ci/')"
    reason: CI runners build setuid helpers
    owner: ci-team
    expires: 2026-12-31
checks:
  setuid:
    ignore_paths: ["/snap/*"]
  sshd_auth:
    window: 3600
internal_networks: [10.0.0.0/8, "fd00::/8"]
fleet:
  outlier_max_fraction: 0.1
  outlier_min_hosts: 10
"""
    )
    policy = load_policy(str(path))
    assert policy.fail_on == "medium"
    assert policy.overrides[0].severity == "info"
    assert policy.allow[0].expires == date(2026, 12, 31)
    assert policy.knob("setuid", "ignore_paths", []) == ["/snap/*"]
    assert policy.knob("sshd_auth", "window", 60) == 3600
    assert [str(n) for n in policy.internal_networks] == ["10.0.0.0/8", "fd00::/8"]
    assert policy.fleet == {"outlier_max_fraction": 0.1, "outlier_min_hosts": 10}


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            {"allow": [ALLOW, ALLOW, {**ALLOW, "expires": "31/12/2026"}]},
            "allow[2].expires: not a date (YYYY-MM-DD): '31/12/2026'",
        ),
        ({"allow": [{**ALLOW, "expires": "2026-02-30"}]}, "allow[0].expires: not a date (YYYY-MM-DD)"),
        ({"allow": [{k: v for k, v in ALLOW.items() if k != "expires"}]}, "allow[0].expires: required"),
        ({"allow": [{k: v for k, v in ALLOW.items() if k != "owner"}]}, "allow[0].owner: required"),
        ({"allow": [{**ALLOW, "reason": ""}]}, "allow[0].reason: must be a non-empty string"),
        ({"allow": [{**ALLOW, "match": "subject == "}]}, "allow[0].match: invalid JMESPath expression 'subject == '"),
        ({"allow": [{**ALLOW, "comment": "x"}]}, "allow[0].comment: unknown key"),
        ({"allow": "everything"}, "allow: must be a list"),
        (
            {"severity_overrides": [{**ALLOW, "severity": "urgent"}]},
            "severity_overrides[0].severity: not a severity: 'urgent'",
        ),
        (
            {"severity_overrides": [{"match": "@", "reason": "r", "owner": "o"}]},
            "severity_overrides[0].severity: required",
        ),
        ({"fail_on": "sometimes"}, "fail_on: not a severity or 'never': 'sometimes'"),
        ({"alow": []}, "alow: unknown key"),
        (
            {"checks": {"setuid": {"ignore_path": []}}},
            "checks.setuid.ignore_path: unknown setting (known: ignore_paths)",
        ),
        ({"checks": {"setuid": {"ignore_paths": "/snap"}}}, "checks.setuid.ignore_paths: must be of the type"),
        ({"checks": {"setuid": []}}, "checks.setuid: must be a mapping of settings"),
        ({"internal_networks": ["10.0.0.1/8"]}, "internal_networks[0]: not a CIDR network"),
        ({"fleet": {"outlier_max_fraction": 0.9}}, "fleet.outlier_max_fraction: must be a number above 0"),
        ({"fleet": {"outlier_min_hosts": 1}}, "fleet.outlier_min_hosts: must be an integer of at least 2"),
        ({"fleet": {"outliers": 1}}, "fleet.outliers: unknown key"),
        ({"checks": {"firewall_log": {"mail_relay": []}}}, "checks.firewall_log.mail_relay: unknown setting"),
        ({"checks": {"firewall_log": {"exposed": [1]}}}, "checks.firewall_log.exposed: must be of the type"),
        ({"checks": {"firewall_log": {"dns_jump": True}}}, "checks.firewall_log.dns_jump: must be of the type"),
        ({"checks": {"firewall_log": {"quiet_hours": []}}}, "checks.firewall_log.quiet_hours: must be a mapping"),
        (
            {"checks": {"firewall_log": {"quiet_hours": {"all": {"hours": "22-22"}}}}},
            "checks.firewall_log.quiet_hours: all.hours: hours must be 'HH-HH'",
        ),
        (
            {
                "checks": {
                    "firewall_log": {
                        "quiet_hours": {"nas": {"hours": "1-5", "except": [{"dst": "10.0.0.0/8", "port": 0}]}}
                    }
                }
            },
            "checks.firewall_log.quiet_hours: nas.except[0]: port: not a port number",
        ),
        ({"checks": {"egress": {"egress_targets": {"host": "a"}}}}, "checks.egress.egress_targets: must be a list"),
    ],
)
def test_validation_errors_name_the_key(document, expected):
    errors = errors_of(document)
    assert any(e.startswith(expected) for e in errors), errors


def test_all_errors_are_reported_at_once():
    errors = errors_of({"fail_on": 3, "allow": [{"match": "@"}], "fleet": []})
    assert "allow[0].reason: required" in errors
    assert "allow[0].owner: required" in errors
    assert "allow[0].expires: required" in errors
    assert "fleet: must be a mapping" in errors
    assert any(e.startswith("fail_on:") for e in errors)


def test_file_errors(tmp_path):
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(str(tmp_path / "missing.yml"))
    bad = tmp_path / "bad.yml"
    bad.write_text("allow: [\n")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policy(str(bad))
    twice = tmp_path / "twice.yml"
    twice.write_text("allow: []\nallow: []\n")
    with pytest.raises(PolicyError, match="duplicate key 'allow'"):
        load_policy(str(twice))
    top = tmp_path / "list.yml"
    top.write_text("- a\n")
    with pytest.raises(PolicyError, match=r"list.yml: top level: must be a mapping, not list"):
        load_policy(str(top))
    empty = tmp_path / "empty.yml"
    empty.write_text("")
    assert load_policy(str(empty)).fail_on == "high"


def test_allow_rule_suppresses_matching_findings_only():
    policy = parse_policy({"allow": [ALLOW]})
    result = policy.apply([finding(), finding("/usr/bin/other")], TODAY)
    assert result[0]["suppressed"] == {
        "rule": "allow[0]",
        "reason": "CHG-1 vendor agent",
        "owner": "alice",
        "expires": "2026-06-30",
    }
    assert result[1]["suppressed"] is None
    assert len(result) == 2


def test_rule_holds_through_its_expiry_day():
    policy = parse_policy({"allow": [{**ALLOW, "expires": "2026-03-01"}]})
    assert policy.apply([finding()], TODAY)[0]["suppressed"]["rule"] == "allow[0]"


def test_expired_allow_rule_stops_suppressing_and_says_so():
    policy = parse_policy({"allow": [{**ALLOW, "expires": "2026-02-28"}]})
    original = finding()
    result = policy.apply([original, finding(host="h2"), finding("/elsewhere", host="h3")], TODAY)
    assert all(f["suppressed"] is None for f in result)
    expired = [f for f in result if f["check"] == "policy"]
    assert [f["host"] for f in expired] == ["h1", "h2"]  # where it matches, not h3
    assert expired[0]["kind"] == "anomaly" and expired[0]["severity"] == "medium"
    assert expired[0]["subject"] == "allow[0]"
    assert expired[0]["summary"] == (
        "h1: allow[0] (alice, CHG-1 vendor agent) expired on 2026-02-28 "
        "and no longer suppresses the findings it matches"
    )
    assert original["suppressed"] is None and "severity_override" not in original  # input untouched


def test_severity_override_is_recorded():
    policy = parse_policy(
        {
            "severity_overrides": [
                {
                    "match": "kind == 'removed'",
                    "severity": "info",
                    "reason": "removals are tracked in CMDB",
                    "owner": "ops",
                },
                {"match": "kind == 'removed'", "severity": "high", "reason": "never reached", "owner": "ops"},
            ]
        }
    )
    result = policy.apply([finding(kind="removed", severity="low"), finding()], TODAY)
    assert result[0]["severity"] == "info"
    assert result[0]["severity_override"] == {
        "rule": "severity_overrides[0]", "from": "low", "to": "info",
        "reason": "removals are tracked in CMDB", "owner": "ops",
    }  # fmt: skip
    assert result[1]["severity"] == "critical" and "severity_override" not in result[1]


def test_expired_override_no_longer_applies():
    rule = {"match": "@", "severity": "info", "reason": "temporary", "owner": "ops", "expires": "2026-01-01"}
    result = parse_policy({"severity_overrides": [rule]}).apply([finding()], TODAY)
    assert result[0]["severity"] == "critical"
    assert "no longer overrides severity" in result[1]["summary"]


def test_expression_runtime_error_is_no_match():
    policy = parse_policy({"allow": [{**ALLOW, "match": "starts_with(before.path, '/opt')"}]})
    assert policy.apply([finding()], TODAY)[0]["suppressed"] is None  # before is null: no match, no crash


def test_the_documented_example_is_valid(tmp_path):
    doc = Path(__file__).resolve().parents[4] / "docs" / "policy.md"
    example = doc.read_text(encoding="utf-8").split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "policy.yml"
    path.write_text(example)
    policy = load_policy(str(path))
    assert len(policy.overrides) == 2 and len(policy.allow) == 1
    ci = make_finding("build2", "setuid", "added", "critical", "/opt/ci/helper", "s", rule="new_file")
    assert policy.apply([ci], TODAY)[0]["suppressed"]["owner"] == "ci-team"


def test_the_documented_network_example_is_valid(tmp_path):
    doc = Path(__file__).resolve().parents[4] / "docs" / "policy.md"
    section = doc.read_text(encoding="utf-8").split("### Network checks: a small network", 1)[1]
    path = tmp_path / "policy.yml"
    path.write_text(section.split("```yaml\n", 1)[1].split("```", 1)[0])
    policy = load_policy(str(path))
    assert policy.knob("firewall_log", "mail_relays", []) == ["relay"]
    assert policy.knob("firewall_log", "quiet_hours", {})["storage"]["hours"] == "22-06"
    assert policy.knob("firewall_log", "dns_jump", 0) == 5
    assert [t["port"] for t in policy.knob("egress", "egress_targets", [])] == [443, 25]
