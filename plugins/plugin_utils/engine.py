# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the action plugins and the callback call: one host's snapshot/compare/accept over the store, and the fleet
report from whatever a run produced. Thin glue over compare, store, policy, fleet and report."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import nullcontext
from datetime import datetime

from ansible_collections.fleetwatch.audit.plugins.plugin_utils.baselines import accept, new_baseline
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.checks import CHECK_BY_MODULE
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.compare import COMPARE_CHECK, compare_host, inventory
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.context import CheckContext
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.errors import FleetwatchError
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.findings import (
    active,
    count_by_severity,
    severity_at_least,
)
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.fleet import analyze_fleet, host_group
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.policy import load_policy
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.report import render_terminal, write_reports
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.store import DirectoryStore

EngineError = FleetwatchError
COLLECTION_PREFIX = "fleetwatch.audit."
BASELINE_ACTION = "baseline"
# Problems that explain a silent host, strongest first: a later, weaker one does not hide an earlier, stronger one.
_PROBLEMS = ("unreachable", "failed", "skipped")

__all__ = [
    "EngineError",
    "HostSession",
    "Observations",
    "fleet_report",
    "host_group",
    "is_audit_action",
    "terminal_summary",
    "to_plain",
    "write_fleet_reports",
]


def to_plain(value: object) -> object:
    """A deep copy of Ansible data made of plain ``dict``/``list``/``str``/``int``/``float``/``bool``/``None``."""
    if isinstance(value, Mapping):
        return {str.__str__(str(key)): to_plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_plain(item) for item in value]
    if isinstance(value, bool) or value is None:
        return None if value is None else bool(value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return str(value)


def _short_action(action: str | None) -> str | None:
    if action and action.startswith(COLLECTION_PREFIX):
        return action[len(COLLECTION_PREFIX) :]
    return None


def is_audit_action(action: str | None) -> bool:
    """True for this collection's gatherer modules and ``baseline``: a host running one is expected to report."""
    short = _short_action(action)
    return short == BASELINE_ACTION or short in CHECK_BY_MODULE


def _fail_message(host: str, findings: list[dict], fail_on: str) -> str | None:
    reached = [f for f in active(findings) if severity_at_least(f["severity"], fail_on)]
    if not reached:
        return None
    return f"{host}: {len(reached)} finding(s) at or above {fail_on}, first: {reached[0]['summary']}"


class HostSession:
    """One host's baseline operations against a directory store, with a policy, at one moment."""

    def __init__(
        self,
        host: str,
        store_dir: str,
        policy_path: str | None = None,
        now: datetime | None = None,
        inventory_addresses: Mapping[str, Iterable[str]] | None = None,
        inventory_groups: Mapping[str, Iterable[str]] | None = None,
    ):
        self.host = host
        self.store = DirectoryStore(store_dir)
        # Checks that judge sources (sshd_auth) take the inventory's host addresses as internal; policy keys of the
        # network checks name groups (quiet hours, exposed hosts).
        self.context = CheckContext(load_policy(policy_path), inventory_addresses, now, inventory_groups)

    def _changing(self, write: bool):
        """The host's store lock when the baseline is written (check mode reads only)."""
        return self.store.locked(self.host) if write else nullcontext()

    def snapshot(self, data: dict, write: bool = True) -> dict:
        """Store ``fleetwatch_results`` as the host's baseline (the previous one goes to the history)."""
        document, warnings = new_baseline(self.host, to_plain(data), self.context.now)
        if not document["checks"]:
            raise EngineError(f"{self.host}: nothing usable to snapshot: {'; '.join(warnings) or 'no checks gathered'}")
        with self._changing(write):
            path = self.store.save_baseline(self.host, document) if write else self.store.baseline_path(self.host)
        return {
            "host": self.host,
            "status": "snapshot",
            "baseline_path": path,
            "snapshot_checks": sorted(document["checks"]),
            "inventory": inventory(document["checks"]),
            "warnings": warnings,
            "findings": [],
            "counts": count_by_severity([]),
            "worst_severity": None,
        }

    def compare(
        self, data: dict, fail_on: str | None = None, snapshot_if_missing: bool = False, write: bool = True
    ) -> dict:
        """Compare with the baseline (or snapshot a host that has none); keeps the data for a later accept.

        The result is :func:`compare.compare_host`'s plus ``fail_on`` and ``fail`` (a message when an unsuppressed
        finding reaches ``fail_on``, else ``None``).
        """
        data = to_plain(data)
        fail_on = fail_on or self.context.policy.fail_on
        baseline = self.store.load_baseline(self.host)
        if baseline is None and snapshot_if_missing:
            result = self.snapshot(data, write=write)
        else:
            result = compare_host(self.host, baseline, data, self.context)
            if write:
                self.store.save_observed(self.host, data)
        result.update(fail_on=fail_on, fail=_fail_message(self.host, result["findings"], fail_on))
        return result

    def accept(
        self, ids: Iterable[str] = (), checks: Iterable[str] = (), reason: str = "", who: str = "", write: bool = True
    ) -> dict:
        """Absorb the findings of the latest compare with these ids, or of these checks, into the baseline."""
        with self._changing(write):  # the baseline read here is the one written back
            return self._accept(set(ids), set(checks), reason, who, write)

    def _accept(self, ids: set, checks: set, reason: str, who: str, write: bool) -> dict:
        baseline = self.store.load_baseline(self.host)
        if baseline is None:
            raise EngineError(f"{self.host} has no baseline: run the snapshot playbook first")
        observed = self.store.load_observed(self.host)
        if observed is None:
            raise EngineError(f"no compare of {self.host} is recorded: run the compare playbook first")
        findings = compare_host(self.host, baseline, observed, self.context)["findings"]
        selected = [
            f
            for f in findings
            if f["id"] in ids or f["check"] in checks or (f["check"] == COMPARE_CHECK and f["subject"] in checks)
        ]
        document, accepted, skipped = accept(baseline, observed, selected, reason, who, self.context.now)
        path = self.store.baseline_path(self.host)
        if write and accepted:
            path = self.store.save_baseline(self.host, document)
        return {
            "host": self.host,
            "status": "accepted",
            "findings": accepted,
            "skipped": skipped,
            "unknown_ids": sorted(ids - {f["id"] for f in findings}),
            "baseline_path": path,
        }

    def restore(self, version: str | None = None, write: bool = True) -> dict:
        """Make a previous baseline current again (default: the latest in the history, undoing the last change)."""
        with self._changing(write):  # "the latest" is chosen and restored in one step
            return self._restore(version, write)

    def _restore(self, version: str | None, write: bool) -> dict:
        history = self.store.history(self.host)
        if not history:
            raise EngineError(f"{self.host} has no previous baseline to restore")
        version = version or history[-1]
        if version not in history:
            raise EngineError(f"{self.host} has no history version {version!r}; versions: {', '.join(history)}")
        document = self.store.load_version(self.host, version)
        path = self.store.restore(self.host, version) if write else self.store.baseline_path(self.host)
        return {
            "host": self.host,
            "status": "restored",
            "restored": version,
            "baseline_path": path,
            "accepted": document.get("accepted") or [],
            "history": history,
        }


class Observations:
    """What a run told about each host: compare results, gathered data, and why silent hosts were silent."""

    def __init__(self):
        self.results: dict[str, dict] = {}
        self.problems: dict[str, dict] = {}

    def _host(self, host: str) -> dict:
        return self.results.setdefault(host, {"compare": None, "gathered": None})

    def problem(self, host: str, status: str, msg: object) -> None:
        """Record why a host may have gone silent (a stronger problem is kept over a weaker one)."""
        previous = self.problems.get(host)
        if previous is None or _PROBLEMS.index(status) <= _PROBLEMS.index(previous["status"]):
            self.problems[host] = {"status": status, "msg": str(msg) if msg else None}

    def add_compare(self, host: str, result: dict) -> None:
        """A ``baseline`` task's result for the host (compare, snapshot or accept; skipped or failed)."""
        if isinstance(result, dict) and isinstance(result.get("findings"), list):
            self._host(host)["compare"] = result
        elif isinstance(result, dict) and (result.get("skipped") or result.get("failed")):
            status = "skipped" if result.get("skipped") else "failed"
            self.problem(host, status, result.get("skip_reason") or result.get("msg"))

    def add_gathered(self, host: str, gathered: dict) -> None:
        """The host's ``fleetwatch_results`` (check name -> gatherer result)."""
        if isinstance(gathered, dict):
            self._host(host)["gathered"] = {**(self._host(host)["gathered"] or {}), **gathered}

    def add(self, host: str, outcome: str, action: str | None, payload: dict) -> None:
        """One task result as a callback sees it: ``outcome`` is ok, failed, unreachable or skipped."""
        short = _short_action(action)
        payload = dict(to_plain(payload or {}))
        if outcome == "unreachable":
            self.problem(host, "unreachable", payload.get("msg"))
        elif short == BASELINE_ACTION:
            self.add_compare(host, {**payload, "failed": outcome == "failed", "skipped": outcome == "skipped"})
        elif short in CHECK_BY_MODULE:
            if outcome != "skipped":
                self.add_gathered(host, {CHECK_BY_MODULE[short]: {**payload, "failed": outcome == "failed"}})
        elif outcome == "failed":
            self.problem(host, "failed", payload.get("msg"))


def fleet_report(
    observations: Observations,
    expected_hosts: Iterable[str],
    host_groups: Mapping[str, str],
    policy_path: str | None = None,
    fail_on: str | None = None,
    now: datetime | None = None,
    inventory_addresses: Mapping[str, Iterable[str]] | None = None,
    inventory_groups: Mapping[str, Iterable[str]] | None = None,
) -> dict:
    """The fleet report (:func:`fleet.analyze_fleet`) of a run's observations; ``inventory_addresses``: each
    inventory host's addresses (``ansible_host``), for the login graph and the sshd_auth rules; ``inventory_groups``:
    ``{group: [host]}``, for policy keys that name groups."""
    context = CheckContext(load_policy(policy_path), inventory_addresses, now, inventory_groups)
    return analyze_fleet(observations.results, host_groups, expected_hosts, observations.problems, context, fail_on)


def write_fleet_reports(report: dict, report_dir: str) -> dict:
    """Write the JSON and Markdown reports and refresh ``latest.*``; returns their paths."""
    return write_reports(report, report_dir)


def terminal_summary(report: dict, paths: dict | None = None) -> str:
    """A few safe lines for the end of a run."""
    return render_terminal(report, paths)
