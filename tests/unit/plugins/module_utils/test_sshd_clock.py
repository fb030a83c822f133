"""Times of sshd log lines (_sshd_clock): the clocks of files and of the journal, and comparing time tokens."""

from __future__ import annotations

from sshd_lines import START, rfc, trad

from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_clock import (
    JOURNAL_CLOCK,
    Clock,
    earliest,
    latest,
    token_before,
)
from ansible_collections.fleetwatch.audit.plugins.module_utils._timestamps import get_zone, traditional_seconds

UTC = get_zone("UTC")


def test_the_journal_clock_takes_its_epochs_as_they_are():
    assert JOURNAL_CLOCK.epoch(START + 0.25) == START + 0.25
    assert JOURNAL_CLOCK.epoch(None) is None
    assert JOURNAL_CLOCK.epoch(b"") is None


def test_the_journal_clock_reads_no_traditional_timestamp():
    """It has no zone: a traditional token is not a time there."""
    assert JOURNAL_CLOCK.epoch(trad(START).encode()) is None


def test_a_traditional_timestamp_takes_the_year_of_the_file_s_last_line():
    clock = Clock(UTC, last_year=2025)
    assert clock.epoch(trad(START + 61).encode()) == START + 61
    assert clock.epoch(b"Oct  1 00:01:02") == START + 62  # the minute's base is cached, the seconds are not


def test_a_line_more_than_two_days_after_the_last_line_is_of_the_year_before():
    clock = Clock(UTC, last_year=2026, last_seconds=traditional_seconds(1, 2, 0, 0, 0))
    assert clock.epoch(b"Dec 31 23:59:59") == 1767225599  # 2025-12-31T23:59:59Z
    assert clock.epoch(b"Jan  3 00:00:00") == 1767398400  # 2026-01-03: within the tolerance of two days


def test_an_rfc3339_timestamp_keeps_its_offset():
    clock = Clock(UTC, last_year=1999)
    assert clock.epoch(rfc(START + 1.5).encode()) == START + 1.5


def test_a_token_that_is_no_time_has_none():
    clock = Clock(UTC, last_year=2025)
    assert clock.epoch(b"Foo  1 00:00:00") is None
    assert clock.epoch(b"2025-13-01T00:00:00Z") is None


def test_tokens_of_one_clock_compare_as_they_are_others_by_their_epochs():
    clock = Clock(UTC, last_year=2025)
    assert token_before(clock, b"Oct  1 00:00:09", clock, b"Oct  1 00:00:10") is True
    assert token_before(clock, b"Oct  1 00:00:10", clock, b"Oct  1 00:00:10") is False
    # Sep sorts after Oct as text: compared by epoch
    assert token_before(clock, b"Sep 30 23:59:59", clock, b"Oct  1 00:00:00") is True
    assert token_before(JOURNAL_CLOCK, START + 1.0, clock, b"Oct  1 00:00:02") is True
    assert token_before(JOURNAL_CLOCK, START + 3.0, clock, b"Oct  1 00:00:02") is False


def test_an_unknown_time_is_never_earlier_and_a_known_one_is_earlier_than_unknown():
    clock = Clock(UTC, last_year=2025)
    assert token_before(clock, b"Foo  1 00:00:00", clock, b"Oct  1 00:00:00") is False
    assert token_before(clock, b"Oct  1 00:00:00", clock, b"Foo  1 00:00:00") is True


def test_earliest_and_latest_ignore_unknown_times():
    assert earliest(None, 5.0) == 5.0 and earliest(4.0, None) == 4.0 and earliest(4.0, 5.0) == 4.0
    assert latest(None, 5.0) == 5.0 and latest(6.0, None) == 6.0 and latest(4.0, 5.0) == 5.0
    assert earliest(None, None) is None and latest(None, None) is None
