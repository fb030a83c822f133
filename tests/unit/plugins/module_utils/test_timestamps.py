# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Timestamp parsing, time zones (zoneinfo and the C library fallback of Python 3.8) and time windows."""

from __future__ import annotations

import calendar

import pytest

from ansible_collections.fleetwatch.audit.plugins.module_utils import _timestamps as ts

IMPLS = ["auto", "libc"]


def utc(*fields):
    return calendar.timegm(fields + (0,) * (6 - len(fields)))


# ------------------------------------------------------------------------------------------------- line heads


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"Oct  1 00:00:01 host sshd[1]: x", (b"Oct  1 00:", 10, 1, 0, 0, 1)),
        (b"Oct 11 23:59:60 host x", (b"Oct 11 23:", 10, 11, 23, 59, 60)),
        (b"Oct 01 07:08:09 host x", (b"Oct 01 07:", 10, 1, 7, 8, 9)),
        (b"Oct 1 07:08:09 host x", (b"Oct 1 07:", 10, 1, 7, 8, 9)),
        (b"Feb 29 12:00:00", (b"Feb 29 12:", 2, 29, 12, 0, 0)),
        (b"Oct  1 00:xx", (b"Oct  1 00:", 10, 1, 0, 0, 0)),  # the hour prefix decides, like cut -c1-9
    ],
)
def test_traditional_heads(head, expected):
    got = ts.parse_head(head)
    assert got[0] == ts.TRADITIONAL
    assert (head[got[1] : got[2]], *got[3:]) == expected


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"Foo  1 00:00:01 x",
        b"Oct 32 00:00:01 x",
        b"Oct  0 00:00:01 x",
        b"Oct  1 24:00:01 x",
        b"Oct  1 0:00:01 x",
        b"Oct  1 00.00.01 x",
        b"oct  1 00:00:01 x",
        b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
        b"\xff\xfeOct  1 00:00:01",
        b" Oct  1 00:00:01",
        b"2025-13-01T00:00:00Z x",
        b"2025-02-29T00:00:00Z x",
        b"2025-10-01T24:00:00Z x",
        b"2025-10-01T00:00:00+25:00 x",
        b"2025-10-01T00:00:00Zx",
        b"<34>1 - host app - - - msg",
        b"<999>1 2025-10-11T22:14:15Z host",
        b"<34>Oct 32 22:14:15 host",
    ],
)
def test_not_timestamps(head):
    assert ts.parse_head(head) is None


@pytest.mark.parametrize(
    ("head", "kind", "when", "offset"),
    [
        (b"2025-10-01T00:00:01.123456+02:00 host x", ts.RFC3339, utc(2025, 9, 30, 22, 0, 1) + 0.123456, 7200),
        (b"2025-10-01T00:00:01Z host x", ts.RFC3339, utc(2025, 10, 1, 0, 0, 1), 0),
        (b"2025-10-01t00:00:01z", ts.RFC3339, utc(2025, 10, 1, 0, 0, 1), 0),
        (b"2025-10-01 00:00:01,5-0530 x", ts.RFC3339, utc(2025, 10, 1, 5, 30, 1) + 0.5, -19800),
        (b"2025-10-01T00:00:01.123456789-01:00 x", ts.RFC3339, utc(2025, 10, 1, 1, 0, 1) + 0.123456, -3600),
        (b"<34>1 2025-10-11T22:14:15.003Z host app - - - msg", ts.RFC5424, utc(2025, 10, 11, 22, 14, 15) + 0.003, 0),
        (b"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc", ts.RFC5424, utc(2003, 8, 24, 12, 14, 15), -25200),
    ],
)
def test_dated_heads(head, kind, when, offset):
    got = ts.parse_head(head)
    assert got[0] == kind
    year, month, day, hour, minute, second, micro, off = got[4:12]
    assert off == offset
    assert calendar.timegm((year, month, day, hour, minute, second)) - off + micro / 1e6 == pytest.approx(when)
    assert head[got[1] : got[2]] == head[got[1] : got[1] + 13]


def test_rfc3339_without_offset_is_local_and_pri_before_traditional():
    got = ts.parse_head(b"2025-10-01T00:00:01 host")
    assert got[0] == ts.RFC3339 and got[11] is None
    got = ts.parse_head(b"<13>Oct 11 22:14:15 host app: x")
    assert got[0] == ts.TRADITIONAL and got[1] == 4 and got[3:8] == (10, 11, 22, 14, 15)


def test_traditional_seconds_order_a_year():
    assert ts.traditional_seconds(1, 1, 0, 0, 0) == 0
    assert ts.traditional_seconds(12, 31, 23, 59, 59) == 366 * 86400 - 1
    assert ts.traditional_seconds(3, 1, 0, 0, 0) == 60 * 86400


# ------------------------------------------------------------------------------------------------------ zones


@pytest.mark.parametrize("impl", IMPLS)
def test_berlin_spring_forward(impl):
    zone = ts.get_zone("Europe/Berlin", prefer=impl)
    assert zone.local_to_utc(2025, 3, 30, 1, 59, 59) == utc(2025, 3, 30, 0, 59, 59)
    assert zone.local_to_utc(2025, 3, 30, 3, 0, 0) == utc(2025, 3, 30, 1, 0, 0)
    # 02:30 does not exist: read with the offset before the change (+01:00), as zoneinfo does
    assert zone.local_to_utc(2025, 3, 30, 2, 30, 0) == utc(2025, 3, 30, 1, 30, 0)
    assert zone.utc_offset(utc(2025, 3, 30, 0, 59, 59)) == 3600
    assert zone.utc_offset(utc(2025, 3, 30, 1, 0, 0)) == 7200


