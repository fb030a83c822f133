# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Events per hour of every log source, for ``log_rate_info`` (private to the collection; target side, Python 3.8+).

The counting read on the shared log sources: each file of a file source is counted by an
:class:`_logsource.hourscan.FileScan` (per-line work in C), the journal by ``JournalSource.count``; per source
the hours, lines parsed and not, first and last event, boots, steps back in time and errors.
"""

from __future__ import annotations

from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.blocks import CHUNK_SIZE
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.hourscan import FileScan
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.options import log_options
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.results import MAX_BOOTS, SourceResult
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.sources import build_sources
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.window import Window
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.years import local_year
from ansible_collections.fleetwatch.audit.plugins.module_utils._rootview import error_text
from ansible_collections.fleetwatch.audit.plugins.module_utils._timestamps import HOUR, iso_utc

# /var/log files discovered by default (inside root), in this order.
DEFAULT_FILES = (
    "/var/log/syslog",
    "/var/log/messages",
    "/var/log/auth.log",
    "/var/log/secure",
    "/var/log/kern.log",
    "/var/log/daemon.log",
    "/var/log/user.log",
    "/var/log/cron",
    "/var/log/cron.log",
    "/var/log/maillog",
    "/var/log/mail.log",
)
# What log_rate_info adds to each file's entry.
FILE_FIELDS = {"parsed": 0, "unparsed": 0, "long_lines": 0, "backward_jumps": 0}


class _FileCounter(object):
    """Counts the files of one file source into its result, oldest first."""

    def __init__(self, source, window):
        self.source = source
        self.window = window
        self.result = source.new_result()
        self.previous_last = None
        self._irregular = {}

    def count(self):
        for log_file in self.source.files(self.window, self.result, **FILE_FIELDS):
            scan = None
            with log_file.reading():
                st, stream = log_file.open()
                try:
                    scan = self._scan_for(st)
                    with log_file.blocks(stream) as blocks:
                        for buf, start, end, long_line, boots in blocks:
                            scan.feed(buf, start, end, long_line, boots)
                finally:
                    stream.close()
            if scan is not None:  # what could be read of a damaged file counts
                self._add_file(scan, log_file.info)
        return self.result.as_dict()

    def _irregular_for(self, year):
        got = self._irregular.get(year)
        if got is None:
            got = self._irregular[year] = self.source.zone.irregular_hours(year, year)
        return got

    def _scan_for(self, st):
        source = self.source
        ref_year = int(source.year) if source.year is not None else local_year(source.zone, st.st_mtime)
        irregular = source.zone.irregular_hours(ref_year - 5, ref_year + 1)
        return FileScan(source.zone, irregular, self._irregular_for, mtime=st.st_mtime, year=source.year)

    def _add_file(self, scan, info):
        """Add one counted file's figures to its entry and to the source."""
        result = self.result
        hours = scan.finish()
        parsed = scan.lines - scan.unparsed
        first = scan.to_utc(scan.first)
        last = scan.to_utc(scan.last)
        info.update(
            lines=scan.lines,
            parsed=parsed,
            unparsed=scan.unparsed,
            long_lines=scan.long_lines,
            backward_jumps=scan.jumps,
            year=None if scan.anchor is None else scan.anchor + scan.t_last[0],
            first_event=iso_utc(first),
            last_event=iso_utc(last),
        )
        result.add_hours(hours, self.window)
        result.lines += scan.lines
        result.parsed += parsed
        result.unparsed += scan.unparsed
        for kind, n in scan.formats.items():
            result.formats[kind] = result.formats.get(kind, 0) + n
        result.jumps += scan.jumps
        step = scan.largest_jump()
        if step is not None and (result.largest_jump is None or step > result.largest_jump):
            result.largest_jump = step
        previous = self.previous_last
        if first is not None and previous is not None and first // HOUR < previous // HOUR:
            result.note_jump(round(previous - first, 6))
        result.note_span(first, last)
        self._add_boots(scan, info["path"])
        if last is not None:
            self.previous_last = last

    def _add_boots(self, scan, path):
        result = self.result
        result.boot_count += scan.boot_count
        for stamp, text in scan.boots:
            if len(result.boots) >= MAX_BOOTS:
                break
            message = text.decode("utf-8", "replace").rstrip()
            result.boots.append(
                {"time": iso_utc(scan.to_utc(stamp)), "boot_id": None, "file": path, "message": message}
            )


def count_source(source, since=None, until=None):
    """Events per UTC hour of one source (file or journal): its result dict."""
    if source.kind == "journal":
        return source.count(since, until)
    return _FileCounter(source, Window(since, until)).count()


def count_sources(sources, since=None, until=None, verify_journal=False):
    """Count every source; one failing source never stops the others. Returns the list of result dicts.

    With ``verify_journal``, journal sources also carry ``verify`` (:meth:`JournalSource.verify`).
    """
    out = []
    for source in sources:
        try:
            counted = count_source(source, since, until)
            if verify_journal and source.kind == "journal":
                counted["verify"] = source.verify()
            out.append(counted)
        except Exception as exc:  # a bug or an odd file must not lose the other sources
            failed = SourceResult(source.name, source.kind, None)
            failed.error = "internal error: %s" % error_text(exc)
            out.append(failed.as_dict())
    return out


def gather(
    sources=None,
    since="8d",
    until=None,
    root="/",
    timezone=None,
    year=None,
    now=None,
    chunk_size=CHUNK_SIZE,
    verify_journal=False,
):
    """What ``log_rate_info`` returns (without ``changed``). Raises ValueError for an invalid option.

    ``sources``: a list of ``{"path": ..., "name": ..., "rotated": ...}`` / ``{"journal": {...}, "name": ...}``, or
    None/empty for the default discovery (the journal and :data:`DEFAULT_FILES`).
    """
    view, zone, now, since_t, until_t, specs, discovered = log_options(
        sources, since, until, root, timezone, year, DEFAULT_FILES, now=now
    )
    window = Window(since_t, until_t)
    return {
        "root": view.root,
        "timezone": zone.name,
        "since": iso_utc(window.since),
        "until": iso_utc(window.until),
        "collected_at": iso_utc(now),
        "discovered": discovered,
        "sources": count_sources(
            build_sources(specs, zone, root=view, year=year, chunk_size=chunk_size), since_t, until_t, verify_journal
        ),
    }
