"""The firewall_log check: what a compare reports from firewall_log_info results (the shape of /work/fw-contract.md)."""

from __future__ import annotations

import copy
from datetime import datetime, timezone

import pytest

from ansible_collections.fleetwatch.audit.plugins.plugin_utils.checks import CHECKS, NotAbsorbable
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.compare import compare_host
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.context import CheckContext
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.errors import PolicyError
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.fleet import analyze_fleet
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.policy import Policy, parse_policy
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.report import render_markdown

NOW = datetime(2026, 12, 4, 3, 0, tzinfo=timezone.utc)
CHECK = CHECKS["firewall_log"]
# A small network: a bastion, a NAS, a mail relay, a DMZ web server, and a gateway that logs what it forwards.
ADDRESSES = {
    "bastion": ["10.0.0.2"],
    "nas": ["10.0.0.3"],
    "relay": ["10.0.0.4"],
    "web": ["10.0.1.10"],
    "gw": ["10.0.0.1"],
}
GROUPS = {"storage": ["nas"], "dmz": ["web"]}


def flow(src, dst, dport, direction="out", proto="TCP", count=3, hours=None, first="2026-12-03T01:02:03Z"):
    return {
        "direction": direction,
        "src": src,
        "dst": dst,
        "proto": proto,
        "dport": dport,
        "icmp_type": None,
        "prefix": "FW ",
        "action": None,
        "in_iface": "",
        "out_iface": "eth0",
        "count": count,
        "syn": count,
        "first_seen": first,
        "last_seen": "2026-12-03T01:09:00Z",
        "hours": hours or [0] * 12 + [count] + [0] * 11,  # at noon unless told
    }


def at(hour, count=3):
    hours = [0] * 24
    hours[hour] = count
    return hours


def result(flows=(), addresses=(), dns=0, since="2026-11-27T03:00:00Z", collected="2026-12-04T03:00:00Z"):
    ports = {port: {"count": 0, "flows": 0, "first_seen": None, "last_seen": None} for port in ("53", "853", "25")}
    ports["53"] = {"count": dns, "flows": 1, "first_seen": "2026-12-03T02:00:00Z", "last_seen": None}
    return {
        "changed": False,
        "root": "/",
        "timezone": "Europe/Berlin",
        "since": since,
        "until": None,
        "collected_at": collected,
        "discovered": True,
        "internal_networks": ["10.0.0.0/8"],
        "flows": list(flows),
        "ports": ports,
        "addresses": [
            {
                "address": a,
                "count": 7,
                "first_seen": "2026-12-03T00:00:00Z",
                "last_seen": None,
                "as_src": 7,
                "as_dst": 0,
            }
            for a in addresses
        ],
        "totals": {"lines": 100, "netfilter_lines": 50, "malformed": 0, "flows": len(flows), "unlisted_flows": 0},
        "malformed_samples": [],
        "sources": [{"name": "/var/log/kern.log", "error": None, "lines": 100}],
    }


def context_with(addresses=None, groups=None, **knobs):
    policy = parse_policy({"checks": {"firewall_log": knobs}}) if knobs else Policy()
    return CheckContext(
        policy, ADDRESSES if addresses is None else addresses, NOW, GROUPS if groups is None else groups
    )


def judge(baseline_result, current_result, context=None, host="nas"):
    baseline = CHECK.normalize(baseline_result)
    current = CHECK.normalize(current_result)
    return CHECK.diff(host, baseline, current, context or context_with()), baseline, current


def rules(findings):
    return sorted((f["rule"], f["severity"], f["subject"]) for f in findings)


def test_normalize_merges_prefixes_and_drops_run_noise():
    data = CHECK.normalize(result([flow("10.0.0.3", "203.0.113.9", 443), flow("10.0.0.3", "203.0.113.9", 443)]))
    (key,) = data["flows"]
    assert key == "out TCP 10.0.0.3 -> 203.0.113.9:443"
    assert data["flows"][key]["count"] == 6 and data["flows"][key]["hours"][12] == 6
    assert "malformed_samples" not in data and "lines" not in data["totals"]
    assert data["dns"] == {"count": 0, "per_day": 0.0, "first_seen": "2026-12-03T02:00:00Z"}
    assert CHECK.inventory(data) == "1 flows (0 not outgoing, 6 packets), 0 internal addresses, 0 DNS queries"


