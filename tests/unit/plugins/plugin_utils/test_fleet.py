from __future__ import annotations

from plugin_utils_data import NOW, SHA_EVIL, SHA_SU, setuid_file, setuid_result, with_file

from ansible_collections.fleetwatch.audit.plugins.plugin_utils.baselines import new_baseline
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.checks import CHECKS, Check
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.compare import compare_host
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.context import CheckContext
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.findings import make_finding
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.fleet import analyze_fleet, fleet_fails, host_group
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.policy import parse_policy

WEB = [f"web{i}" for i in range(1, 7)]
GROUPS = {
    "all": [*WEB, "db1", "db2"],
    "ungrouped": [],
    "web": WEB,
    "datacenter": [*WEB, "db1", "db2"],
    "db": ["db1", "db2"],
}


def host_result(host, gathered, baseline_gathered=None):
    baseline = new_baseline(host, baseline_gathered or gathered, NOW)[0]
    return {"compare": compare_host(host, baseline, gathered, CheckContext(now=NOW)), "gathered": gathered}


def fleet(results, expected=None, problems=None, policy=None, host_groups=None):
    groups = host_groups or {h: host_group(h, GROUPS) for h in results}
    return analyze_fleet(results, groups, expected or list(results), problems or {}, CheckContext(policy, now=NOW))


def test_host_group_is_the_most_specific():
    assert host_group("web1", GROUPS) == "web"
    assert host_group("db1", GROUPS) == "db"
    assert host_group("lonely", GROUPS) == "all"
    assert host_group("x", {"all": ["x"], "ungrouped": ["x"]}) == "all"
    assert host_group("x", {"b": ["x", "y"], "a": ["x", "z"]}) == "a"


def test_clean_fleet():
    report = fleet({h: host_result(h, {"setuid": setuid_result()}) for h in WEB})
    summary = report["summary"]
    assert summary["hosts"] == 6 and summary["audited"] == 6
    assert summary["clean"] == WEB and summary["drifting"] == [] and summary["not_audited"] == []
    assert summary["worst_severity"] is None and summary["fail"] is None
    assert report["fleet_findings"] == []
    assert report["groups"] == {"web": {"setuid": {"hosts": WEB, "outliers_analyzed": True}}}


def test_silent_hosts_are_findings():
    results = {h: host_result(h, {"setuid": setuid_result()}) for h in WEB[:4]}
    results["web5"] = {"compare": None, "gathered": None}
    problems = {"web6": {"status": "unreachable", "msg": "ssh: connect to host web6 port 22: Connection timed out"}}
    report = fleet(results, expected=WEB, problems=problems)
    coverage = {f["host"]: f for f in report["fleet_findings"] if f["kind"] == "coverage"}
    assert set(coverage) == {"web5", "web6"}
    assert coverage["web6"]["severity"] == "high"
    assert coverage["web6"]["summary"] == (
        "web6 was not audited: unreachable (ssh: connect to host web6 port 22: Connection timed out)"
    )
    assert coverage["web5"]["summary"] == "web5 was not audited: no result (the host reported no compare result)"
    assert report["hosts"]["web6"]["status"] == "unreachable"
    assert report["summary"]["not_audited"] == ["web5", "web6"]
    assert report["summary"]["clean"] == WEB[:4]
    assert report["summary"]["worst_severity"] == "high"
    assert fleet_fails(report["summary"], "high") and not fleet_fails(report["summary"], "critical")
    assert report["summary"]["fail"].startswith("the fleet reaches fail_on high: 2 high finding(s) not suppressed")


def test_path_outlier_in_a_group_of_six():
    gathered = {h: {"setuid": setuid_result()} for h in WEB}
    rogue = setuid_file("/usr/local/bin/x", package=None)
    gathered["web3"] = {"setuid": with_file(setuid_result(), rogue)}
    # web3's baseline was taken after the compromise: only the fleet view can see it
    results = {h: host_result(h, g) for h, g in gathered.items()}
    report = fleet(results)
    [outlier] = report["fleet_findings"]
    assert (outlier["host"], outlier["check"], outlier["kind"], outlier["severity"]) == (
        "web3",
        "setuid",
        "anomaly",
        "high",
    )
    assert (
        outlier["summary"]
        == "/usr/local/bin/x is setuid/setgid or capability-bearing on 1 of 6 hosts in group web: web3"
    )
    assert outlier["after"]["hosts"] == ["web3"] and outlier["after"]["compared"] == 6
    assert report["summary"]["drifting"] == ["web3"]
    assert report["hosts"]["web3"]["findings"] == [outlier]


def test_outlier_of_an_accepted_subject_is_listed_but_suppressed():
    gathered = {h: {"setuid": setuid_result()} for h in WEB}
    rogue = setuid_file("/usr/local/bin/x", package=None)
    gathered["web3"] = {"setuid": with_file(setuid_result(), rogue)}
    results = {h: host_result(h, g) for h, g in gathered.items()}
    record = {"id": "abc123abc123", "check": "setuid", "subject": "/usr/local/bin/x", "reason": "CHG-1", "who": "ann"}
    results["web3"]["compare"]["accepted"] = [{**record, "when": "2026-11-01T00:00:00Z"}]
    report = fleet(results)
    [outlier] = report["fleet_findings"]
    assert outlier["suppressed"] == {
        "accepted": "abc123abc123",
        "reason": "CHG-1",
        "owner": "ann",
        "when": "2026-11-01T00:00:00Z",
    }
    assert report["summary"]["drifting"] == [] and report["summary"]["suppressed"] == 1
    # An accept of another path on the same host does not hide it.
    results["web3"]["compare"]["accepted"] = [{**record, "subject": "/usr/bin/other"}]
    assert fleet(results)["fleet_findings"][0]["suppressed"] is None


