# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The ``firewall_log`` check: who talks to whom, and when, from the flows ``firewall_log_info`` read in netfilter logs.

A flow is judged as the traffic of the inventory host whose address is its source (an ``out`` flow: the host that
logged it), wherever it was logged: a gateway's log audits the hosts behind it. Every rule is in docs/findings.md;
the policy keys (mail relays, quiet hours, exposed hosts, ...) in docs/policy.md.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping

from ansible_collections.fleetwatch.audit.plugins.plugin_utils.addresses import is_internal, normal
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.checks.base import (
    Check,
    NoFleetObservations,
    NotAbsorbable,
)
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.checks.firewall_data import (
    SMTP_PORTS,
    SSH_PORT,
    excepted,
    normalize_firewall_log,
    quiet_hour_set,
    quiet_hours_problems,
)
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.checks.firewall_fleet import flow_matrix
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.findings import make_finding

# Rules of the findings (docs/findings.md); apply_accept decides by them.
INTERNAL_SSH, SMTP_OUT, QUIET_HOURS, EXPOSED_OUTBOUND = "internal_ssh", "smtp_out", "quiet_hours", "exposed_outbound"
DNS_JUMP, DNS_STARTED, UNKNOWN_ADDRESS = "dns_jump", "dns_started", "unknown_address"
FLEET_UNKNOWN_ADDRESS = "fleet_unknown_address"
INTERNAL_FLOW = "internal_flow"
FLOW_RULES = (INTERNAL_SSH, INTERNAL_FLOW, SMTP_OUT, QUIET_HOURS, EXPOSED_OUTBOUND)
DNS_MIN_QUERIES = 10  # fewer queries in a run are never a DNS finding
DNS_NEAR_ZERO_PER_DAY = 1.0  # a baseline below this many queries a day "never resolves"