@pytest.mark.parametrize(
    "change, message",
    [
        ({"flows": None}, "no 'flows' list"),
        ({"flows": ["x"]}, "flow entry is not a mapping"),
        ({"flows": [{**flow("10.0.0.3", "1.2.3.4", 1), "direction": "sideways"}]}, "flow direction"),
        ({"flows": [flow("10.0.0.3'; rm -rf /", "1.2.3.4", 1)]}, "flow src is not an IP address"),
        ({"flows": [flow("10.0.0.3", "1.2.3.4", 70000)]}, "flow dport must be a port"),
        ({"flows": [flow("10.0.0.3", "1.2.3.4", 1, count=-1)]}, "flow count must be a count"),
        ({"flows": [flow("10.0.0.3", "1.2.3.4", 1, hours=[1] * 23)]}, "24 counts"),
        ({"addresses": [{"address": "10.0.0.999", "count": 1}]}, "address is not an IP"),
        ({"ports": {"53": {"count": "many"}}}, r"ports\[53\].count"),
        ({"totals": [1]}, "'totals' must be a mapping"),
    ],
)
def test_hostile_results_are_rejected(change, message):
    with pytest.raises(ValueError, match=message):
        CHECK.normalize({**result(), **change})


def test_unchanged_host_is_clean():
    flows = [flow("10.0.0.2", "10.0.0.3", 22, "in"), flow("10.0.0.3", "203.0.113.9", 443, hours=at(2))]
    findings, _b, _c = judge(result(flows, ["10.0.0.2"], dns=70), result(flows, ["10.0.0.2"], dns=70))
    assert findings == []


def test_internal_ssh_high_and_critical_from_a_host_that_only_receives():
    baseline = result([flow("10.0.0.2", "10.0.0.3", 22, "in")])  # the bastion logs into the NAS
    current = result(
        [
            flow("10.0.0.2", "10.0.0.3", 22, "in"),
            flow("10.0.0.3", "10.0.0.4", 22, "out"),  # the NAS opens SSH: it only ever received it
            flow("10.0.0.2", "10.0.0.4", 22, "forward"),  # new, from the bastion (which opened SSH before)
        ]
    )
    findings, _b, _c = judge(baseline, current)
    assert rules(findings) == [
        ("internal_ssh", "critical", "internal_ssh out TCP 10.0.0.3 -> 10.0.0.4:22"),
        ("internal_ssh", "high", "internal_ssh forward TCP 10.0.0.2 -> 10.0.0.4:22"),
    ]
    (critical,) = [f for f in findings if f["severity"] == "critical"]
    assert critical["since"] == "2026-12-03T01:02:03Z" and "only received SSH" in critical["summary"]
    assert critical["after"]["origin"] == "nas" and critical["kind"] == "anomaly"
    jumped, _b, _c = judge(baseline, current, context_with(ssh_jump_hosts=["nas"]))
    assert [f["severity"] for f in jumped] == ["high", "high"]  # a jump host: new SSH, not a bounce


def test_ssh_to_the_outside_is_not_internal_ssh():
    findings, _b, _c = judge(result(), result([flow("10.0.0.3", "203.0.113.9", 22)]))
    assert findings == []


def test_smtp_out_from_a_host_that_is_not_a_relay():
    current = result(
        [
            flow("10.0.0.3", "198.51.100.7", 587, "forward"),  # the NAS mails out, through the gateway
            flow("10.0.0.4", "198.51.100.7", 25, "forward"),  # the relay, through the gateway
            flow("10.0.0.3", "10.0.0.4", 25, "forward"),  # the NAS mails through the relay: fine
        ]
    )
    findings, _b, _c = judge(result(), current, context_with(mail_relays=["relay"]), host="gw")
    assert rules(findings) == [
        ("internal_flow", "info", "internal_flow forward TCP 10.0.0.3 -> 10.0.0.4:25"),
        ("smtp_out", "high", "smtp_out forward TCP 10.0.0.3 -> 198.51.100.7:587"),
    ]
    (smtp,) = [f for f in findings if f["rule"] == "smtp_out"]
    assert smtp["after"]["origin"] == "nas" and "from nas" in smtp["summary"]
    findings, _b, _c = judge(result(), current, context_with(mail_relays=["relay", "10.0.0.3"]), host="gw")
    assert [f["rule"] for f in findings] == ["internal_flow"]
    own, _b, _c = judge(result(), result([flow("10.0.0.3", "198.51.100.7", 25)]), context_with(mail_relays=["relay"]))
    assert rules(own) == [("smtp_out", "high", "smtp_out out TCP 10.0.0.3 -> 198.51.100.7:25")]


