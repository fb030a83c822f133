# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The hole model of the ``log_rate`` check: how many events an hour of a log should hold, and which hours hold far
fewer (docs/holes.md).

Pure functions. Hours are *hour indexes*: whole hours since the epoch, UTC (``2025-10-01T13`` is 489469); counts are
events per hour as ``log_rate_info`` reports them (an hour without events is absent, i.e. 0).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone

HOUR = 3600
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Defaults of the policy knobs of the same names, also used to build the profile stored in a baseline (a baseline is
# made without a policy): an hour below DROP_RATIO x the expected count of at least MIN_EXPECTED events is "low".
DROP_RATIO = 0.10
MIN_EXPECTED = 30.0
# A profile describes at most the last six weeks before its end: enough for a median over weeks, bounded in size.
PROFILE_HOURS = 6 * 7 * 24
# A weekday x hour or hour-of-day median is used only when it has this many samples (else the coarser one).
PROFILE_MIN_SAMPLES = 2
# The first pass that finds holes to ignore compares with the hour-of-day median when it has this many samples.
FIRST_PASS_MIN_SAMPLES = 3
_HOUR_LABEL = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2})$")


def parse_hour(label: str) -> int:
    """Hour index of a ``YYYY-MM-DDTHH`` label (UTC); ``ValueError`` for anything else."""
    match = _HOUR_LABEL.match(label) if isinstance(label, str) else None
    if match is None:
        raise ValueError(f"not an hour label YYYY-MM-DDTHH: {label!r:.60}")
    year, month, day, hour = (int(part) for part in match.groups())
    moment = datetime(year, month, day, hour, tzinfo=timezone.utc)
    return int(moment.timestamp()) // HOUR


def hour_label(index: int) -> str:
    """``YYYY-MM-DDTHH`` of an hour index."""
    return datetime.fromtimestamp(index * HOUR, timezone.utc).strftime("%Y-%m-%dT%H")


def hour_iso(index: int) -> str:
    """Start of an hour in ISO 8601 UTC: ``2025-10-01T13:00:00Z``."""
    return datetime.fromtimestamp(index * HOUR, timezone.utc).strftime("%Y-%m-%dT%H:00:00Z")


