# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The year of a traditional (year-less) syslog timestamp, for every log gatherer.

The year of a file's last event is the one that puts it closest to the file's modification time (or the ``year``
option): a file written in January whose last line says ``Dec 31`` ended last year.
"""

from __future__ import annotations

import time


def local_year(zone, when):
    """The year of the epoch time ``when`` on the wall clocks of ``zone``."""
    return time.gmtime(when + zone.utc_offset(when)).tm_year


def closest_year(zone, ref, month, day, hour, minute, second):
    """The year that puts the local time ``month day hour:minute:second`` of ``zone`` closest to ``ref`` (epoch)."""
    ref_year = local_year(zone, ref)
    best = None
    for year in (ref_year - 1, ref_year, ref_year + 1):
        try:
            when = zone.local_to_utc(year, month, day, hour, minute, second)
        except (ValueError, OverflowError):  # Feb 29 of a year that has none; a year past what the platform holds
            continue
        if best is None or abs(when - ref) < best[0]:
            best = (abs(when - ref), year)
    return best[1] if best else ref_year


def last_event_year(zone, mtime, year, month, day, hour, minute, second):
    """The year of a file's last traditional event: the ``year`` option, else the one closest to ``mtime``."""
    return int(year) if year is not None else closest_year(zone, mtime, month, day, hour, minute, second)
