# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Registry of the checks: ``CHECKS[name]`` judges the result of one gatherer module."""

from __future__ import annotations

from ansible_collections.fleetwatch.audit.plugins.plugin_utils.checks.base import Check, NotAbsorbable, gatherer_error
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.checks.egress import EgressCheck
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.checks.firewall_log import FirewallLogCheck
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.checks.log_rate import LogRateCheck
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.checks.setuid import SetuidCheck
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.checks.sshd_auth import SshdAuthCheck

CHECKS: dict[str, Check] = {
    check.name: check for check in (SetuidCheck(), LogRateCheck(), SshdAuthCheck(), FirewallLogCheck(), EgressCheck())
}
CHECK_BY_MODULE: dict[str, str] = {check.module: name for name, check in CHECKS.items()}

__all__ = ["CHECKS", "CHECK_BY_MODULE", "Check", "NotAbsorbable", "gatherer_error", "normalize_result"]


def normalize_result(name: str, result: object) -> tuple[dict | None, str | None]:
    """``(normalised data, None)`` for a usable result of check ``name``, else ``(None, why not)``.

    Results come from hosts that may be compromised: a malformed one is reported, never a crash.
    """
    check = CHECKS.get(name)
    if check is None:
        return None, f"unknown check {name!r} (known: {', '.join(sorted(CHECKS))})"
    error = gatherer_error(result)
    if error:
        return None, error
    try:
        return check.normalize(result), None
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return None, f"malformed {check.module} result: {exc}"
