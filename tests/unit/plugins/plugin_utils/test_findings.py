from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.fleetwatch.audit.plugins.plugin_utils import findings as fm


def test_severities_are_ordered():
    ranks = [fm.severity_rank(s) for s in ("critical", "high", "medium", "low", "info")]
    assert ranks == sorted(ranks, reverse=True)
    assert len(set(ranks)) == 5


@pytest.mark.parametrize(
    ("severity", "threshold", "expected"),
    [
        ("critical", "high", True),
        ("high", "high", True),
        ("medium", "high", False),
        ("info", "info", True),
        ("critical", "never", False),
    ],
)
def test_severity_at_least(severity, threshold, expected):
    assert fm.severity_at_least(severity, threshold) is expected


@pytest.mark.parametrize("bad", ["severe", "", "HIGH", None])
def test_bad_threshold_is_rejected(bad):
    with pytest.raises(ValueError, match="not a severity or 'never'"):
        fm.parse_threshold(bad)


def test_unknown_severity_and_kind_are_rejected():
    with pytest.raises(ValueError, match="unknown severity 'urgent'"):
        fm.make_finding("h", "setuid", "added", "urgent", "/x", "s", rule="r")
    with pytest.raises(ValueError, match="unknown finding kind 'modified'"):
        fm.make_finding("h", "setuid", "modified", "high", "/x", "s", rule="r")


def test_finding_has_the_contract_fields():
    finding = fm.make_finding(
        "h1",
        "setuid",
        "changed",
        "high",
        "/usr/bin/su",
        "h1: changed",
        {"mode": "4755"},
        {"mode": "4777"},
        "2025-01-01T00:00:00Z",
        rule="file_changed",
    )
    assert set(finding) == {
        "id", "host", "check", "rule", "kind", "severity", "subject", "summary", "before", "after", "since",
        "suppressed",
    }  # fmt: skip
    assert finding["rule"] == "file_changed"
    assert finding["suppressed"] is None
    assert len(finding["id"]) == 12
    assert int(finding["id"], 16) >= 0


def test_id_is_stable_and_depends_on_the_change_only():
    a = fm.make_finding(
        "h1", "setuid", "changed", "high", "/x", "one summary", {"mode": "4755"}, {"mode": "4777"}, rule="r"
    )
    b = fm.make_finding(
        "h1", "setuid", "changed", "info", "/x", "other words", {"mode": "4755"}, {"mode": "4777"}, rule="r"
    )
    assert a["id"] == b["id"]
    # a known value: the id must not change between versions or runs
    assert (
        a["id"]
        == fm.digest(["h1", "setuid", "changed", "/x", fm.digest({"mode": "4755"}), fm.digest({"mode": "4777"})])[:12]
    )
    assert (
        fm.make_finding("h1", "setuid", "changed", "high", "/x", "", {"mode": "4755"}, {"mode": "4775"}, rule="r")["id"]
        != a["id"]
    )
    assert (
        fm.make_finding("h2", "setuid", "changed", "high", "/x", "", {"mode": "4755"}, {"mode": "4777"}, rule="r")["id"]
        != a["id"]
    )
    assert (
        fm.make_finding("h1", "setuid", "changed", "high", "/y", "", {"mode": "4755"}, {"mode": "4777"}, rule="r")["id"]
        != a["id"]
    )


def test_identity_replaces_before_and_after_in_the_id():
    """A log hole keeps its id while its re-estimated expected count moves between runs."""
    identity = {"source": "/var/log/syslog", "start": "2025-10-06T13:00:00Z", "end": "2025-10-06T14:00:00Z"}
    a = fm.make_finding(
        "h1", "log_rate", "anomaly", "medium", "s", "", {"expected": 7480}, {"n": 1}, identity=identity, rule="r"
    )
    b = fm.make_finding(
        "h1", "log_rate", "anomaly", "high", "s", "", {"expected": 7512}, {"n": 2}, identity=identity, rule="r"
    )
    assert a["id"] == b["id"]
    assert a["id"] == fm.digest(["h1", "log_rate", "anomaly", "s", "identity", fm.digest(identity)])[:12]
    other = fm.make_finding("h1", "log_rate", "anomaly", "medium", "s", "", identity={**identity, "end": "x"}, rule="r")
    assert other["id"] != a["id"]
    # without an identity the id is what it always was
    plain = fm.make_finding("h1", "log_rate", "anomaly", "medium", "s", "", {"expected": 7480}, {"n": 1}, rule="r")
    assert plain["id"] == fm.finding_id("h1", "log_rate", "anomaly", "s", {"expected": 7480}, {"n": 1})
    assert plain["id"] != a["id"]


def test_rule_is_carried_but_not_part_of_the_id():
    """Ids stay what they were before findings named their rule: accepted ids and allow rules keep matching."""
    a = fm.make_finding("h1", "setuid", "added", "high", "/x", "", after={"mode": "4755"}, rule="new_file")
    b = fm.make_finding("h1", "setuid", "added", "high", "/x", "", after={"mode": "4755"}, rule="other")
    assert (a["rule"], b["rule"]) == ("new_file", "other")
    assert a["id"] == b["id"] == fm.finding_id("h1", "setuid", "added", "/x", None, {"mode": "4755"})


def test_digest_is_canonical():
    assert fm.digest({"a": 1, "b": [1, 2]}) == fm.digest({"b": [1, 2], "a": 1})
    assert fm.digest({"a": 1}) != fm.digest({"a": "1"})


def test_sort_count_and_worst():
    make = fm.make_finding
    items = [
        make("h", "c", "added", "low", "/b", "s", rule="r"),
        make("h", "c", "added", "critical", "/z", "s", rule="r"),
        make("h", "c", "added", "low", "/a", "s", rule="r"),
        {**make("h", "c", "added", "critical", "/y", "s", rule="r"), "suppressed": {"rule": "allow[0]"}},
    ]
    ordered = fm.sort_findings(items)
    assert [(f["severity"], f["subject"]) for f in ordered] == [
        ("critical", "/y"), ("critical", "/z"), ("low", "/a"), ("low", "/b")
    ]  # fmt: skip
    assert fm.count_by_severity(items) == {"critical": 1, "high": 0, "medium": 0, "low": 2, "info": 0}
    assert fm.worst_severity(items[:1] + items[3:]) == "low"
    assert fm.worst_severity([]) is None


def test_utc_iso():
    paris = timezone(timedelta(hours=1))
    assert fm.utc_iso(datetime(2026, 1, 2, 4, 4, 5, tzinfo=paris)) == "2026-01-02T03:04:05Z"
    assert fm.utc_iso(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05Z"