class FirewallLogCheck(NoFleetObservations, Check):
    """Internal SSH, mail and night traffic, DNS volume and unknown local addresses from firewall logs."""

    name = "firewall_log"
    module = "firewall_log_info"
    knobs = {
        "mail_relays": [],
        "dns_resolvers": [],
        "quiet_hours": {},
        "exposed": [],
        "ssh_jump_hosts": [],
        "dns_jump": 5.0,
    }
    knob_validators = {"quiet_hours": quiet_hours_problems}

    def normalize(self, result: dict) -> dict:
        return normalize_firewall_log(result)

    def inventory(self, current: dict) -> str:
        flows = current["flows"].values()
        internal = sum(1 for flow in flows if flow["direction"] != "out")
        return (
            f"{len(current['flows']):,} flows ({internal:,} not outgoing, {sum(f['count'] for f in flows):,} packets), "
            f"{len(current['addresses']):,} internal addresses, {current['dns']['count']:,} DNS queries"
        )

    # -- whose flow ---------------------------------------------------------------------------------------

    def _origin(self, host: str, flow: dict, context) -> str | None:
        """The inventory host that sent ``flow``: the logging host for ``out``, else the host with its source."""
        if flow["direction"] == "out":
            return host
        hosts = context.address_hosts.get(flow["src"])
        return hosts[0] if hosts else None

    def _outgoing(self, host: str, flow: dict, context) -> str | None:
        """The inventory host that sent ``flow`` to an address outside the internal networks, or ``None``."""
        if is_internal(flow["dst"], context.internal_networks, context.address_hosts):
            return None
        return self._origin(host, flow, context)

    # -- judgement ----------------------------------------------------------------------------------------

    def diff(self, host: str, baseline: dict, current: dict, context) -> list[dict]:
        findings = []
        old = baseline.get("flows") or {}
        ssh = _ssh_roles(old.values())
        for key, flow in sorted(current["flows"].items()):
            findings.extend(self._judge_flow(host, key, flow, old.get(key), old, ssh, context))
        findings.extend(self._dns(host, baseline, current, context))
        findings.extend(self._unknown_addresses(host, baseline, current, context))
        return findings

    def _judge_flow(self, host, key, flow, before, old, ssh, context) -> list[dict]:
        judged = [self._internal_ssh(host, key, flow, old, ssh, context)]
        if not judged[0] and before is None:
            judged.append(self._internal_flow(host, key, flow, context))
        origin = self._outgoing(host, flow, context)
        if origin is not None:
            judged.append(self._quiet(host, origin, key, flow, before, context))
            if before is None:
                judged.append(self._smtp(host, origin, key, flow, context))
                judged.append(self._exposed(host, origin, key, flow, context))
        return [finding for finding in judged if finding]

    def _flow_finding(self, host, rule, severity, key, flow, what, origin=None, extra=None, novelty=None) -> dict:
        who = f" from {origin}" if origin and origin != host else ""
        summary = (
            f"{host}: {what}{who}: {key} ({flow['count']} packets, first {flow['first_seen']}, "
            f"last {flow['last_seen']}), {novelty or 'not in the baseline'}"
        )
        after = {"flow": key, **flow, "origin": origin, **(extra or {})}
        return make_finding(
            host,
            self.name,
            "anomaly",
            severity,
            f"{rule} {key}",
            summary,
            after=after,
            since=flow["first_seen"],
            rule=rule,
            identity={"rule": rule, "flow": key},
        )

    def _internal_ssh(self, host, key, flow, old, ssh, context) -> dict | None:
        networks, known = context.internal_networks, context.address_hosts
        if flow["proto"] != "TCP" or flow["dport"] != SSH_PORT:
            return None
        if not (is_internal(flow["src"], networks, known) and is_internal(flow["dst"], networks, known)):
            return None
        if (flow["src"], flow["dst"]) in ssh["pairs"]:
            return None
        origin = self._origin(host, flow, context)
        jump = self.knob(context, "ssh_jump_hosts")
        receive_only = flow["src"] in ssh["receivers"] and flow["src"] not in ssh["openers"]
        if receive_only and not (flow["src"] in jump or (origin and context.names_host(jump, origin))):
            what = "SSH between internal machines opened by a host that in the baseline only received SSH"
            return self._flow_finding(host, INTERNAL_SSH, "critical", key, flow, what, origin)
        return self._flow_finding(host, INTERNAL_SSH, "high", key, flow, "SSH between internal machines", origin)

    def _internal_flow(self, host, key, flow, context) -> dict | None:
        """Info: a flow between two inventory hosts the baseline did not have (an edge of the fleet's flow matrix)."""
        if not (context.address_hosts.get(flow["src"]) and context.address_hosts.get(flow["dst"])):
            return None
        origin = self._origin(host, flow, context)
        return self._flow_finding(host, INTERNAL_FLOW, "info", key, flow, "a new flow between inventory hosts", origin)

    def _smtp(self, host, origin, key, flow, context) -> dict | None:
        if flow["proto"] != "TCP" or flow["dport"] not in SMTP_PORTS:
            return None
        if context.names_host(self.knob(context, "mail_relays"), origin):
            return None
        what = "mail sent straight out, not through a relay"
        return self._flow_finding(host, SMTP_OUT, "high", key, flow, what, origin)

    def _exposed(self, host, origin, key, flow, context) -> dict | None:
        if not context.names_host(self.knob(context, "exposed"), origin):
            return None
        what = "a host that accepts connections from outside connected out"
        return self._flow_finding(host, EXPOSED_OUTBOUND, "high", key, flow, what, origin)

    def _quiet(self, host, origin, key, flow, before, context) -> dict | None:
        rule = self._quiet_rule(origin, context)
        if rule is None or excepted(flow, rule.get("except") or []):
            return None
        hours = quiet_hour_set(rule["hours"])
        count = sum(flow["hours"][hour] for hour in hours)
        if not count or (before is not None and sum(before["hours"][hour] for hour in hours)):
            return None
        what = f"{count} packets to {flow['dst']} port {flow['dport']} during the quiet hours {rule['hours']}"
        novelty = "not in the baseline" if before is None else "the baseline had none of it then"
        extra = {"quiet_count": count}
        return self._flow_finding(host, QUIET_HOURS, "high", key, flow, what, origin, extra, novelty)

    def _quiet_rule(self, origin: str, context) -> dict | None:
        """The quiet hours of ``origin``: its own entry, else its first group's (by name), else ``all``'s."""
        rules = self.knob(context, "quiet_hours")
        for name in (origin, *context.groups_of(origin), "all"):
            if name in rules:
                return rules[name]
        return None

    def _dns(self, host, baseline, current, context) -> list[dict]:
        resolvers = self.knob(context, "dns_resolvers")
        now, before = current["dns"], baseline.get("dns") or {}
        if now["count"] < DNS_MIN_QUERIES or context.names_host(resolvers, host):
            return []
        rate, base = now["per_day"], before.get("per_day")
        if rate is None or base is None:
            rate, base = now["count"], before.get("count") or 0
        if base < DNS_NEAR_ZERO_PER_DAY:
            rule, severity, what = DNS_STARTED, "high", "a host that almost never resolved names started to"
        elif rate > self.knob(context, "dns_jump") * base:
            rule, severity, what = DNS_JUMP, "medium", "DNS queries far above the host's baseline"
        else:
            return []
        summary = f"{host}: {what}: {now['count']} queries ({rate} a day, baseline {base}) since {now['first_seen']}"
        after = {**now, "baseline_per_day": base}
        return [
            make_finding(
                host,
                self.name,
                "anomaly",
                severity,
                "dns",
                summary,
                before=before or None,
                after=after,
                since=now["first_seen"],
                rule=rule,
                identity={"rule": rule, "base": base},
            )
        ]

    def _unknown_addresses(self, host, baseline, current, context) -> list[dict]:
        findings = []
        for address in unknown_addresses(current["addresses"], baseline.get("addresses") or {}, context):
            entry = current["addresses"][address]
            findings.append(unknown_address_finding(host, self.name, address, entry, f"{host}'s firewall log"))
        return findings

    # -- accept -------------------------------------------------------------------------------------------

    def apply_accept(self, baseline: dict, current: dict, finding: dict) -> dict:
        result = copy.deepcopy(baseline)
        rule, details = finding["rule"], finding.get("after") or {}
        if rule in FLOW_RULES:
            key = details.get("flow")
            if key not in current["flows"]:
                raise NotAbsorbable(f"the flow {key} is not in the observed data any more")
            result.setdefault("flows", {})[key] = copy.deepcopy(current["flows"][key])
        elif rule in (DNS_JUMP, DNS_STARTED):
            result["dns"] = copy.deepcopy(current["dns"])
        elif rule == UNKNOWN_ADDRESS:
            address = details.get("address")
            if address not in current["addresses"]:
                raise NotAbsorbable(f"the address {address} is not in the observed data any more")
            result.setdefault("addresses", {})[address] = copy.deepcopy(current["addresses"][address])
        else:
            raise NotAbsorbable(
                f"a finding of rule {rule} on {finding['subject']} cannot be absorbed into the baseline"
            )
        return result

    def fleet_findings(self, per_host: Mapping[str, dict], context) -> list[dict]:
        return fleet_unknown_addresses(per_host, context.fleet_data.get("sshd_auth") or {}, context)

    def fleet_sections(self, per_host: Mapping[str, dict], compares: Mapping[str, dict | None], context) -> dict:
        return {"flow_matrix": flow_matrix(per_host, compares, context.address_hosts)}