def test_quiet_hours_by_group_with_named_exceptions():
    quiet = {"storage": {"hours": "22-06", "except": [{"dst": "203.0.113.0/24", "port": 443}]}}
    current = result(
        [
            flow("10.0.0.3", "198.51.100.20", 443, hours=at(3, 5)),  # out at 03:00: flagged
            flow("10.0.0.3", "203.0.113.10", 443, hours=at(3)),  # the mirror: a named exception
            flow("10.0.0.3", "203.0.113.10", 80, hours=at(23)),  # the mirror, another port: flagged
            flow("10.0.0.3", "198.51.100.21", 443, hours=at(6)),  # 06:00 is past the quiet hours
            flow("10.0.0.3", "10.0.0.4", 25, hours=at(3)),  # internal: not outgoing
        ]
    )
    findings, _b, _c = judge(result(), current, context_with(quiet_hours=quiet))
    assert rules(findings) == [
        ("internal_flow", "info", "internal_flow out TCP 10.0.0.3 -> 10.0.0.4:25"),
        ("quiet_hours", "high", "quiet_hours out TCP 10.0.0.3 -> 198.51.100.20:443"),
        ("quiet_hours", "high", "quiet_hours out TCP 10.0.0.3 -> 203.0.113.10:80"),
    ]
    findings = [f for f in findings if f["rule"] == "quiet_hours"]
    assert "5 packets to 198.51.100.20 port 443 during the quiet hours 22-06" in findings[0]["summary"]
    assert findings[0]["after"]["quiet_count"] == 5
    web, _b, _c = judge(result(), current, context_with(quiet_hours=quiet), host="web")
    assert [f["rule"] for f in web] == ["internal_flow"]  # "out" on the web server: its own, in no quiet group
    night = result([flow("10.0.1.10", "198.51.100.20", 443, hours=at(3))])
    assert judge(result(), night, context_with(quiet_hours=quiet), "web")[0] == []  # the web server: no quiet group


def test_exposed_host_connecting_out():
    current = result([flow("10.0.1.10", "198.51.100.20", 443), flow("10.0.1.10", "10.0.0.3", 445)])
    findings, _b, _c = judge(result(), current, context_with(exposed=["dmz"]), host="web")
    assert rules(findings) == [
        ("exposed_outbound", "high", "exposed_outbound out TCP 10.0.1.10 -> 198.51.100.20:443"),
        ("internal_flow", "info", "internal_flow out TCP 10.0.1.10 -> 10.0.0.3:445"),
    ]
    assert [f["rule"] for f in judge(result(), current, context_with(), host="web")[0]] == ["internal_flow"]


def test_dns_started_and_jump():
    findings, _b, _c = judge(result(dns=0), result(dns=40))
    assert rules(findings) == [("dns_started", "high", "dns")]
    assert findings[0]["since"] == "2026-12-03T02:00:00Z"
    findings, _b, _c = judge(result(dns=70), result(dns=400))  # 10 a day -> 57 a day, factor 5
    assert rules(findings) == [("dns_jump", "medium", "dns")]
    assert judge(result(dns=70), result(dns=300))[0] == []  # under 5 times
    assert judge(result(dns=70), result(dns=300), context_with(dns_jump=4.0))[0] != []
    assert judge(result(dns=0), result(dns=9))[0] == []  # too few to judge
    assert judge(result(dns=0), result(dns=40), context_with(dns_resolvers=["10.0.0.3"]))[0] == []


