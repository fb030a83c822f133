# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The ``egress`` check: who can get out, from the TCP connects (and DNS query) ``egress_probe`` tried.

A host that accepts connections from outside (policy ``exposed``) must not be able to connect out at all. Every rule
is in docs/findings.md, the policy keys in docs/policy.md.
"""

from __future__ import annotations

import copy

from ansible_collections.fleetwatch.audit.plugins.plugin_utils.checks.base import (
    Check,
    NoFleetObservations,
    NotAbsorbable,
    count_value,
    text_value,
)
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.findings import make_finding

# Rules of the findings (docs/findings.md); apply_accept decides by them.
EGRESS_REACHED, OUTPUT_ACCEPTS, EGRESS_OPENED = "egress_reached", "output_accepts", "egress_opened"
PROBE_FAILED, TARGET_UNPROBED = "probe_failed", "target_unprobed"
EVIDENCE_CHARS = 4096


def _flag(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{what} must be true or false: {value!r:.80}")
    return value


def _port(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 65535:
        raise ValueError(f"{what} must be a port number: {value!r:.80}")
    return value


def probe_key(host: str, port: int) -> str:
    """A probe's key in the baseline: ``host:port`` as the target was listed."""
    return f"{host}:{port}"


def _probe(entry: object) -> dict:
    if not isinstance(entry, dict):
        raise ValueError(f"probe entry is not a mapping: {entry!r:.80}")
    return {
        "name": text_value(entry.get("name"), "probe name", allow_none=True),
        "host": text_value(entry.get("host"), "probe host"),
        "port": _port(entry.get("port"), "probe port"),
        "address": text_value(entry.get("address"), "probe address", allow_none=True),
        "connected": _flag(entry.get("connected"), "probe connected"),
        "source": text_value(entry.get("source"), "probe source", allow_none=True),
        "error": text_value(entry.get("error"), "probe error", allow_none=True),
    }


def _dns(entry: object) -> dict | None:
    if entry is None:
        return None
    if not isinstance(entry, dict):
        raise ValueError(f"dns is not a mapping: {entry!r:.80}")
    return {
        "server": text_value(entry.get("server"), "dns server"),
        "name": text_value(entry.get("name"), "dns name"),
        "answered": _flag(entry.get("answered"), "dns answered"),
        "error": text_value(entry.get("error"), "dns error", allow_none=True),
    }


def _policy(entry: object) -> dict:
    if not isinstance(entry, dict):
        raise ValueError(f"policy is not a mapping: {entry!r:.80}")
    rules = entry.get("output_rules")
    verdict = text_value(entry.get("output_policy"), "policy output_policy", allow_none=True)
    return {
        "tool": text_value(entry.get("tool"), "policy tool", allow_none=True),
        "output_policy": verdict.lower() if verdict else None,
        "output_rules": None if rules is None else count_value(rules, "policy output_rules"),
        "evidence": (text_value(entry.get("evidence"), "policy evidence", allow_none=True) or "")[:EVIDENCE_CHARS],
        "error": text_value(entry.get("error"), "policy error", allow_none=True),
    }


def egress_targets_problems(value: object) -> list[str]:
    """What is wrong with an ``egress_targets`` knob: a list of ``{host: text, port: int, name: text (optional)}``."""
    if not isinstance(value, list):
        return ["must be a list of {host, port, name}"]
    problems = []
    for index, item in enumerate(value):
        if not isinstance(item, dict) or set(item) - {"host", "port", "name"} or not isinstance(item.get("host"), str):
            problems.append(f"[{index}]: must be a mapping {{host: text, port: int, name: text (optional)}}")
            continue
        try:
            _port(item.get("port"), "port")
        except ValueError as exc:
            problems.append(f"[{index}].{exc}")
    return problems


