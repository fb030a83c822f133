# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The ``sshd_auth`` check: failed and accepted SSH logins counted by ``sshd_auth_info``.

An internet-facing host sees thousands of failed logins a day: noise, never a finding by itself. What matters is
what comes from inside (a failed login between your own machines, an unknown user tried from one of them) and who
logs in where (a new login path). Every rule is in docs/findings.md.

**Internal** sources: the policy's ``internal_networks`` (else RFC 1918, 100.64.0.0/10, loopback, fc00::/7,
fe80::/10), plus every address the inventory gives its hosts (``ansible_host``), which the context handed to the check
carries (:class:`context.CheckContext`).
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from fnmatch import fnmatchcase

from ansible_collections.fleetwatch.audit.plugins.plugin_utils.addresses import is_internal, normal
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.checks.base import (
    Check,
    NoFleetObservations,
    NotAbsorbable,
    count_value,
    source_errors,
    text_value,
)
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.findings import make_finding

FAILURE_FIELDS = ("source", "user", "invalid_user", "kind", "count", "first_seen", "last_seen")
TOTAL_FIELDS = ("attempts", "sources", "internal_sources", "internal_attempts", "folded_sources", "accepted")
INVALID_KINDS = ("invalid_user",)
MAX_USERS_NAMED = 5
# Rules of the findings (docs/findings.md); apply_accept decides by them.
INTERNAL_FAILURE, NEW_LOGIN, NEW_KEY = "internal_failure", "new_login", "new_key"
SOURCE_ERROR, UNKNOWN_USERS = "source_error", "unknown_users"


def pair_key(user: str, source: str) -> str:
    """Key of an accepted (user, source) pair in the baseline: ``user@source``."""
    return f"{user}@{source}"


def _later(a: str | None, b: str | None) -> bool:
    """True when ISO time ``a`` is after ``b`` (a missing ``b`` is before anything)."""
    return a is not None and (b is None or a > b)


