# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reading sshd authentication lines for ``sshd_auth_info`` (private to the collection; target side, Python 3.8+).

An adapter over the shared log sources (``_logsource``): files and their rotations are planned and opened by them
(``FileSource.plan``, ``open_log``, ``read_blocks``), the journal is read through ``JournalSource.events``. Files
take a faster path than ``FileSource.events`` (which hands out every line): each block is searched at once by
``_sshd_parse.BLOCK_RE`` (C-level), so Python only sees the lines that matter, summarised per block
(``_sshd_aggregate.Summary``). Big uncompressed files are split among worker processes (``os.fork``), each
summarising its own blocks; the summaries are folded in log order, so the result is the same with any number of
workers.

Timestamps: a traditional timestamp (no year) takes the year of the file's last line (from the file's modification
time, or the ``year`` option) unless that puts it more than two days after the last line, then the year before
(see ``_sshd_aggregate.Clock``); times without an offset are read in ``timezone``.
"""

from __future__ import annotations

import functools
import gc
import os
import pickle
import time
from contextlib import closing, suppress
from itertools import compress, repeat
from operator import getitem, ne

from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource import (
    CHUNK_SIZE,
    READ_ERRORS,
    FileSource,
    JournalSource,
    Window,
    journal_present,
    log_options,
    open_log,
    read_blocks,
    resolve_in_root,
    rotated_siblings,
)
from ansible_collections.fleetwatch.audit.plugins.module_utils._pathtext import path_to_text
from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_aggregate import Aggregator
from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_clock import HORIZON, JOURNAL_CLOCK, Clock
from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_parse import (
    DEFAULT_INTERNAL_NETWORKS,
    MESSAGE_RE,
    AddressBook,
    block_re,
    parse_networks,
    read_local_users,
)
from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_summary import Summary
from ansible_collections.fleetwatch.audit.plugins.module_utils._timestamps import (
    RFC3339,
    TRADITIONAL,
    dated_epoch,
    iso_utc,
    parse_head,
    traditional_seconds,
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
TAIL = 1 << 16
PARALLEL_MIN_SIZE = 64 << 20  # an uncompressed file at least this big is split among workers
MAX_WORKERS = 4
JOURNAL_BATCH = 20000


# ------------------------------------------------------------------------------------------------ time


def _year_closest(zone, ref, month, day, hour, minute, second):
    """The year that puts a traditional timestamp closest to ``ref`` (a file's modification time)."""
    ref_year = time.gmtime(ref + zone.utc_offset(ref)).tm_year
    best = None
    for year in (ref_year - 1, ref_year, ref_year + 1):
        try:
            when = zone.local_to_utc(year, month, day, hour, minute, second)
        except (ValueError, OverflowError):
            continue
        if best is None or abs(when - ref) < best[0]:
            best = (abs(when - ref), year)
    return best[1] if best else ref_year


def _last_head(data):
    """``parse_head`` of the last line of ``data`` that starts with a timestamp, or None."""
    end = len(data)
    while end > 0:
        start = data.rfind(b"\n", 0, end - 1) + 1 if end > 1 else 0
        line = data[start:end].rstrip(b"\n")
        info = parse_head(line[:64]) if line else None
        if info is not None:
            return info
        if start == 0:
            return None
        end = start
    return None


def _first_head(data):
    start = 0
    while start < len(data):
        nl = data.find(b"\n", start)
        nl = len(data) if nl < 0 else nl
        info = parse_head(data[start : min(nl, start + 64)])
        if info is not None:
            return info
        start = nl + 1
    return None


def _file_clock(host, compression, st, zone, year, chunk_size):
    """The :class:`Clock` of one file and the heads of its first and last timestamped lines."""
    first = last = None
    if compression is None:
        with open(host, "rb") as handle:
            first = _first_head(handle.read(TAIL))
            size = st.st_size
            back = TAIL
            while True:
                handle.seek(max(0, size - back))
                tail = handle.read(back)
                last = _last_head(tail)
                if last is not None or back >= size:
                    break
                back *= 4
    else:
        _comp, stream = open_log(host)
        try:
            previous = b""
            with closing(read_blocks(stream, chunk_size)) as blocks:
                for buf, start, end, _long, _boots in blocks:
                    if first is None:
                        first = _first_head(bytes(buf[start : min(end, start + TAIL)]))
                    previous = bytes(buf[max(start, end - TAIL) : end])
            last = _last_head(previous)
        finally:
            stream.close()
    clock = Clock(zone)
    if last is not None and last[0] == TRADITIONAL:
        month, day, hour, minute, second = last[3:8]
        clock.last_seconds = traditional_seconds(month, day, hour, minute, second)
        clock.last_year = (
            int(year) if year is not None else _year_closest(zone, st.st_mtime, month, day, hour, minute, second)
        )
    else:
        ref = st.st_mtime
        clock.last_year = int(year) if year is not None else time.gmtime(ref + zone.utc_offset(ref)).tm_year
    return clock, first, last


def _head_epoch(clock, info):
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


def _plain_ranges(size, chunk_size, host):
    """Split an uncompressed file into byte ranges of about ``chunk_size``, each ending after a newline."""
    ranges = []
    with open(host, "rb") as handle:
        pos = 0
        while pos < size:
            target = min(size, pos + chunk_size)
            if target < size:
                handle.seek(target)
                probe = handle.read(1 << 16)
                nl = probe.find(b"\n")
                while nl < 0 and probe:
                    more = handle.read(1 << 16)
                    if not more:
                        break
                    nl = len(probe) + more.find(b"\n") if b"\n" in more else -1
                    probe += more
                target = size if nl < 0 else target + nl + 1
            ranges.append((pos, target))
            pos = target
    return ranges


def _read_range(fd, lo, hi):
    """``(buffer, end)``: the bytes ``[lo, hi)`` of a file after a newline at index 0 (as ``read_blocks`` gives)."""
    buf = bytearray(hi - lo + 1)
    buf[0] = 10
    view = memoryview(buf)
    pos = 1
    try:
        while pos < len(buf):
            if hasattr(os, "preadv"):
                n = os.preadv(fd, [view[pos:]], lo + pos - 1)
            else:  # pragma: no cover - Linux has preadv
                data = os.pread(fd, len(buf) - pos, lo + pos - 1)
                n = len(data)
                view[pos : pos + n] = data
            if not n:
                break
            pos += n
    finally:
        view.release()
    return buf, pos


def _summaries_of_ranges(host, ranges, clock, bounds, kind):
    """Summaries of byte ranges of an uncompressed file, in order (one process)."""
    fd = os.open(host, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        for lo, hi in ranges:
            buf, got = _read_range(fd, lo, hi)
            yield summarize_block(buf, 1, got, clock, bounds, kind)
    finally:
        os.close(fd)


def _worker_count():
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cpus))


