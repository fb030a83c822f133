# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The ``log_rate`` check: holes in the logs counted by ``log_rate_info`` (events per UTC hour per log source).

An intruder wipes logs: an hour that falls from ~7,500 events to ~700, or vanishes, shows it. The baseline keeps
each source's profile (the expected events per weekday x hour, hour of day, overall; plugin_utils/holes.py); a
compare judges the hours that came after the baseline's data against it. Every rule is in docs/findings.md and the
model in docs/holes.md.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from fnmatch import fnmatchcase

from ansible_collections.fleetwatch.audit.plugins.plugin_utils.checks.base import Check, NotAbsorbable
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.findings import make_finding
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.holes import (
    HOUR,
    PROFILE_HOURS,
    build_profile,
    data_start,
    expected_rate,
    explaining_boot,
    hole_severity,
    hour_iso,
    hour_label,
    hour_of,
    low_hours,
    parse_hour,
    parse_time,
    peak,
    runs,
)

# Hours kept per source in a baseline (the profile is computed from up to as many before they are cut).
KEEP_HOURS = PROFILE_HOURS
MAX_BOOTS = 500
MAX_FILES = 200
HOURS_IN_SUMMARY = 4
BASIS = {"baseline": "the baseline's profile", "this run": "this run's own hours"}


def _text(value: object, what: str, required: bool = False) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise ValueError(f"{what} must be a string: {value!r:.80}")
    return value


def _time(value: object, what: str) -> str | None:
    """An ISO 8601 time as the module gives it (kept as text), validated."""
    text = _text(value, what)
    parse_time(text)
    return text


def _count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} must be a count: {value!r:.80}")
    return value


def _end_hour(data: dict) -> int:
    """First hour after a run's complete data: the hour holding ``collected_at`` (still filling) or ``until``."""
    end = hour_of(data["collected_at"])
    until = hour_of(data.get("until"))
    return end if until is None else min(end, until)


def _boots(entry: dict) -> list[dict]:
    boots = []
    for boot in entry.get("boots") or []:
        if not isinstance(boot, dict):
            raise ValueError(f"boot entry is not a mapping: {boot!r:.80}")
        time = _time(boot.get("time") or boot.get("first_event"), "boot time")
        if time is not None:
            boots.append({"time": time, "last_event": _time(boot.get("last_event"), "boot last_event")})
    boots.sort(key=lambda boot: parse_time(boot["time"]))
    return boots[:MAX_BOOTS]


def _files(entry: dict) -> list[dict]:
    files = []
    for item in (entry.get("files") or [])[:MAX_FILES]:
        if not isinstance(item, dict):
            raise ValueError(f"file entry is not a mapping: {item!r:.80}")
        files.append(
            {
                "path": _text(item.get("path"), "file path"),
                "first_event": _time(item.get("first_event"), "file first_event"),
                "last_event": _time(item.get("last_event"), "file last_event"),
                "skipped": _text(item.get("skipped"), "file skipped"),
                "error": _text(item.get("error"), "file error"),
            }
        )
    return files


def _verify(entry: dict) -> dict | None:
    verify = entry.get("verify")
    if verify is None:
        return None
    if not isinstance(verify, dict) or not isinstance(verify.get("ok"), bool):
        raise ValueError(f"verify must be {{ok, message}}: {verify!r:.80}")
    return {"ok": verify["ok"], "message": _text(verify.get("message"), "verify message")}


