# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The time window a gatherer reads its sources in."""

from __future__ import annotations

from ansible_collections.fleetwatch.audit.plugins.module_utils._timestamps import HOUR, ceil_hour, floor_hour


class Window(object):
    """The time window: ``since``/``until`` epoch seconds widened to whole UTC hours (None: unbounded). ``cut``, when
    given and earlier, ends it exactly there instead (sshd_auth_info reads files only up to the journal's first
    entry, so that an event logged to both is counted once)."""

    def __init__(self, since=None, until=None, cut=None):
        self.since = floor_hour(since)
        self.until = ceil_hour(until)
        if cut is not None and (self.until is None or cut < self.until):
            self.until = cut
        self.since_hk = None if self.since is None else self.since // HOUR
        self.until_hk = None if self.until is None else -(-self.until // HOUR)

    def bounded(self):
        return self.since is not None or self.until is not None

    def has_hour(self, hk):
        return (self.since_hk is None or hk >= self.since_hk) and (self.until_hk is None or hk < self.until_hk)

    def has(self, when):
        """Whether the time ``when`` (None: unknown, never inside) is in the window."""
        return (
            when is not None
            and (self.since is None or when >= self.since)
            and (self.until is None or when < self.until)
        )