def test_unknown_internal_addresses():
    current = result(addresses=["10.0.0.3", "10.0.0.77", "10.0.0.2"])
    findings, _b, _c = judge(result(addresses=["10.0.0.3"]), current)
    assert rules(findings) == [("unknown_address", "high", "address 10.0.0.77")]
    assert findings[0]["since"] == "2026-12-03T00:00:00Z"
    assert judge(result(addresses=["10.0.0.77"]), current)[0] == []  # in the baseline
    assert judge(result(), current, context_with(addresses={}))[0] == []  # no inventory addresses: not judged


def test_accept_absorbs_each_rule():
    quiet = {"all": {"hours": "00-05"}}
    context = context_with(quiet_hours=quiet, exposed=["nas"])
    baseline_result = result([flow("10.0.0.2", "10.0.0.3", 22, "in")], dns=0)
    current_result = result(
        [
            flow("10.0.0.2", "10.0.0.3", 22, "in"),
            flow("10.0.0.3", "10.0.0.4", 22),
            flow("10.0.0.3", "198.51.100.7", 25, hours=at(1)),
        ],
        ["10.0.0.77"],
        dns=50,
    )
    findings, baseline, current = judge(baseline_result, current_result, context)
    assert {f["rule"] for f in findings} == {
        "internal_ssh",
        "smtp_out",
        "quiet_hours",
        "exposed_outbound",
        "dns_started",
        "unknown_address",
    }
    for finding in findings:
        baseline = CHECK.apply_accept(baseline, current, finding)
    assert CHECK.diff("nas", baseline, current, context) == []
    with pytest.raises(NotAbsorbable):
        CHECK.apply_accept(baseline, CHECK.normalize(result()), findings[0])
    with pytest.raises(NotAbsorbable):
        CHECK.apply_accept(baseline, current, {**findings[0], "rule": "bogus"})


def test_quiet_hours_knob_is_validated():
    parse_policy({"checks": {"firewall_log": {"quiet_hours": {"all": {"hours": "22-06"}}}}})
    with pytest.raises(PolicyError) as error:
        parse_policy(
            {
                "checks": {
                    "firewall_log": {
                        "quiet_hours": {"all": {"hours": "25-3"}, "nas": {"hours": "1-2", "except": [{"dst": "x"}]}},
                        "mail_relays": "relay",
                        "dns_jump": "five",
                    }
                }
            }
        )
    text = str(error.value)
    assert "checks.firewall_log.quiet_hours: all.hours: hours must be 'HH-HH'" in text
    assert "nas.except[0]: dst: not a CIDR network" in text
    assert "checks.firewall_log.mail_relays: must be of the type" in text
    assert "checks.firewall_log.dns_jump: must be of the type" in text


def test_baseline_is_not_mutated_by_accept():
    findings, baseline, current = judge(result(), result(addresses=["10.0.0.77"]))
    kept = copy.deepcopy(baseline)
    CHECK.apply_accept(baseline, current, findings[0])
    assert baseline == kept


def test_a_gateway_log_is_judged_with_the_policy_of_the_host_that_sent_the_traffic():
    quiet = {"storage": {"hours": "22-06"}}
    night = result([flow("10.0.0.3", "198.51.100.20", 443, "forward", hours=at(3))])  # the NAS, in gw's log
    findings, _b, _c = judge(result(), night, context_with(quiet_hours=quiet), host="gw")
    assert rules(findings) == [("quiet_hours", "high", "quiet_hours forward TCP 10.0.0.3 -> 198.51.100.20:443")]
    assert findings[0]["host"] == "gw" and findings[0]["after"]["origin"] == "nas"
    assert "gw: 3 packets" in findings[0]["summary"] and "from nas:" in findings[0]["summary"]


# ---------------------------------------------------------------------------------------------- fleet