def _normalize_source(entry: dict, since_hour: int | None, end: int) -> dict:
    name = _text(entry.get("name"), "source name", required=True)
    raw_hours = entry.get("hours") or {}
    if not isinstance(raw_hours, dict):
        raise ValueError(f"hours of {name} must be a mapping")
    counts = {parse_hour(label): _count(count, f"hour {label} of {name}") for label, count in raw_hours.items()}
    first_event = _time(entry.get("first_event"), "first_event")
    error = _text(entry.get("error"), "source error")
    start = data_start(since_hour, hour_of(first_event))
    profile = None if error or start is None else build_profile(counts, start, end)
    jumps = entry.get("backward_jumps") or 0
    largest = entry.get("largest_backward_jump")
    if largest is not None and (isinstance(largest, bool) or not isinstance(largest, (int, float))):
        raise ValueError(f"largest_backward_jump of {name} must be a number: {largest!r:.80}")
    return {
        "name": name,
        "kind": _text(entry.get("kind"), "source kind"),
        "path": _text(entry.get("path"), "source path"),
        "timezone": _text(entry.get("timezone"), "source timezone"),
        # Bounded: the hours of the last KEEP_HOURS before the end, and the hour still filling.
        "hours": {hour_label(hour): counts[hour] for hour in sorted(counts) if end - KEEP_HOURS <= hour <= end},
        "events": sum(counts.values()),
        "first_event": first_event,
        "last_event": _time(entry.get("last_event"), "last_event"),
        "boots": _boots(entry),
        "backward_jumps": _count(jumps, f"backward_jumps of {name}"),
        "largest_backward_jump": largest,
        "files": _files(entry),
        "error": error,
        "verify": _verify(entry),
        "profile": profile,
    }


def _hours_text(first: int, last: int) -> str:
    """``the hour from 2025-10-06T13:00:00Z`` or ``2025-10-06T13:00:00Z to 2025-10-06T15:00:00Z`` (its end)."""
    if first == last:
        return f"the hour from {hour_iso(first)}"
    return f"{hour_iso(first)} to {hour_iso(last + 1)}"


def _span(first: int, last: int) -> dict:
    return {"start": hour_iso(first), "end": hour_iso(last + 1)}


def _detail(hours: list[tuple[int, int, float]]) -> str:
    shown = [f"{hour_label(h)[-2:]}:00 {observed:,} of ~{expected:,.0f}" for h, observed, expected in hours]
    if len(shown) > HOURS_IN_SUMMARY:
        shown = [*shown[: HOURS_IN_SUMMARY - 1], "…", shown[-1]]
    return "; ".join(shown)


