# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a log source reports of its reading, whichever gatherer read it: coverage of the source and of each file."""

from __future__ import annotations

from ansible_collections.fleetwatch.audit.plugins.module_utils._pathtext import path_to_text
from ansible_collections.fleetwatch.audit.plugins.module_utils._timestamps import hour_label, iso_utc

MAX_BOOTS = 500  # boot lines reported per source (the count is always exact)


class SourceResult(object):
    """The figures of one source (see the modules' RETURN documentation of ``sources``).

    :meth:`coverage` is what every gatherer reports (which files, how many lines, first and last event, errors);
    :meth:`as_dict` adds the hourly counts and clock figures of a counting read (``log_rate_info``).
    """

    def __init__(self, name, kind, path, timezone=None):
        self.name = name
        self.kind = kind
        self.path = path
        self.timezone = timezone
        self.hours = {}
        self.files = []
        self.lines = 0
        self.parsed = 0
        self.unparsed = 0
        self.outside_window = 0
        self.first = None
        self.last = None
        self.jumps = 0
        self.largest_jump = None
        self.boots = []
        self.boot_count = 0
        self.formats = {}
        self.error = None
        self.warnings = []

    def add_hours(self, hours, window):
        for hk, n in hours.items():
            if window.has_hour(hk):
                self.hours[hk] = self.hours.get(hk, 0) + n
            else:
                self.outside_window += n

    def note_jump(self, step):
        self.jumps += 1
        if step is not None and (self.largest_jump is None or step > self.largest_jump):
            self.largest_jump = step

    def note_span(self, first, last):
        """Widen the source's first and last event by a file's (epoch seconds or None), files read oldest first."""
        if first is not None and self.first is None:
            self.first = first
        if last is not None:
            self.last = last

    def add_file(self, info):
        """Add a file's entry to the source's figures: its lines, those outside the window, its span (the epochs
        ``first_epoch``/``last_epoch`` that a reading noted in the entry are taken out of it)."""
        self.lines += info["lines"]
        self.outside_window += info["outside_window"]
        self.note_span(info.pop("first_epoch", None), info.pop("last_epoch", None))

    def coverage(self):
        return {
            "name": self.name,
            "kind": self.kind,
            "path": self.path,
            "timezone": self.timezone,
            "first_event": iso_utc(self.first),
            "last_event": iso_utc(self.last),
            "lines": self.lines,
            "outside_window": self.outside_window,
            "files": self.files,
            "error": self.error,
        }

    def as_dict(self):
        boots = sorted(self.boots, key=lambda b: (b.get("time") or "", b.get("boot_id") or ""))
        out = self.coverage()
        out.update(
            hours={hour_label(hk): self.hours[hk] for hk in sorted(self.hours)},
            parsed=self.parsed,
            unparsed=self.unparsed,
            formats=dict(sorted(self.formats.items())),
            backward_jumps=self.jumps,
            largest_backward_jump=self.largest_jump,
            boots=boots,
            boot_count=self.boot_count,
        )
        if self.kind == "journal":
            out["warnings"] = self.warnings
        return out


def file_entry(path, skipped=None, **fields):
    """A file's entry in its source's ``files``: the fields every gatherer reports, then the gatherer's ``fields``."""
    entry = {
        "path": path_to_text(path),
        "compression": None,
        "size": None,
        "mtime": None,
        "lines": 0,
        "first_event": None,
        "last_event": None,
        "year": None,
        "skipped": skipped,
        "error": None,
    }
    entry.update(fields)
    return entry