class SshdAuthCheck(NoFleetObservations, Check):
    """Failed logins from inside, new login paths, and what the logs covered."""

    name = "sshd_auth"
    module = "sshd_auth_info"
    knobs = {"ignore_sources": [], "ignore_users": [], "window": 0}

    # -- data ---------------------------------------------------------------------------------------------

    def normalize(self, result: dict) -> dict:
        failures = []
        for entry in result.get("failures") or []:
            if not isinstance(entry, dict):
                raise ValueError(f"failure entry is not a mapping: {entry!r:.80}")
            item = {
                "source": text_value(entry.get("source"), "failure source"),
                "user": text_value(entry.get("user"), "failure user", allow_none=True),
                "invalid_user": bool(entry.get("invalid_user")),
                "kind": text_value(entry.get("kind"), "failure kind"),
                "count": count_value(entry.get("count"), "failure count"),
                "first_seen": text_value(entry.get("first_seen"), "first_seen", allow_none=True),
                "last_seen": text_value(entry.get("last_seen"), "last_seen", allow_none=True),
            }
            failures.append(item)
        if not isinstance(result.get("failures"), list):
            raise ValueError("no 'failures' list")
        accepted: dict = {}
        for entry in result.get("accepted") or []:
            if not isinstance(entry, dict):
                raise ValueError(f"accepted entry is not a mapping: {entry!r:.80}")
            user = text_value(entry.get("user"), "accepted user")
            source = text_value(entry.get("source"), "accepted source")
            got = accepted.setdefault(
                pair_key(user, source),
                {
                    "user": user,
                    "source": source,
                    "methods": [],
                    "fingerprints": [],
                    "count": 0,
                    "first_seen": None,
                    "last_seen": None,
                },
            )
            method = text_value(entry.get("method"), "accepted method", allow_none=True)
            fingerprint = text_value(entry.get("fingerprint"), "accepted fingerprint", allow_none=True)
            if method and method not in got["methods"]:
                got["methods"] = sorted([*got["methods"], method])
            if fingerprint and fingerprint not in got["fingerprints"]:
                got["fingerprints"] = sorted([*got["fingerprints"], fingerprint])
            got["count"] += count_value(entry.get("count"), "accepted count")
            first, last = entry.get("first_seen"), entry.get("last_seen")
            if first and (got["first_seen"] is None or first < got["first_seen"]):
                got["first_seen"] = first
            if last and (got["last_seen"] is None or last > got["last_seen"]):
                got["last_seen"] = last
        totals = result.get("totals") or {}
        users = result.get("local_users") or []
        if not isinstance(users, list) or not all(isinstance(u, str) for u in users):
            raise ValueError("local_users must be a list of names")
        return {
            "collected_at": result.get("collected_at"),
            "since": result.get("since"),
            "until": result.get("until"),
            "failures": failures,
            "accepted": accepted,
            "totals": {field: totals.get(field) for field in TOTAL_FIELDS},
            "local_users": sorted(set(users)),
            "sources": source_errors(result),
        }

    def inventory(self, current: dict) -> str:
        totals = current.get("totals") or {}
        attempts = totals.get("attempts") or 0
        users = {pair["user"] for pair in current["accepted"].values()}
        logins = sum(pair["count"] for pair in current["accepted"].values())
        return (
            f"{attempts:,} failed attempts from {totals.get('sources') or 0:,} sources "
            f"({totals.get('internal_sources') or 0:,} internal), {logins:,} accepted logins by {len(users):,} users"
        )

    # -- judgement ----------------------------------------------------------------------------------------

    def _ignored(self, context, source: str, user: str | None) -> bool:
        for pattern in self.knob(context, "ignore_sources"):
            try:
                if ipaddress.ip_address(source) in ipaddress.ip_network(pattern, strict=False):
                    return True
            except ValueError:
                if fnmatchcase(source, pattern):
                    return True
        return user is not None and any(fnmatchcase(user, pattern) for pattern in self.knob(context, "ignore_users"))

    def _recent(self, current: dict, context) -> dict:
        """``current`` without the failures and logins last seen more than ``window`` seconds before it was
        collected (``window`` 0: everything the gatherer read)."""
        window = self.knob(context, "window")
        collected = current.get("collected_at")
        if not window or not collected:
            return current
        try:
            moment = datetime.strptime(collected, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        except ValueError:
            return current
        oldest = (moment - timedelta(seconds=window)).strftime("%Y-%m-%dT%H:%M:%SZ")
        recent = dict(current)
        recent["failures"] = [e for e in current["failures"] if (e.get("last_seen") or "") >= oldest]
        recent["accepted"] = {k: p for k, p in current["accepted"].items() if (p.get("last_seen") or "") >= oldest}
        return recent

    def diff(self, host: str, baseline: dict, current: dict, context) -> list[dict]:
        current = self._recent(current, context)
        findings = []
        findings.extend(self._internal_failures(host, baseline, current, context))
        findings.extend(self._new_logins(host, baseline, current, context))
        findings.extend(self._coverage(host, baseline, current))
        return findings

    def _internal_failures(self, host, baseline, current, context) -> list[dict]:
        """One finding per internal (source, user) whose failures are not all in the baseline."""
        seen = {}
        for entry in baseline.get("failures") or []:
            key = (entry["source"], entry["user"], entry["kind"])
            seen[key] = max(seen.get(key) or "", entry.get("last_seen") or "")
        networks, known = context.internal_networks, context.address_hosts
        groups: dict = {}
        for entry in current["failures"]:
            source, user = entry["source"], entry["user"]
            if user is None or not is_internal(source, networks, known) or self._ignored(context, source, user):
                continue
            if not _later(entry.get("last_seen"), seen.get((source, user, entry["kind"]))) and (
                (source, user, entry["kind"]) in seen
            ):
                continue
            groups.setdefault((source, user), []).append(entry)
        findings = []
        for (source, user), entries in sorted(groups.items()):
            invalid = any(e["invalid_user"] or e["kind"] in INVALID_KINDS for e in entries)
            hosts = known.get(normal(source))
            origin = f"{source} ({', '.join(hosts)})" if hosts else source
            kinds = ", ".join(f"{e['kind']} x{e['count']}" for e in sorted(entries, key=lambda e: e["kind"]))
            first = min((e["first_seen"] for e in entries if e["first_seen"]), default=None)
            last = max((e["last_seen"] for e in entries if e["last_seen"]), default=None)
            if invalid:
                severity = "critical"
                what = f"an SSH login for user {user!r}, which does not exist on {host}, was tried from inside"
            else:
                severity = "high"
                what = f"SSH authentication for user {user!r} failed from inside"
            summary = f"{host}: {what}: {origin} ({kinds}) between {first} and {last}"
            after = {
                "source": source,
                "source_hosts": hosts or [],
                "user": user,
                "invalid_user": invalid,
                "kinds": {e["kind"]: e["count"] for e in entries},
                "first_seen": first,
                "last_seen": last,
            }
            findings.append(
                make_finding(
                    host,
                    self.name,
                    "anomaly",
                    severity,
                    f"failed {user}@{source}",
                    summary,
                    after=after,
                    since=first,
                    rule=INTERNAL_FAILURE,
                    identity={"rule": INTERNAL_FAILURE, "source": source, "user": user, "last_seen": last},
                )
            )
        return findings

    def _new_logins(self, host, baseline, current, context) -> list[dict]:
        networks, known = context.internal_networks, context.address_hosts
        old = baseline.get("accepted") or {}
        findings = []
        for key, pair in sorted(current["accepted"].items()):
            user, source = pair["user"], pair["source"]
            if self._ignored(context, source, user):
                continue
            hosts = known.get(normal(source))
            internal = is_internal(source, networks, known)
            before = old.get(key)
            if before is None:
                if internal and not hosts:
                    severity = "high"
                    why = "an accepted login from a local address that is no inventory host"
                else:
                    severity = "medium"
                    why = "a new login path"
                origin = f"{source} ({', '.join(hosts)})" if hosts else source
                summary = (
                    f"{host}: {user} logged in from {origin} by {', '.join(pair['methods']) or 'an unknown method'} "
                    f"({pair['count']} times, {pair['first_seen']} to {pair['last_seen']}), not in the baseline: {why}"
                )
                after = {**pair, "source_hosts": hosts or [], "internal": internal}
                findings.append(
                    make_finding(
                        host,
                        self.name,
                        "added",
                        severity,
                        f"accepted {key}",
                        summary,
                        after=after,
                        since=pair["first_seen"],
                        rule=NEW_LOGIN,
                        identity={"rule": NEW_LOGIN, "user": user, "source": source},
                    )
                )
                continue
            new_keys = sorted(set(pair["fingerprints"]) - set(before.get("fingerprints") or []))
            if new_keys:
                summary = (
                    f"{host}: {user} logged in from {source} with a key the baseline did not have: "
                    f"{', '.join(new_keys)}"
                )
                findings.append(
                    make_finding(
                        host,
                        self.name,
                        "changed",
                        "low",
                        f"accepted {key}",
                        summary,
                        before={"fingerprints": before.get("fingerprints") or []},
                        after={"fingerprints": pair["fingerprints"]},
                        since=pair["first_seen"],
                        rule=NEW_KEY,
                        identity={"rule": NEW_KEY, "user": user, "source": source, "keys": new_keys},
                    )
                )
        return findings

    def _coverage(self, host, baseline, current) -> list[dict]:
        findings = []
        before = {s["name"]: s for s in baseline.get("sources") or []}
        for source in current.get("sources") or []:
            if not source.get("error"):
                continue
            known = before.get(source["name"])
            severity = "info" if known and known.get("error") else "medium"
            summary = f"{host}: the sshd log source {source['name']} could not be read: {source['error']}"
            findings.append(
                make_finding(
                    host,
                    self.name,
                    "coverage",
                    severity,
                    f"source {source['name']}",
                    summary,
                    after={"source": source["name"], "error": source["error"]},
                    rule=SOURCE_ERROR,
                    identity={"rule": SOURCE_ERROR, "source": source["name"], "error": source["error"]},
                )
            )
        return findings

    def apply_accept(self, baseline: dict, current: dict, finding: dict) -> dict:
        result = copy.deepcopy(baseline)
        result.setdefault("failures", [])
        result.setdefault("accepted", {})
        rule, subject = finding["rule"], finding["subject"]
        details = finding.get("after") or {}
        if rule == INTERNAL_FAILURE:
            source, user = details.get("source"), details.get("user")
            entries = [e for e in current["failures"] if (e["source"], e["user"]) == (source, user)]
            if not entries:
                raise NotAbsorbable(f"failures of {user}@{source} are not in the observed data any more")
            kinds = {e["kind"] for e in entries}
            result["failures"] = [
                e for e in result["failures"] if not ((e["source"], e["user"]) == (source, user) and e["kind"] in kinds)
            ] + copy.deepcopy(entries)
        elif rule in (NEW_LOGIN, NEW_KEY):
            key = subject[len("accepted ") :]  # the subject is "accepted <pair key>"
            if key not in current["accepted"]:
                raise NotAbsorbable(f"the login {key} is not in the observed data any more")
            result["accepted"][key] = copy.deepcopy(current["accepted"][key])
        else:
            raise NotAbsorbable(
                f"a {finding['kind']} finding on {subject} (rule {rule}) cannot be absorbed into the baseline: "
                "fix its cause, or suppress it with an allow rule"
            )
        return result

    def fleet_findings(self, per_host: Mapping[str, dict], context) -> list[dict]:
        return unknown_user_findings(per_host, context)

    def fleet_sections(self, per_host: Mapping[str, dict], compares: Mapping[str, dict | None], context) -> dict:
        return {"login_graph": login_graph(per_host, context.address_hosts, compares)}


# --------------------------------------------------------------------------------------------------- fleet


def fleet_users(per_host: Mapping[str, dict]) -> set:
    """The local user names of every host of the fleet (normalised sshd_auth data per host)."""
    users: set = set()
    for data in per_host.values():
        users.update(data.get("local_users") or ())
    return users


def unknown_user_findings(per_host: Mapping[str, dict], context) -> list[dict]:
    """Failures for users that exist on no host of the fleet, from a source the fleet knows (medium).

    A source the fleet knows is internal (networks, inventory) or logged in successfully somewhere in the fleet. Its
    failures for a user no host has (in its ``etc/passwd``) are someone guessing names from a trusted place;
    failures of an unknown external source are noise and never a finding. Judged only when every host's user list
    is known (a host whose ``etc/passwd`` was not read makes the fleet's list unknown).
    """
    if not per_host or any(not data.get("local_users") for data in per_host.values()):
        return []
    networks, known = context.internal_networks, context.address_hosts
    users = fleet_users(per_host)
    trusted = {pair["source"] for data in per_host.values() for pair in (data.get("accepted") or {}).values()}
    findings = []
    for host, data in sorted(per_host.items()):
        groups: dict = {}
        for entry in data.get("failures") or []:
            user, source = entry["user"], entry["source"]
            if user is None or user in users:
                continue
            if not (source in trusted or is_internal(source, networks, known)):
                continue
            groups.setdefault(source, []).append(entry)
        for source, entries in sorted(groups.items()):
            names = sorted({e["user"] for e in entries})
            count = sum(e["count"] for e in entries)
            shown = ", ".join(repr(name) for name in names[:MAX_USERS_NAMED])
            more = f" and {len(names) - MAX_USERS_NAMED} more" if len(names) > MAX_USERS_NAMED else ""
            summary = (
                f"{host}: {count} failed SSH attempts from {source}, a source the fleet knows, for users that exist "
                f"on no host of the fleet: {shown}{more}"
            )
            after = {"source": source, "users": names, "count": count, "hosts": len(per_host)}
            findings.append(
                make_finding(
                    host,
                    SshdAuthCheck.name,
                    "anomaly",
                    "medium",
                    f"unknown users from {source}",
                    summary,
                    after=after,
                    since=min((e["first_seen"] for e in entries if e["first_seen"]), default=None),
                    rule=UNKNOWN_USERS,
                    identity={"rule": UNKNOWN_USERS, "source": source, "users": names},
                )
            )
    return findings


def login_graph(per_host: Mapping[str, dict], known: Mapping, compares: Mapping[str, dict | None]) -> dict:
    """Who logs into whom: ``{"edges": [...], "new_edges": [...]}``.

    An edge is an accepted (user, source) of a host, its source named by the inventory host with that address when
    there is one. It is new when the host's compare found that pair absent from its baseline (the baselines'
    accepted pairs are the baseline graph); an edge of a host without a compare is not judged. ``known``: which
    inventory hosts each address names (:func:`addresses.address_hosts`).
    """
    edges, new_edges = [], []
    for host, data in sorted(per_host.items()):
        compare = compares.get(host) or {}
        new_subjects = {
            f["subject"]
            for f in compare.get("findings") or []
            if f.get("check") == SshdAuthCheck.name and f.get("kind") == "added"
        }
        judged = compare.get("status") == "compared"
        for key, pair in sorted((data.get("accepted") or {}).items()):
            hosts = known.get(normal(pair["source"])) or []
            edge = {
                "from": hosts[0] if len(hosts) == 1 else None,
                "from_hosts": hosts,
                "from_address": pair["source"],
                "user": pair["user"],
                "to": host,
                "count": pair["count"],
                "methods": pair["methods"],
                "first_seen": pair["first_seen"],
                "last_seen": pair["last_seen"],
                "new": judged and f"accepted {key}" in new_subjects,
            }
            edges.append(edge)
            if edge["new"]:
                new_edges.append(edge)
    return {"edges": edges, "new_edges": new_edges}