def parse_time(text: str | None) -> float | None:
    """Epoch seconds of an ISO 8601 time with ``Z`` or an offset, ``None`` for ``None``; ``ValueError`` if malformed."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise ValueError(f"not a time: {text!r:.60}")
    moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    if moment.tzinfo is None:
        raise ValueError(f"time without a UTC offset: {text!r:.60}")
    return moment.timestamp()


def hour_of(text: str | None) -> int | None:
    """Hour index holding an ISO 8601 time, ``None`` for ``None``."""
    moment = parse_time(text)
    return None if moment is None else int(moment // HOUR)


def weekday(index: int) -> int:
    """0 (Monday) … 6 (Sunday) of an hour index (1970-01-01 was a Thursday)."""
    return (index // 24 + 3) % 7


def median(values: Iterable[float]) -> float | None:
    """The median, ``None`` of nothing."""
    ordered = sorted(values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    return float(ordered[middle]) if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def data_start(since_hour: int | None, first_hour: int | None) -> int | None:
    """First complete hour of a source's data: the window's first hour, or the hour after the first event's when the
    log starts inside the window (that hour is partial); ``None`` when the source has no events and no window start."""
    if first_hour is None:
        return since_hour
    if since_hour is not None and first_hour < since_hour:
        return since_hour
    return first_hour + 1


def is_low(count: int, expected: float | None, drop_ratio: float, min_expected: float) -> bool:
    """An hour far below expectation: fewer than ``drop_ratio`` x the expected count, when at least ``min_expected``
    events were expected (quiet sources never make a hole by themselves)."""
    return expected is not None and expected >= min_expected and count < drop_ratio * expected


def build_profile(
    counts: Mapping[int, int],
    start: int,
    end: int,
    drop_ratio: float = DROP_RATIO,
    min_expected: float = MIN_EXPECTED,
) -> dict | None:
    """The expected rate of a source from its complete hours ``start`` … ``end - 1`` (at most the last
    ``PROFILE_HOURS``): medians per weekday x hour of the day, per hour of the day, and overall, each over the hours
    that are not themselves holes. ``None`` when there is no hour. JSON-serialisable, a few hundred numbers at most.

    Holes are found first against the hour-of-day median over all days (the overall median when an hour of the day
    has fewer than ``FIRST_PASS_MIN_SAMPLES`` days), so a wiped hour or a shutdown in the baseline period does not
    lower what later hours are expected to hold.
    """
    start = max(start, end - PROFILE_HOURS)
    hours = range(start, end)
    if not hours:
        return None
    values = {hour: counts.get(hour, 0) for hour in hours}
    by_hod: dict[int, list[int]] = {}
    for hour, count in values.items():
        by_hod.setdefault(hour % 24, []).append(count)
    overall_all = median(values.values())
    reference = {
        hod: median(samples) if len(samples) >= FIRST_PASS_MIN_SAMPLES else overall_all
        for hod, samples in by_hod.items()
    }
    kept = {h: c for h, c in values.items() if not is_low(c, reference[h % 24], drop_ratio, min_expected)}
    cells: dict[str, list[int]] = {}
    hods: dict[str, list[int]] = {}
    for hour, count in kept.items():
        cells.setdefault(f"{WEEKDAYS[weekday(hour)]} {hour % 24:02d}", []).append(count)
        hods.setdefault(f"{hour % 24:02d}", []).append(count)
    overall = median(kept.values())
    return {
        "from": hour_iso(start),
        "to": hour_iso(end),
        "hours": len(values),
        "holes_ignored": len(values) - len(kept),
        "weekday_hour": {
            key: round(median(samples), 1)
            for key, samples in sorted(cells.items())
            if len(samples) >= PROFILE_MIN_SAMPLES
        },
        "hour": {
            key: round(median(samples), 1)
            for key, samples in sorted(hods.items())
            if len(samples) >= PROFILE_MIN_SAMPLES
        },
        "overall": None if overall is None else round(overall, 1),
    }


def usable(profile: dict | None) -> bool:
    """A profile that can give an expected rate."""
    return isinstance(profile, dict) and profile.get("overall") is not None


def peak(profile: dict | None) -> float:
    """The highest expected rate of a profile (0 for none)."""
    if not usable(profile):
        return 0.0
    rates = [profile["overall"], *profile.get("weekday_hour", {}).values(), *profile.get("hour", {}).values()]
    return float(max(rates))


def expected_rate(profile: dict | None, index: int) -> tuple[float, str] | None:
    """Expected events in hour ``index`` and the basis (``weekday x hour``, ``hour of day``, ``overall``)."""
    if not usable(profile):
        return None
    hod = f"{index % 24:02d}"
    cell = f"{WEEKDAYS[weekday(index)]} {hod}"
    if cell in profile.get("weekday_hour", {}):
        return float(profile["weekday_hour"][cell]), "weekday x hour"
    if hod in profile.get("hour", {}):
        return float(profile["hour"][hod]), "hour of day"
    return float(profile["overall"]), "overall"


def low_hours(
    counts: Mapping[int, int],
    hours: Iterable[int],
    expect: Callable[[int], float | None],
    drop_ratio: float = DROP_RATIO,
    min_expected: float = MIN_EXPECTED,
    skip: Callable[[int], bool] = lambda _hour: False,
) -> list[int]:
    """The hours of ``hours`` (not skipped) that are far below their expected count, in order."""
    return [
        hour
        for hour in sorted(hours)
        if not skip(hour) and is_low(counts.get(hour, 0), expect(hour), drop_ratio, min_expected)
    ]


def runs(hours: Iterable[int]) -> list[tuple[int, int]]:
    """Consecutive hours merged: ``[(first, last), …]`` (``last`` inclusive)."""
    result: list[tuple[int, int]] = []
    for hour in sorted(set(hours)):
        if result and hour == result[-1][1] + 1:
            result[-1] = (result[-1][0], hour)
        else:
            result.append((hour, hour))
    return result


def hole_severity(
    hours: list[tuple[int, float]],
    large_expected: float = 300.0,
    high_hours: int = 3,
    critical_hours: int = 12,
    critical_zero_hours: int = 3,
) -> tuple[str, str]:
    """Severity of one hole and why, from its hours as ``(observed, expected)`` (docs/holes.md):

    - critical: at least ``critical_hours`` hours, or at least ``critical_zero_hours`` hours with no event where
      ``large_expected`` or more were expected;
    - high: at least ``high_hours`` hours, or an hour with no event where ``large_expected`` or more were expected;
    - medium: otherwise.
    """
    length = len(hours)
    empty_large = sum(1 for observed, expected in hours if observed == 0 and expected >= large_expected)
    if length >= critical_hours:
        return "critical", f"{length} hours long"
    if empty_large >= critical_zero_hours:
        return "critical", f"{empty_large} hours without any event where {large_expected:,.0f} or more were expected"
    if length >= high_hours:
        return "high", f"{length} hours long"
    if empty_large:
        return "high", f"an hour without any event where {large_expected:,.0f} or more were expected"
    return "medium", "one hour" if length == 1 else f"{length} hours"


def explaining_boot(
    first: int, last: int, counts: Mapping[int, int], boots: list[tuple[float, str]], grace_hours: int = 1
) -> tuple[float, str] | None:
    """The boot that explains the hole ``first`` … ``last`` as the host being down, or ``None``.

    A hole is downtime when its inner hours (all but the first and the last, which may be partial: shutdown, boot)
    hold no event at all and a boot is recorded in its last hour or within ``grace_hours`` after it, i.e. the first
    events after the hole come with a boot. ``boots``: ``(epoch seconds, ISO time)`` sorted by time.
    """
    if any(counts.get(hour, 0) for hour in range(first + 1, last)):
        return None
    low, high = last * HOUR, (last + 1 + grace_hours) * HOUR
    for boot in boots:
        if low <= boot[0] < high:
            return boot
    return None
