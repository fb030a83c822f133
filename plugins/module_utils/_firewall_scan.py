# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reading netfilter log lines for ``firewall_log_info`` (private to the collection; target side, Python 3.8+).

A parser (``_firewall_parse``) and an aggregator (``_firewall_aggregate``) on the shared log sources: the files of
a source, their rotations, the root view, errors and coverage figures come from ``FileSource.files``, the journal's
kernel entries from ``JournalSource.events``. Each block of a file is searched at once by ``block_re`` (C-level).
Times without a year take the year of the file's last line, as sshd_auth_info's (``_sshd_clock.file_clock``).
"""

from __future__ import annotations

from itertools import compress
from operator import itemgetter

from ansible_collections.fleetwatch.audit.plugins.module_utils._firewall_aggregate import FlowAggregator
from ansible_collections.fleetwatch.audit.plugins.module_utils._firewall_parse import (
    BAD,
    HOUR,
    MINSEC,
    OFFSET,
    block_re,
    candidates,
    message_row,
)
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.blocks import CHUNK_SIZE
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.options import log_options
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.sources import (
    build_sources,
    read_journal_first,
)
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.window import Window
from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_clock import file_clock
from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_parse import (
    DEFAULT_INTERNAL_NETWORKS,
    AddressBook,
    parse_networks,
)
from ansible_collections.fleetwatch.audit.plugins.module_utils._timestamps import HOUR as HOUR_SECONDS
from ansible_collections.fleetwatch.audit.plugins.module_utils._timestamps import iso_utc

DEFAULT_FILES = ("/var/log/kern.log", "/var/log/ufw.log", "/var/log/messages", "/var/log/syslog")
JOURNAL_MATCHES = ("_TRANSPORT=kernel",)
SLICE = 1 << 20  # bytes searched per regular expression call (fits the CPU caches)
JOURNAL_BATCH = 20000
FILE_FIELDS = {"netfilter_lines": 0, "outside_window": 0}
_BAD = itemgetter(BAD)


class FileTimes(object):
    """Times of a file's rows: ``(hour, minutes and seconds, offset)`` tokens read by its :class:`Clock`."""

    def __init__(self, clock, zone):
        self.clock = clock
        self.zone = zone

    def epoch(self, stamp):
        return self.clock.epoch(b"".join(stamp))

    def hour(self, token):
        start = self.clock.epoch(token[0] + b":00:00" + token[1])
        return None if start is None else local_hour(self.zone, start)


class JournalTimes(object):
    """Times of journal rows: the hour's start and the seconds into it, as floats."""

    def __init__(self, zone):
        self.zone = zone

    @staticmethod
    def epoch(stamp):
        return stamp[0] + stamp[1]

    def hour(self, token):
        return local_hour(self.zone, token[0])


