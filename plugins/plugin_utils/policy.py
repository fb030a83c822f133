# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The policy file: severity overrides, allow rules, fail threshold and check knobs (see docs/policy.md)."""

from __future__ import annotations

import copy
import ipaddress
import re
from dataclasses import dataclass, field
from datetime import date, datetime

import yaml

from ansible_collections.fleetwatch.audit.plugins.plugin_utils.checks import CHECKS
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.errors import PolicyError
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.findings import (
    NEVER,
    SEVERITIES,
    make_finding,
    parse_threshold,
)

try:
    import jmespath
    from jmespath.exceptions import JMESPathError
except ImportError:  # reported when a policy with rules is loaded
    jmespath = None
    JMESPathError = Exception

DEFAULT_FAIL_ON = "high"
FLEET_DEFAULTS = {"outlier_max_fraction": 0.2, "outlier_min_hosts": 5}
TOP_LEVEL_KEYS = ("severity_overrides", "allow", "fail_on", "checks", "internal_networks", "fleet")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RULE_KEYS = {
    "severity_overrides": {"match": True, "severity": True, "reason": True, "owner": True, "expires": False},
    "allow": {"match": True, "reason": True, "owner": True, "expires": True},
}


@dataclass
class Rule:
    """One severity override or allow rule; ``index`` is its position in its list."""

    section: str
    index: int
    match: str
    expression: object
    reason: str
    owner: str
    expires: date | None = None
    severity: str | None = None

    @property
    def label(self) -> str:
        return f"{self.section}[{self.index}]"

    def expired(self, today: date) -> bool:
        """A rule holds through its ``expires`` day."""
        return self.expires is not None and today > self.expires

    def matches(self, finding: dict) -> bool:
        """JMESPath over the finding, truthy; a runtime error (e.g. a function on null) is no match."""
        try:
            return bool(self.expression.search(finding))
        except JMESPathError:
            return False


@dataclass
class Policy:
    """A validated policy; ``Policy()`` is the default policy (no rules, fail_on high)."""

    overrides: list[Rule] = field(default_factory=list)
    allow: list[Rule] = field(default_factory=list)
    fail_on: str = DEFAULT_FAIL_ON
    checks: dict = field(default_factory=dict)
    internal_networks: list = field(default_factory=list)
    fleet: dict = field(default_factory=lambda: dict(FLEET_DEFAULTS))
    source: str = "default policy"

    def knob(self, check: str, name: str, default):
        """Value of a per-check setting, or ``default`` when the policy does not set it."""
        return self.checks.get(check, {}).get(name, default)

    def apply(self, findings: list[dict], today: date) -> list[dict]:
        """Apply overrides, then allow rules, to copies of ``findings``.

        A rule past its ``expires`` date no longer applies and instead yields, for each host where it matches, a
        medium ``anomaly`` finding of check ``policy`` saying so.
        """
        result = [copy.deepcopy(finding) for finding in findings]
        for finding in result:
            rule = next((r for r in self.overrides if not r.expired(today) and r.matches(finding)), None)
            if rule is not None and rule.severity != finding["severity"]:
                finding["severity_override"] = {
                    "rule": rule.label,
                    "from": finding["severity"],
                    "to": rule.severity,
                    "reason": rule.reason,
                    "owner": rule.owner,
                }
                finding["severity"] = rule.severity
        result.extend(self._expired(findings, today))
        for finding in result:
            rule = next((r for r in self.allow if not r.expired(today) and r.matches(finding)), None)
            if rule is not None:
                finding["suppressed"] = {
                    "rule": rule.label,
                    "reason": rule.reason,
                    "owner": rule.owner,
                    "expires": rule.expires.isoformat(),
                }
        return result

    def _expired(self, findings: list[dict], today: date) -> list[dict]:
        expired = []
        for rule in self.overrides + self.allow:
            if not rule.expired(today):
                continue
            hosts = sorted({f["host"] for f in findings if rule.matches(f)}, key=lambda h: (h is None, h or ""))
            effect = "no longer suppresses" if rule.section == "allow" else "no longer overrides severity of"
            for host in hosts:
                summary = (
                    f"{host or 'fleet'}: {rule.label} ({rule.owner}, {rule.reason}) expired on "
                    f"{rule.expires.isoformat()} and {effect} the findings it matches"
                )
                after = {"match": rule.match, "expires": rule.expires.isoformat()}
                expired.append(
                    make_finding(
                        host, "policy", "anomaly", "medium", rule.label, summary, after=after, rule="expired_rule"
                    )
                )
        return expired


class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe YAML loader that rejects a key given twice (a second ``allow:`` would silently drop the first)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node in (pair[0] for pair in node.value):
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_policy(path: str | None) -> Policy:
    """Read and validate a policy file; ``None`` gives the default policy."""
    if path is None:
        return Policy()
    try:
        with open(path, encoding="utf-8") as handle:
            document = yaml.load(handle, Loader=_UniqueKeyLoader)
    except OSError as exc:
        raise PolicyError(path, [f"cannot read: {exc.strerror or exc}"]) from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise PolicyError(path, [f"not valid YAML: {exc}"]) from exc
    return parse_policy({} if document is None else document, source=path)