class EgressCheck(NoFleetObservations, Check):
    """Exposed hosts that can get out, probes newly connecting, and probes that tested nothing."""

    name = "egress"
    module = "egress_probe"
    knobs = {"exposed": [], "egress_targets": []}
    knob_validators = {"egress_targets": egress_targets_problems}

    def normalize(self, result: dict) -> dict:
        probes = result.get("probes")
        if not isinstance(probes, list):
            raise ValueError("no 'probes' list")
        normalized = [_probe(entry) for entry in probes]
        return {
            "probes": {probe_key(p["host"], p["port"]): p for p in normalized},
            "dns": _dns(result.get("dns")),
            "policy": _policy(result.get("policy") or {}),
            "probed": _flag(result.get("probed", True), "probed"),
        }

    def inventory(self, current: dict) -> str:
        connected = sum(1 for probe in current["probes"].values() if probe["connected"])
        verdict = current["policy"]["output_policy"] or "unknown"
        return f"{len(current['probes']):,} egress probes ({connected:,} connected), output policy {verdict}"

    def _exposed(self, host: str, context) -> bool:
        """``exposed`` of this check, else the firewall_log check's (one list in the policy is enough)."""
        names = self.knob(context, "exposed") or context.policy.knob("firewall_log", "exposed", [])
        return context.names_host(names, host)

    def diff(self, host: str, baseline: dict, current: dict, context) -> list[dict]:
        exposed = self._exposed(host, context)
        findings = self._coverage(host, current, context)
        old = baseline.get("probes") or {}
        for key, probe in sorted(current["probes"].items()):
            if not probe["connected"]:
                continue
            if exposed:
                findings.append(self._reached(host, f"probe {key}", probe))
            elif key in old and not old[key]["connected"]:
                findings.append(self._opened(host, key, probe, old[key]))
        dns = current["dns"]
        if exposed and dns and dns["answered"]:
            findings.append(self._reached(host, f"dns {dns['server']}", {**dns, "connected": True}))
        if exposed:
            findings.extend(self._accepts_all(host, current["policy"]))
        return findings

    def _finding(self, host, kind, severity, rule, subject, summary, after, before=None) -> dict:
        return make_finding(
            host,
            self.name,
            kind,
            severity,
            subject,
            summary,
            before=before,
            after=after,
            rule=rule,
            identity={"rule": rule, "subject": subject},
        )

    def _reached(self, host, subject, probe) -> dict:
        named = f" ({probe['name']})" if probe.get("name") else ""
        summary = (
            f"{host} accepts connections from outside and reached the egress target {subject}{named} "
            f"from {probe.get('source') or 'an unknown address'}"
        )
        return self._finding(host, "anomaly", "critical", EGRESS_REACHED, subject, summary, probe)

    def _opened(self, host, key, probe, before) -> dict:
        summary = f"{host}: the egress probe {key} connected (from {probe['source']}); in the baseline it was blocked"
        before = {"connected": False, "error": before.get("error")}
        return self._finding(host, "changed", "high", EGRESS_OPENED, f"probe {key}", summary, probe, before)

    def _accepts_all(self, host, policy) -> list[dict]:
        if policy["output_policy"] != "accept" or policy["output_rules"] != 0:
            return []
        summary = f"{host} accepts connections from outside and its {policy['tool']} output policy accepts everything"
        return [self._finding(host, "anomaly", "medium", OUTPUT_ACCEPTS, "output policy", summary, policy)]

    def _coverage(self, host, current, context) -> list[dict]:
        findings = []
        if not current["probed"]:
            summary = f"{host}: the egress probe did not run (check mode): nothing was tested"
            findings.append(self._finding(host, "coverage", "medium", PROBE_FAILED, "probes", summary, None))
        for key, probe in sorted(current["probes"].items()):
            if current["probed"] and probe["address"] is None:
                summary = f"{host}: the egress probe {key} tested nothing: {probe['error'] or 'no address'}"
                findings.append(self._finding(host, "coverage", "medium", PROBE_FAILED, f"probe {key}", summary, probe))
        for target in self.knob(context, "egress_targets"):
            key = probe_key(target["host"], target["port"])
            if key not in current["probes"]:
                summary = f"{host}: the egress target {key} of the policy was not probed"
                after = {"target": target}
                findings.append(
                    self._finding(host, "coverage", "medium", TARGET_UNPROBED, f"probe {key}", summary, after)
                )
        return findings

    def apply_accept(self, baseline: dict, current: dict, finding: dict) -> dict:
        if finding["rule"] != EGRESS_OPENED:
            raise NotAbsorbable(
                f"a finding of rule {finding['rule']} on {finding['subject']} cannot be absorbed into the baseline: "
                "close the way out (or run the probe), or suppress it with an allow rule"
            )
        key = finding["subject"][len("probe ") :]  # the subject is "probe <probe key>"
        if key not in current["probes"]:
            raise NotAbsorbable(f"the probe {key} is not in the observed data any more")
        result = copy.deepcopy(baseline)
        result.setdefault("probes", {})[key] = copy.deepcopy(current["probes"][key])
        return result