@pytest.mark.parametrize("impl", IMPLS)
def test_berlin_fall_back_fold(impl):
    zone = ts.get_zone("Europe/Berlin", prefer=impl)
    assert zone.local_to_utc(2025, 10, 26, 2, 30, 0, fold=0) == utc(2025, 10, 26, 0, 30, 0)
    assert zone.local_to_utc(2025, 10, 26, 2, 30, 0, fold=1) == utc(2025, 10, 26, 1, 30, 0)
    assert zone.local_to_utc(2025, 10, 26, 3, 0, 0, fold=1) == utc(2025, 10, 26, 2, 0, 0)
    assert zone.local_to_utc(2025, 10, 26, 1, 0, 0) == utc(2025, 10, 25, 23, 0, 0)


@pytest.mark.parametrize("impl", IMPLS)
def test_transitions_and_irregular_hours(impl):
    zone = ts.get_zone("Europe/Berlin", prefer=impl)
    changes = zone.transitions(utc(2025, 1, 1), utc(2026, 1, 1))
    assert changes == [(utc(2025, 3, 30, 1), 3600, 7200), (utc(2025, 10, 26, 1), 7200, 3600)]
    everywhere, hours = zone.irregular_hours(2025, 2025)
    assert not everywhere
    assert {(3, 30, 2), (10, 26, 2)} <= hours
    assert (10, 26, 5) not in hours
    assert zone.irregular_hours(2025, 2025) is zone.irregular_hours(2025, 2025)  # memoised


def test_zone_forms():
    assert ts.get_zone("UTC").name == "UTC"
    assert ts.get_zone("utc").local_to_utc(2025, 1, 1, 0) == utc(2025, 1, 1)
    kolkata = ts.get_zone("+05:30")
    assert kolkata.irregular_hours(2025, 2025) == (True, frozenset())
    assert kolkata.local_to_utc(2025, 1, 1, 5, 30) == utc(2025, 1, 1)
    assert ts.get_zone("-0800").local_to_utc(2025, 1, 1, 0) == utc(2025, 1, 1, 8)
    assert ts.get_zone("Asia/Kolkata").irregular_hours(2025, 2025)[0] is True
    with pytest.raises(ts.TimestampError):
        ts.get_zone("Mars/Olympus_Mons")
    with pytest.raises(ts.TimestampError):
        ts.get_zone("../../etc/passwd")
    with pytest.raises(ts.TimestampError):
        ts.get_zone("Mars/Olympus_Mons", prefer="libc")


def test_libc_zone_rejects_impossible_dates_and_restores_tz(monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    zone = ts.get_zone("Europe/Berlin", prefer="libc")
    with pytest.raises(ValueError):
        zone.local_to_utc(2025, 2, 29, 0)
    assert zone.local_to_utc(2024, 2, 29, 1) == utc(2024, 2, 29, 0)
    assert ts.os.environ["TZ"] == "America/New_York"


@pytest.mark.parametrize("impl", IMPLS)
def test_local_zone_of_a_root(tmp_path, impl):
    (tmp_path / "etc").mkdir()
    assert ts.get_zone(None, root=str(tmp_path), prefer=impl).name == "UTC"  # no /etc/localtime: UTC
    (tmp_path / "etc/localtime").symlink_to("/usr/share/zoneinfo/Europe/Berlin")
    zone = ts.get_zone("local", root=str(tmp_path), prefer=impl)
    assert zone.name == "Europe/Berlin (/etc/localtime)"
    assert zone.local_to_utc(2025, 7, 1, 12) == utc(2025, 7, 1, 10)


# ---------------------------------------------------------------------------------------------------- windows


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("7d", 7 * 86400), ("12h", 43200), ("1d12h", 129600), ("90m", 5400), ("2w", 14 * 86400), ("30s", 30)],
)
def test_relative_since(value, seconds):
    now = 1_800_000_000
    assert ts.parse_relative(value) == seconds
    assert ts.parse_time_bound(value, now, ts.get_zone("UTC")) == now - seconds


def test_time_bounds():
    zone = ts.get_zone("Europe/Berlin")
    now = 1_800_000_000.5
    assert ts.parse_time_bound("all", now, zone) is None
    assert ts.parse_time_bound(None, now, zone) is None
    assert ts.parse_time_bound("now", now, zone) == now
    assert ts.parse_time_bound("@1700000000", now, zone) == 1700000000
    assert ts.parse_time_bound("2025-10-01", now, zone) == utc(2025, 9, 30, 22)
    assert ts.parse_time_bound("2025-10-01T12:00", now, zone) == utc(2025, 10, 1, 10)
    assert ts.parse_time_bound("2025-10-01T12:00Z", now, zone) == utc(2025, 10, 1, 12)
    assert ts.parse_time_bound("2025-10-01 12:00:00+02:00", now, zone) == utc(2025, 10, 1, 10)
    for bad in ("yesterday", "7x", "2025-10-32", "@soon", "12:00"):
        with pytest.raises(ts.TimestampError):
            ts.parse_time_bound(bad, now, zone)


def test_hours_and_labels():
    assert ts.floor_hour(utc(2025, 10, 1, 10, 59, 59)) == utc(2025, 10, 1, 10)
    assert ts.ceil_hour(utc(2025, 10, 1, 10, 0, 1)) == utc(2025, 10, 1, 11)
    assert ts.ceil_hour(utc(2025, 10, 1, 10)) == utc(2025, 10, 1, 10)
    assert ts.hour_label(utc(2025, 10, 1, 10) // 3600) == "2025-10-01T10"
    assert ts.iso_utc(utc(2025, 10, 1, 10, 1, 2) + 0.9) == "2025-10-01T10:01:02Z"
    assert ts.iso_utc(None) is None
