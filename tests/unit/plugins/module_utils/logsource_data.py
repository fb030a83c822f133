# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Shared helpers of the log-source tests: timestamps, lines and files written by the tests themselves."""

from __future__ import annotations

import calendar
import os
import time
from collections import Counter

from ansible_collections.fleetwatch.audit.plugins.module_utils import _timestamps as ts
from ansible_collections.fleetwatch.audit.plugins.module_utils._lograte_scan import (
    count_source,
)
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.blocks import CHUNK_SIZE
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.sources import FileSource

UTC = ts.get_zone("UTC")


BERLIN = ts.get_zone("Europe/Berlin")


BERLIN_LIBC = ts.get_zone("Europe/Berlin", prefer="libc")


CHUNKS = [64, 97, 1000, 4096, CHUNK_SIZE]


def utc(*fields):
    return calendar.timegm(fields + (0,) * (6 - len(fields)))


def label(when):
    return time.strftime("%Y-%m-%dT%H", time.gmtime(when))


def trad(when, zone=None, body=b"host prog[1]: message"):
    """A traditional line for UTC epoch ``when`` written in ``zone`` (UTC by default)."""
    if zone is None:
        tm = time.gmtime(when)
    else:
        from datetime import datetime

        tm = datetime.fromtimestamp(when, zone.tzinfo).timetuple()
    return time.strftime("%b %e %H:%M:%S ", tm).encode() + body + b"\n"


def rfc(when, offset=0, body=b"host prog[1]: message", frac=".123456"):
    sign = "+" if offset >= 0 else "-"
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when + offset)) + frac
    return ("%s%s%02d:%02d " % (stamp, sign, abs(offset) // 3600, abs(offset) % 3600 // 60)).encode() + body + b"\n"


def write(path, data, mtime=None):
    path = str(path)
    with open(path, "wb") as handle:
        handle.write(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def count(path, zone=UTC, rotated=False, since=None, until=None, **kwargs):
    return count_source(FileSource(str(path), zone, rotated=rotated, **kwargs), since, until)


def expected_hours(times):
    return dict(sorted(Counter(label(t) for t in times).items()))


def steady(start, hours, per_hour, skip=()):
    """Event times: ``per_hour`` events spread over each hour, hours in ``skip`` (offsets) left out."""
    times = []
    for h in range(hours):
        if h in skip:
            continue
        times.extend(start + h * 3600 + i * (3600 // per_hour) for i in range(per_hour))
    return times