def parse_policy(document: object, source: str = "policy") -> Policy:
    """Validate a policy document (already parsed); raise ``PolicyError`` listing every problem by key path."""
    errors: list[str] = []
    if not isinstance(document, dict):
        raise PolicyError(source, [f"top level: must be a mapping, not {type(document).__name__}"])
    for key in document:
        if key not in TOP_LEVEL_KEYS:
            errors.append(f"{key}: unknown key (known: {', '.join(TOP_LEVEL_KEYS)})")
    policy = Policy(source=source)
    policy.overrides = _rules(document, "severity_overrides", errors)
    policy.allow = _rules(document, "allow", errors)
    if "fail_on" in document:
        try:
            policy.fail_on = parse_threshold(document["fail_on"])
        except (ValueError, TypeError):
            errors.append(f"fail_on: not a severity or 'never': {document['fail_on']!r}")
    policy.checks = _checks(document.get("checks", {}), errors)
    policy.internal_networks = _networks(document.get("internal_networks", []), errors)
    policy.fleet = _fleet(document.get("fleet", {}), errors)
    if errors:
        raise PolicyError(source, errors)
    return policy


def _text(value: object, where: str, errors: list[str]) -> str | None:
    if not isinstance(value, str) or not value.strip():
        errors.append(f"{where}: must be a non-empty string")
        return None
    return value


def _date(value: object, where: str, errors: list[str]) -> date | None:
    if isinstance(value, date) and not isinstance(value, datetime):  # YAML reads 2026-01-31 as a date
        return value
    if isinstance(value, str) and _DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    errors.append(f"{where}: not a date (YYYY-MM-DD): {value!r}")
    return None


def _rules(document: dict, section: str, errors: list[str]) -> list[Rule]:
    items = document.get(section, [])
    if not isinstance(items, list):
        errors.append(f"{section}: must be a list")
        return []
    spec = _RULE_KEYS[section]
    rules = []
    for index, item in enumerate(items):
        where = f"{section}[{index}]"
        if not isinstance(item, dict):
            errors.append(f"{where}: must be a mapping")
            continue
        count = len(errors)
        errors.extend(f"{where}.{key}: unknown key (known: {', '.join(spec)})" for key in item if key not in spec)
        errors.extend(f"{where}.{key}: required" for key, required in spec.items() if required and key not in item)
        match = _text(item.get("match", "@"), f"{where}.match", errors)
        expression = _compile(match, f"{where}.match", errors) if match else None
        severity = None
        if "severity" in spec and "severity" in item:
            severity = item["severity"]
            if severity not in SEVERITIES:
                errors.append(f"{where}.severity: not a severity: {severity!r} (one of {', '.join(SEVERITIES)})")
        reason = _text(item.get("reason", "-"), f"{where}.reason", errors)
        owner = _text(item.get("owner", "-"), f"{where}.owner", errors)
        expires = _date(item["expires"], f"{where}.expires", errors) if "expires" in item else None
        if len(errors) == count:
            rules.append(Rule(section, index, match, expression, reason, owner, expires, severity))
    return rules


def _compile(expression: str, where: str, errors: list[str]):
    if jmespath is None:
        errors.append(f"{where}: the Python library jmespath is needed for match expressions (pip install jmespath)")
        return None
    try:
        return jmespath.compile(expression)
    except JMESPathError as exc:
        errors.append(f"{where}: invalid JMESPath expression {expression!r}: {exc}")
        return None


def _knob_ok(value: object, default: object) -> bool:
    if isinstance(default, list):
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))


def _checks(section: object, errors: list[str]) -> dict:
    if not isinstance(section, dict):
        errors.append("checks: must be a mapping of check name to settings")
        return {}
    result = {}
    for name, knobs in section.items():
        if not isinstance(knobs, dict):
            errors.append(f"checks.{name}: must be a mapping of settings")
            continue
        check = CHECKS.get(name)  # checks of later gatherers: free-form for now
        for key, value in knobs.items():
            if check is None:
                continue
            known = check.knobs
            if key not in known:
                errors.append(f"checks.{name}.{key}: unknown setting (known: {', '.join(sorted(known)) or 'none'})")
            elif key in check.knob_validators:
                errors.extend(f"checks.{name}.{key}: {problem}" for problem in check.knob_validators[key](value))
            elif not _knob_ok(value, known[key]):
                errors.append(f"checks.{name}.{key}: must be of the type of its default {known[key]!r}")
        result[name] = dict(knobs)
    return result


def _networks(items: object, errors: list[str]) -> list:
    if not isinstance(items, list):
        errors.append("internal_networks: must be a list of CIDR networks")
        return []
    networks = []
    for index, item in enumerate(items):
        try:
            networks.append(ipaddress.ip_network(str(item), strict=True))
        except ValueError as exc:
            errors.append(f"internal_networks[{index}]: not a CIDR network: {exc}")
    return networks


def _fleet(section: object, errors: list[str]) -> dict:
    if not isinstance(section, dict):
        errors.append("fleet: must be a mapping")
        return dict(FLEET_DEFAULTS)
    result = dict(FLEET_DEFAULTS)
    for key, value in section.items():
        if key not in FLEET_DEFAULTS:
            errors.append(f"fleet.{key}: unknown key (known: {', '.join(FLEET_DEFAULTS)})")
        elif key == "outlier_max_fraction":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 0.5:
                errors.append(f"fleet.outlier_max_fraction: must be a number above 0 and at most 0.5: {value!r}")
            else:
                result[key] = float(value)
        elif isinstance(value, bool) or not isinstance(value, int) or value < 2:
            errors.append(f"fleet.outlier_min_hosts: must be an integer of at least 2: {value!r}")
        else:
            result[key] = value
    return result


__all__ = ["DEFAULT_FAIL_ON", "FLEET_DEFAULTS", "NEVER", "Policy", "PolicyError", "Rule", "load_policy", "parse_policy"]
