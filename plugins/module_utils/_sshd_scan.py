# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reading sshd authentication lines for ``sshd_auth_info`` (private to the collection; target side, Python 3.8+).

A parser and an aggregator on the shared log sources (``_logsource``): the files of a source, their rotations, the
root view, errors and coverage figures come from ``FileSource.files``; the journal's entries from
``JournalSource.events``. Each block of a file is searched at once by ``_sshd_parse.BLOCK_RE`` (C-level), so Python
only sees the lines that matter, summarised per block (``_sshd_summary.Summary``). Big uncompressed files are split
into byte ranges (``_logsource.blocks.plain_ranges``) among worker processes (``os.fork``), each summarising its own
ranges; the summaries are merged in log order, so the result is the same with any number of workers.

Timestamps: a traditional timestamp (no year) takes the year of the file's last line (from the file's modification
time, or the ``year`` option) unless that puts it more than two days after the last line, then the year before
(see ``_sshd_clock.Clock``); times without an offset are read in ``timezone``.
"""

from __future__ import annotations

import functools
import gc
import os
import pickle
from contextlib import suppress
from itertools import compress, repeat
from operator import getitem, ne

from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.blocks import (
    CHUNK_SIZE,
    plain_ranges,
    read_range,
)
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.options import log_options
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.sources import (
    build_sources,
    read_journal_first,
)
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.window import Window
from ansible_collections.fleetwatch.audit.plugins.module_utils._pathtext import path_to_text
from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_aggregate import Aggregator
from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_clock import (
    HORIZON,
    JOURNAL_CLOCK,
    file_clock,
)
from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_parse import (
    DEFAULT_INTERNAL_NETWORKS,
    MESSAGE_RE,
    AddressBook,
    block_re,
    parse_networks,
)
from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_summary import Summary
from ansible_collections.fleetwatch.audit.plugins.module_utils._timestamps import (
    RFC3339,
    TRADITIONAL,
    iso_utc,
)

DEFAULT_FILES = ("/var/log/auth.log", "/var/log/secure")
FALLBACK_FILES = ("/var/log/messages",)  # read only when neither auth.log nor secure exists
JOURNAL_MATCHES = (
    "SYSLOG_IDENTIFIER=sshd",
    "SYSLOG_IDENTIFIER=sshd-session",
    "SYSLOG_IDENTIFIER=sshd-auth",
    "+",
    "_SYSTEMD_UNIT=ssh.service",
    "_SYSTEMD_UNIT=sshd.service",
)
SLICE = 1 << 20  # bytes searched per regular expression call (fits the CPU caches)
PARALLEL_MIN_SIZE = 64 << 20  # an uncompressed file at least this big is split among workers
MAX_WORKERS = 4
JOURNAL_BATCH = 20000


# ------------------------------------------------------------------------------------------------ time


# ------------------------------------------------------------------------------------------------ blocks


def summarize_block(buf, start, end, clock, bounds, kind="any"):
    """The :class:`Summary` of the lines ``buf[start:end]`` (``buf[start - 1]`` is a newline; every line ends with a
    newline but maybe the last), with the rows outside ``bounds`` left out; ``kind``: the timestamp format of the
    file (:func:`_sshd_parse.block_re`). Returns ``(summaries, outside)``: one summary, or more when the block's
    lines have gaps longer than HORIZON (a quiet log: a process id may be reused between them)."""
    summary = Summary(clock)
    summaries = [summary]
    summary.lines = buf.count(b"\n", start, end)
    tail = None
    if end > start and buf[end - 1] != 10:  # a last line without newline (end of file)
        last_start = buf.rfind(b"\n", start - 1, end) + 1
        tail = b"\n" + bytes(buf[last_start:end]) + b"\n"
        end = last_start
        summary.lines += 1
    outside = 0
    pattern = block_re(kind)
    width = pattern.groups + 1
    view = memoryview(buf)
    p = start
    try:
        while p < end or tail is not None:
            if p < end:
                q = min(end, p + SLICE)
                if q < end:
                    nl = buf.rfind(b"\n", p, q)
                    q = end if nl < 0 else nl + 1
                parts = pattern.split(view[p - 1 : q])
                p = q
            else:
                parts, tail = pattern.split(tail), None
            cols = [parts[index::width] for index in range(1, width)]
            if cols[0] and bounds.bounded():
                cols, dropped = _in_bounds(cols, clock, bounds)
                outside += dropped
            cuts = _cuts(cols[0], clock.epoch)
            for lo, hi in zip([0, *cuts], [*cuts, len(cols[0])]):
                if lo:
                    summary = Summary(clock)
                    summaries.append(summary)
                summary.add_columns([col[lo:hi] for col in cols] if cuts else cols)
    finally:
        view.release()
    return [item.close() for item in summaries], outside


def _cuts(tokens, epoch):
    """Indices where rows more than HORIZON apart follow each other (none in a busy log: checked only when the first
    and last row are that far apart, then only where the minute changes)."""
    count = len(tokens)
    if count < 2:
        return []
    first, last = epoch(tokens[0]), epoch(tokens[-1])
    if first is None or last is None or abs(last - first) <= 2 * HORIZON:
        return []
    if isinstance(tokens[0], float):
        changes = range(1, count)
    else:
        width = 16 if tokens[0][:1].isdigit() else 12  # up to the minute
        minutes = list(map(getitem, tokens, repeat(slice(0, width))))
        changes = compress(range(1, count), map(ne, minutes[1:], minutes[:-1]))
    cuts = []
    for index in changes:
        before, after = epoch(tokens[index - 1]), epoch(tokens[index])
        if before is not None and after is not None and abs(after - before) > HORIZON:
            cuts.append(index)
    return cuts


def _in_bounds(cols, clock, bounds):
    """The columns without the rows outside ``bounds``, and how many were left out."""
    epoch = clock.epoch
    tokens = cols[0]
    first = epoch(tokens[0])
    last = epoch(tokens[-1])
    if bounds.has(first) and bounds.has(last):
        return cols, 0
    if (
        first is not None
        and last is not None
        and ((bounds.since is not None and last < bounds.since) or (bounds.until is not None and first >= bounds.until))
    ):
        return [[] for _col in cols], len(tokens)
    keep = [bounds.has(epoch(token)) for token in tokens]
    return [list(compress(col, keep)) for col in cols], keep.count(False)


def _summaries_of_ranges(log_file, ranges, clock, bounds, kind):
    """Summaries of byte ranges of an uncompressed file, in order (one process)."""
    fd = log_file.view.open(log_file.real)
    try:
        for lo, hi in ranges:
            buf, got = read_range(fd, lo, hi)
            yield summarize_block(buf, 1, got, clock, bounds, kind)
    finally:
        os.close(fd)


def _worker_count():
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cpus))


def _part(log_file, ranges, index, parts, clock, bounds, kind, agg):
    """Add the ``index``-th of ``parts`` contiguous parts of ``ranges`` to ``agg`` (a fresh aggregator), with the
    range just before and just after it read for context only (the connections that straddle the cut). Returns
    ``(lines, auth lines, outside window)``."""
    size = len(ranges)
    lo = size * index // parts
    hi = size * (index + 1) // parts
    stats = [0, 0, 0]
    if lo > 0:
        for summary in next(_summaries_of_ranges(log_file, ranges[lo - 1 : lo], clock, bounds, kind))[0]:
            agg.add_context(summary)
    for summaries, outside in _summaries_of_ranges(log_file, ranges[lo:hi], clock, bounds, kind):
        stats[2] += outside
        for summary in summaries:
            stats[0] += summary.lines
            stats[1] += summary.rows
            agg.add(summary)
    if hi < size:
        for summary in next(_summaries_of_ranges(log_file, ranges[hi : hi + 1], clock, bounds, kind))[0]:
            agg.add_context(summary)
    agg.finish()
    return stats


def _parallel_parts(log_file, ranges, clock, bounds, kind, workers, new_aggregator):
    """``(aggregator, stats)`` of each of ``workers`` contiguous parts of the file, in order, computed by forked
    processes (each sends its finished aggregator back, pickled). A part a worker could not deliver is computed
    here."""
    children = []
    try:
        for index in range(workers):
            rfd, wfd = os.pipe()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the child
                code = 0
                try:
                    os.close(rfd)
                    for _pid, pipe in children:
                        pipe.close()
                    with os.fdopen(wfd, "wb") as out:
                        agg = new_aggregator()
                        stats = _part(log_file, ranges, index, workers, clock, bounds, kind, agg)
                        out.write(pickle.dumps((agg, stats), protocol=pickle.HIGHEST_PROTOCOL))
                except BaseException:
                    code = 1
                os._exit(code)
            os.close(wfd)
            children.append((pid, os.fdopen(rfd, "rb")))
    except OSError:  # no fork: the parts one after the other, here
        for pid, pipe in children:
            pipe.close()
            _reap(pid, kill=True)
        children = []
    try:
        for index in range(workers):
            result = None
            if index < len(children):
                try:
                    result = pickle.loads(children[index][1].read())
                except Exception:  # a worker that died: its part is read here
                    result = None
            if result is None:
                agg = new_aggregator()
                result = (agg, _part(log_file, ranges, index, workers, clock, bounds, kind, agg))
            yield result
    finally:
        for pid, pipe in children:
            pipe.close()
            _reap(pid)


def _reap(pid, kill=False):
    if kill:
        with suppress(OSError):
            os.kill(pid, 9)
    with suppress(OSError):
        os.waitpid(pid, 0)


# ------------------------------------------------------------------------------------------------ sources

# What sshd_auth_info adds to each file's entry.
FILE_FIELDS = {"auth_lines": 0, "outside_window": 0}


def read_file_source(source, bounds, agg, workers=None):
    """Read one file source (a file with its rotations, oldest first) into ``agg``; returns its statistics."""
    result = source.new_result()
    for log_file in source.files(bounds, result, **FILE_FIELDS):
        info = log_file.info
        with log_file.reading():
            _read_file(log_file, source.zone, source.year, bounds, agg, workers)
        result.add_file(info)
    return result.coverage()


def _read_file(log_file, zone, year, bounds, agg, workers):
    info = log_file.info
    st, stream = log_file.open()
    stream.close()
    compression = info["compression"]
    clock, first, last = file_clock(log_file, st, zone, year)
    kinds = {head[0] for head in (first, last) if head is not None}
    kind = "traditional" if kinds == {TRADITIONAL} else "rfc3339" if kinds == {RFC3339} else "any"
    if compression is None:
        _read_plain(log_file, st.st_size, clock, bounds, kind, agg, workers)
        return
    _st, stream = log_file.open()
    try:
        with log_file.blocks(stream) as blocks:
            for buf, start, end, _long, _boots in blocks:
                summaries, outside = summarize_block(buf, start, end, clock, bounds, kind)
                _add_summaries(agg, summaries, outside, info)
    finally:
        stream.close()


def _read_plain(log_file, size, clock, bounds, kind, agg, workers):
    """An uncompressed file by byte ranges: split among worker processes when it is big."""
    info = log_file.info
    fd = log_file.view.open(log_file.real)
    try:
        ranges = plain_ranges(fd, size, log_file.chunk_size)
    finally:
        os.close(fd)
    count = min(workers if workers is not None else _worker_count(), len(ranges))
    if count > 1 and size >= PARALLEL_MIN_SIZE:
        agg.finish()
        for part, (lines, rows, outside) in _parallel_parts(log_file, ranges, clock, bounds, kind, count, agg.fresh):
            part.book = agg.book
            agg.merge_later(part)
            info["lines"] += lines
            info["auth_lines"] += rows
            info["outside_window"] += outside
        return
    for summaries, outside in _summaries_of_ranges(log_file, ranges, clock, bounds, kind):
        _add_summaries(agg, summaries, outside, info)


def _add_summaries(agg, summaries, outside, info):
    info["outside_window"] += outside
    for summary in summaries:
        info["lines"] += summary.lines
        info["auth_lines"] += summary.rows
        agg.add(summary)


def read_journal(source, since, until, agg):
    """Read a journal source into ``agg``; returns its statistics and the time of its first entry."""
    rows = []
    first = None
    for event in source.events(since, until, fields=("MESSAGE", "_PID", "SYSLOG_PID")):
        if first is None:
            first = event.time
        match = MESSAGE_RE.match(event.data + b"\n")
        if match is None:
            continue
        fields = event.fields or {}
        pid = fields.get("_PID") or fields.get("SYSLOG_PID") or b""
        rows.append((event.time, pid, *match.groups(b"")))
        if len(rows) >= JOURNAL_BATCH:
            _journal_batch(agg, rows)
            rows = []
    if rows:
        _journal_batch(agg, rows)
    stats = source.result.as_dict() if source.result is not None else {"name": source.name, "kind": "journal"}
    stats.pop("hours", None)
    stats.pop("boots", None)
    return stats, first


def _journal_batch(agg, rows):
    cuts = _cuts([row[0] for row in rows], JOURNAL_CLOCK.epoch)
    for lo, hi in zip([0, *cuts], [*cuts, len(rows)]):
        summary = Summary(JOURNAL_CLOCK)
        summary.add_rows(rows[lo:hi])
        agg.add(summary.close())


# ------------------------------------------------------------------------------------------------ gather


def _without_gc(function):
    """Pause the cyclic garbage collector during ``function``: the millions of short-lived tuples of a big log would
    make it walk the (acyclic) counters again and again, for nothing."""

    @functools.wraps(function)
    def paused(*args, **kwargs):
        enabled = gc.isenabled()
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return paused


@_without_gc
def gather(
    sources=None,
    since="8d",
    until=None,
    root="/",
    timezone=None,
    year=None,
    internal_networks=None,
    top_external=200,
    max_user_length=100,
    now=None,
    chunk_size=CHUNK_SIZE,
    workers=None,
    max_entries_per_source=20,
):
    """What ``sshd_auth_info`` returns (without ``changed``). Raises ValueError for an invalid option."""
    if top_external < 0:
        raise ValueError("top_external must be 0 or more")
    if max_user_length < 8:
        raise ValueError("max_user_length must be at least 8")
    if max_entries_per_source < 0:
        raise ValueError("max_entries_per_source must be 0 (no limit) or more")
    networks = parse_networks(DEFAULT_INTERNAL_NETWORKS if internal_networks is None else internal_networks)
    view, zone, now, since_t, until_t, specs, discovered = log_options(
        sources, since, until, root, timezone, year, DEFAULT_FILES, FALLBACK_FILES, now
    )
    bounds = Window(since_t, until_t)
    main = Aggregator(
        AddressBook(networks),
        top_external=top_external,
        max_user_length=max_user_length,
        max_entries=max_entries_per_source,
    )
    log_sources = build_sources(specs, zone, view, year, chunk_size, JOURNAL_MATCHES)
    stats = _read_sources(log_sources, discovered, bounds, main, workers)
    failures, accepted, totals = main.result()
    totals["lines"] = sum(s.get("lines") or 0 for s in stats)
    users, users_error = view.users()
    return {
        "root": view.root,
        "timezone": zone.name,
        "since": iso_utc(bounds.since),
        "until": iso_utc(bounds.until),
        "collected_at": iso_utc(now),
        "discovered": discovered,
        "internal_networks": [str(net) for net in networks],
        "failures": failures,
        "accepted": accepted,
        "totals": totals,
        "local_users": sorted({path_to_text(name) for name, _uid in users or ()}),
        "local_users_error": users_error,
        "sources": stats,
    }


def _read_sources(log_sources, discovered, bounds, main, workers):
    """Read every source into ``main``; returns their statistics, in the order of ``log_sources``.

    A discovered journal goes first, into its own aggregator merged after the files (which are read only up to its
    first sshd entry: ``read_journal_first``).
    """
    later = []

    def journal(source, before_files):
        agg = main.fresh() if before_files else main
        got = _safe_journal(source, bounds.since, bounds.until, agg)
        agg.finish()
        if before_files:
            later.append(agg)
        return got

    def file_source(source, cut):
        stats = _safe_file_source(source, Window(bounds.since, bounds.until, cut=cut), main, workers)
        main.finish()
        return stats

    stats = read_journal_first(log_sources, discovered, journal, file_source)
    for agg in later:
        main.merge_later(agg)
    return stats


def _safe_file_source(source, bounds, agg, workers):
    rows_before = agg.rows
    try:
        stats = read_file_source(source, bounds, agg, workers)
    except Exception as exc:  # one failing source never stops the others
        stats = {"name": source.name, "kind": "file", "error": repr(exc)}
    stats["auth_lines"] = agg.rows - rows_before
    return stats


def _safe_journal(source, since, until, agg):
    rows_before = agg.rows
    try:
        stats, first = read_journal(source, since, until, agg)
    except Exception as exc:  # a journal that cannot be read is reported; the files are still read
        return {"name": source.name, "kind": "journal", "error": repr(exc)}, None
    stats["auth_lines"] = agg.rows - rows_before
    return stats, first
