"""The log_rate check over synthetic log_rate_info results: two weeks of a busy syslog with a day/night shape."""

from __future__ import annotations

import copy
from datetime import datetime, timezone

import pytest

from ansible_collections.fleetwatch.audit.plugins.plugin_utils.baselines import accept, new_baseline
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.checks import CHECKS, NotAbsorbable, normalize_result
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.compare import compare_host
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.context import CheckContext
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.holes import hour_iso, hour_label, parse_hour
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.policy import parse_policy

CHECK = CHECKS["log_rate"]
START = parse_hour("2025-09-01T00")  # a Monday
SNAPSHOT = START + 14 * 24  # the baseline is read 17 minutes into this hour, after two weeks of logs
NOW = START + 17 * 24  # compares read 10 minutes into this hour
SYSLOG, AUTH, JOURNAL = "/var/log/syslog", "/var/log/auth.log", "journal"


def busy(hour: int) -> int:
    """~7,500 events an hour by day, ~3,000 at night, with a small deterministic wobble."""
    base = 7500 if 7 <= hour % 24 < 22 else 3000
    return base + (hour * 37 % 13 - 6) * base // 200


def quiet(hour: int) -> int:
    """Three events a day."""
    return 1 if hour % 24 in (3, 11, 19) else 0


def at(hour: int, minutes: int = 0) -> str:
    return datetime.fromtimestamp(hour * 3600 + minutes * 60, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def source(name: str, first: int, end: int, rate=busy, changes: dict | None = None, **fields) -> dict:
    """A log_rate_info source entry with events from hour ``first`` up to the middle of hour ``end`` (still filling)."""
    counts = {hour: rate(hour) for hour in range(first, end)}
    counts[end] = rate(end) // 6
    counts.update(changes or {})
    hours = {hour_label(hour): count for hour, count in sorted(counts.items()) if count}
    with_events = [hour for hour in sorted(counts) if counts[hour]]
    entry = {
        "name": name,
        "kind": "journal" if name == JOURNAL else "file",
        "path": None if name == JOURNAL else name,
        "timezone": "UTC",
        "hours": hours,
        "first_event": at(with_events[0]) if with_events else None,
        "last_event": at(with_events[-1], 9) if with_events else None,
        "lines": sum(hours.values()),
        "parsed": sum(hours.values()),
        "unparsed": 0,
        "outside_window": 0,
        "formats": {"traditional": sum(hours.values())},
        "backward_jumps": 0,
        "largest_backward_jump": None,
        "boots": [],
        "boot_count": 0,
        "files": [{"path": name, "first_event": at(first), "last_event": at(end, 9), "skipped": None, "error": None}],
        "error": None,
    }
    entry.update(fields)
    return entry


def result(*sources: dict, end: int = NOW, since: int | None = START, minutes: int = 10) -> dict:
    return {
        "changed": False,
        "root": "/",
        "timezone": "UTC",
        "since": None if since is None else hour_iso(since),
        "until": None,
        "collected_at": at(end, minutes),
        "discovered": False,
        "sources": list(sources),
    }


def baseline_result(*extra: dict) -> dict:
    return result(source(SYSLOG, START, SNAPSHOT), *extra, end=SNAPSHOT, minutes=17)


def current_result(*sources: dict, end: int = NOW) -> dict:
    return result(*(sources or (source(SYSLOG, START, end),)), end=end)


def diff(before: dict, after: dict, policy=None) -> list[dict]:
    return CHECK.diff("h1", CHECK.normalize(before), CHECK.normalize(after), CheckContext(policy))


def rules(findings: list[dict]) -> list[tuple]:
    """(rule, severity) of each finding; the rule its details name is the finding's ``rule``."""
    assert all(f["rule"] == (f["after"] or f["before"])["rule"] for f in findings)
    return [(f["rule"], f["severity"]) for f in findings]


def only(findings: list[dict]) -> dict:
    assert len(findings) == 1, [f["summary"] for f in findings]
    return findings[0]


WIPED = NOW - 30  # 18:00 two days before NOW, after the snapshot: a day hour


def test_unchanged_logs_after_the_snapshot_are_clean():
    assert diff(baseline_result(), current_result()) == []


def test_one_wiped_hour_is_one_finding_with_its_hours_and_counts():
    current = current_result(source(SYSLOG, START, NOW, changes={WIPED: 700}))
    finding = only(diff(baseline_result(), current))
    assert (finding["check"], finding["kind"], finding["severity"]) == ("log_rate", "anomaly", "medium")
    assert finding["subject"] == f"{SYSLOG} {hour_iso(WIPED)}/{hour_iso(WIPED + 1)}"
    assert finding["since"] == hour_iso(WIPED) == "2025-09-16T18:00:00Z"
    assert finding["after"]["rule"] == "hole" and finding["after"]["source"] == SYSLOG
    assert (finding["after"]["start"], finding["after"]["end"]) == ("2025-09-16T18:00:00Z", "2025-09-16T19:00:00Z")
    assert finding["after"]["observed"] == {"2025-09-16T18": 700} and finding["after"]["observed_total"] == 700
    # the expected count is the median of the same weekday and hour over the baseline's two weeks
    expected = sorted([busy(WIPED - 168), busy(WIPED - 336)])
    assert finding["before"]["expected"] == {"2025-09-16T18": sum(expected) / 2}
    assert finding["before"]["basis"] == "baseline"
    assert "700 events in the hour from 2025-09-16T18:00:00Z UTC where about 7,5" in finding["summary"]


def test_a_wiped_five_hour_run_is_one_merged_high_finding():
    changes = dict.fromkeys(range(WIPED, WIPED + 5), 200)
    finding = only(diff(baseline_result(), current_result(source(SYSLOG, START, NOW, changes=changes))))
    assert finding["severity"] == "high"
    assert (finding["after"]["start"], finding["after"]["end"]) == (hour_iso(WIPED), hour_iso(WIPED + 5))
    assert finding["after"]["hours"] == 5 and finding["after"]["observed_total"] == 1000
    assert len(finding["before"]["expected"]) == 5


def test_empty_hours_where_many_events_were_expected_are_critical():
    changes = dict.fromkeys(range(WIPED, WIPED + 3), 0)
    finding = only(diff(baseline_result(), current_result(source(SYSLOG, START, NOW, changes=changes))))
    assert finding["severity"] == "critical" and finding["after"]["observed_total"] == 0
    assert "3 hours without any event" in finding["summary"]


def test_a_half_day_hole_is_critical():
    changes = dict.fromkeys(range(WIPED - 6, WIPED + 6), 100)
    assert rules(diff(baseline_result(), current_result(source(SYSLOG, START, NOW, changes=changes)))) == [
        ("hole", "critical")
    ]


def test_a_reboot_after_empty_hours_is_downtime_not_a_hole():
    down = range(WIPED, WIPED + 4)
    changes = {WIPED - 1: 2000, **dict.fromkeys(down, 0), WIPED + 4: 900}
    boots = [{"time": at(WIPED + 4, 48), "boot_id": None, "file": SYSLOG, "message": "Linux version 6.1.0"}]
    current = current_result(source(SYSLOG, START, NOW, changes=changes, boots=boots, boot_count=1))
    finding = only(diff(baseline_result(), current))
    assert (finding["severity"], finding["kind"], finding["after"]["rule"]) == ("info", "anomaly", "host_down")
    assert finding["after"]["boot"] == at(WIPED + 4, 48)
    [hole] = finding["after"]["holes"]  # 900 events in the boot's hour: not low, not part of the hole
    assert (hole["source"], hole["start"], hole["end"], hole["observed"]) == (
        SYSLOG,
        hour_iso(WIPED),
        hour_iso(WIPED + 4),
        0,
    )
    assert finding["summary"].startswith(
        f"h1: host down from {hour_iso(WIPED)} to {hour_iso(WIPED + 4)} (boot at {at(WIPED + 4, 48)}), not a wipe"
    )


def test_a_journal_boot_explains_the_holes_of_every_source_and_gives_the_shutdown_time():
    changes = dict.fromkeys(range(WIPED, WIPED + 4), 0)
    boots = [
        {"boot_id": "a" * 32, "time": at(START), "first_event": at(START), "last_event": at(WIPED - 1, 50)},
        {"boot_id": "b" * 32, "time": at(WIPED + 4, 5), "first_event": at(WIPED + 4, 5), "last_event": at(NOW, 9)},
    ]
    current = current_result(
        source(SYSLOG, START, NOW, changes=changes),
        source(JOURNAL, START, NOW, changes=changes, boots=boots, boot_count=2),
    )
    before = baseline_result(source(JOURNAL, START, SNAPSHOT))
    finding = only(diff(before, current))
    assert [hole["source"] for hole in finding["after"]["holes"]] == [SYSLOG, JOURNAL]
    assert finding["after"]["down_from"] == at(WIPED - 1, 50)
    assert "last event before the shutdown" in finding["summary"]


def test_silence_long_after_a_boot_is_still_a_hole():
    changes = dict.fromkeys(range(WIPED, WIPED + 4), 0)
    boots = [{"time": at(WIPED, 5), "boot_id": None}]  # booted early in the hole, then nothing for hours
    current = current_result(source(SYSLOG, START, NOW, changes=changes, boots=boots))
    assert rules(diff(baseline_result(), current)) == [("hole", "critical")]


def test_a_quiet_source_with_empty_hours_never_alarms():
    before = baseline_result(source(AUTH, START, SNAPSHOT, rate=quiet))
    silent = dict.fromkeys(range(SNAPSHOT, NOW), 0)
    current = current_result(source(SYSLOG, START, NOW), source(AUTH, START, NOW, rate=quiet, changes=silent))
    assert diff(before, current) == []


def test_the_hour_still_filling_and_hours_before_the_window_are_not_judged():
    current = current_result(source(SYSLOG, START + 48, NOW, changes={NOW: 3}))  # the window starts 2 days later
    current["since"] = hour_iso(START + 48)
    assert diff(baseline_result(), current) == []


def test_hours_of_the_baseline_period_are_not_judged_as_holes_again():
    before = baseline_result()
    before["sources"][0]["hours"][hour_label(SNAPSHOT - 50)] = 10  # a known hole in the baseline period
    current = current_result(source(SYSLOG, START, NOW, changes={SNAPSHOT - 50: 10}))
    assert diff(before, current) == []


def test_a_source_without_baseline_is_judged_against_its_own_hours():
    changes = {WIPED: 300}
    current = current_result(source(SYSLOG, START, NOW), source(JOURNAL, START, NOW, changes=changes))
    finding = only(diff(baseline_result(), current))
    assert finding["after"]["source"] == JOURNAL and finding["before"]["basis"] == "this run"
    assert finding["after"]["observed_total"] == 300 and finding["severity"] == "medium"
    assert "this run's own hours" in finding["summary"]


def test_a_new_source_that_starts_mid_window_is_not_a_hole_before_it_starts():
    current = current_result(source(SYSLOG, START, NOW), source(JOURNAL, NOW - 30, NOW))
    assert diff(baseline_result(), current) == []


def test_removed_lines_in_hours_of_the_snapshot_are_a_rewrite():
    hour = SNAPSHOT - 40
    current = current_result(source(SYSLOG, START, NOW, changes={hour: busy(hour) - 12}))
    finding = only(diff(baseline_result(), current))
    assert (finding["kind"], finding["severity"], finding["after"]["rule"]) == ("changed", "high", "rewrite")
    assert finding["before"]["counts"] == {hour_label(hour): busy(hour)}
    assert finding["after"]["counts"] == {hour_label(hour): busy(hour) - 12} and finding["after"]["removed"] == 12
    assert "12 events were removed from the log after the snapshot" in finding["summary"]


def test_rotated_away_hours_are_not_a_rewrite():
    # logrotate deleted the oldest file: the source now starts 3 days later, and the window with it
    current = current_result(source(SYSLOG, START + 72, NOW))
    current["since"] = None
    assert diff(baseline_result(), current) == []


def test_a_time_zone_change_is_reported_once_instead_of_every_shifted_hour():
    current = current_result(source(SYSLOG, START, NOW, changes={SNAPSHOT - 40: 5}, timezone="Europe/Berlin"))
    assert rules(diff(baseline_result(), current)) == [("timezone", "low")]


def test_backward_jumps():
    current = current_result(source(SYSLOG, START, NOW, backward_jumps=2, largest_backward_jump=7200.0))
    finding = only(diff(baseline_result(), current))
    assert (finding["severity"], finding["after"]["rule"]) == ("medium", "backward_jumps")
    assert finding["after"]["backward_jumps"] == 2 and finding["after"]["largest_backward_jump"] == 7200.0
    assert "7,200 seconds" in finding["summary"]
    # the same jumps as in the baseline: known
    before = baseline_result()
    before["sources"][0].update(backward_jumps=2, largest_backward_jump=7200.0)
    assert diff(before, current) == []
    # small steps: more of them than tolerated
    small = current_result(source(SYSLOG, START, NOW, backward_jumps=3, largest_backward_jump=2.0))
    assert rules(diff(baseline_result(), small)) == [("backward_jumps", "medium")]
    policy = parse_policy({"checks": {"log_rate": {"backward_jumps_tolerance": 5}}})
    assert diff(baseline_result(), small, policy) == []


def _rotated(end: int, gap: range) -> dict:
    files = [
        {"path": "/var/log/syslog.2.gz", "first_event": at(START), "last_event": at(gap.start - 1, 58)},
        {"path": "/var/log/syslog.1", "first_event": at(gap.stop, 1), "last_event": at(gap.stop + 24, 58)},
        {"path": SYSLOG, "first_event": at(gap.stop + 25, 0), "last_event": at(end, 9)},
    ]
    for item in files:
        item.update(skipped=None, error=None)
    return source(SYSLOG, START, end, changes=dict.fromkeys(gap, 0), files=files)


def test_a_gap_between_rotated_files_is_a_removed_file():
    gap = range(WIPED - 8, WIPED)
    findings = diff(baseline_result(), current_result(_rotated(NOW, gap)))
    assert rules(findings) == [("hole", "critical"), ("rotation_gap", "high")]
    rotation = findings[1]
    assert rotation["after"]["files"] == ["/var/log/syslog.2.gz", "/var/log/syslog.1"]
    assert (rotation["after"]["start"], rotation["after"]["end"]) == (hour_iso(gap.start), hour_iso(gap.stop))
    assert "a rotated file may have been removed" in rotation["summary"]


def test_a_rotation_gap_known_in_the_baseline_is_not_reported_again():
    gap = range(SNAPSHOT - 60, SNAPSHOT - 50)
    before = result(_rotated(SNAPSHOT, gap), end=SNAPSHOT, minutes=17)
    assert diff(before, current_result(_rotated(NOW, gap))) == []


def test_a_gone_source_and_an_unreadable_source():
    before = baseline_result(source(AUTH, START, SNAPSHOT, rate=quiet))
    assert rules(diff(before, current_result())) == [("gone", "high")]
    gone = only(diff(before, current_result()))
    assert (gone["kind"], gone["subject"], gone["after"]) == ("removed", AUTH, None)
    unreadable = source(AUTH, START, NOW, error="permission denied: /var/log/auth.log", hours={})
    finding = only(diff(before, current_result(source(SYSLOG, START, NOW), unreadable)))
    assert (finding["kind"], finding["severity"], finding["after"]["error"]) == (
        "coverage",
        "high",
        "permission denied: /var/log/auth.log",
    )


def test_an_emptied_source_is_one_finding():
    empty = source(SYSLOG, START, NOW, rate=lambda _hour: 0)
    finding = only(diff(baseline_result(), current_result(empty)))
    assert (finding["severity"], finding["after"]["rule"]) == ("high", "empty")
    assert "logging stopped or the log was emptied" in finding["summary"]


def test_a_file_that_cannot_be_read_is_medium_coverage():
    entry = source(SYSLOG, START, NOW)
    entry["files"].insert(0, {"path": "/var/log/syslog.3.gz", "error": "corrupt gzip data", "skipped": None})
    assert rules(diff(baseline_result(), current_result(entry))) == [("file_errors", "medium")]
    # the baseline could not read it either: a known blind spot
    before = baseline_result()
    before["sources"][0]["files"] = copy.deepcopy(entry["files"])
    assert diff(before, current_result(entry)) == []


def test_a_failed_journal_verification_is_critical():
    entry = source(JOURNAL, START, NOW, verify={"ok": False, "message": "tag/entry mismatch in system.journal"})
    before = baseline_result(source(JOURNAL, START, SNAPSHOT))
    finding = only(diff(before, current_result(source(SYSLOG, START, NOW), entry)))
    assert (finding["severity"], finding["after"]["rule"]) == ("critical", "verify")
    assert "tag/entry mismatch" in finding["summary"]
    known = baseline_result(source(JOURNAL, START, SNAPSHOT, verify=entry["verify"]))
    assert rules(diff(known, current_result(source(SYSLOG, START, NOW), entry))) == [("verify", "info")]


def test_ids_are_stable_across_compares():
    changes = {WIPED: 700}
    first = diff(baseline_result(), current_result(source(SYSLOG, START, NOW, changes=changes)))
    # an hour later: more hours, the window moved
    later = result(source(SYSLOG, START + 1, NOW + 1, changes=changes), end=NOW + 1, since=START + 1, minutes=40)
    second = diff(baseline_result(), later)
    assert [f["id"] for f in first] == [f["id"] for f in second] and len(first) == 1
    # judged against its own hours, whose medians move with every run, the id stays too
    new_first = diff(
        baseline_result(), current_result(source(SYSLOG, START, NOW), source(JOURNAL, START, NOW, changes=changes))
    )
    shifted = result(
        source(SYSLOG, START + 5, NOW + 5),
        source(JOURNAL, START + 5, NOW + 5, changes=changes, rate=lambda hour: busy(hour) + 40),
        end=NOW + 5,
        since=START + 5,
    )
    new_second = diff(baseline_result(), shifted)
    assert new_first[0]["before"]["expected"] != new_second[0]["before"]["expected"]
    assert [f["id"] for f in new_first] == [f["id"] for f in new_second]


def test_accepting_a_hole_records_its_hours_and_keeps_the_profile():
    baseline = CHECK.normalize(baseline_result())
    current = CHECK.normalize(current_result(source(SYSLOG, START, NOW, changes={WIPED: 700})))
    finding = only(CHECK.diff("h1", baseline, current, CheckContext()))
    accepted = CHECK.apply_accept(baseline, current, finding)
    assert accepted["accepted_hours"] == [{"source": SYSLOG, "start": hour_iso(WIPED), "end": hour_iso(WIPED + 1)}]
    assert accepted["sources"][SYSLOG]["profile"] == baseline["sources"][SYSLOG]["profile"]
    assert baseline["accepted_hours"] == []  # a copy
    assert CHECK.diff("h1", accepted, current, CheckContext()) == []
    # a new hole elsewhere is still reported
    worse = CHECK.normalize(current_result(source(SYSLOG, START, NOW, changes={WIPED: 700, WIPED + 5: 10})))
    assert [f["after"]["start"] for f in CHECK.diff("h1", accepted, worse, CheckContext())] == [hour_iso(WIPED + 5)]


def test_accept_through_the_store_then_compare_is_clean():
    now = datetime(2025, 9, 18, 0, 30, tzinfo=timezone.utc)
    document, warnings = new_baseline("h1", {"log_rate": baseline_result(source(AUTH, START, SNAPSHOT))}, now)
    assert warnings == []
    changes = {WIPED: 700}
    observed = {"log_rate": current_result(source(SYSLOG, START, NOW, changes=changes, backward_jumps=1))}
    report = compare_host("h1", document, observed, CheckContext(now=now))
    assert sorted(rules(report["findings"])) == [("backward_jumps", "medium"), ("gone", "high"), ("hole", "medium")]
    assert report["inventory"]["log_rate"].startswith("1 log source, ")
    document, accepted, skipped = accept(document, observed, report["findings"], "CHG-7 maintenance", "tester", now)
    assert len(accepted) == 3 and skipped == []
    assert compare_host("h1", document, observed, CheckContext(now=now))["findings"] == []


def test_errors_cannot_be_accepted():
    baseline = CHECK.normalize(baseline_result())
    current = CHECK.normalize(current_result(source(SYSLOG, START, NOW, error="permission denied", hours={})))
    finding = only(CHECK.diff("h1", baseline, current, CheckContext()))
    with pytest.raises(NotAbsorbable):
        CHECK.apply_accept(baseline, current, finding)


def test_knobs_and_allow_rules():
    current = current_result(source(SYSLOG, START, NOW, changes={WIPED: 3000}))
    assert diff(baseline_result(), current) == []  # 40 %: not a hole by default
    policy = parse_policy({"checks": {"log_rate": {"drop_ratio": 0.5, "high_hours": 1}}})
    assert rules(diff(baseline_result(), current, policy)) == [("hole", "high")]
    wiped = current_result(source(SYSLOG, START, NOW, changes={WIPED: 700}))
    assert diff(baseline_result(), wiped, parse_policy({"checks": {"log_rate": {"min_expected_per_hour": 1e5}}})) == []
    assert (
        diff(baseline_result(), wiped, parse_policy({"checks": {"log_rate": {"ignore_sources": ["/var/log/*"]}}})) == []
    )
    allow = parse_policy(
        {
            "allow": [
                {
                    "match": "check == 'log_rate' && after.source == '/var/log/syslog'",
                    "reason": "noisy test box",
                    "owner": "ops",
                    "expires": "2099-01-01",
                }
            ]
        }
    )
    now = datetime(2025, 9, 18, 0, 30, tzinfo=timezone.utc)
    document, _warnings = new_baseline("h1", {"log_rate": baseline_result()}, now)
    report = compare_host("h1", document, {"log_rate": wiped}, CheckContext(allow, now=now))
    assert report["suppressed"] == 1 and report["worst_severity"] is None


def test_policy_rejects_unknown_or_mistyped_knobs():
    with pytest.raises(Exception, match=r"checks\.log_rate\.drop_ration: unknown setting"):
        parse_policy({"checks": {"log_rate": {"drop_ration": 0.2}}})
    with pytest.raises(Exception, match=r"checks\.log_rate\.high_hours: must be of the type"):
        parse_policy({"checks": {"log_rate": {"high_hours": "3"}}})


def test_normalize_keeps_a_bounded_profile_not_the_lines():
    long = result(source(SYSLOG, START - 24 * 60, SNAPSHOT), end=SNAPSHOT, since=START - 24 * 60, minutes=17)
    normalized = CHECK.normalize(long)
    syslog = normalized["sources"][SYSLOG]
    assert len(syslog["hours"]) == 6 * 7 * 24 + 1  # six weeks and the hour still filling
    assert syslog["profile"]["hours"] == 6 * 7 * 24
    assert syslog["profile"]["weekday_hour"]["Mon 12"] > 7000 and syslog["profile"]["hour"]["03"] < 3100
    assert syslog["events"] == sum(long["sources"][0]["hours"].values())
    assert set(syslog) == {
        "name", "kind", "path", "timezone", "hours", "events", "first_event", "last_event", "boots", "backward_jumps",
        "largest_backward_jump", "files", "error", "verify", "profile",
    }  # fmt: skip
    assert normalized["accepted_hours"] == [] and normalized["collected_at"] == at(SNAPSHOT, 17)


@pytest.mark.parametrize(
    "breakage",
    [
        lambda r: r.pop("sources"),
        lambda r: r.pop("collected_at"),
        lambda r: r["sources"][0]["hours"].update({"yesterday": 5}),
        lambda r: r["sources"][0]["hours"].update({"2025-09-01T05": -1}),
        lambda r: r["sources"][0].update(first_event="not a time"),
        lambda r: r["sources"].append(copy.deepcopy(r["sources"][0])),
        lambda r: r["sources"].append("syslog"),
    ],
)
def test_malformed_results_are_reported_not_crashed(breakage):
    broken = baseline_result()
    breakage(broken)
    data, error = normalize_result("log_rate", broken)
    assert data is None and error.startswith("malformed log_rate_info result: ")


def test_inventory_names_sources_and_counts():
    current = CHECK.normalize(
        current_result(source(SYSLOG, START, NOW), source(JOURNAL, START, NOW, error="boom", hours={}))
    )
    text = CHECK.inventory(current)
    events = sum(busy(hour) for hour in range(START, NOW)) + busy(NOW) // 6
    assert text == f"2 log sources, {events:,} events over {NOW - START} hours (/var/log/syslog, journal), 1 unreadable"
    assert CHECK.inventory(CHECK.normalize(result())) == "0 log sources"
    assert list(CHECK.fleet_observations("h1", current, CheckContext())) == []


def test_a_source_quiet_at_the_snapshot_and_busy_now_is_judged_against_its_own_hours():
    before = baseline_result(source(JOURNAL, START, SNAPSHOT, rate=quiet))
    current = current_result(source(SYSLOG, START, NOW), source(JOURNAL, START, NOW, changes={WIPED: 100}))
    finding = only(diff(before, current))
    assert (finding["after"]["source"], finding["before"]["basis"]) == (JOURNAL, "this run")