def test_digest_outlier_for_the_same_package():
    gathered = {h: {"setuid": setuid_result()} for h in WEB}
    gathered["web5"] = {"setuid": with_file(setuid_result(), setuid_file("/usr/bin/su", sha256=SHA_EVIL))}
    report = fleet({h: {"compare": None, "gathered": g} for h, g in gathered.items()}, problems={})
    outliers = [f for f in report["fleet_findings"] if f["kind"] == "anomaly"]
    assert len(outliers) == 1
    assert outliers[0]["host"] == "web5"
    assert outliers[0]["summary"] == (
        "/usr/bin/su (package util-linux) has sha256 deadbeefdead… "
        "on 1 of 6 hosts in group web (the others differ): web5"
    )
    assert outliers[0]["after"]["observation"] == ["setuid-digest", "/usr/bin/su", "util-linux", SHA_EVIL]
    assert SHA_SU not in outliers[0]["summary"]


def test_no_outliers_below_min_hosts_or_above_fraction():
    small = {h: {"compare": None, "gathered": {"setuid": setuid_result()}} for h in WEB[:4]}
    small["web1"]["gathered"] = {"setuid": with_file(setuid_result(), setuid_file("/opt/x", package=None))}
    report = fleet(small)
    assert [f for f in report["fleet_findings"] if f["kind"] == "anomaly"] == []
    assert report["groups"]["web"]["setuid"]["outliers_analyzed"] is False
    # two of six (0.33) is above the default 0.2 fraction
    six = {h: {"compare": None, "gathered": {"setuid": setuid_result()}} for h in WEB}
    for h in ("web1", "web2"):
        six[h]["gathered"] = {"setuid": with_file(setuid_result(), setuid_file("/opt/x", package=None))}
    assert [f for f in fleet(six)["fleet_findings"] if f["kind"] == "anomaly"] == []
    loose = parse_policy({"fleet": {"outlier_max_fraction": 0.4}})
    found = [f for f in fleet(six, policy=loose)["fleet_findings"] if f["kind"] == "anomaly"]
    assert [f["host"] for f in found] == ["web1", "web2"]
    assert found[0]["summary"].endswith("on 2 of 6 hosts in group web: web1, web2")


def test_groups_are_compared_separately_and_failed_gatherers_do_not_count():
    gathered = {h: {"setuid": setuid_result()} for h in WEB}
    gathered.update(
        {f"db{i}": {"setuid": with_file(setuid_result(), setuid_file("/opt/db", package=None))} for i in (1, 2)}
    )
    gathered["web6"] = {"setuid": {"failed": True, "msg": "timeout"}}
    results = {h: {"compare": None, "gathered": g} for h, g in gathered.items()}
    report = fleet(results)
    assert [f for f in report["fleet_findings"] if f["kind"] == "anomaly"] == []
    assert report["groups"]["web"]["setuid"]["hosts"] == WEB[:5]


def test_fleet_findings_get_the_policy():
    gathered = {h: {"setuid": setuid_result()} for h in WEB}
    gathered["web3"] = {"setuid": with_file(setuid_result(), setuid_file("/usr/local/bin/x", package=None))}
    rule = {"match": "kind == 'anomaly' && host == 'web3'", "reason": "canary", "owner": "ops", "expires": "2026-12-31"}
    report = fleet({h: host_result(h, g) for h, g in gathered.items()}, policy=parse_policy({"allow": [rule]}))
    assert report["fleet_findings"][0]["suppressed"]["reason"] == "canary"
    assert report["summary"]["clean"] == WEB
    assert report["summary"]["suppressed"] == 1 and report["summary"]["worst_severity"] is None


def test_snapshot_hosts_are_neither_silent_nor_compared():
    snap = {"compare": {"status": "snapshot", "findings": [], "checks": {}}, "gathered": None}
    report = fleet({"web1": snap})
    assert report["hosts"]["web1"]["status"] == "snapshot"
    assert report["summary"]["baselined"] == ["web1"] and report["summary"]["not_audited"] == []
    assert report["fleet_findings"] == []


class FleetOnlyCheck(Check):
    """A check whose whole judgement is fleet-wide: proves analyze_fleet asks every check of the registry."""

    name = module = "fleet_only"

    def normalize(self, result):
        return {"value": result["value"]}

    def fleet_observations(self, host, current, context):
        return ()

    def fleet_findings(self, per_host, context):
        summary = f"values differ across {len(per_host)} hosts"
        return [make_finding(min(per_host), self.name, "anomaly", "low", "value", summary, rule="values_differ")]

    def fleet_sections(self, per_host, compares, context):
        return {"fleet_only_values": {host: data["value"] for host, data in per_host.items()}}


def test_fleet_findings_and_sections_of_every_registered_check(monkeypatch):
    monkeypatch.setitem(CHECKS, FleetOnlyCheck.name, FleetOnlyCheck())
    results = {host: {"compare": None, "gathered": {"fleet_only": {"value": n}}} for n, host in enumerate(["a", "b"])}
    report = fleet(results, expected=["a", "b"])
    (finding,) = [f for f in report["fleet_findings"] if f["check"] == "fleet_only"]
    assert (finding["host"], finding["rule"], finding["summary"]) == (
        "a",
        "values_differ",
        "values differ across 2 hosts",
    )
    assert report["fleet_only_values"] == {"a": 0, "b": 1}
    assert "login_graph" not in report  # no host gathered sshd_auth: that check adds no section