def _part(host, ranges, index, parts, clock, bounds, kind, agg):
    """Fold the ``index``-th of ``parts`` contiguous parts of ``ranges`` into ``agg`` (a fresh aggregator), with the
    range just before and just after it read for context only (the connections that straddle the cut). Returns
    ``(lines, auth lines, outside window)``."""
    size = len(ranges)
    lo = size * index // parts
    hi = size * (index + 1) // parts
    stats = [0, 0, 0]
    if lo > 0:
        for summary in next(_summaries_of_ranges(host, ranges[lo - 1 : lo], clock, bounds, kind))[0]:
            agg.add_context(summary)
    for summaries, outside in _summaries_of_ranges(host, ranges[lo:hi], clock, bounds, kind):
        stats[2] += outside
        for summary in summaries:
            stats[0] += summary.lines
            stats[1] += summary.rows
            agg.add(summary)
    if hi < size:
        for summary in next(_summaries_of_ranges(host, ranges[hi : hi + 1], clock, bounds, kind))[0]:
            agg.add_context(summary)
    agg.finish()
    return stats


def _parallel_parts(host, ranges, clock, bounds, kind, workers, new_aggregator):
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
                        stats = _part(host, ranges, index, workers, clock, bounds, kind, agg)
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
                result = (agg, _part(host, ranges, index, workers, clock, bounds, kind, agg))
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


def _file_info(entry):
    return {
        "path": path_to_text(entry["path"]),
        "compression": None,
        "size": None,
        "mtime": None,
        "lines": 0,
        "auth_lines": 0,
        "outside_window": 0,
        "first_event": None,
        "last_event": None,
        "year": None,
        "skipped": entry.get("skipped"),
        "error": None,
    }


