# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Counting the lines of a log file per UTC hour, with per-line work kept in C (the counting read of ``log_rate_info``).

Syslog files are sorted by time, so the lines of one clock hour form a run; the run's end is found by bisection on
the hour prefix, the run is verified line by line with ``bytes.count`` (every line of the run must start with the
same ``Mmm dd HH:`` prefix: the count of ``"\\n" + prefix`` equals the count of newlines) or a regular expression
(RFC 3339: same hour, same offset), and counted with ``bytes.count(b"\\n")``. Lines that do not fit (garbage,
out-of-order lines, the hours around a summer time change, zones whose offset is not a whole hour) go through the
per-line path, which gives the same answer more slowly.

Traditional timestamps have no year: see :mod:`.years`. Going back through the file, a step of more than half a year
between two lines is a new year (``Dec 31`` then ``Jan  1``), a smaller step back is a step back in time (counted in
``backward_jumps``), never a year.
"""

from __future__ import annotations

import calendar
import re
import time

from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.results import MAX_BOOTS
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.years import last_event_year
from ansible_collections.fleetwatch.audit.plugins.module_utils._timestamps import (
    _CUM_DAYS,
    HEAD,
    HOUR,
    LEAP_YEAR_SECONDS,
    RFC3339,
    RFC5424,
    TRADITIONAL,
    dated_epoch,
    parse_head,
)

_HALF_YEAR = LEAP_YEAR_SECONDS // 2


def _region_patterns(head, info, cache):
    """Regular expressions for the lines of the same clock hour and timestamp shape as ``head`` (RFC 3339/5424).

    Returns ``(key, same, negative)``: ``key`` the hour prefix (``2025-10-01T00``) an RFC 3339 run starts with
    (None for RFC 5424, whose ``<PRI>`` varies in width); ``same.match(buf, pos)`` recognises one line of an
    RFC 5424 run (None for RFC 3339);
    ``negative.search`` finds a newline followed by a line that is not one: another hour, another UTC offset
    (the repeated hour of a summer time change), another fraction length, or a malformed time. Every line accepted
    is read by the per-line parser as the same hour with the same offset (the per-line path takes the others).
    Compiled once per hour and shape (a few hundred microseconds), cached.
    """
    kind, start, key_end, end = info[0], info[1], info[2], info[3]
    offset_text = bytes(head[end - _offset_len(head, end) : end]) if info[11] is not None else b""
    frac_len = 0
    if head[start + 19 : start + 20] in (b".", b","):
        frac_len = end - len(offset_text) - (start + 20)
    key = bytes(head[start:key_end])
    sig = (kind, key, frac_len, offset_text)
    got = cache.get(sig)
    if got is None:
        # Seconds 60 (a leap second) and a line that ends with its timestamp are left to the per-line path.
        body = (
            (rb"<(?:\d|[1-9]\d|1[0-8]\d|19[01])>1 " if kind == RFC5424 else b"")
            + re.escape(key)
            + rb":[0-5]\d:[0-5]\d"
            + ((rb"[.,]\d{%d}" % frac_len) if frac_len else b"")
            + re.escape(offset_text)
            + rb"[ \t]"
        )
        if len(cache) > 64:
            cache.clear()
        same = re.compile(body) if kind == RFC5424 else None  # an RFC 3339 run is bisected on its key
        got = cache[sig] = (same, re.compile(rb"\n(?!" + body + b")"))
    return (key if kind == RFC3339 else None), got[0], got[1]


def _offset_len(head, end):
    """Length of the UTC offset text ending at ``end`` (``Z``, ``+0200`` or ``+02:00``)."""
    if head[end - 1 : end] in (b"Z", b"z"):
        return 1
    if head[end - 3 : end - 2] == b":":
        return 6
    return 5


class FileScan(object):
    """Counts the lines of one log file. Years of traditional timestamps are resolved in ``finish``."""

    def __init__(self, zone, irregular, irregular_year, mtime=None, year=None):
        self.zone = zone
        self.irr_everywhere, self.irr_hours = irregular  # for traditional (year-less) hours
        self.irregular_year = irregular_year  # callable(year) -> (everywhere, hours) for dated timestamps
        self.mtime = mtime
        self.year = year
        self.lines = 0
        self.unparsed = 0
        self.long_lines = 0
        self.formats = {}
        self.tcounts = {}  # (r, month, day, hour) -> n    traditional, regular hours
        self.tmin = {}  # (r, month, day, hour, fold, minute) -> n    traditional, irregular hours
        self.ucounts = {}  # UTC hour index -> n
        # traditional clock: relative year r, previous stamp
        self.t_r = 0
        self.t_total = None  # r * LEAP_YEAR_SECONDS + seconds in year (+ fold hour) of the previous line
        self.t_hk = None
        self.t_last = None  # (r, m, d, h, M, S, fold) of the last traditional line
        self.fold_key = None
        self.fold = 0
        self.fold_prev = 0
        # absolute clock
        self.u_prev = None
        self.u_hk = None
        self.first = None  # ("t", r, m, d, h, M, S, fold) or ("u", epoch)
        self.last = None
        self.jumps = 0
        self.jump_best = None  # (pseudo seconds, prev stamp, stamp)
        self.boots = []  # (stamp, text)
        self.boot_count = 0
        self.utc_cache = {}
        self.regex_cache = {}
        self.anchor = None  # year of relative year 0, known after finish()
        self.error = None

    # -- clocks -------------------------------------------------------------------------------------------------

    def _trad(self, m, d, h, mi, s):
        """Observe a traditional timestamp: returns ``(r, fold)``, updates year, fold, steps back."""
        secs = (((_CUM_DAYS[m] + d - 1) * 24 + h) * 60 + mi) * 60 + s
        prev = self.t_total
        r = self.t_r
        if prev is not None:
            total = r * LEAP_YEAR_SECONDS + secs
            diff = total - prev
            if diff > _HALF_YEAR:
                r -= 1
            elif diff < -_HALF_YEAR:
                r += 1
        fold = self._fold_of((r, m, d, h), mi, s) if (m, d, h) in self.irr_hours else 0
        total = r * LEAP_YEAR_SECONDS + secs + fold * HOUR
        hk = (r, m, d, h, fold)
        if self.t_hk is not None and hk < self.t_hk:
            self.jumps += 1
            step = prev - total
            if self.jump_best is None or step > self.jump_best[0]:
                self.jump_best = (step, ("t", *self.t_last), ("t", r, m, d, h, mi, s, fold))
        self.t_r = r
        self.t_total = total
        self.t_hk = hk
        self.t_last = stamp = (r, m, d, h, mi, s, fold)
        if self.first is None:
            self.first = ("t", *stamp)
        self.last = ("t", *stamp)
        return r, fold

    def _fold_of(self, key, minute, second):
        """Which of the two passes through the repeated wall-clock hour ``key`` (clocks set back) a time of it is: 0,
        then 1 from the first step back of more than a minute within that hour."""
        cur = minute * 60 + second
        if key != self.fold_key:
            self.fold_key = key
            self.fold = 0
        elif cur < self.fold_prev - 60:
            self.fold = 1
        self.fold_prev = cur
        return self.fold

    def _abs(self, when):
        hk = int(when // HOUR)
        if self.u_hk is not None and hk < self.u_hk:
            self.jumps += 1
            step = self.u_prev - when
            if self.jump_best is None or step > self.jump_best[0]:
                self.jump_best = (step, ("u", self.u_prev), ("u", when))
        self.u_prev = when
        self.u_hk = hk
        if self.first is None:
            self.first = ("u", when)
        self.last = ("u", when)
        return hk

    def _dated(self, info, head):
        """UTC epoch of an RFC 3339 / RFC 5424 timestamp, observing it. None if it is not valid in the zone."""
        year, month, day, hour, minute, second, _micro, offset = info[4:12]
        fold = 0
        if offset is None and (month, day, hour) in self.irregular_year(year)[1]:
            fold = self._fold_of((year, month, day, hour), minute, second)
        when = dated_epoch(self.zone, *info[4:12], fold=fold)
        self._abs(when)
        return when

    def _count_kind(self, kind, n):
        self.formats[kind] = self.formats.get(kind, 0) + n

    # -- per line -----------------------------------------------------------------------------------------------

    def _line(self, head):
        """Count one line from its first bytes (cut at its newline). Returns the parse or None."""
        info = parse_head(head)
        if info is None:
            self.unparsed += 1
            return None
        kind = info[0]
        if kind == TRADITIONAL:
            m, d, h, mi, s = info[3:8]
            r, fold = self._trad(m, d, h, mi, s)
            if self.irr_everywhere or (m, d, h) in self.irr_hours:
                key = (r, m, d, h, fold, mi)
                self.tmin[key] = self.tmin.get(key, 0) + 1
            else:
                key = (r, m, d, h)
                self.tcounts[key] = self.tcounts.get(key, 0) + 1
        else:
            hk = int(self._dated(info, head) // HOUR)
            self.ucounts[hk] = self.ucounts.get(hk, 0) + 1
        self._count_kind(kind, 1)
        return info

    def _lines(self, buf, p, q, boots):
        """Count the lines starting in ``[p, q)`` one by one."""
        find = buf.find
        while p < q:
            nl = find(b"\n", p, q)
            le = q if nl < 0 else nl
            head = bytes(buf[p : min(le, p + HEAD)])
            self.lines += 1
            info = self._line(head)
            if boots and info is not None and boots[-1] < le:
                self._boot_lines(buf, p, le, boots)
            p = le + 1

    def _boot_lines(self, buf, p, le, boots):
        while boots and boots[-1] < p:
            boots.pop()
        if boots and boots[-1] < le:
            pos = boots.pop()
            while boots and boots[-1] < le:
                boots.pop()
            if b"kernel" in bytes(buf[p:pos]):
                self.boot_count += 1
                if len(self.boots) < MAX_BOOTS:
                    text = bytes(buf[pos : min(le, pos + 120)])
                    self.boots.append((self.last, text))

    # -- fast path ----------------------------------------------------------------------------------------------

    @staticmethod
    def _run_end(buf, p, end, same):
        """First line start after ``p`` (up to ``end``) whose line is not ``same``, by bisection (sorted lines)."""
        last_start = buf.rfind(b"\n", p - 1, end - 1) + 1
        if last_start <= p:
            return end
        if same(last_start):
            return end
        lo, hi = p, last_start
        find = buf.find
        rfind = buf.rfind
        while True:
            mid = (lo + hi) >> 1
            nl = find(b"\n", mid, hi - 1)
            if nl < 0:
                nl = rfind(b"\n", lo, mid)
                if nl < 0:
                    return hi
            ls = nl + 1
            if ls <= lo or ls >= hi:
                return hi
            if same(ls):
                lo = ls
            else:
                hi = ls

    def feed(self, buf, start, end, long_line=False, boots=()):
        """Count the lines of a block from :func:`read_blocks` (``boots``: positions of boot-line candidates).

        The block is taken run by run (the lines of one clock hour); a line no run takes is counted on its own.
        """
        if long_line:
            self.long_lines += 1
        find = buf.find
        boots = list(boots)
        boots.reverse()  # popped from the end: smallest first
        p = start
        while p < end:
            nl = find(b"\n", p, min(end, p + HEAD))
            head = bytes(buf[p : nl if nl >= 0 else min(end, p + HEAD)])
            info = parse_head(head)
            if info is None or (info[1] != 0 and info[0] != RFC5424):
                q = None
            elif info[0] == TRADITIONAL:
                q = self._traditional_run(buf, p, end, head, info, boots)
            else:
                q = self._dated_run(buf, p, end, head, info, boots)
            if q is None:
                q = find(b"\n", p, end)
                q = end if q < 0 else q + 1
                self._lines(buf, p, q, boots)
            p = q

    def _traditional_run(self, buf, p, end, head, info, boots):
        """Count the run of lines of ``head``'s clock hour starting at ``p``; returns where it ends, or None when the
        hour is irregular (a summer time change: counted line by line)."""
        m, d, h = info[3:6]
        if self.irr_everywhere or (m, d, h) in self.irr_hours:
            return None
        key = head[: info[2]]
        q = self._run_end(buf, p, end, lambda ls, _k=key: buf.startswith(_k, ls))
        n = buf.count(b"\n", p - 1, q - 1)
        if n > 1 and buf.count(b"\n" + key, p - 1, q - 1 + len(key)) != n:  # a line of the run is not of its hour
            self._lines(buf, p, q, boots)
            return q
        self.lines += n
        r, _fold = self._trad(m, d, h, info[6], info[7])
        ck = (r, m, d, h)
        self.tcounts[ck] = self.tcounts.get(ck, 0) + n
        self._count_kind(TRADITIONAL, n)
        if boots and boots[-1] < q:
            self._boots_in_run(buf, p, q, boots, lambda got, _r=r: ("t", _r, *got[3:8], 0))
        last = buf.rfind(b"\n", p - 1, q - 1) + 1
        if last > p:
            tail = parse_head(bytes(buf[last : last + HEAD]).split(b"\n", 1)[0])
            self._trad(m, d, h, tail[6], tail[7])
        return q

    def _dated_run(self, buf, p, end, head, info, boots):
        """The same for an RFC 3339 / RFC 5424 line: None when its hour has no whole-hour UTC offset or is
        irregular in the zone."""
        hk = self._utc_hour(info)
        if hk is None:
            return None
        key, same, negative = _region_patterns(head, info, self.regex_cache)
        if key is not None:
            q = self._run_end(buf, p, end, lambda ls, _k=key: buf.startswith(_k, ls))
        else:
            q = self._run_end(buf, p, end, lambda ls, _m=same.match: _m(buf, ls) is not None)
        # Every line of the run (the newline before each) is checked; then they are counted by the cheapest needle.
        if negative.search(buf, p - 1, q - 1) is not None:
            self._lines(buf, p, q, boots)
            return q
        n = buf.count(b"\n" + key, p - 1, q - 1 + len(key)) if key is not None else buf.count(b"\n", p - 1, q - 1)
        self.lines += n
        self._dated(info, head)
        self.ucounts[hk] = self.ucounts.get(hk, 0) + n
        self._count_kind(info[0], n)
        if boots and boots[-1] < q:
            self._boots_in_run(buf, p, q, boots, self._dated_stamp)
        last = buf.rfind(b"\n", p - 1, q - 1) + 1
        if last > p:
            self._dated(parse_head(bytes(buf[last : last + HEAD]).split(b"\n", 1)[0]), None)
        return q

    def _utc_hour(self, info):
        """The UTC hour index of a dated line's clock hour, None where the hour needs the per-line path."""
        year, month, day, hour = info[4:8]
        offset = info[11]
        if offset is not None:
            return None if offset % HOUR else (calendar.timegm((year, month, day, hour, 0, 0)) - offset) // HOUR
        everywhere, hours = self.irregular_year(year)
        if everywhere or (month, day, hour) in hours:
            return None
        ck = (year, month, day, hour)
        hk = self.utc_cache.get(ck)
        if hk is None:
            hk = self.utc_cache[ck] = self.zone.local_to_utc(year, month, day, hour) // HOUR
        return hk

    def _dated_stamp(self, info):
        return ("u", dated_epoch(self.zone, *info[4:12]))

    def _boots_in_run(self, buf, p, q, boots, stamp_of):
        while boots and boots[-1] < q:
            pos = boots.pop()
            if pos < p:
                continue
            ls = buf.rfind(b"\n", p - 1, pos) + 1
            le = buf.find(b"\n", pos, q)
            le = q if le < 0 else le
            while boots and boots[-1] < le:
                boots.pop()
            if b"kernel" not in bytes(buf[ls:pos]):
                continue
            self.boot_count += 1
            if len(self.boots) < MAX_BOOTS:
                info = parse_head(bytes(buf[ls : ls + HEAD]).split(b"\n", 1)[0])
                self.boots.append((stamp_of(info), bytes(buf[pos : min(le, pos + 120)])))

    # -- results ------------------------------------------------------------------------------------------------

    def finish(self):
        """Resolve the years of traditional timestamps; returns the hourly counts ``{hour index: n}``."""
        hours = dict(self.ucounts)
        self.anchor = None
        if self.t_last is not None:
            r_last, m, d, h, mi, s, fold = self.t_last
            ref = time.time() if self.mtime is None else self.mtime
            last_year = last_event_year(self.zone, ref, self.year, m, d, h, mi, s)
            self.anchor = last_year - r_last
        invalid = 0
        for (r, m, d, h), n in self.tcounts.items():
            when = self.to_utc(("t", r, m, d, h, 0, 0, 0))
            if when is None:
                invalid += n
                continue
            hk = int(when // HOUR)
            hours[hk] = hours.get(hk, 0) + n
        for (r, m, d, h, fold, mi), n in self.tmin.items():
            when = self.to_utc(("t", r, m, d, h, mi, 0, fold))
            if when is None:
                invalid += n
                continue
            hk = int(when // HOUR)
            hours[hk] = hours.get(hk, 0) + n
        if invalid:  # e.g. Feb 29 in a year that is not a leap year
            self.unparsed += invalid
            self.formats[TRADITIONAL] = self.formats.get(TRADITIONAL, 0) - invalid
        return hours

    def to_utc(self, stamp):
        """UTC epoch of a stamp (after :meth:`finish`), None if not a valid date."""
        if stamp is None:
            return None
        if stamp[0] == "u":
            return stamp[1]
        if self.anchor is None:
            return None
        _t, r, m, d, h, mi, s, fold = stamp
        try:
            return float(self.zone.local_to_utc(self.anchor + r, m, d, h, mi, s, fold))
        except (ValueError, OverflowError):
            return None

    def largest_jump(self):
        if self.jump_best is None:
            return None
        _step, before, after = self.jump_best
        a = self.to_utc(before)
        b = self.to_utc(after)
        if a is None or b is None:
            return None
        return round(a - b, 6)