class _Judge:
    """One host's compare: the knobs, the accepted hour ranges, the boots, and the downtime seen so far."""

    def __init__(self, check: LogRateCheck, host: str, baseline: dict, current: dict, context):
        self.check = check
        self.host = host
        self.knobs = {name: check.knob(context, name) for name in check.knobs}
        self.base_end = _end_hour(baseline)
        self.end = _end_hour(current)
        self.since = hour_of(current.get("since"))
        self.accepted: dict[str, list[tuple[int, int]]] = {}
        for item in baseline.get("accepted_hours") or []:
            span = (hour_of(item["start"]), hour_of(item["end"]))
            self.accepted.setdefault(item["source"], []).append(span)
        boots = {boot["time"]: boot for source in current["sources"].values() for boot in source["boots"]}
        self.boots = sorted(((parse_time(time), time) for time in boots), key=lambda boot: boot[0])
        self.shutdowns = {time: boot.get("last_event") for time, boot in boots.items()}
        self.downtime: dict[tuple[float, str], list[dict]] = {}

    def finding(self, kind: str, severity: str, subject: str, summary: str, **fields) -> dict:
        """A finding of this host; its rule is the one its details name (``after.rule``, else ``before.rule``)."""
        rule = (fields.get("after") or fields.get("before"))["rule"]
        return make_finding(self.host, self.check.name, kind, severity, subject, summary, **fields, rule=rule)

    def is_accepted(self, name: str, hour: int) -> bool:
        return any(start <= hour < end for start, end in self.accepted.get(name, ()))

    # -- one source ----------------------------------------------------------------------------------------------

    def source(self, name: str, old: dict | None, new: dict | None) -> list[dict]:
        if new is None:
            return [self.gone(name, old)] if old is not None else []
        if new["error"]:
            summary = f"{self.host}: log source {name} could not be read, so it was not audited: {new['error']}"
            after = {"rule": "error", "source": name, "error": new["error"]}
            return [self.finding("coverage", "high", name, summary, after=after)]
        findings = self.verify(name, old, new) + self.file_errors(name, old, new)
        old_profile = old.get("profile") if old else None
        if peak(old_profile) >= self.knobs["min_expected_per_hour"] and new["events"] == 0:
            return [*findings, self.empty(name, old, new)]
        same_zone = old is None or old.get("timezone") == new.get("timezone")
        if not same_zone:
            findings.append(self.zone_changed(name, old, new))
        counts = {parse_hour(label): count for label, count in new["hours"].items()}
        start = data_start(self.since, hour_of(new["first_event"]))
        if peak(old_profile) >= self.knobs["min_expected_per_hour"]:  # a profile that can tell a hole
            profile, basis = old_profile, "baseline"
            judged_from = self.base_end if self.since is None else max(self.base_end, self.since)
        else:
            basis = "this run"
            profile = None
            judged_from = None if start is None else max(start, self.end - PROFILE_HOURS)
            if judged_from is not None:
                ratio, minimum = self.knobs["drop_ratio"], self.knobs["min_expected_per_hour"]
                profile = build_profile(counts, judged_from, self.end, ratio, minimum)

        def expect(hour: int) -> float | None:
            rate = expected_rate(profile, hour)
            return None if rate is None else rate[0]

        if judged_from is not None:
            findings.extend(self.holes(name, counts, range(judged_from, self.end), expect, basis))
        if old is not None and same_zone and start is not None:
            findings.extend(self.rewrites(name, old, counts, start))
        findings.extend(self.rotation_gaps(name, old, new, expect))
        jumps = self.backward_jumps(name, old, new)
        return findings + ([jumps] if jumps else [])

    def gone(self, name: str, old: dict) -> dict:
        summary = (
            f"{self.host}: log source {name} ({old.get('kind')}) is gone: the baseline read it "
            f"({old.get('events', 0):,} events), this run did not find it"
        )
        before = {"rule": "gone", "source": name, "kind": old.get("kind"), "path": old.get("path")}
        return self.finding("removed", "high", name, summary, before=before)

    def empty(self, name: str, old: dict, new: dict) -> dict:
        expected = peak(old.get("profile"))
        since = hour_iso(self.since) if self.since is not None else "the start of its files"
        summary = (
            f"{self.host}: log source {name} holds no event since {since}, where the baseline expects up to "
            f"{expected:,.0f} per hour: logging stopped or the log was emptied"
        )
        after = {"rule": "empty", "source": name, "events": 0, "files": len(new["files"])}
        return self.finding("anomaly", "high", name, summary, before={"source": name, "peak": expected}, after=after)

    def verify(self, name: str, old: dict | None, new: dict) -> list[dict]:
        verify = new.get("verify")
        if not verify or verify["ok"]:
            return []
        known = old is not None and old.get("verify") == verify
        severity = "info" if known else "critical"
        state = "failed in the baseline already, the same way" if known else "the journal files were altered"
        summary = f"{self.host}: {name}: journal verification failed ({verify['message']}): {state}"
        after = {"rule": "verify", "source": name, "message": verify["message"]}
        return [self.finding("anomaly", severity, f"{name} verification", summary, after=after)]

    def file_errors(self, name: str, old: dict | None, new: dict) -> list[dict]:
        """Files that could not be read, unless the baseline could not read them either (a known blind spot, such as
        the rotations left of a log whose daemon was removed)."""
        known = {(f.get("path"), f.get("error")) for f in (old or {}).get("files") or [] if f.get("error")}
        failed = [{"path": f["path"], "error": f["error"]} for f in new["files"] if f["error"]]
        if not failed or all((f["path"], f["error"]) in known for f in failed):
            return []
        summary = (
            f"{self.host}: {name}: {len(failed)} of its files could not be read, so their hours were not counted; "
            f"first {failed[0]['path']}: {failed[0]['error']}"
        )
        after = {"rule": "file_errors", "source": name, "files": failed}
        return [self.finding("coverage", "medium", f"{name} files", summary, after=after)]

    def zone_changed(self, name: str, old: dict, new: dict) -> dict:
        summary = (
            f"{self.host}: {name}: timestamps are read in zone {new.get('timezone')} now, "
            f"{old.get('timezone')} in the baseline, so the hours counted before the snapshot are not compared"
        )
        before = {"source": name, "timezone": old.get("timezone")}
        after = {"rule": "timezone", "source": name, "timezone": new.get("timezone")}
        return self.finding("changed", "low", f"{name} timezone", summary, before=before, after=after)

    def holes(self, name: str, counts: dict, hours: range, expect, basis: str) -> list[dict]:
        knobs = self.knobs
        low = low_hours(
            counts,
            hours,
            expect,
            knobs["drop_ratio"],
            knobs["min_expected_per_hour"],
            skip=lambda hour: self.is_accepted(name, hour),
        )
        findings = []
        for first, last in runs(low):
            detail = [(hour, counts.get(hour, 0), expect(hour)) for hour in range(first, last + 1)]
            observed = sum(item[1] for item in detail)
            expected = sum(item[2] for item in detail)
            hole = {"source": name, **_span(first, last), "observed": observed, "expected": round(expected)}
            boot = explaining_boot(first, last, counts, self.boots, knobs["boot_grace_hours"])
            if boot is not None:
                self.downtime.setdefault(boot, []).append(hole)
                continue
            findings.append(self.hole(name, first, last, detail, basis))
        return findings

    def severity_of(self, detail: list) -> tuple[str, str]:
        """:func:`hole_severity` of a run of hours ``(hour, observed, expected)`` with the policy's knobs."""
        knobs = self.knobs
        return hole_severity(
            [(observed, expected) for _hour, observed, expected in detail],
            knobs["large_expected_per_hour"],
            knobs["high_hours"],
            knobs["critical_hours"],
            knobs["critical_zero_hours"],
        )

    def hole(self, name: str, first: int, last: int, detail: list, basis: str) -> dict:
        severity, why = self.severity_of(detail)
        observed = sum(item[1] for item in detail)
        expected = sum(item[2] for item in detail)
        length = last - first + 1
        summary = (
            f"{self.host}: {name}: {observed:,} events in {_hours_text(first, last)} UTC where about "
            f"{expected:,.0f} were expected from {BASIS[basis]} ({_detail(detail)}): "
            f"{'an hour' if length == 1 else f'{length} hours'} far below the usual rate, as when a log is wiped "
            f"({severity}: {why})"
        )
        before = {
            "source": name,
            "basis": basis,
            "expected": {hour_label(hour): round(value, 1) for hour, _observed, value in detail},
            "expected_total": round(expected),
        }
        after = {
            "rule": "hole",
            "source": name,
            **_span(first, last),
            "hours": length,
            "observed": {hour_label(hour): value for hour, value, _expected in detail},
            "observed_total": observed,
        }
        return self.finding(
            "anomaly",
            severity,
            f"{name} {hour_iso(first)}/{hour_iso(last + 1)}",
            summary,
            before=before,
            after=after,
            since=hour_iso(first),
            identity={"rule": "hole", "source": name, **_span(first, last)},
        )

    def rewrites(self, name: str, old: dict, counts: dict, start: int) -> list[dict]:
        """Hours complete in the baseline that hold fewer events now: lines were removed after the snapshot."""
        knobs = self.knobs
        old_counts = {parse_hour(label): count for label, count in old["hours"].items()}
        lower = start if self.since is None else max(start, self.since)
        upper = min(self.base_end, self.end)
        dropped = [
            hour
            for hour, count in old_counts.items()
            if lower <= hour < upper
            and not self.is_accepted(name, hour)
            and count - counts.get(hour, 0) >= knobs["rewrite_min_events"]
        ]
        findings = []
        for first, last in runs(dropped):
            detail = [(hour, counts.get(hour, 0), old_counts.get(hour, 0)) for hour in range(first, last + 1)]
            before_total = sum(item[2] for item in detail)
            now_total = sum(item[1] for item in detail)
            severity, why = self.severity_of(detail)
            severity = "critical" if severity == "critical" else "high"
            summary = (
                f"{self.host}: {name}: {_hours_text(first, last)} UTC held {before_total:,} events at the snapshot "
                f"and holds {now_total:,} now ({_detail(detail).replace(' of ~', ' of ')}): "
                f"{before_total - now_total:,} events were removed from the log after the snapshot ({severity}"
                f"{': ' + why if severity == 'critical' else ''})"
            )
            before = {"source": name, "counts": {hour_label(h): b for h, _n, b in detail if b}}
            after = {
                "rule": "rewrite",
                "source": name,
                **_span(first, last),
                "counts": {hour_label(h): n for h, n, _b in detail},
                "removed": before_total - now_total,
            }
            findings.append(
                self.finding(
                    "changed",
                    severity,
                    f"{name} {hour_iso(first)}/{hour_iso(last + 1)}",
                    summary,
                    before=before,
                    after=after,
                    since=hour_iso(first),
                )
            )
        return findings

    def rotation_gaps(self, name: str, old: dict | None, new: dict, expect) -> list[dict]:
        knobs = self.knobs
        files = [f for f in new["files"] if f["first_event"] and f["last_event"] and not f["error"]]
        files = [f for f in files if not f["skipped"]]
        known = set()
        if old is not None:
            old_files = [f for f in old.get("files") or [] if f.get("first_event") and f.get("last_event")]
            known = {(a["last_event"], b["first_event"]) for a, b in zip(old_files, old_files[1:])}
        findings = []
        for previous, following in zip(files, files[1:]):
            begin, finish = parse_time(previous["last_event"]), parse_time(following["first_event"])
            if finish - begin < knobs["rotation_gap_hours"] * HOUR:
                continue
            if (previous["last_event"], following["first_event"]) in known:
                continue
            inner = [
                hour
                for hour in range(int(begin // HOUR) + 1, int(finish // HOUR))
                if (self.since is None or hour >= self.since) and hour < self.end and not self.is_accepted(name, hour)
            ]
            rates = [rate for rate in (expect(hour) for hour in inner) if rate is not None]
            if not rates or sum(rates) / len(rates) < knobs["min_expected_per_hour"]:
                continue
            if any(begin <= boot < finish + knobs["boot_grace_hours"] * HOUR for boot, _time in self.boots):
                continue  # the host was down between the two files: the holes rule reports the downtime
            hours = (finish - begin) / HOUR
            summary = (
                f"{self.host}: {name}: no event between {previous['path']} (last event {previous['last_event']}) "
                f"and the next file {following['path']} (first event {following['first_event']}), {hours:,.1f} "
                f"hours where about {sum(rates) / len(rates):,.0f} events per hour were expected: a rotated file "
                "may have been removed"
            )
            after = {
                "rule": "rotation_gap",
                "source": name,
                "start": hour_iso(inner[0]),
                "end": hour_iso(inner[-1] + 1),
                "last_event": previous["last_event"],
                "next_first_event": following["first_event"],
                "files": [previous["path"], following["path"]],
            }
            findings.append(
                self.finding(
                    "anomaly",
                    "high",
                    f"{name} rotation gap {previous['last_event']}/{following['first_event']}",
                    summary,
                    after=after,
                    since=previous["last_event"],
                    identity={
                        "rule": "rotation_gap",
                        "source": name,
                        "from": previous["last_event"],
                        "to": following["first_event"],
                    },
                )
            )
        return findings

    def backward_jumps(self, name: str, old: dict | None, new: dict) -> dict | None:
        knobs = self.knobs
        old_count = old.get("backward_jumps", 0) if old else 0
        old_largest = old.get("largest_backward_jump") if old else None
        count, largest = new["backward_jumps"], new["largest_backward_jump"]
        more = count - old_count > knobs["backward_jumps_tolerance"]
        big = largest is not None and largest >= knobs["backward_jump_seconds"] and largest != old_largest
        if not (more or big):
            return None
        size = "unknown" if largest is None else f"{largest:,.0f} seconds"
        summary = (
            f"{self.host}: {name}: timestamps step back into an earlier hour {count:,} times (baseline "
            f"{old_count:,}), the largest step {size} (baseline "
            f"{'none' if old_largest is None else f'{old_largest:,.0f} seconds'}): the clock was set back, or lines "
            "were inserted or moved"
        )
        before = {"source": name, "backward_jumps": old_count, "largest_backward_jump": old_largest}
        after = {"rule": "backward_jumps", "source": name, "backward_jumps": count, "largest_backward_jump": largest}
        return self.finding(
            "anomaly",
            "medium",
            f"{name} backward jumps",
            summary,
            before=before,
            after=after,
            identity={"rule": "backward_jumps", "source": name, "count": count, "largest": largest},
        )

    # -- the host ------------------------------------------------------------------------------------------------

    def downtimes(self) -> list[dict]:
        """One info finding per boot that explains holes: the host was down, the logs were not wiped."""
        findings = []
        for (moment, boot), holes in sorted(self.downtime.items()):
            first = min(parse_time(hole["start"]) for hole in holes)
            shutdown = self.shutdowns.get(self._previous_boot(moment))
            if shutdown is not None and not first - HOUR <= parse_time(shutdown) <= moment:
                shutdown = None
            down_from = shutdown or hour_iso(int(first // HOUR))
            down_to = max(hole["end"] for hole in holes)
            where = "; ".join(
                f"{hole['source']} {hole['start']} to {hole['end']} ({hole['observed']:,} of ~{hole['expected']:,})"
                for hole in holes
            )
            summary = (
                f"{self.host}: host down from {down_from} to {down_to} (boot at {boot}), not a wipe: "
                f"{'its last event before the shutdown' if shutdown else 'the start of the first empty hour'} "
                f"to the boot, no events where they were expected in {where}"
            )
            after = {"rule": "host_down", "boot": boot, "down_from": down_from, "holes": holes}
            findings.append(
                self.finding(
                    "anomaly",
                    "info",
                    f"host down until boot {boot}",
                    summary,
                    after=after,
                    since=down_from,
                    identity={"rule": "host_down", "boot": boot},
                )
            )
        return findings

    def _previous_boot(self, moment: float) -> str | None:
        earlier = [time for boot, time in self.boots if boot < moment]
        return earlier[-1] if earlier else None


class LogRateCheck(Check):
    """Holes in the logs: hours far below the expected rate, removed lines, missing rotated files, clock jumps."""

    name = "log_rate"
    module = "log_rate_info"
    knobs = {
        "drop_ratio": 0.1,
        "min_expected_per_hour": 30.0,
        "large_expected_per_hour": 300.0,
        "high_hours": 3,
        "critical_hours": 12,
        "critical_zero_hours": 3,
        "boot_grace_hours": 1,
        "rotation_gap_hours": 6.0,
        "backward_jump_seconds": 3600.0,
        "backward_jumps_tolerance": 0,
        "rewrite_min_events": 1,
        "ignore_sources": [],
    }

    def normalize(self, result: dict) -> dict:
        if not isinstance(result.get("sources"), list):
            raise ValueError("no 'sources' list")
        collected_at = _time(result.get("collected_at"), "collected_at")
        if collected_at is None:
            raise ValueError("no 'collected_at'")
        data = {
            "collected_at": collected_at,
            "since": _time(result.get("since"), "since"),
            "until": _time(result.get("until"), "until"),
            "timezone": _text(result.get("timezone"), "timezone"),
        }
        end, since = _end_hour(data), hour_of(data["since"])
        sources = {}
        for entry in result["sources"]:
            if not isinstance(entry, dict):
                raise ValueError(f"source entry is not a mapping: {entry!r:.80}")
            source = _normalize_source(entry, since, end)
            if source["name"] in sources:
                raise ValueError(f"two sources named {source['name']!r}: give them distinct names")
            sources[source["name"]] = source
        return {**data, "sources": sources, "accepted_hours": []}

    def inventory(self, current: dict) -> str:
        sources = current["sources"]
        if not sources:
            return "0 log sources"
        events = sum(source["events"] for source in sources.values())
        end = _end_hour(current)
        since = hour_of(current.get("since"))
        if since is None:
            firsts = [hour_of(s["first_event"]) for s in sources.values() if s["first_event"]]
            since = min(firsts) if firsts else end
        names = list(sources)
        listed = ", ".join(names[:4]) + (", …" if len(names) > 4 else "")
        unreadable = sum(1 for source in sources.values() if source["error"])
        text = (
            f"{len(sources)} log source{'s' if len(sources) != 1 else ''}, {events:,} events over "
            f"{max(end - since, 0):,} hours ({listed})"
        )
        return text + (f", {unreadable} unreadable" if unreadable else "")

    def diff(self, host: str, baseline: dict, current: dict, context) -> list[dict]:
        judge = _Judge(self, host, baseline, current, context)
        ignore = judge.knobs["ignore_sources"]
        findings = []
        for name in sorted(set(baseline["sources"]) | set(current["sources"])):
            if any(fnmatchcase(name, pattern) for pattern in ignore):
                continue
            findings.extend(judge.source(name, baseline["sources"].get(name), current["sources"].get(name)))
        return findings + judge.downtimes()

    def apply_accept(self, baseline: dict, current: dict, finding: dict) -> dict:
        result = copy.deepcopy(baseline)
        result.setdefault("accepted_hours", [])
        details = finding.get("after") or finding.get("before") or {}
        rule, name = finding["rule"], details.get("source")
        sources, observed = result["sources"], current["sources"]
        if rule in ("hole", "rewrite", "rotation_gap"):
            result["accepted_hours"].append({"source": name, "start": details["start"], "end": details["end"]})
        elif rule == "host_down":
            for hole in details["holes"]:
                result["accepted_hours"].append({"source": hole["source"], "start": hole["start"], "end": hole["end"]})
        elif rule == "gone":
            sources.pop(name, None)
        elif rule in ("backward_jumps", "empty", "timezone"):
            if name not in observed:
                raise NotAbsorbable(f"log source {name} is not in the observed data any more")
            if rule == "empty" or name not in sources:
                sources[name] = copy.deepcopy(observed[name])
            elif rule == "backward_jumps":
                for field in ("backward_jumps", "largest_backward_jump"):
                    sources[name][field] = observed[name][field]
            else:  # the hours of the baseline are recounted in the new zone: keep this run's for the overlap
                sources[name]["timezone"] = observed[name]["timezone"]
                sources[name]["hours"] = copy.deepcopy(observed[name]["hours"])
        else:
            raise NotAbsorbable(
                f"a {finding['kind']} finding on {finding['subject']} (rule {rule}) cannot be absorbed into the "
                "baseline: fix its cause, or suppress it with an allow rule"
            )
        return result

    def fleet_observations(self, host: str, current: dict, context) -> Iterable[tuple]:
        return ()  # rates differ between hosts by design; holes are judged per host against its own profile

    def observation_text(self, observation: tuple) -> str:
        return " ".join(str(part) for part in observation)