def read_file_source(spec, zone, root, year, bounds, agg, chunk_size=CHUNK_SIZE, workers=None):
    """Read one file source (a file with its rotations, oldest first) into ``agg``; returns its statistics."""
    source = FileSource(
        spec["path"], zone, root=root, name=spec.get("name"), rotated=spec.get("rotated", True) is not False
    )
    result = {
        "name": source.name,
        "kind": "file",
        "path": path_to_text(spec["path"]),
        "timezone": zone.name,
        "lines": 0,
        "auth_lines": 0,
        "outside_window": 0,
        "first_event": None,
        "last_event": None,
        "files": [],
        "error": None,
    }
    try:
        files = source.plan(bounds)
    except Exception as exc:  # SourceError and odd file systems: the source is reported, the others read
        result["error"] = str(exc)
        return result
    read_any = False
    for entry in files:
        info = _file_info(entry)
        if entry.get("missing"):
            info["error"] = info["skipped"] = "not found"
            if not any(not e.get("missing") and not e.get("skipped") for e in files):
                result["error"] = "not found: %s" % path_to_text(spec["path"])
        if info["skipped"]:
            result["files"].append(info)
            continue
        try:
            _read_file(entry["host"], info, zone, year, bounds, agg, chunk_size, workers)
            read_any = True
        except READ_ERRORS as exc:
            info["error"] = _error_text(exc)
        result["files"].append(info)
        for field in ("lines", "auth_lines", "outside_window"):
            result[field] += info[field]
        if info["first_event"] and result["first_event"] is None:
            result["first_event"] = info["first_event"]
        if info["last_event"]:
            result["last_event"] = info["last_event"]
    if not read_any and result["error"] is None and any(f["error"] for f in result["files"]):
        result["error"] = "no file of this source could be read"
    return result


def _error_text(exc):
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return "%s: %s" % (type(exc).__name__, exc)


def _read_file(host, info, zone, year, bounds, agg, chunk_size, workers):
    st = os.stat(host)
    info["size"] = st.st_size
    info["mtime"] = iso_utc(st.st_mtime)
    compression, stream = open_log(host)
    stream.close()
    info["compression"] = compression
    clock, first, last = _file_clock(host, compression, st, zone, year, chunk_size)
    info["year"] = clock.last_year if last is not None and last[0] == TRADITIONAL else None
    info["first_event"] = iso_utc(_head_epoch(clock, first))
    info["last_event"] = iso_utc(_head_epoch(clock, last))
    kinds = {head[0] for head in (first, last) if head is not None}
    kind = "traditional" if kinds == {TRADITIONAL} else "rfc3339" if kinds == {RFC3339} else "any"
    if compression is None:
        ranges = _plain_ranges(st.st_size, chunk_size, host)
        count = min(workers if workers is not None else _worker_count(), len(ranges))
        if count > 1 and st.st_size >= PARALLEL_MIN_SIZE:
            agg.finish()
            for part, (lines, rows, outside) in _parallel_parts(host, ranges, clock, bounds, kind, count, agg.fresh):
                part.book = agg.book
                agg.merge_later(part)
                info["lines"] += lines
                info["auth_lines"] += rows
                info["outside_window"] += outside
            return
        for summaries, outside in _summaries_of_ranges(host, ranges, clock, bounds, kind):
            _fold(agg, summaries, outside, info)
        return
    _comp, stream = open_log(host)
    try:
        with closing(read_blocks(stream, chunk_size)) as blocks:
            for buf, start, end, _long, _boots in blocks:
                summaries, outside = summarize_block(buf, start, end, clock, bounds, kind)
                _fold(agg, summaries, outside, info)
    finally:
        stream.close()


def _fold(agg, summaries, outside, info):
    info["outside_window"] += outside
    for summary in summaries:
        info["lines"] += summary.lines
        info["auth_lines"] += summary.rows
        agg.add(summary)


