# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Log timestamps, time zones and time windows (private to the collection; target side, Python 3.8+).

Timestamp forms read at the start of a log line (``parse_head``):

- traditional syslog (RFC 3164 / ``RSYSLOG_TraditionalFileFormat``): ``Oct  1 00:00:01`` (day space- or
  zero-padded, or a single digit), no year and no zone: the year is inferred by the caller (see ``_logsource``),
  the zone is the ``timezone`` option. A line is a traditional event when it starts with ``Mmm dd HH:`` (valid
  month name, day 1-31, hour 00-23): this is exactly the prefix ``cut -c1-9`` looks at, so hourly counts match it.
  Minutes and seconds are read when present (else taken as 0).
- RFC 3339 / ISO 8601 (``RSYSLOG_FileFormat``, the default of recent rsyslog): ``2025-10-01T00:00:01.123456+02:00``,
  also with ``Z``, ``+0200``, a space instead of ``T``, without fraction, or without offset (then read in the zone).
- RFC 5424: ``<34>1 2025-10-11T22:14:15.003Z host app - - - msg`` (``-`` as timestamp is not an event), and a
  ``<PRI>`` in front of a traditional timestamp.

Time zones (``get_zone``): an IANA name, ``UTC``, a fixed offset (``+05:30``) or the system zone
(``/etc/localtime`` below ``root``). Python 3.9+ uses :mod:`zoneinfo`; Python 3.8 (or a system without tzdata for
zoneinfo) uses the C library through ``time.mktime``/``time.localtime`` with ``TZ`` pointing at the zone file.
Local times are converted with PEP 495 ``fold``: in the repeated hour when summer time ends, ``fold=0`` is the first
(summer time) occurrence and ``fold=1`` the second; a local time in the gap when summer time starts is read with the
offset in force before the change (as :mod:`zoneinfo` does).
"""

from __future__ import annotations

import calendar
import contextlib
import io
import os
import re
import time
from datetime import datetime, timedelta, timezone

from ansible_collections.fleetwatch.audit.plugins.module_utils._rootview import as_view

try:  # Python 3.9+
    import zoneinfo as _zoneinfo
except ImportError:  # pragma: no cover - Python 3.8
    _zoneinfo = None

HOUR = 3600
TZIF_LIMIT = 1 << 20  # a time zone file is a few kB: what is read of one at most
HEAD = 64  # bytes of a line that parse_head looks at for its timestamp
DAY = 86400

MONTHS = {
    b"Jan": 1,
    b"Feb": 2,
    b"Mar": 3,
    b"Apr": 4,
    b"May": 5,
    b"Jun": 6,
    b"Jul": 7,
    b"Aug": 8,
    b"Sep": 9,
    b"Oct": 10,
    b"Nov": 11,
    b"Dec": 12,
}
# Days before each month in a leap year: a year-less "seconds since Jan 1" that orders traditional timestamps.
_CUM_DAYS = (0, 0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335)
LEAP_YEAR_SECONDS = 366 * DAY

_DIGITS = frozenset(b"0123456789")

# Timestamp kinds returned by parse_head.
TRADITIONAL = "traditional"
RFC3339 = "rfc3339"
RFC5424 = "rfc5424"

# RFC 3339 (and the ISO 8601 variants met in logs). The timestamp must end the line or be followed by a blank.
RFC3339_RE = re.compile(
    rb"(\d{4})-(\d\d)-(\d\d)([Tt ])(\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?([Zz]|[+-]\d\d:?\d\d)?(?=[ \t\n]|\Z)"
)
_PRI_RE = re.compile(rb"<(\d{1,3})>")


class TimestampError(ValueError):
    """A value that is not a valid time, time zone or time window bound."""


# --------------------------------------------------------------------------------------------------- line heads


def parse_traditional(head, pos=0):
    """Parse ``Mmm dd HH:`` (then ``MM:SS`` if present) at ``head[pos:]``.

    Returns ``(key_end, month, day, hour, minute, second)`` where ``head[pos:key_end]`` is the hour key
    (``b"Oct  1 00:"``), or None.
    """
    month = MONTHS.get(bytes(head[pos : pos + 3]))
    if month is None or len(head) < pos + 9 or head[pos + 3] != 0x20:
        return None
    c4 = head[pos + 4]
    c5 = head[pos + 5]
    if c4 == 0x20 and c5 in _DIGITS:  # "Oct  1"
        day = c5 - 48
        hpos = pos + 7
        if head[pos + 6] != 0x20:
            return None
    elif c4 in _DIGITS and c5 in _DIGITS:  # "Oct 01" / "Oct 11"
        day = (c4 - 48) * 10 + c5 - 48
        hpos = pos + 7
        if head[pos + 6] != 0x20:
            return None
    elif c4 in _DIGITS and c5 == 0x20:  # "Oct 1"
        day = c4 - 48
        hpos = pos + 6
    else:
        return None
    if len(head) < hpos + 3:
        return None
    h1 = head[hpos]
    h2 = head[hpos + 1]
    if h1 not in _DIGITS or h2 not in _DIGITS or head[hpos + 2] != 0x3A or not 1 <= day <= 31:
        return None
    hour = (h1 - 48) * 10 + h2 - 48
    if hour > 23:
        return None
    minute = second = 0
    mm = head[hpos + 3 : hpos + 8]
    if len(mm) == 5 and mm[2] == 0x3A and all(c in _DIGITS for c in (mm[0], mm[1], mm[3], mm[4])):
        minute = (mm[0] - 48) * 10 + mm[1] - 48
        second = (mm[3] - 48) * 10 + mm[4] - 48
        if minute > 59 or second > 60:
            minute = second = 0
    return hpos + 3, month, day, hour, minute, second


def parse_rfc3339(head, pos=0, endpos=None):
    """Parse an RFC 3339 timestamp at ``head[pos:]``.

    Returns ``(end, year, month, day, hour, minute, second, microsecond, offset)``: ``offset`` in seconds east of
    UTC, or None when the timestamp has none (local time). None if not a valid timestamp.
    """
    match = RFC3339_RE.match(head, pos, len(head) if endpos is None else endpos)
    if match is None:
        return None
    year, month, day, _sep, hour, minute, second, frac, off = match.groups()
    year = int(year)
    month = int(month)
    day = int(day)
    hour = int(hour)
    minute = int(minute)
    second = int(second)
    if not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1] and hour <= 23 and minute <= 59):
        return None
    if second > 60 or year < 1970:
        return None
    micro = int((frac + b"00000")[:6]) if frac else 0
    offset = None
    if off:
        if off in (b"Z", b"z"):
            offset = 0
        else:
            oh = int(off[1:3])
            om = int(off[-2:])
            if oh > 23 or om > 59:
                return None
            offset = (oh * 60 + om) * 60
            if off[:1] == b"-":
                offset = -offset
    return match.end(), year, month, day, hour, minute, second, micro, offset


def parse_head(head):
    """Recognise the timestamp at the start of a log line (``head``: the line's first bytes, about 48 are enough).

    Returns None (not an event), or a tuple whose first item is the kind:

    - ``(TRADITIONAL, start, key_end, month, day, hour, minute, second)``
    - ``(RFC3339 or RFC5424, start, key_end, end, year, month, day, hour, minute, second, microsecond, offset)``

    ``head[start:key_end]`` is the hour prefix shared by all timestamps of that clock hour (``Oct  1 00:`` or
    ``2025-10-01T00``), ``end`` the end of the timestamp.
    """
    if not head:
        return None
    first = head[0]
    start = 0
    kind5424 = False
    if first == 0x3C:  # "<PRI>"
        match = _PRI_RE.match(head)
        if match is None or int(match.group(1)) > 191:
            return None
        start = match.end()
        if head[start : start + 2] == b"1 ":  # RFC 5424 VERSION
            start += 2
            kind5424 = True
        if start >= len(head):
            return None
        first = head[start]
    if first in _DIGITS:
        got = parse_rfc3339(head, start)
        if got is None:
            return None
        return (RFC5424 if kind5424 else RFC3339, start, start + 13, *got)
    if kind5424:
        return None
    got = parse_traditional(head, start)
    if got is None:
        return None
    return (TRADITIONAL, start, *got)


def traditional_seconds(month, day, hour, minute, second):
    """Seconds since January 1 in a leap year: orders year-less timestamps (and measures steps between them)."""
    return (((_CUM_DAYS[month] + day - 1) * 24 + hour) * 60 + minute) * 60 + second


# ------------------------------------------------------------------------------------------------------ zones


class Zone(object):
    """A time zone: local wall time <-> UTC. Subclasses implement ``utc_offset`` and ``local_to_utc``."""

    name = "UTC"

    def utc_offset(self, when):
        """Offset (seconds east of UTC) in force at UTC instant ``when`` (epoch seconds)."""
        raise NotImplementedError

    def local_to_utc(self, year, month, day, hour, minute=0, second=0, fold=0):
        """Epoch seconds of a local wall time; ``fold`` picks the occurrence of a repeated time (PEP 495)."""
        raise NotImplementedError

    def is_fixed(self):
        return False

    def transitions(self, start, end):
        """UTC offset changes in ``[start, end)``: a list of ``(instant, offset_before, offset_after)``."""
        out = []
        step = 6 * HOUR
        before = self.utc_offset(start)
        t = start
        while t < end:
            nxt = min(t + step, end)
            after = self.utc_offset(nxt)
            if after != before:
                lo, hi = t, nxt
                while hi - lo > 1:
                    mid = (lo + hi) // 2
                    if self.utc_offset(mid) == before:
                        lo = mid
                    else:
                        hi = mid
                out.append((hi, before, after))
                before = after
            t = nxt
        return out

    def irregular_hours(self, first_year, last_year):
        """Where converting a local clock hour to UTC needs minutes or the DST fold, for years in the range.

        Returns ``(everywhere, hours)``: ``everywhere`` is True when some offset is not a whole number of hours
        (India, Nepal, ...: every local hour straddles two UTC hours); ``hours`` is the set of
        ``(month, day, hour)`` local clock hours touched by an offset change in any of those years (the repeated
        or skipped hour of a summer time change, and the hour after it), whatever the year, since the year of a
        traditional line is only known at the end of its file.
        """
        memo = self.__dict__.setdefault("_irregular_memo", {})
        got = memo.get((first_year, last_year))
        if got is None:
            got = memo[(first_year, last_year)] = self._irregular_hours(first_year, last_year)
        return got

    def _irregular_hours(self, first_year, last_year):
        if self.is_fixed():
            return self.utc_offset(0) % HOUR != 0, frozenset()
        start = calendar.timegm((first_year, 1, 1, 0, 0, 0)) - 2 * DAY
        end = calendar.timegm((last_year + 1, 1, 1, 0, 0, 0)) + 2 * DAY
        everywhere = self.utc_offset(start) % HOUR != 0
        hours = set()
        for instant, before, after in self.transitions(start, end):
            if after % HOUR:
                everywhere = True
            wall_a = instant + before
            wall_b = instant + after
            for h in range(min(wall_a, wall_b) // HOUR, max(wall_a, wall_b) // HOUR + 1):
                tm = time.gmtime(h * HOUR)
                hours.add((tm.tm_mon, tm.tm_mday, tm.tm_hour))
        return everywhere, frozenset(hours)


class TzinfoZone(Zone):
    """A zone backed by a ``tzinfo`` (zoneinfo, or a fixed ``datetime.timezone``)."""

    def __init__(self, tzinfo, name):
        self.tzinfo = tzinfo
        self.name = name

    def is_fixed(self):
        return isinstance(self.tzinfo, timezone)

    def utc_offset(self, when):
        return int(datetime.fromtimestamp(when, self.tzinfo).utcoffset().total_seconds())

    def local_to_utc(self, year, month, day, hour, minute=0, second=0, fold=0):
        if second == 60:  # leap second: the last second of the minute
            second = 59
        return int(datetime(year, month, day, hour, minute, second, tzinfo=self.tzinfo, fold=fold).timestamp())


class LibcZone(Zone):
    """A zone through the C library (``TZ`` set while converting): the Python 3.8 fallback."""

    def __init__(self, tzspec, name):
        self.tzspec = tzspec  # a TZ value: "Europe/Berlin", ":/path/to/zonefile"
        self.name = name

    @contextlib.contextmanager
    def _tz(self):
        old = os.environ.get("TZ")
        os.environ["TZ"] = self.tzspec
        time.tzset()
        try:
            yield
        finally:
            if old is None:
                del os.environ["TZ"]
            else:
                os.environ["TZ"] = old
            time.tzset()

    def utc_offset(self, when):
        with self._tz():
            return time.localtime(when).tm_gmtoff

    def transitions(self, start, end):
        with self._tz():
            return Zone.transitions(self, start, end)

    def local_to_utc(self, year, month, day, hour, minute=0, second=0, fold=0):
        if second == 60:
            second = 59
        if not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]):
            raise ValueError("day is out of range for month")
        wall = (year, month, day, hour, minute, second)
        with self._tz():
            found = set()
            for isdst in (0, 1):
                try:
                    t = int(time.mktime((*wall, 0, 0, isdst)))
                except (OverflowError, ValueError):  # pragma: no cover - out of the C library's range
                    continue
                if time.localtime(t)[:6] == wall:
                    found.add(t)
            if found:
                found = sorted(found)
                return found[min(fold, len(found) - 1)]
            # In the gap of a change to summer time: the offset before the change, like zoneinfo.
            naive = calendar.timegm(wall)
            return naive - time.localtime(naive - DAY).tm_gmtoff


_FIXED_RE = re.compile(r"(?:UTC|GMT)?([+-])(\d\d):?(\d\d)\Z")


def _zone_name_from_link(path):
    try:
        target = os.readlink(path)
    except OSError:
        return None
    marker = "zoneinfo/"
    idx = target.rfind(marker)
    if idx < 0:
        return None
    name = target[idx + len(marker) :]
    for prefix in ("posix/", "right/"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
    return name or None


def _local_zone(root, use_zoneinfo):
    """The system zone of ``root`` (a path or a :class:`RootView`): its ``/etc/localtime``, UTC without one.

    The link's target names the zone; the file read is the one it points to inside the root.
    """
    view = as_view(root)
    link = view.host("/etc/localtime", follow_final=False)
    if link is None or not os.path.lexists(link):
        return TzinfoZone(timezone.utc, "UTC")
    zname = _zone_name_from_link(link)
    path = view.host("/etc/localtime")
    label = "%s (/etc/localtime)" % zname if zname else "/etc/localtime"
    readable = path is not None and os.path.isfile(path)
    if use_zoneinfo:
        try:
            if zname and (view.is_host or not readable):
                return TzinfoZone(_zoneinfo.ZoneInfo(zname), label)
            data = io.BytesIO(view.read("/etc/localtime", TZIF_LIMIT))
            return TzinfoZone(_zoneinfo.ZoneInfo.from_file(data, key=zname), label)
        except (OSError, ValueError, _zoneinfo.ZoneInfoNotFoundError):
            pass
    if readable:
        return LibcZone(":" + os.path.abspath(path), label)
    if zname:
        return LibcZone(zname, label)
    return TzinfoZone(timezone.utc, "UTC")


def get_zone(name=None, root="/", prefer="auto"):
    """Return the :class:`Zone` for the ``timezone`` option.

    ``name``: None or ``local`` (the system zone of ``root``, a path or a :class:`RootView`: its
    ``/etc/localtime``, UTC without one), ``UTC``, a fixed offset ``+HH:MM``, or an IANA name. ``prefer``: ``auto``
    (zoneinfo when available), ``libc`` (force the C library, as on Python 3.8). Raises :class:`TimestampError` for
    an unknown zone.
    """
    use_zoneinfo = _zoneinfo is not None and prefer != "libc"
    if name in (None, "", "local"):
        return _local_zone(root, use_zoneinfo)
    if name.upper() in ("UTC", "Z", "GMT", "ETC/UTC", "UTC0"):
        return TzinfoZone(timezone.utc, "UTC")
    fixed = _FIXED_RE.match(name)
    if fixed:
        sign, hh, mm = fixed.groups()
        minutes = int(hh) * 60 + int(mm)
        if int(hh) > 23 or int(mm) > 59:
            raise TimestampError("invalid UTC offset %r" % name)
        delta = timedelta(minutes=-minutes if sign == "-" else minutes)
        return TzinfoZone(timezone(delta), "%s%s:%s" % (sign, hh, mm))
    if ".." in name or name.startswith("/") or not re.match(r"[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*\Z", name):
        raise TimestampError("invalid time zone name %r" % name)
    if use_zoneinfo:
        try:
            return TzinfoZone(_zoneinfo.ZoneInfo(name), name)
        except (ValueError, _zoneinfo.ZoneInfoNotFoundError) as exc:
            raise TimestampError("unknown time zone %r" % name) from exc
    for base in ("/usr/share/zoneinfo", "/usr/lib/zoneinfo", "/usr/share/lib/zoneinfo"):
        path = os.path.join(base, name)
        if os.path.isfile(path):
            return LibcZone(":" + path, name)
    raise TimestampError("unknown time zone %r" % name)


# ---------------------------------------------------------------------------------------------------- windows

_RELATIVE_RE = re.compile(r"\s*(\d+)\s*(s|sec|secs|m|min|mins|h|hour|hours|d|day|days|w|week|weeks)\s*", re.I)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": HOUR, "d": DAY, "w": 7 * DAY}


def parse_relative(value):
    """Seconds of a relative age such as ``7d``, ``12h``, ``1d12h``, ``90m``, ``2w`` (None if not one)."""
    pos = 0
    total = 0
    value = value.strip()
    if not value:
        return None
    while pos < len(value):
        match = _RELATIVE_RE.match(value, pos)
        if match is None:
            return None
        total += int(match.group(1)) * _UNIT_SECONDS[match.group(2)[0].lower()]
        pos = match.end()
    return total


def parse_time_bound(value, now, zone):
    """Epoch seconds of a ``since``/``until`` value, or None for ``all``/empty (no bound).

    Accepted: ``all``; ``now``; a relative age (``7d``, ``12h``, ``1d12h``: that long before ``now``);
    ``@<epoch seconds>``; an ISO 8601 date (``2025-10-01``) or date and time (``2025-10-01T12:00``,
    ``2025-10-01 12:00:00+02:00``); without an offset it is read in ``zone``.
    """
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if text.lower() in ("", "all", "none", "null"):
        return None
    if text.lower() == "now":
        return float(now)
    if text.startswith("@"):
        try:
            return float(text[1:])
        except ValueError as exc:
            raise TimestampError("invalid epoch time %r" % text) from exc
    rel = parse_relative(text)
    if rel is not None:
        return float(now - rel)
    if re.match(r"\d{4}-\d\d-\d\d\Z", text):
        text += "T00:00:00"
    elif re.match(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?:[Zz]|[+-]\d\d:?\d\d)?\Z", text):
        text = text[:16] + ":00" + text[16:]
    got = parse_rfc3339(text.encode("ascii", "replace"))
    if got is None or got[0] != len(text):
        raise TimestampError(
            "invalid time %r: use all, now, a relative age such as 7d or 12h, @epoch, or ISO 8601" % value
        )
    return dated_epoch(zone, *got[1:])


def dated_epoch(zone, year, month, day, hour, minute, second, micro, offset, fold=0):
    """UTC epoch seconds of the fields of an RFC 3339 timestamp (as :func:`parse_rfc3339` gives them after its end
    position): at ``offset`` when it has one, else as wall-clock time in ``zone`` (``fold`` 1: the second of two
    repeated hours). Raises ValueError or OverflowError for a time ``zone`` cannot convert."""
    if offset is not None:
        return calendar.timegm((year, month, day, hour, minute, second)) - offset + micro / 1e6
    return float(zone.local_to_utc(year, month, day, hour, minute, second, fold)) + micro / 1e6


def floor_hour(when):
    return None if when is None else int(when // HOUR) * HOUR


def ceil_hour(when):
    return None if when is None else -int(-when // HOUR) * HOUR


def iso_utc(when):
    """``2025-10-01T00:00:01Z`` (fractions of a second dropped), or None (for None, or a time out of range)."""
    if when is None:
        return None
    try:
        tm = time.gmtime(int(when // 1))
    except (OverflowError, ValueError, OSError):
        return None
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % tm[:6]


def hour_label(hour_index):
    """``2025-10-01T00`` for an hour index (epoch seconds // 3600)."""
    return time.strftime("%Y-%m-%dT%H", time.gmtime(hour_index * HOUR))
