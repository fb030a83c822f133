from __future__ import annotations

import pytest

from ansible_collections.fleetwatch.audit.plugins.plugin_utils import holes

MONDAY = holes.parse_hour("2025-09-01T00")  # a Monday


def test_hour_labels_round_trip():
    assert holes.hour_label(MONDAY) == "2025-09-01T00"
    assert holes.hour_iso(MONDAY + 13) == "2025-09-01T13:00:00Z"
    assert holes.hour_of("2025-09-01T13:59:59Z") == MONDAY + 13
    assert holes.hour_of("2025-09-01T15:30:00+02:00") == MONDAY + 13
    assert holes.hour_of(None) is None
    assert holes.weekday(MONDAY) == 0 and holes.weekday(MONDAY + 24 * 6 + 23) == 6


@pytest.mark.parametrize("bad", ["2025-09-01", "2025-09-01T1", "2025-13-01T00", 42, None])
def test_bad_hour_labels_are_rejected(bad):
    with pytest.raises(ValueError):
        holes.parse_hour(bad)


def test_time_without_offset_is_rejected():
    with pytest.raises(ValueError):
        holes.parse_time("2025-09-01T13:00:00")


def test_data_start_skips_a_partial_first_hour_but_not_the_window_start():
    assert holes.data_start(100, 90) == 100  # the log is older than the window: the window's first hour is complete
    assert holes.data_start(100, 105) == 106  # the log starts inside the window: its first hour is partial
    assert holes.data_start(None, 105) == 106
    assert holes.data_start(100, None) == 100 and holes.data_start(None, None) is None


def test_median_and_runs():
    assert holes.median([3, 1, 2]) == 2 and holes.median([1, 2, 3, 4]) == 2.5 and holes.median([]) is None
    assert holes.runs([5, 1, 2, 3, 7, 8]) == [(1, 3), (5, 5), (7, 8)]
    assert holes.runs([]) == []


def test_low_hour_needs_a_large_enough_expectation():
    assert holes.is_low(700, 7500, 0.1, 30)
    assert not holes.is_low(750, 7500, 0.1, 30)
    assert not holes.is_low(0, 29, 0.1, 30)  # a quiet source never alarms by itself
    assert not holes.is_low(0, None, 0.1, 30)


def _weeks(n: int, rate=lambda hour: 7500 if 7 <= hour % 24 < 22 else 3000) -> dict:
    return {hour: rate(hour) for hour in range(MONDAY, MONDAY + n * 168)}


def test_profile_medians_ignore_holes_and_fall_back():
    counts = _weeks(2)
    for hour in range(MONDAY + 24 + 10, MONDAY + 24 + 16):  # a wiped afternoon on the first Tuesday
        counts[hour] = 0
    counts[MONDAY + 168 + 9] = 0  # and a wiped hour on the second Monday
    profile = holes.build_profile(counts, MONDAY, MONDAY + 2 * 168)
    assert profile["holes_ignored"] == 7 and profile["hours"] == 336
    assert "Tue 12" not in profile["weekday_hour"]  # one sample left once the hole is ignored: too few
    assert profile["weekday_hour"]["Tue 20"] == 7500 and profile["weekday_hour"]["Tue 03"] == 3000
    assert profile["hour"]["12"] == 7500 and profile["hour"]["03"] == 3000
    assert holes.expected_rate(profile, MONDAY + 2 * 168 + 12) == (7500.0, "weekday x hour")
    # the wiped second-Monday 09:00 left one sample for "Mon 09": the hour-of-day median answers
    assert "Mon 09" not in profile["weekday_hour"]
    assert holes.expected_rate(profile, MONDAY + 3 * 168 + 9) == (7500.0, "hour of day")
    assert holes.peak(profile) == 7500


def test_profile_of_one_day_uses_the_overall_median():
    counts = _weeks(1)
    profile = holes.build_profile(counts, MONDAY, MONDAY + 24)
    assert profile["weekday_hour"] == {} and profile["hour"] == {}
    assert holes.expected_rate(profile, MONDAY + 100) == (7500.0, "overall")


def test_profile_is_bounded_and_empty_span_gives_none():
    counts = _weeks(10)
    profile = holes.build_profile(counts, MONDAY, MONDAY + 10 * 168)
    assert profile["hours"] == holes.PROFILE_HOURS
    assert profile["from"] == holes.hour_iso(MONDAY + 4 * 168)
    assert holes.build_profile(counts, MONDAY, MONDAY) is None
    assert holes.expected_rate(None, MONDAY) is None and holes.peak(None) == 0


@pytest.mark.parametrize(
    ("hours", "severity"),
    [
        ([(700, 7500)], "medium"),
        ([(700, 7500), (500, 7500)], "medium"),
        ([(700, 7500)] * 3, "high"),
        ([(0, 300)], "high"),  # an hour at 0 where >= 300 were expected
        ([(0, 299)], "medium"),
        ([(0, 7500)] * 2, "high"),
        ([(0, 7500)] * 3, "critical"),  # 3 empty hours where many were expected
        ([(0, 100)] * 3, "high"),  # 3 empty hours of a smaller source: only long
        ([(50, 7500)] * 11, "high"),
        ([(50, 7500)] * 12, "critical"),
    ],
)
def test_hole_severity(hours, severity):
    assert holes.hole_severity(hours)[0] == severity


def test_hole_severity_thresholds_are_parameters():
    assert holes.hole_severity([(700, 7500)], high_hours=1)[0] == "high"
    assert holes.hole_severity([(0, 7500)] * 2, critical_zero_hours=2)[0] == "critical"
    assert holes.hole_severity([(0, 500)], large_expected=1000)[0] == "medium"


def test_explaining_boot():
    counts = {MONDAY + 2: 100, MONDAY + 5: 50}
    boot = (float((MONDAY + 6) * 3600 + 300), "boot")
    assert holes.explaining_boot(MONDAY + 2, MONDAY + 5, counts, [boot]) == boot  # boot in the hour after the hole
    assert holes.explaining_boot(MONDAY + 2, MONDAY + 5, counts, [boot], grace_hours=0) is None
    inside = (float((MONDAY + 3) * 3600), "early")
    assert holes.explaining_boot(MONDAY + 2, MONDAY + 5, counts, [inside]) is None  # up, yet silent afterwards
    assert holes.explaining_boot(MONDAY + 2, MONDAY + 5, {**counts, MONDAY + 3: 1}, [boot]) is None  # not down