def _ssh_roles(flows: Iterable[dict]) -> dict:
    """Of the baseline's SSH flows: the (source, destination) pairs, who opened SSH and who received it."""
    pairs = {(f["src"], f["dst"]) for f in flows if f["proto"] == "TCP" and f["dport"] == SSH_PORT}
    return {"pairs": pairs, "openers": {pair[0] for pair in pairs}, "receivers": {pair[1] for pair in pairs}}


def unknown_addresses(addresses: Mapping[str, dict], known_before: Mapping, context) -> list[str]:
    """Addresses inside the internal networks that name no inventory host and are not in ``known_before``; none
    when the inventory gives no addresses (then every address would be unknown)."""
    if not context.inventory_addresses:
        return []
    return sorted(
        address
        for address in addresses
        if address not in known_before
        and address not in context.address_hosts
        and is_internal(address, context.internal_networks, {})
    )


def unknown_address_finding(
    host: str, check: str, address: str, entry: Mapping, where: str, severity: str = "high", rule: str = UNKNOWN_ADDRESS
) -> dict:
    """A local address that belongs to no inventory host (a box that bypassed the firewall)."""
    summary = (
        f"{host}: {address}, inside the internal networks, belongs to no inventory host: seen {entry.get('count')} "
        f"times in {where} since {entry.get('first_seen')}"
    )
    return make_finding(
        host,
        check,
        "anomaly",
        severity,
        f"address {address}",
        summary,
        after={**entry, "address": address, "where": where},
        since=entry.get("first_seen"),
        rule=rule,
        identity={"rule": rule, "address": address},
    )


def _sshd_sources(data: Mapping) -> list[dict]:
    """The failed and accepted login sources of one host's sshd_auth data, as address entries."""
    entries = [*(data.get("failures") or []), *(data.get("accepted") or {}).values()]
    return [{"address": e["source"], "count": e["count"], "first_seen": e.get("first_seen")} for e in entries]


def fleet_unknown_addresses(firewall: Mapping[str, dict], sshd: Mapping[str, dict], context) -> list[dict]:
    """Medium, one per address: an internal address of no inventory host in any host's firewall or sshd log,
    naming every host and log that saw it (attached to the first of those hosts by name)."""
    seen: dict = {}
    logs = [(host, "firewall log", data["addresses"].values()) for host, data in firewall.items()]
    logs += [(host, "sshd log", _sshd_sources(data)) for host, data in sshd.items()]
    for host, log, entries in logs:
        for entry in entries:
            got = seen.setdefault(normal(entry["address"]), {"count": 0, "first_seen": None, "seen_in": set()})
            got["count"] += entry["count"]
            got["first_seen"] = min(filter(None, (got["first_seen"], entry.get("first_seen"))), default=None)
            got["seen_in"].add((host, log))
    findings = []
    for address in unknown_addresses(seen, {}, context):
        places = sorted(seen[address]["seen_in"])
        entry = {**seen[address], "seen_in": [f"{host}'s {log}" for host, log in places]}
        where = "the fleet's logs: " + ", ".join(entry["seen_in"])
        findings.append(
            unknown_address_finding(
                places[0][0], FirewallLogCheck.name, address, entry, where, "medium", FLEET_UNKNOWN_ADDRESS
            )
        )
    return findings