def test_flow_matrix_counts_a_flow_once_wherever_it_was_logged():
    context = context_with()
    gathered = {
        "nas": {"firewall_log": result([flow("10.0.0.3", "10.0.0.4", 25, count=4)])},
        "gw": {
            "firewall_log": result(
                [
                    flow("10.0.0.3", "10.0.0.4", 25, "forward", count=5),  # the same flow, seen by the gateway
                    flow("10.0.0.2", "10.0.0.3", 22, "forward", count=2),  # the bastion to the NAS, in the baseline
                    flow("10.0.0.3", "198.51.100.7", 443, "forward"),  # outside: not in the matrix
                    flow("10.0.0.99", "10.0.0.3", 445, "forward"),  # no inventory host: not in the matrix
                ]
            )
        },
    }
    baselines = {
        "nas": {"checks": {"firewall_log": CHECK.normalize(result())}, "accepted": []},
        "gw": {"checks": {"firewall_log": CHECK.normalize(result([flow("10.0.0.2", "10.0.0.3", 22, "forward")]))}},
    }
    host_results = {
        host: {"compare": compare_host(host, baselines[host], gathered[host], context), "gathered": gathered[host]}
        for host in gathered
    }
    matrix = analyze_fleet(host_results, {}, list(gathered), {}, context)["flow_matrix"]
    assert [(e["from"], e["to"], e["dport"], e["count"], e["seen_in"], e["new"]) for e in matrix["edges"]] == [
        ("bastion", "nas", 22, 2, ["gw"], False),
        ("nas", "relay", 25, 5, ["gw", "nas"], True),
    ]
    assert [e["dport"] for e in matrix["new_edges"]] == [25]
    markdown = render_markdown(analyze_fleet(host_results, {}, list(gathered), {}, context))
    assert "## Internal flows: new edges" in markdown and "1 new of 2 internal flow edges." in markdown
    assert "| nas | relay | TCP | 25 | 5 | gw, nas |" in markdown
    assert CHECK.fleet_sections({}, {}, context) == {"flow_matrix": {"edges": [], "new_edges": []}}


def test_fleet_unknown_addresses_from_firewall_and_sshd_logs():
    sshd = CHECKS["sshd_auth"]
    failure = {"source": "10.0.0.88", "user": "root", "kind": "failed_password", "count": 2, "first_seen": None}
    login = {
        "user": "ops",
        "source": "10.0.0.77",
        "method": "publickey",
        "count": 1,
        "first_seen": "2026-12-02T00:00:00Z",
    }
    outside = {**failure, "source": "203.0.113.5"}
    sshd_result = {"failures": [failure, outside], "accepted": [login], "local_users": ["root"], "sources": []}
    gathered = {
        "gw": {"firewall_log": result(addresses=["10.0.0.3", "10.0.0.77"])},
        "nas": {"firewall_log": result(), "sshd_auth": sshd_result},
    }
    context = context_with()
    host_results = {host: {"compare": None, "gathered": data} for host, data in gathered.items()}
    report = analyze_fleet(host_results, {}, list(gathered), {}, context)
    findings = [f for f in report["fleet_findings"] if f["rule"] == "fleet_unknown_address"]
    assert [(f["host"], f["severity"], f["subject"], f["after"]["seen_in"]) for f in findings] == [
        ("gw", "medium", "address 10.0.0.77", ["gw's firewall log", "nas's sshd log"]),
        ("nas", "medium", "address 10.0.0.88", ["nas's sshd log"]),
    ]
    assert findings[0]["after"]["count"] == 8 and findings[0]["since"] == "2026-12-02T00:00:00Z"
    assert sshd.normalize(sshd_result)  # the sshd data used is a valid sshd_auth result
    assert CHECK.fleet_findings({}, context_with(addresses={})) == []  # no inventory addresses: not judged


def test_quiet_hours_of_a_flow_the_baseline_had_by_day():
    quiet = {"all": {"hours": "22-06"}}
    by_day = result([flow("10.0.0.3", "198.51.100.20", 443, hours=at(12))])
    at_night = result([flow("10.0.0.3", "198.51.100.20", 443, hours=[*at(12, 2)[:22], 1, 0])])
    findings, _b, _c = judge(by_day, at_night, context_with(quiet_hours=quiet))
    assert rules(findings) == [("quiet_hours", "high", "quiet_hours out TCP 10.0.0.3 -> 198.51.100.20:443")]
    assert "1 packets" in findings[0]["summary"] and "the baseline had none of it then" in findings[0]["summary"]
    assert judge(at_night, at_night, context_with(quiet_hours=quiet))[0] == []
