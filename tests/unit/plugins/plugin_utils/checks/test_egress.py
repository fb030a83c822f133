"""The egress check: what a compare reports from egress_probe results (the shape of /work/fw-contract.md)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ansible_collections.fleetwatch.audit.plugins.plugin_utils.checks import CHECKS, NotAbsorbable
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.context import CheckContext
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.errors import PolicyError
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.policy import Policy, parse_policy

NOW = datetime(2026, 12, 4, 3, 0, tzinfo=timezone.utc)
CHECK = CHECKS["egress"]
GROUPS = {"dmz": ["web"], "storage": ["nas"]}


def probe(host="203.0.113.10", port=443, connected=False, name="mirror", address="same", error=None):
    return {
        "name": name,
        "host": host,
        "port": port,
        "address": host if address == "same" else address,
        "connected": connected,
        "source": "10.0.1.10" if connected else None,
        "error": error if error or connected else "timed out",
        "seconds": 3.0,
    }


def result(probes=(), dns=None, output_policy="drop", output_rules=3, probed=True):
    return {
        "changed": False,
        "probes": list(probes),
        "dns": dns,
        "policy": {
            "tool": "nft",
            "output_policy": output_policy,
            "output_rules": output_rules,
            "evidence": "chain output { type filter hook output priority 0; policy accept; }",
            "error": None,
        },
        "probed": probed,
    }


def context_with(checks=None):
    policy = parse_policy({"checks": checks}) if checks else Policy()
    return CheckContext(policy, {"web": ["10.0.1.10"]}, NOW, GROUPS)


EXPOSED = context_with({"egress": {"exposed": ["dmz"]}})


def judge(baseline_result, current_result, context=EXPOSED, host="web"):
    baseline = CHECK.normalize(baseline_result)
    current = CHECK.normalize(current_result)
    return CHECK.diff(host, baseline, current, context), baseline, current


def rules(findings):
    return sorted((f["rule"], f["severity"], f["kind"], f["subject"]) for f in findings)


def test_normalize_drops_durations_and_inventory():
    data = CHECK.normalize(result([probe(), probe("10.0.0.1", 22, True, None)]))
    assert sorted(data["probes"]) == ["10.0.0.1:22", "203.0.113.10:443"]
    assert "seconds" not in data["probes"]["10.0.0.1:22"]
    assert CHECK.inventory(data) == "2 egress probes (1 connected), output policy drop"


@pytest.mark.parametrize(
    "change, message",
    [
        ({"probes": None}, "no 'probes' list"),
        ({"probes": [1]}, "probe entry is not a mapping"),
        ({"probes": [{**probe(), "connected": "yes"}]}, "probe connected must be true or false"),
        ({"probes": [{**probe(), "port": 0}]}, "probe port must be a port"),
        ({"probes": [{**probe(), "host": ["x"]}]}, "probe host must be a string"),
        ({"dns": "8.8.8.8"}, "dns is not a mapping"),
        ({"policy": {"output_rules": -1}}, "policy output_rules must be a count"),
        ({"policy": [1]}, "policy is not a mapping"),
        ({"probed": "no"}, "probed must be true or false"),
    ],
)
def test_hostile_results_are_rejected(change, message):
    with pytest.raises(ValueError, match=message):
        CHECK.normalize({**result(), **change})


def test_exposed_host_that_gets_out_is_critical():
    dns = {"server": "10.0.0.53", "name": "example.org", "answered": True, "error": None, "seconds": 0.01}
    findings, _b, _c = judge(result(), result([probe(connected=True), probe(port=80)], dns=dns))
    assert rules(findings) == [
        ("egress_reached", "critical", "anomaly", "dns 10.0.0.53"),
        ("egress_reached", "critical", "anomaly", "probe 203.0.113.10:443"),
    ]
    (reached,) = [f for f in findings if f["subject"].startswith("probe")]
    assert "target probe 203.0.113.10:443 (mirror) from 10.0.1.10" in reached["summary"]
    assert judge(result(), result([probe(connected=True)]), context_with(), host="web")[0] == []  # not exposed


def test_exposed_by_the_firewall_log_knob_too():
    context = context_with({"firewall_log": {"exposed": ["web"]}})
    findings, _b, _c = judge(result(), result([probe(connected=True)]), context)
    assert [f["rule"] for f in findings] == ["egress_reached"]


def test_output_policy_that_accepts_everything_is_medium_evidence():
    findings, _b, _c = judge(result(), result(output_policy="ACCEPT", output_rules=0))
    assert rules(findings) == [("output_accepts", "medium", "anomaly", "output policy")]
    assert "policy accept" in findings[0]["after"]["evidence"]
    assert judge(result(), result(output_policy="accept", output_rules=2))[0] == []  # rules filter it
    assert judge(result(), result(output_policy="accept", output_rules=0), context_with())[0] == []


def test_probe_blocked_then_connected_is_high():
    findings, _b, _c = judge(result([probe()]), result([probe(connected=True)]), context_with(), host="nas")
    assert rules(findings) == [("egress_opened", "high", "changed", "probe 203.0.113.10:443")]
    assert findings[0]["before"] == {"connected": False, "error": "timed out"}
    assert judge(result([probe(connected=True)]), result([probe(connected=True)]), context_with(), "nas")[0] == []
    assert judge(result(), result([probe(connected=True)]), context_with(), "nas")[0] == []  # a new target


def test_coverage_when_the_probe_failed():
    findings, _b, _c = judge(result(), result([probe()], probed=False), context_with(), "nas")
    assert rules(findings) == [("probe_failed", "medium", "coverage", "probes")]
    unresolved = probe("mirror.example", address=None, error="Name or service not known")
    findings, _b, _c = judge(result(), result([unresolved]), context_with(), "nas")
    assert rules(findings) == [("probe_failed", "medium", "coverage", "probe mirror.example:443")]
    targets = {
        "egress": {"egress_targets": [{"host": "203.0.113.10", "port": 443}, {"host": "198.51.100.1", "port": 25}]}
    }
    findings, _b, _c = judge(result(), result([probe()]), context_with(targets), "nas")
    assert rules(findings) == [("target_unprobed", "medium", "coverage", "probe 198.51.100.1:25")]


def test_accept_absorbs_an_opened_probe_only():
    findings, baseline, current = judge(result([probe()]), result([probe(connected=True)]), context_with(), "nas")
    baseline = CHECK.apply_accept(baseline, current, findings[0])
    assert CHECK.diff("nas", baseline, current, context_with()) == []
    reached, baseline, current = judge(result(), result([probe(connected=True)]))
    with pytest.raises(NotAbsorbable, match="cannot be absorbed"):
        CHECK.apply_accept(baseline, current, reached[0])
    with pytest.raises(NotAbsorbable, match="not in the observed data"):
        CHECK.apply_accept(baseline, CHECK.normalize(result()), {**findings[0]})


def test_egress_targets_knob_is_validated():
    parse_policy({"checks": {"egress": {"egress_targets": [{"host": "a", "port": 1, "name": "x"}]}}})
    with pytest.raises(PolicyError) as error:
        parse_policy({"checks": {"egress": {"egress_targets": [{"host": "a", "port": 70000}, "b"], "exposed": "web"}}})
    text = str(error.value)
    assert "checks.egress.egress_targets: [0].port must be a port number: 70000" in text
    assert "checks.egress.egress_targets: [1]: must be a mapping" in text
    assert "checks.egress.exposed: must be of the type" in text