def read_journal(spec, root, since, until, agg):
    """Read the journal (entries of sshd by default) into ``agg``; returns its statistics and first event time."""
    journal = spec.get("journal") or {}
    matches = journal.get("matches") or list(JOURNAL_MATCHES)
    files = journal.get("files") or ()
    if isinstance(files, str):
        files = [files]
    source = JournalSource(
        root=root, matches=matches, directory=journal.get("directory"), files=files, name=spec.get("name")
    )
    rows = []
    first = None
    entries = 0
    for event in source.events(since, until, fields=("MESSAGE", "_PID", "SYSLOG_PID")):
        entries += 1
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
    stats["warnings"] = getattr(source.result, "warnings", [])
    stats["auth_lines"] = agg.rows
    return stats, first


def _journal_batch(agg, rows):
    cuts = _cuts([row[0] for row in rows], JOURNAL_CLOCK.epoch)
    for lo, hi in zip([0, *cuts], [*cuts, len(rows)]):
        summary = Summary(JOURNAL_CLOCK)
        summary.add_rows(rows[lo:hi])
        agg.add(summary.close())


def discover(root="/"):
    """Default sources: the journal when it has files, then auth.log and secure (messages only without them)."""
    specs = []
    if journal_present(root):
        specs.append({"journal": {}, "default": True})
    found = []
    for path in DEFAULT_FILES:
        if _exists_or_rotated(root, path):
            found.append({"path": path})
    if not found:
        found = [{"path": path} for path in FALLBACK_FILES if _exists_or_rotated(root, path)]
    return specs + found


def _exists_or_rotated(root, path):
    host = resolve_in_root(root, path)
    if host is None:
        return False
    if os.path.lexists(host):
        return True
    names, _dups = rotated_siblings(os.path.dirname(host), os.path.basename(host))
    return bool(names)


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
    root, zone, now, since_t, until_t, specs, discovered = log_options(
        sources, since, until, root, timezone, year, now, discover_sources=discover
    )
    book = AddressBook(networks)
    bounds = Window(since_t, until_t)
    stats = [None] * len(specs)
    main = Aggregator(
        book, top_external=top_external, max_user_length=max_user_length, max_entries=max_entries_per_source
    )
    later = []
    cut = None
    # The default journal goes first (into its own aggregator, folded in after the files): the files are then read
    # only up to its first sshd entry, so that an event logged to both is counted once.
    for index, spec in enumerate(specs):
        if spec.get("journal") is not None and discovered:
            agg = Aggregator(
                book, top_external=top_external, max_user_length=max_user_length, max_entries=max_entries_per_source
            )
            stats[index], first = _safe_journal(spec, root, since_t, until_t, agg)
            agg.finish()
            later.append(agg)
            if first is not None and not stats[index].get("error"):
                cut = first if cut is None else min(cut, first)
    file_bounds = Window(since_t, until_t, cut=cut)
    for index, spec in enumerate(specs):
        if stats[index] is not None:
            continue
        if spec.get("journal") is not None:
            stats[index], _first = _safe_journal(spec, root, since_t, until_t, main)
        else:
            rows_before = main.rows
            try:
                stats[index] = read_file_source(spec, zone, root, year, file_bounds, main, chunk_size, workers)
            except Exception as exc:  # one failing source never stops the others
                stats[index] = {"name": spec.get("name") or spec.get("path"), "kind": "file", "error": repr(exc)}
            stats[index]["auth_lines"] = main.rows - rows_before
            if cut is not None:
                stats[index]["journal_cut"] = iso_utc(cut)
        main.finish()
    for agg in later:
        main.merge_later(agg)
    failures, accepted, totals = main.result()
    totals["lines"] = sum(s.get("lines") or 0 for s in stats)
    users, users_error = read_local_users(root)
    return {
        "root": root,
        "timezone": zone.name,
        "since": iso_utc(bounds.since),
        "until": iso_utc(bounds.until),
        "collected_at": iso_utc(now),
        "discovered": discovered,
        "internal_networks": [str(net) for net in networks],
        "failures": failures,
        "accepted": accepted,
        "totals": totals,
        "local_users": users or [],
        "local_users_error": users_error,
        "sources": stats,
    }


def _safe_journal(spec, root, since, until, agg):
    rows_before = agg.rows
    try:
        stats, first = read_journal(spec, root, since, until, agg)
    except Exception as exc:  # a journal that cannot be read is reported; the files are still read
        return {"name": spec.get("name") or "journal", "kind": "journal", "error": repr(exc)}, None
    stats["auth_lines"] = agg.rows - rows_before
    return stats, first
