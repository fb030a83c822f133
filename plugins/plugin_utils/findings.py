# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The finding model: severities, stable ids, counting and ordering (see docs/findings.md)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime, timezone

SEVERITIES = ("critical", "high", "medium", "low", "info")  # most severe first
NEVER = "never"
FAIL_ON_CHOICES = (*SEVERITIES, NEVER)  # what fail_on takes: the least severity that fails a host, or never
KINDS = ("added", "removed", "changed", "anomaly", "coverage")
_RANK = {severity: len(SEVERITIES) - index for index, severity in enumerate(SEVERITIES)}


def severity_rank(severity: str) -> int:
    """Return a number that orders severities: info 1 … critical 5."""
    try:
        return _RANK[severity]
    except KeyError:
        raise ValueError(f"unknown severity {severity!r} (one of {', '.join(SEVERITIES)})") from None


def parse_threshold(value: str) -> str:
    """Validate a ``fail_on``-style threshold: a severity or ``never``."""
    if value != NEVER and value not in _RANK:
        raise ValueError(f"not a severity or 'never': {value!r} (one of {', '.join(SEVERITIES)}, never)")
    return value


def severity_at_least(severity: str, threshold: str) -> bool:
    """True when ``severity`` reaches ``threshold``; nothing reaches ``never``."""
    if parse_threshold(threshold) == NEVER:
        return False
    return severity_rank(severity) >= severity_rank(threshold)


def max_severity(severities: Iterable[str]) -> str | None:
    """The highest of ``severities``, or ``None`` when there is none."""
    return max(severities, key=severity_rank, default=None)


def canonical_json(value: object) -> str:
    """JSON with sorted keys and no whitespace: equal data, equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def digest(value: object) -> str:
    """Hex sha256 of the canonical JSON of ``value``."""
    return hashlib.sha256(canonical_json(value).encode("ascii")).hexdigest()


def finding_id(
    host: str | None,
    check: str,
    kind: str,
    subject: str | None,
    before: object,
    after: object,
    identity: object = None,
) -> str:
    """12 hex digits identifying one change: same change, same id, on every run.

    ``identity``, when not ``None``, replaces ``before`` and ``after`` in the id: for checks whose judged values
    move from run to run while the finding stays the same (a log hole's expected count, re-estimated each run).
    """
    if identity is not None:
        return digest([host, check, kind, subject, "identity", digest(identity)])[:12]
    return digest([host, check, kind, subject, digest(before), digest(after)])[:12]


def make_finding(
    host: str | None,
    check: str,
    kind: str,
    severity: str,
    subject: str | None,
    summary: str,
    before: object = None,
    after: object = None,
    since: str | None = None,
    identity: object = None,
    *,
    rule: str,
) -> dict:
    """Build a finding dict as specified in docs/architecture.md (``identity``: see :func:`finding_id`).

    ``rule`` names the rule of ``check`` that made the finding (docs/findings.md); accept decides by it. It is not
    part of the id, so ids stay what they were before findings carried it.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown finding kind {kind!r} (one of {', '.join(KINDS)})")
    if not isinstance(rule, str) or not rule:
        raise ValueError(f"a finding needs the name of its rule, not {rule!r}")
    severity_rank(severity)
    return {
        "id": finding_id(host, check, kind, subject, before, after, identity),
        "host": host,
        "check": check,
        "rule": rule,
        "kind": kind,
        "severity": severity,
        "subject": subject,
        "summary": summary,
        "before": before,
        "after": after,
        "since": since,
        "suppressed": None,
    }


def sort_findings(findings: Iterable[dict]) -> list[dict]:
    """Most severe first, then by subject, host and id (a stable, total order)."""
    return sorted(
        findings,
        key=lambda f: (-severity_rank(f["severity"]), f["subject"] or "", f["host"] or "", f["id"]),
    )


def active(findings: Iterable[dict]) -> list[dict]:
    """The findings that no allow rule suppresses."""
    return [f for f in findings if not f.get("suppressed")]


def count_by_severity(findings: Iterable[dict]) -> dict[str, int]:
    """Number of unsuppressed findings per severity, every severity present."""
    counts = dict.fromkeys(SEVERITIES, 0)
    for finding in active(findings):
        counts[finding["severity"]] += 1
    return counts


def worst_severity(findings: Iterable[dict]) -> str | None:
    """Highest severity among the unsuppressed findings, or ``None``."""
    return max_severity(f["severity"] for f in active(findings))


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is taken as UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def utc_iso(moment: datetime) -> str:
    """``2026-01-02T03:04:05Z``."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")
