# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Compare one host's gathered data with its baseline (the host-level diff engine)."""

from __future__ import annotations

from ansible_collections.fleetwatch.audit.plugins.plugin_utils.checks import CHECKS, normalize_result
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.context import CheckContext
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.findings import (
    count_by_severity,
    make_finding,
    sort_findings,
    worst_severity,
)

# ``check`` of findings about a whole check (missing, failed, without baseline); their subject is the check name.
COMPARE_CHECK = "compare"
# Their rules (docs/findings.md, "Whole checks"); an accept absorbs the first three (baselines.py).
CHECK_MISSING = "check_missing"  # in the baseline, not gathered
CHECK_UNBASELINED = "check_unbaselined"  # gathered, no baseline data
BASELINE_UNREADABLE = "baseline_unreadable"  # the stored baseline data cannot be compared with
GATHERER_ERROR = "gatherer_error"  # failed, skipped or malformed
CHECK_UNKNOWN = "check_unknown"  # gathered data this version does not judge
NO_BASELINE = "no_baseline"  # the host has no baseline at all


def _check_finding(host: str, name: str, rule: str, severity: str, summary: str, before=None, after=None) -> dict:
    return make_finding(host, COMPARE_CHECK, "coverage", severity, name, summary, before=before, after=after, rule=rule)


def _compare_check(
    host: str,
    name: str,
    baseline_checks: dict,
    gathered: dict,
    current: dict | None,
    error: str | None,
    context: CheckContext,
) -> tuple[str, list[dict]]:
    """Status of one check for the host and its findings; ``current`` is its normalised data or ``error`` why not."""
    if name not in gathered:
        summary = f"{host}: check {name} is in the baseline but was not gathered, so it was not audited"
        return "missing", [_check_finding(host, name, CHECK_MISSING, "high", summary, before={"check": name})]
    if error and name not in CHECKS:
        summary = f"{host}: gathered data of check {name} is not judged by this version of fleetwatch.audit"
        return f"error: {error}", [_check_finding(host, name, CHECK_UNKNOWN, "info", summary, after={"check": name})]
    if error:
        summary = f"{host}: check {name} was not audited: {error}"
        return f"error: {error}", [_check_finding(host, name, GATHERER_ERROR, "high", summary, after={"error": error})]
    if name not in baseline_checks:
        summary = f"{host}: check {name} has no baseline data: accept it or take a new snapshot"
        return "no baseline", [_check_finding(host, name, CHECK_UNBASELINED, "medium", summary, after={"check": name})]
    try:
        return "ok", CHECKS[name].diff(host, baseline_checks[name], current, context)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        error = f"cannot compare with the stored baseline ({type(exc).__name__}: {exc})"
        summary = f"{host}: check {name} was not audited: {error}"
        after = {"error": error}
        return f"error: {error}", [_check_finding(host, name, BASELINE_UNREADABLE, "high", summary, after=after)]


def inventory(checks: dict) -> dict:
    """What each usable check audited, one line each: ``{check: text}`` from normalised data."""
    return {name: CHECKS[name].inventory(data) for name, data in sorted(checks.items())}


def compare_host(host: str, baseline: dict | None, gathered: dict | None, context: CheckContext) -> dict:
    """Compare one host: ``{"host", "status", "findings", "counts", "checks", "worst_severity", "suppressed"}``.

    ``status`` is ``compared`` or ``no_baseline``; ``checks`` maps each check to ``ok``, ``missing``,
    ``no baseline`` or ``error: …``. Findings are policy-applied and sorted, most severe first. ``accepted`` is the
    baseline's record of accepted findings, which the fleet engine honours for outliers of the same subject;
    ``inventory`` says in one line per check what the gathered data covers.
    """
    gathered = gathered if isinstance(gathered, dict) else {}
    normalized = {name: normalize_result(name, result) for name, result in gathered.items()}
    current = {name: data for name, (data, error) in normalized.items() if error is None}
    findings, checks = [], {}
    if baseline is None:
        status = "no_baseline"
        summary = f"{host}: no baseline for host {host}: run the snapshot playbook"
        findings.append(make_finding(host, COMPARE_CHECK, "coverage", "high", "baseline", summary, rule=NO_BASELINE))
        for name, (_data, error) in sorted(normalized.items()):
            checks[name] = f"error: {error}" if error else "ok"
    else:
        status = "compared"
        baseline_checks = baseline.get("checks") or {}
        for name in sorted(set(baseline_checks) | set(gathered)):
            data, error = normalized.get(name, (None, None))
            checks[name], check_findings = _compare_check(host, name, baseline_checks, gathered, data, error, context)
            findings.extend(check_findings)
    findings = sort_findings(context.policy.apply(findings, context.now.date()))
    return {
        "host": host,
        "status": status,
        "findings": findings,
        "counts": count_by_severity(findings),
        "checks": checks,
        "worst_severity": worst_severity(findings),
        "suppressed": sum(1 for f in findings if f.get("suppressed")),
        "accepted": list((baseline or {}).get("accepted") or []),
        "inventory": inventory(current),
    }
