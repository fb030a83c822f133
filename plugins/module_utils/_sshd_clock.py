# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Times of sshd log lines (private to the collection; target side, Python 3.8+).

Rows keep their timestamp as read (a time token: bytes of a file's line, or a float epoch of the journal); a
:class:`Clock` turns the tokens of one file into epoch seconds only where a time is needed (spans of blocks, first
and last times of the entries listed).
"""

from __future__ import annotations

import time

from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.edges import file_edges
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.years import last_event_year, local_year
from ansible_collections.fleetwatch.audit.plugins.module_utils._timestamps import (
    TRADITIONAL,
    dated_epoch,
    iso_utc,
    parse_rfc3339,
    parse_traditional,
    traditional_seconds,
)

HORIZON = 600  # seconds: lines of one pid further apart than this are not taken as one connection
TOLERANCE = 2 * 86400  # a traditional line up to this much after the file's last line is still in the last's year


class Clock(object):
    """Epoch seconds of the time tokens of one log file (or of the journal, whose tokens already are epochs).

    A traditional timestamp has no year: it gets ``last_year``, the year of the file's last line (from the file's
    modification time or the ``year`` option), unless that would put it more than ``TOLERANCE`` after the last
    line, then the year before. Files span less than a year; a rotated file has its own clock.
    """

    def __init__(self, zone=None, last_year=None, last_seconds=None):
        self.zone = zone
        self.last_year = last_year
        self.last_seconds = last_seconds
        self._minutes = {}

    def epoch(self, token):
        if token is None or token == b"":
            return None
        if isinstance(token, float):
            return token
        if token[:1].isdigit():
            got = parse_rfc3339(token)
            if got is None:
                return None
            try:
                return dated_epoch(self.zone, *got[1:])
            except (ValueError, OverflowError):
                return None
        minute_key = token[:-3]
        base = self._minutes.get(minute_key)
        if base is None:
            got = parse_traditional(token)
            if got is None or self.zone is None:
                return None
            _end, month, day, hour, minute, _second = got
            year = self.last_year if self.last_year is not None else time.gmtime().tm_year
            late = self.last_seconds is not None and (
                traditional_seconds(month, day, hour, minute, 0) > self.last_seconds + TOLERANCE
            )
            if late:
                year -= 1
            try:
                base = float(self.zone.local_to_utc(year, month, day, hour, minute, 0))
            except (ValueError, OverflowError):
                base = False
            if len(self._minutes) > 100000:
                self._minutes.clear()
            self._minutes[minute_key] = base
        if base is False:
            return None
        try:
            return base + int(token[-2:])
        except ValueError:
            return None


JOURNAL_CLOCK = Clock()


def token_before(clock, token, other_clock, other):
    """Whether the time token ``token`` (of ``clock``) is earlier than ``other`` (of ``other_clock``); an unknown
    time is never earlier. Tokens of one clock compare as they are when they can: journal times, and traditional
    timestamps of one month (a clock's file spans less than a year; the day is space-padded)."""
    if clock is other_clock:
        if token.__class__ is float and other.__class__ is float:
            return token < other
        if token.__class__ is bytes and len(token) == 15 == len(other) and token[:3] == other[:3]:
            return token < other
    return _earlier(clock.epoch(token), other_clock.epoch(other))


def _earlier(a, b):
    return a is not None and (b is None or a < b)


def earliest(a, b):
    """The earlier of two epochs, either of which may be unknown (``None``)."""
    return _known(min, a, b)


def latest(a, b):
    """The later of two epochs, either of which may be unknown (``None``)."""
    return _known(max, a, b)


def _known(pick, a, b):
    if a is None:
        return b
    if b is None:
        return a
    return pick(a, b)


def file_clock(log_file, st, zone, year):
    """The :class:`Clock` of one file (opened: its entry names its compression), from its first and last timestamped
    lines, which are noted in its entry: ``year`` (of year-less timestamps), ``first_event``/``last_event``, and
    their epochs ``first_epoch``/``last_epoch`` for :meth:`SourceResult.add_file`. Returns ``(clock, first, last)``,
    the last two ``parse_head`` results or None."""
    info = log_file.info
    first, last = file_edges(log_file, st.st_size, info["compression"])
    clock = Clock(zone)
    traditional = last is not None and last[0] == TRADITIONAL
    if traditional:
        month, day, hour, minute, second = last[3:8]
        clock.last_seconds = traditional_seconds(month, day, hour, minute, second)
        clock.last_year = last_event_year(zone, st.st_mtime, year, month, day, hour, minute, second)
    else:
        clock.last_year = int(year) if year is not None else local_year(zone, st.st_mtime)
    info["year"] = clock.last_year if traditional else None
    info["first_epoch"] = head_epoch(clock, first)
    info["last_epoch"] = head_epoch(clock, last)
    info["first_event"] = iso_utc(info["first_epoch"])
    info["last_event"] = iso_utc(info["last_epoch"])
    return clock, first, last


def head_epoch(clock, info):
    """Epoch seconds of a ``parse_head`` result read with ``clock`` (None: no time)."""
    if info is None:
        return None
    if info[0] == TRADITIONAL:
        month, day, hour, minute, second = info[3:8]
        token = b"%s %2d %02d:%02d:%02d" % (_MONTHS[month - 1], day, hour, minute, second)
        return clock.epoch(token)
    try:
        return dated_epoch(clock.zone, *info[4:12])
    except (ValueError, OverflowError):
        return None


_MONTHS = (b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec")
