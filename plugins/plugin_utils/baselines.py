# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Baseline documents: a new baseline from gathered data, and accepted findings taken into it (docs/store.md).

The checks decide what each finding changes; the store only keeps the documents.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import datetime

from ansible_collections.fleetwatch.audit.plugins.plugin_utils.checks import CHECKS, NotAbsorbable, normalize_result
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.compare import (
    BASELINE_UNREADABLE,
    CHECK_MISSING,
    CHECK_UNBASELINED,
    COMPARE_CHECK,
)
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.errors import StoreError
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.findings import utc_iso
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.store import SCHEMA


def normalize_gathered(gathered: dict) -> tuple[dict, list[str]]:
    """Normalise each check of ``fleetwatch_results``; results that cannot be used are listed as warnings."""
    checks, warnings = {}, []
    for name, result in sorted(gathered.items()):
        normalized, error = normalize_result(name, result)
        if error:
            warnings.append(f"{name}: {error}; left out")
        else:
            checks[name] = normalized
    return checks, warnings


def new_baseline(host: str, gathered: dict, now: datetime) -> tuple[dict, list[str]]:
    """A baseline document from one host's ``fleetwatch_results``, and warnings for what was left out."""
    if not isinstance(gathered, dict):
        raise StoreError(f"gathered data of {host} is not a mapping of check name to result")
    checks, warnings = normalize_gathered(gathered)
    stamp = utc_iso(now)
    document = {"schema": SCHEMA, "host": host, "created": stamp, "updated": stamp, "checks": checks, "accepted": []}
    return document, warnings


def accept(
    baseline: dict, observed: dict, findings: Iterable[dict], reason: str, who: str, now: datetime
) -> tuple[dict, list[dict], list[dict]]:
    """Absorb reviewed findings of a compare of ``observed`` (gathered data) into a copy of ``baseline``.

    Returns ``(new baseline, accepted findings, skipped)``; ``skipped`` lists ``{"id", "reason"}`` for findings no
    baseline can absorb (fleet and policy findings, scan errors, failed gatherers). Each accepted finding is recorded
    in ``accepted`` with who, why and when.
    """
    if not reason or not who:
        raise StoreError("an accept needs a reason and who accepts")
    document = copy.deepcopy(baseline)
    current = normalize_gathered(observed)[0]
    accepted, skipped = [], []
    for finding in findings:
        try:
            document["checks"] = _absorb(document["checks"], current, observed, finding)
        except NotAbsorbable as exc:
            skipped.append({"id": finding["id"], "reason": str(exc)})
            continue
        accepted.append(finding)
        document["accepted"].append(
            {
                "id": finding["id"],
                "check": finding["check"],
                "kind": finding["kind"],
                "subject": finding["subject"],
                "summary": finding["summary"],
                "reason": reason,
                "who": who,
                "when": utc_iso(now),
            }
        )
    if accepted:
        document["updated"] = utc_iso(now)
    return document, accepted, skipped


def _absorb(checks: dict, current: dict, observed: dict, finding: dict) -> dict:
    """Baseline ``checks`` with one finding absorbed, decided by the finding's ``rule``."""
    name = finding["check"]
    if name != COMPARE_CHECK and name not in CHECKS:
        raise NotAbsorbable(f"{name} findings compare hosts or rules, not a host with its baseline: use an allow rule")
    if not finding.get("rule"):  # a finding kept from a version before findings named their rule
        raise NotAbsorbable(
            f"finding {finding['id']} names no rule (made by an older fleetwatch.audit): compare again and accept "
            "the finding of that compare"
        )
    if name == COMPARE_CHECK:
        return _absorb_check(checks, current, observed, finding)
    if name not in checks or name not in current:
        raise NotAbsorbable(f"check {name} is not in both the baseline and the observed data")
    return {**checks, name: CHECKS[name].apply_accept(checks[name], current[name], finding)}


def _absorb_check(checks: dict, current: dict, observed: dict, finding: dict) -> dict:
    """A finding about a whole check (its name is the subject): take its new data, or drop a retired check."""
    check_name, rule = finding["subject"], finding["rule"]
    result = dict(checks)
    if rule in (CHECK_UNBASELINED, BASELINE_UNREADABLE) and check_name in current:
        result[check_name] = copy.deepcopy(current[check_name])
    elif rule == CHECK_MISSING and check_name in checks and check_name not in observed:
        del result[check_name]
    else:
        raise NotAbsorbable(f"{finding['summary']}: not something a baseline can absorb; fix the cause")
    return result
