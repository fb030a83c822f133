# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The fleet engine: what no single host can see (silent hosts, outliers), and the fleet summary.

Used by both the ``fleet_diff`` callback and the ``fleet_summary`` action (the compare playbook's last play).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from ansible_collections.fleetwatch.audit.plugins.plugin_utils.checks import CHECKS, normalize_result
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.context import CheckContext
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.findings import (
    SEVERITIES,
    active,
    count_by_severity,
    make_finding,
    severity_at_least,
    sort_findings,
    utc_iso,
    worst_severity,
)

REPORT_SCHEMA = 1
FLEET_CHECK = "fleet"
ALL_GROUP = "all"
_NOT_PEER_GROUPS = ("all", "ungrouped")
MAX_NAMED_HOSTS = 10


def host_group(host: str, groups: Mapping[str, Iterable[str]]) -> str:
    """The peer group a host is compared with: its smallest inventory group other than ``all``/``ungrouped`` (ties
    by name), else ``all``. ``groups`` maps group name to member hosts, like Ansible's ``groups`` variable."""
    candidates = []
    for name, members in groups.items():
        members = list(members)
        if name not in _NOT_PEER_GROUPS and host in members:
            candidates.append((len(members), name))
    return min(candidates)[1] if candidates else ALL_GROUP


def _name_hosts(hosts: list[str]) -> str:
    named = ", ".join(hosts[:MAX_NAMED_HOSTS])
    more = len(hosts) - MAX_NAMED_HOSTS
    return f"{named} and {more} more" if more > 0 else named


def _usable(host_results: Mapping[str, dict]) -> dict:
    """``{check: {host: normalised data}}`` of every host whose gathered data of a check is usable."""
    usable: dict = defaultdict(dict)
    for host, result in sorted(host_results.items()):
        gathered = (result or {}).get("gathered")
        if not isinstance(gathered, dict):
            continue
        for name, module_result in gathered.items():
            normalized, error = normalize_result(name, module_result)
            if error is None:
                usable[name][host] = normalized
    return usable


def _observe(usable: Mapping[str, dict], host_groups: Mapping[str, str], context: CheckContext) -> dict:
    """``{(group, check): {host: [observations]}}`` from :func:`_usable` data."""
    observed: dict = defaultdict(dict)
    for name, per_host in usable.items():
        for host, data in per_host.items():
            group = host_groups.get(host, ALL_GROUP)
            observed[(group, name)][host] = list(CHECKS[name].fleet_observations(host, data, context))
    return observed


def _fleet_views(
    usable: Mapping[str, dict], host_results: Mapping[str, dict], context: CheckContext
) -> tuple[list[dict], dict]:
    """Each check's fleet-wide findings and report sections, over the hosts that gathered it."""
    findings, sections = [], {}
    context = context.for_fleet(usable)
    for name, per_host in sorted(usable.items()):
        compares = {host: (host_results.get(host) or {}).get("compare") for host in per_host}
        findings.extend(CHECKS[name].fleet_findings(per_host, context))
        sections.update(CHECKS[name].fleet_sections(per_host, compares, context))
    return findings, sections


def _outliers(group: str, check_name: str, by_host: dict, fleet_settings: dict) -> list[dict]:
    """High ``anomaly`` findings for observations held by a small minority of the group's hosts."""
    check = CHECKS[check_name]
    fraction, min_hosts = fleet_settings["outlier_max_fraction"], fleet_settings["outlier_min_hosts"]
    population = sorted(by_host)
    presence: dict = defaultdict(list)  # (kind, subject) -> hosts
    variants: dict = defaultdict(lambda: defaultdict(list))  # (kind, subject, qualifier) -> value -> hosts
    for host in population:
        for observation in set(by_host[host]):
            if len(observation) == 2:
                presence[observation].append(host)
            else:
                variants[observation[:3]][observation[3]].append(host)
    rare = []  # (observation, hosts having it, hosts compared)
    if len(population) >= min_hosts:
        rare.extend(
            (obs, hosts, len(population))
            for obs, hosts in presence.items()
            if len(hosts) <= fraction * len(population) and len(hosts) < len(population)
        )
    for key, values in variants.items():
        compared = sum(len(hosts) for hosts in values.values())
        if compared >= min_hosts and len(values) > 1:
            rare.extend(
                ((*key, value), hosts, compared) for value, hosts in values.items() if len(hosts) <= fraction * compared
            )
    findings = []
    for observation, hosts, compared in rare:
        hosts = sorted(hosts)
        differ = " (the others differ)" if len(observation) == 4 else ""
        summary = (
            f"{check.observation_text(observation)} on {len(hosts)} of {compared} hosts in group {group}"
            f"{differ}: {_name_hosts(hosts)}"
        )
        after = {
            "observation": list(observation),
            "group": group,
            "hosts": hosts,
            "count": len(hosts),
            "compared": compared,
        }
        findings.extend(
            make_finding(host, check_name, "anomaly", "high", observation[1], summary, after=after, rule="outlier")
            for host in hosts
        )
    return findings


def _honour_accepts(findings: list[dict], host_results: Mapping[str, dict]) -> list[dict]:
    """Suppress an outlier whose host has accepted a finding of the same check and subject: a human reviewed it."""
    for finding in findings:
        if finding["kind"] != "anomaly" or finding.get("suppressed"):
            continue
        compare = (host_results.get(finding["host"]) or {}).get("compare") or {}
        record = next(
            (
                a
                for a in reversed(compare.get("accepted") or [])
                if (a.get("check"), a.get("subject")) == (finding["check"], finding["subject"])
            ),
            None,
        )
        if record is not None:
            finding["suppressed"] = {
                "accepted": record.get("id"),
                "reason": record.get("reason"),
                "owner": record.get("who"),
                "when": record.get("when"),
            }
    return findings


# Compare statuses that audited the host; a snapshot or an accept writes a baseline without comparing.
COMPARED = ("compared", "no_baseline")
SILENT = ("unreachable", "failed", "skipped", "no result")


def _host_entry(host: str, result: dict | None, problem: dict | None, group: str) -> tuple[dict, list[dict]]:
    """A host's report entry and its findings: its compare's, or the coverage finding of a silent host."""
    compare = (result or {}).get("compare")
    entry = {"group": group, "status": "audited", "reason": None, "compare_status": None, "checks": {}, "inventory": {}}
    if isinstance(compare, dict) and isinstance(compare.get("findings"), list):
        status = compare.get("status")
        entry.update(
            compare_status=status, checks=compare.get("checks") or {}, inventory=compare.get("inventory") or {}
        )
        if status in COMPARED:
            return entry, list(compare["findings"])
        entry["status"] = status or "unknown"
        return entry, []
    status = (problem or {}).get("status") or "no result"
    reason = (problem or {}).get("msg") or (
        "the host reported no compare result" if status == "no result" else "no message"
    )
    entry.update(status=status, reason=reason)
    summary = f"{host} was not audited: {status} ({reason})"
    after = {"status": status}
    finding = make_finding(host, FLEET_CHECK, "coverage", "high", host, summary, after=after, rule="not_audited")
    return entry, [finding]


def analyze_fleet(
    host_results: Mapping[str, dict],
    host_groups: Mapping[str, str],
    expected_hosts: Iterable[str],
    problems: Mapping[str, dict],
    context: CheckContext,
    fail_on: str | None = None,
) -> dict:
    """The fleet report: every expected host's status and findings, fleet findings, groups, each check's fleet
    sections (``login_graph`` of sshd_auth) and a summary, judged with ``context`` (policy, inventory addresses, now).

    ``host_results`` maps host to ``{"compare": compare_host() result or None, "gathered": fleetwatch_results or
    None}``; ``host_groups`` maps host to its peer group (:func:`host_group`); ``problems`` maps host to
    ``{"status": "unreachable"|"failed"|"skipped", "msg": str}`` for hosts that went silent. Compare findings are
    taken as they are (already policy-applied); fleet findings get the policy here.
    """
    policy, now = context.policy, context.now
    fail_on = fail_on or policy.fail_on
    hosts = sorted(set(expected_hosts) | set(host_results))
    entries, host_findings, fleet_findings = {}, {}, []
    for host in hosts:
        group = host_groups.get(host, ALL_GROUP)
        entries[host], findings = _host_entry(host, host_results.get(host), problems.get(host), group)
        if entries[host]["status"] in SILENT:
            fleet_findings.extend(findings)
        else:
            host_findings[host] = findings
    groups: dict = {}
    usable = _usable(host_results)
    for (group, check_name), by_host in sorted(_observe(usable, host_groups, context).items()):
        fleet_findings.extend(_outliers(group, check_name, by_host, policy.fleet))
        groups.setdefault(group, {})[check_name] = sorted(by_host)
    check_findings, sections = _fleet_views(usable, host_results, context)
    fleet_findings.extend(check_findings)
    fleet_findings = sort_findings(_honour_accepts(policy.apply(fleet_findings, now.date()), host_results))
    for finding in fleet_findings:
        host_findings.setdefault(finding["host"], [])
        if all(f["id"] != finding["id"] for f in host_findings[finding["host"]]):
            host_findings[finding["host"]].append(finding)
    for host, entry in entries.items():
        findings = sort_findings(host_findings.get(host, []))
        entry.update(
            findings=findings,
            counts=count_by_severity(findings),
            worst_severity=worst_severity(findings),
            suppressed=sum(1 for f in findings if f.get("suppressed")),
        )
    summary = _summary(entries, fail_on)
    return {
        "schema": REPORT_SCHEMA,
        "generated": utc_iso(now),
        "policy": {"source": policy.source, "fail_on": fail_on, **policy.fleet},
        "summary": summary,
        "hosts": entries,
        "fleet_findings": fleet_findings,
        "groups": {
            group: {check: {"hosts": members, "outliers_analyzed": len(members) >= policy.fleet["outlier_min_hosts"]}}
            for group, by_check in groups.items()
            for check, members in by_check.items()
        },
        **sections,
    }


def _summary(entries: dict, fail_on: str) -> dict:
    every = [finding for entry in entries.values() for finding in entry["findings"]]
    audited = sorted(host for host, entry in entries.items() if entry["status"] == "audited")
    # Drifting: any finding not suppressed above info (info is an expected change such as a package upgrade).
    drifting = [host for host in audited if any(f["severity"] != "info" for f in active(entries[host]["findings"]))]
    summary = {
        "hosts": len(entries),
        "audited": len(audited),
        "not_audited": sorted(host for host, entry in entries.items() if entry["status"] in SILENT),
        # Hosts whose baseline was written (snapshot, accept) rather than compared in this run.
        "baselined": sorted(host for host, entry in entries.items() if entry["status"] not in (*SILENT, "audited")),
        "drifting": drifting,
        "clean": [host for host in audited if host not in drifting],
        "counts": count_by_severity(every),
        "suppressed": sum(1 for f in every if f.get("suppressed")),
        "worst_severity": worst_severity(every),
        "fail_on": fail_on,
    }
    summary["fail"] = _fail_message(summary) if fleet_fails(summary, fail_on) else None
    return summary


def _fail_message(summary: dict) -> str:
    counts = ", ".join(f"{summary['counts'][s]} {s}" for s in SEVERITIES if summary["counts"][s])
    parts = [f"the fleet reaches fail_on {summary['fail_on']}: {counts} finding(s) not suppressed"]
    if summary["drifting"]:
        parts.append(f"drifting: {_name_hosts(summary['drifting'])}")
    if summary["not_audited"]:
        parts.append(f"not audited: {_name_hosts(summary['not_audited'])}")
    return "; ".join(parts)


def fleet_fails(summary: dict, fail_on: str) -> bool:
    """True when the worst unsuppressed finding of the fleet reaches ``fail_on`` (never with ``never``)."""
    worst = summary.get("worst_severity")
    return worst is not None and severity_at_least(worst, fail_on)
