# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The options every log gatherer shares (documented by the ``fleetwatch.audit.log_sources`` doc fragment)."""

from __future__ import annotations

import os
import time
from collections import namedtuple

from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.files import discover
from ansible_collections.fleetwatch.audit.plugins.module_utils._rootview import RootView
from ansible_collections.fleetwatch.audit.plugins.module_utils._timestamps import (
    TimestampError,
    get_zone,
    parse_time_bound,
)

LOG_SOURCE_OPTIONS = {
    "sources": {
        "type": "list",
        "elements": "dict",
        "options": {
            "path": {"type": "str"},
            "journal": {
                "type": "dict",
                "options": {
                    "matches": {"type": "list", "elements": "str", "default": []},
                    "directory": {"type": "str"},
                    "files": {"type": "list", "elements": "str", "default": []},
                },
            },
            "name": {"type": "str"},
            "rotated": {"type": "bool", "default": True},
        },
        "mutually_exclusive": [["path", "journal"]],
        "required_one_of": [["path", "journal"]],
    },
    "since": {"type": "str", "default": "8d"},
    "until": {"type": "str"},
    "timezone": {"type": "str", "default": "local"},
    "year": {"type": "int"},
}

LogOptions = namedtuple("LogOptions", "view zone now since until specs discovered")


def log_options(sources, since, until, root, timezone, year, default_files, fallback_files=(), now=None):
    """Validate the shared options (LOG_SOURCE_OPTIONS and root); raise ValueError on a bad one.

    Returns :data:`LogOptions`: the :class:`RootView` of ``root``, the zone, ``now``, ``since``/``until`` as epoch
    seconds (None: unbounded), the source specs (when none is given: the journal and those of the gatherer's
    ``default_files`` that exist, ``fallback_files`` without any) and whether they were discovered.
    """
    root = os.path.abspath(root or "/")
    if not os.path.isdir(root):
        raise ValueError("root %s is not a directory" % root)
    if year is not None and not 1970 <= int(year) <= 9999:
        raise ValueError("year must be between 1970 and 9999")
    view = RootView(root)
    zone = get_zone(timezone, view)
    if now is None:
        now = time.time()
    since_t = parse_time_bound(since, now, zone)
    until_t = parse_time_bound(until, now, zone)
    if since_t is not None and until_t is not None and until_t <= since_t:
        raise TimestampError("until (%s) is not after since (%s)" % (until, since))
    specs = [dict(spec) for spec in sources or ()]
    for spec in specs:
        path = spec.get("path")
        if path is not None and not path.startswith("/"):
            raise ValueError("source path %r must be absolute (it is taken inside root)" % path)
        if path is not None and spec.get("journal") is not None:
            raise ValueError("a source has either path or journal, not both")
        if path is None and spec.get("journal") is None:
            raise ValueError("a source needs path or journal")
    discovered = not specs
    if discovered:
        specs = discover(view, default_files, fallback_files)
    return LogOptions(view, zone, now, since_t, until_t, specs, discovered)