def local_hour(zone, when):
    """The hour of day (0-23) of the epoch ``when`` in ``zone``."""
    return int((when + zone.utc_offset(when)) // HOUR_SECONDS % 24)


def add_block(agg, buf, start, end, times, bounds):
    """Add the netfilter lines of ``buf[start:end]`` (``buf[start - 1]`` is a newline) to ``agg``; returns
    ``(lines, rows outside bounds)``."""
    lines = buf.count(b"\n", start, end) + (1 if end > start and buf[end - 1] != 10 else 0)
    outside = 0
    pattern = block_re()
    slow = block_re(malformed=True)
    view = memoryview(buf)
    try:
        p = start
        while p < end:
            q = min(end, p + SLICE)
            if q < end:
                nl = buf.rfind(b"\n", p, q)
                q = end if nl < 0 else nl + 1
            rows = pattern.findall(view[p - 1 : q])
            if candidates(buf, p - 1, q) > len(rows):
                rows = slow.findall(view[p - 1 : q])
            p = q
            outside += _add_rows(agg, rows, times, bounds)
    finally:
        view.release()
    return lines, outside


def _add_rows(agg, rows, times, bounds):
    """Add block rows to ``agg`` (malformed ones parsed again token by token); returns the rows outside bounds."""
    bad = list(filter(None, map(_BAD, rows)))
    if bad:
        rows = [row if not row[BAD] else message_row(row[BAD], row[HOUR], row[MINSEC], row[OFFSET]) for row in rows]
        for row in rows:
            if row[BAD]:
                agg.add_malformed(row[BAD])
        rows = [row for row in rows if not row[BAD]]
    outside = 0
    if rows and bounds.bounded():
        rows, outside = _in_bounds(rows, times, bounds)
    agg.add_rows(rows, times)
    return outside


def _in_bounds(rows, times, bounds):
    stamp = itemgetter(HOUR, MINSEC, OFFSET)
    if bounds.has(times.epoch(stamp(rows[0]))) and bounds.has(times.epoch(stamp(rows[-1]))):
        return rows, 0
    keep = [bounds.has(times.epoch(stamp(row))) for row in rows]
    return list(compress(rows, keep)), keep.count(False)


def read_file_source(source, bounds, agg):
    """Read one file source (a file with its rotations, oldest first) into ``agg``; returns its statistics."""
    result = source.new_result()
    for log_file in source.files(bounds, result, **FILE_FIELDS):
        info = log_file.info
        before = agg.netfilter_lines
        with log_file.reading():
            _read_file(log_file, source, bounds, agg)
        info["netfilter_lines"] = agg.netfilter_lines - before
        result.add_file(info)
    return result.coverage()


def _read_file(log_file, source, bounds, agg):
    info = log_file.info
    st, stream = log_file.open()
    try:
        clock, _first, _last = file_clock(log_file, st, source.zone, source.year)
        times = FileTimes(clock, source.zone)
        with log_file.blocks(stream) as blocks:
            for buf, start, end, _long, _boots in blocks:
                lines, outside = add_block(agg, buf, start, end, times, bounds)
                info["lines"] += lines
                info["outside_window"] += outside
    finally:
        stream.close()


def read_journal(source, bounds, agg, zone):
    """Read the journal's kernel entries into ``agg``; returns the source's statistics and its first entry's time."""
    times = JournalTimes(zone)
    rows = []
    lines = 0
    first = None
    before = agg.netfilter_lines
    for event in source.events(bounds.since, bounds.until, fields=("MESSAGE",)):
        lines += 1
        first = event.time if first is None else first
        hour = float(event.time // HOUR_SECONDS * HOUR_SECONDS)
        row = message_row(event.data, hour, event.time - hour, b"")
        if row is None:
            continue
        if row[BAD]:
            agg.add_malformed(row[BAD])
            continue
        rows.append(row)
        if len(rows) >= JOURNAL_BATCH:
            agg.add_rows(rows, times)
            rows = []
    if rows:
        agg.add_rows(rows, times)
    stats = source.result.as_dict() if source.result is not None else {"name": source.name, "kind": "journal"}
    for name in ("hours", "boots"):
        stats.pop(name, None)
    stats["lines"] = stats.get("lines") or lines
    stats["netfilter_lines"] = agg.netfilter_lines - before
    return stats, first


def _read_sources(log_sources, discovered, bounds, agg, zone):
    """Every source's statistics, in the order of ``log_sources`` (a discovered journal first, the files only up to
    its first entry: ``read_journal_first``)."""

    def file_source(source, cut):
        return _safe(read_file_source, source, Window(bounds.since, bounds.until, cut=cut), agg)[0]

    return read_journal_first(
        log_sources,
        discovered,
        lambda source, _before_files: _safe(read_journal, source, bounds, agg, zone),
        file_source,
    )


def _safe(read, source, *args):
    """``(statistics, first entry or None)`` of one source; a source that fails is reported with its error, the
    others are still read."""
    try:
        got = read(source, *args)
    except Exception as exc:
        return {"name": source.name, "kind": source.kind, "error": repr(exc), "lines": 0}, None
    return got if isinstance(got, tuple) else (got, None)


def gather(
    sources=None,
    since="8d",
    until=None,
    root="/",
    timezone=None,
    year=None,
    internal_networks=None,
    top_external=200,
    prefixes=None,
    now=None,
    chunk_size=CHUNK_SIZE,
):
    """What ``firewall_log_info`` returns (without ``changed``). Raises ValueError for an invalid option."""
    if top_external < 0:
        raise ValueError("top_external must be 0 or more")
    networks = parse_networks(DEFAULT_INTERNAL_NETWORKS if internal_networks is None else internal_networks)
    view, zone, now, since_t, until_t, specs, discovered = log_options(
        sources, since, until, root, timezone, year, DEFAULT_FILES, (), now
    )
    bounds = Window(since_t, until_t)
    agg = FlowAggregator(AddressBook(networks), top_external=top_external, prefixes=prefixes)
    log_sources = build_sources(specs, zone, view, year, chunk_size, JOURNAL_MATCHES)
    stats = _read_sources(log_sources, discovered, bounds, agg, zone)
    flows, ports, addresses, totals = agg.result()
    return {
        "root": view.root,
        "timezone": zone.name,
        "since": iso_utc(bounds.since),
        "until": iso_utc(bounds.until),
        "collected_at": iso_utc(now),
        "discovered": discovered,
        "internal_networks": [str(net) for net in networks],
        "flows": flows,
        "ports": ports,
        "addresses": addresses,
        "totals": {"lines": sum(s.get("lines") or 0 for s in stats), **totals},
        "malformed_samples": agg.samples,
        "sources": stats,
    }
