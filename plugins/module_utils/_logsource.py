# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Log sources shared by the log gatherers (private to the collection; target side, Python 3.8+, read-only).

A *source* is a syslog file with its rotated siblings (:class:`FileSource`) or the systemd journal
(:class:`JournalSource`). Both offer the same two ways to read:

- ``count()``: events per UTC hour (the fast path used by ``log_rate_info``) with, per source and per file,
  lines parsed and not parsed, first and last event, boots seen, steps back in time, errors;
- ``events()``: every event as an :class:`Event` (UTC time, raw bytes, where it came from), for gatherers that
  parse messages (sshd authentication, firewall LOG lines). The same statistics are available afterwards.

Files are read in blocks of ``chunk_size`` bytes (8 MiB; a reader thread fills the next block while the current
one is counted): memory stays bounded whatever the file or line size.
Counting keeps per-line work in C: syslog files are sorted by time, so the lines of one clock hour form a run; the
run's end is found by bisection on the hour prefix, the run is verified line by line with ``bytes.count`` (every line
of the run must start with the same ``Mmm dd HH:`` prefix: the count of ``"\\n" + prefix`` equals the count of
newlines) or a regular expression (RFC 3339: same hour, same offset), and counted with ``bytes.count(b"\\n")``.
Lines that do not fit (garbage, out-of-order lines, the hours around a summer time change, zones whose offset is
not a whole hour) go through the per-line path, which gives the same answer more slowly.

Traditional timestamps have no year. The year of a file's last event is the one that puts it closest to the
file's modification time (or the ``year`` option); going back through the file, a step of more than half a year
between two lines is a new year (``Dec 31`` then ``Jan  1``), a smaller step back is a step back in time (counted
in ``backward_jumps``), never a year.
"""

from __future__ import annotations

import bz2
import calendar
import errno
import gzip
import operator
import os
import re
import shutil
import stat
import subprocess
import tempfile
import time
import zlib
from collections import Counter, namedtuple
from contextlib import closing
from itertools import chain, repeat

from ansible_collections.fleetwatch.audit.plugins.module_utils._pathtext import path_to_text
from ansible_collections.fleetwatch.audit.plugins.module_utils._timestamps import (
    _CUM_DAYS,
    HOUR,
    LEAP_YEAR_SECONDS,
    RFC3339,
    RFC5424,
    TRADITIONAL,
    TimestampError,
    ceil_hour,
    dated_epoch,
    floor_hour,
    get_zone,
    hour_label,
    iso_utc,
    parse_head,
    parse_time_bound,
)

try:
    import lzma
except ImportError:  # pragma: no cover - Python built without lzma
    lzma = None

# What reading a damaged or unreadable file can raise (truncated or corrupt compressed data included).
READ_ERRORS = (OSError, EOFError, zlib.error, ValueError) + ((lzma.LZMAError,) if lzma is not None else ())

CHUNK_SIZE = 8 * 1024 * 1024  # two buffers of this size per reading process
HEAD = 64  # bytes of a line looked at for its timestamp
LONG_LINE_HEAD = 4096  # what is kept of a line longer than the buffer
MAX_BOOTS = 500  # boot lines reported per source (the count is always exact)
_HALF_YEAR = LEAP_YEAR_SECONDS // 2
_BOOT_NEEDLE = b"Linux version "

# /var/log files discovered by default (relative to root), in this order.
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
JOURNAL_DIRS = ("/var/log/journal", "/run/log/journal")

# Argument spec of the options every log gatherer shares (documented by the fleetwatch.audit.log_sources fragment).
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

Event = namedtuple("Event", "time data offset origin fields boot_id")
Event.__doc__ = """One log event.

``time``: UTC epoch seconds (float); ``data``: the raw line without its newline (files) or the MESSAGE (journal), as
bytes; ``offset``: where the text after the timestamp starts in ``data`` (0 for the journal); ``origin``: the file
path (as inside ``root``) or ``"journal"``; ``fields``: journal fields asked for (dict of bytes), None for files;
``boot_id``: the journal's ``_BOOT_ID`` (None for files)."""


class SourceError(Exception):
    """A source that cannot be read as a whole (its files are missing, journalctl failed, ...)."""


# ------------------------------------------------------------------------------------------------ helpers


def _error_text(exc):
    if isinstance(exc, OSError) and exc.strerror:
        return "%s (%s)" % (exc.strerror, errno.errorcode.get(exc.errno, exc.errno))
    return "%s: %s" % (type(exc).__name__, exc)


def resolve_in_root(root, path):
    """Host path of ``path`` as seen with ``root`` as ``/``: symbolic links are resolved inside ``root``.

    Absolute link targets and ``..`` never leave ``root``. Returns None on a link loop.
    """
    if root in ("/", ""):
        return path
    parts = [p for p in path.split("/") if p and p != "."]
    parts.reverse()
    done = []
    hops = 0
    while parts:
        name = parts.pop()
        if name == "..":
            if done:
                done.pop()
            continue
        host = os.path.join(root, *([*done, name]))
        try:
            target = os.readlink(host)
        except OSError:
            done.append(name)
            continue
        hops += 1
        if hops > 40:
            return None
        if target.startswith("/"):
            done = []
        parts.extend(reversed([p for p in target.split("/") if p and p != "."]))
    return os.path.join(root, *done) if done else root


_ROTATED_RE_CACHE = {}


def _rotated_re(base):
    pattern = _ROTATED_RE_CACHE.get(base)
    if pattern is None:
        pattern = re.compile(re.escape(base) + r"(?:\.(\d{1,6})|-(\d{8}(?:\d{2}){0,3}))(?:\.(gz|bz2|xz|zst|lz4|Z))?\Z")
        _ROTATED_RE_CACHE[base] = pattern
    return pattern


def rotated_siblings(host_dir, base):
    """Rotated versions of ``base`` in ``host_dir``, oldest first.

    Returns ``(files, duplicates)``: ``files`` a list of names; ``duplicates`` a list of ``(name, kept)`` for a
    compressed and an uncompressed version of the same rotation (``syslog.2`` and ``syslog.2.gz`` while logrotate
    compresses): the uncompressed one is read, the other reported as skipped.

    Numbered rotations (``syslog.1``, ``syslog.2.gz``: the highest number is the oldest) and ``dateext`` ones
    (``syslog-20251001``, ``syslog-2025100112.gz``: by date) are recognised; when both schemes are present they
    are ordered by modification time.
    """
    try:
        names = os.listdir(host_dir)
    except OSError:
        return [], []
    pattern = _rotated_re(base)
    found = {}
    for name in names:
        match = pattern.match(name)
        if match is None:
            continue
        number, date, comp = match.groups()
        key = ("n", int(number)) if number is not None else ("d", date)
        found.setdefault(key, []).append((comp is not None, name))
    duplicates = []
    chosen = []
    for key, versions in found.items():
        versions.sort()
        chosen.append((key, versions[0][1]))
        for _comp, name in versions[1:]:
            duplicates.append((name, versions[0][1]))
    schemes = {key[0] for key, _name in chosen}
    if len(schemes) > 1:

        def order(item):
            try:
                mtime = os.stat(os.path.join(host_dir, item[1])).st_mtime
            except OSError:
                mtime = 0
            return (mtime, item[1])

        chosen.sort(key=order)
    elif schemes == {"n"}:
        chosen.sort(key=lambda item: -item[0][1])
    else:
        chosen.sort(key=lambda item: (item[0][1].ljust(14, "0"), item[1]))
    return [name for _key, name in chosen], duplicates


def _open_no_atime(path):
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    noatime = getattr(os, "O_NOATIME", 0)
    if noatime:
        try:
            return os.open(path, flags | noatime)
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EINVAL):
                raise
    return os.open(path, flags)


def open_log(path):
    """Open a (maybe compressed) log file for binary reading: ``(compression, stream)``.

    Compression is recognised by content (gzip, bzip2, xz); zstd and lz4 are recognised and refused.
    Only regular files are opened (never a FIFO or a device, which could block or have side effects).
    """
    st = os.stat(path)
    if stat.S_ISDIR(st.st_mode):
        raise OSError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    if not stat.S_ISREG(st.st_mode):
        raise OSError(errno.EINVAL, "not a regular file", path)
    fd = _open_no_atime(path)
    raw = os.fdopen(fd, "rb", buffering=0)
    try:
        magic = raw.read(6)
        raw.seek(0)
        if magic[:2] == b"\x1f\x8b":
            return "gzip", gzip.GzipFile(fileobj=raw, mode="rb")
        if magic[:3] == b"BZh":
            return "bzip2", bz2.BZ2File(raw, "rb")
        if magic == b"\xfd7zXZ\x00":
            if lzma is None:
                raise OSError(errno.ENOTSUP, "xz compression is not supported by this Python", path)
            return "xz", lzma.LZMAFile(raw, "rb")
        if magic[:4] == b"\x28\xb5\x2f\xfd":
            raise OSError(errno.ENOTSUP, "zstd compression is not supported", path)
        if magic[:4] == b"\x04\x22\x4d\x18":
            raise OSError(errno.ENOTSUP, "lz4 compression is not supported", path)
        return None, raw
    except BaseException:
        raw.close()
        raise


def _boot_finder():
    """A function ``find(buf, start, end) -> [positions of "Linux version "]``.

    With ctypes, glibc/musl ``memmem`` is called: it releases the GIL, so the reader thread searches a block while
    the main thread counts the previous one. Without ctypes, ``bytes.find``.
    """
    needle = _BOOT_NEEDLE
    memmem = None
    try:
        import ctypes

        memmem = ctypes.CDLL(None).memmem
        memmem.restype = ctypes.c_void_p
        memmem.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t)
    except (ImportError, OSError, AttributeError, TypeError):  # pragma: no cover - no ctypes or no memmem
        memmem = None
    arrays = {}

    def find_py(buf, start, end):
        out = []
        pos = buf.find(needle, start, end)
        while pos >= 0:
            out.append(pos)
            pos = buf.find(needle, pos + 1, end)
        return out

    if memmem is None:
        return find_py

    def find_c(buf, start, end):
        if not isinstance(buf, bytearray):
            return find_py(buf, start, end)
        got = arrays.get(id(buf))
        if got is None or got[0] is not buf:
            array = (ctypes.c_char * len(buf)).from_buffer(buf)
            got = arrays[id(buf)] = (buf, array, ctypes.addressof(array))
        base = got[2]
        out = []
        pos = start
        size = len(needle)
        while end - pos >= size:
            hit = memmem(base + pos, end - pos, needle, size)
            if not hit:
                break
            pos = hit - base
            out.append(pos)
            pos += 1
        return out

    return find_c


def _fill_blocks(stream, size, next_buffer, find_boots):
    """The block reader behind :func:`read_blocks` (runs in the reader thread, or inline)."""
    tail = b""
    skipping = False
    buf = None
    while True:
        if buf is None:
            buf = next_buffer()
            if buf is None:
                return
        buf[0] = 10
        fill = 1
        if tail:
            buf[1 : 1 + len(tail)] = tail
            fill += len(tail)
            tail = b""
        eof = False
        limit = len(buf)
        view = memoryview(buf)
        try:
            while fill < limit:
                got = stream.readinto(view[fill:])
                if not got:
                    eof = True
                    break
                fill += got
        finally:
            view.release()
        start = 1
        if skipping:
            nl = buf.find(b"\n", 1, fill)
            if nl < 0:
                if eof:
                    return
                continue
            start = nl + 1
            skipping = False
        if start >= fill:
            if eof:
                return
            continue
        if eof:
            end = fill
        else:
            last = buf.rfind(b"\n", start, fill)
            if last < 0:
                if start > 1:  # the rest of the buffer is the start of a line: read on
                    tail = bytes(buf[start:fill])
                    continue
                long_line = b"\n" + bytes(buf[1 : 1 + LONG_LINE_HEAD]) + b"\n"
                yield long_line, 1, len(long_line), True, find_boots(long_line, 1, len(long_line))
                skipping = True
                continue
            end = last + 1
            tail = bytes(buf[end:fill])
        yield buf, start, end, False, find_boots(buf, start, end)
        buf = None
        if eof:
            return


class _ThreadedReader(object):
    """Reads (and decompresses) the next block in a thread while the caller counts the current one."""

    def __init__(self, stream, size, find_boots):
        import queue
        import threading

        self.stream = stream
        self.size = size
        self.find_boots = find_boots
        self.free = queue.Queue()
        self.full = queue.Queue()
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name="fleetwatch-log-reader")
        self.thread.daemon = True

    def _run(self):
        try:
            for item in _fill_blocks(self.stream, self.size, self.free.get, self.find_boots):
                self.full.put(item)
                if self.stopping:
                    break
            self.full.put(None)
        except BaseException as exc:  # handed to the caller's thread
            self.full.put(exc)

    def blocks(self):
        """The blocks; the thread starts with the first one and is joined when the generator ends or is closed."""
        for _buffer in range(2):
            self.free.put(bytearray(self.size + 1))
        try:
            self.thread.start()
        except RuntimeError:  # pragma: no cover - no thread left: read in this thread
            single = bytearray(self.size + 1)
            yield from _fill_blocks(self.stream, self.size, lambda: single, self.find_boots)
            return
        try:
            while True:
                item = self.full.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
                if not item[3]:
                    self.free.put(item[0])
        finally:
            self.stopping = True
            self.free.put(None)
            self.thread.join()


def read_blocks(stream, chunk_size=CHUNK_SIZE, threaded=True):
    """Yield ``(buf, start, end, long_line, boots)`` for a binary stream.

    ``buf[start:end]`` holds whole lines and ``buf[start - 1]`` is a newline. Every line ends with a newline
    except, at the end of the stream, a last line without one. A line longer than ``chunk_size`` is given once,
    as its first ``LONG_LINE_HEAD`` bytes (a block of its own, ``long_line`` True), and the rest of it is skipped:
    memory stays bounded (two buffers of ``chunk_size`` when ``threaded``). ``boots``: positions of
    ``"Linux version "`` in the block, ascending. Buffers are reused: a consumer must not keep them.
    Close the generator before the stream (``with closing(read_blocks(...))``): that stops the reader thread.
    """
    size = max(int(chunk_size), 64)
    find_boots = _boot_finder()
    if threaded:
        return _ThreadedReader(stream, size, find_boots).blocks()
    single = bytearray(size + 1)
    return _fill_blocks(stream, size, lambda: single, find_boots)


# ------------------------------------------------------------------------------------------------ file scan


def _region_patterns(head, info, cache):
    """Regular expressions for the lines of the same clock hour and timestamp shape as ``head`` (RFC 3339/5424).

    Returns ``(key, same, negative)``: ``key`` the hour prefix (``2025-10-01T00``) an RFC 3339 run starts with
    (None for RFC 5424, whose ``<PRI>`` varies in width); ``same.match(buf, pos)`` recognises one line of an
    RFC 5424 run (None for RFC 3339);
    ``negative.search`` finds a newline followed by a line that is not one: another hour, another UTC offset
    (the repeated hour of a summer time change), another fraction length, or a malformed time. Every line accepted
    is read by the per-line parser as the same hour with the same offset (the per-line path takes the others).
    Compiled once per hour and shape (a few hundred microseconds), cached.
    """
    kind, start, key_end, end = info[0], info[1], info[2], info[3]
    offset_text = bytes(head[end - _offset_len(head, end) : end]) if info[11] is not None else b""
    frac_len = 0
    if head[start + 19 : start + 20] in (b".", b","):
        frac_len = end - len(offset_text) - (start + 20)
    key = bytes(head[start:key_end])
    sig = (kind, key, frac_len, offset_text)
    got = cache.get(sig)
    if got is None:
        # Seconds 60 (a leap second) and a line that ends with its timestamp are left to the per-line path.
        body = (
            (rb"<(?:\d|[1-9]\d|1[0-8]\d|19[01])>1 " if kind == RFC5424 else b"")
            + re.escape(key)
            + rb":[0-5]\d:[0-5]\d"
            + ((rb"[.,]\d{%d}" % frac_len) if frac_len else b"")
            + re.escape(offset_text)
            + rb"[ \t]"
        )
        if len(cache) > 64:
            cache.clear()
        same = re.compile(body) if kind == RFC5424 else None  # an RFC 3339 run is bisected on its key
        got = cache[sig] = (same, re.compile(rb"\n(?!" + body + b")"))
    return (key if kind == RFC3339 else None), got[0], got[1]


def _offset_len(head, end):
    """Length of the UTC offset text ending at ``end`` (``Z``, ``+0200`` or ``+02:00``)."""
    if head[end - 1 : end] in (b"Z", b"z"):
        return 1
    if head[end - 3 : end - 2] == b":":
        return 6
    return 5


class FileScan(object):
    """Counts (or walks) the lines of one log file. Years of traditional timestamps are resolved in ``finish``."""

    def __init__(self, zone, irregular, irregular_year, mtime=None, year=None):
        self.zone = zone
        self.irr_everywhere, self.irr_hours = irregular  # for traditional (year-less) hours
        self.irregular_year = irregular_year  # callable(year) -> (everywhere, hours) for dated timestamps
        self.mtime = mtime
        self.year = year
        self.lines = 0
        self.unparsed = 0
        self.long_lines = 0
        self.formats = {}
        self.tcounts = {}  # (r, month, day, hour) -> n    traditional, regular hours
        self.tmin = {}  # (r, month, day, hour, fold, minute) -> n    traditional, irregular hours
        self.ucounts = {}  # UTC hour index -> n
        # traditional clock: relative year r, previous stamp
        self.t_r = 0
        self.t_total = None  # r * LEAP_YEAR_SECONDS + seconds in year (+ fold hour) of the previous line
        self.t_hk = None
        self.t_last = None  # (r, m, d, h, M, S, fold) of the last traditional line
        self.fold_key = None
        self.fold = 0
        self.fold_prev = 0
        # absolute clock
        self.u_prev = None
        self.u_hk = None
        self.first = None  # ("t", r, m, d, h, M, S, fold) or ("u", epoch)
        self.last = None
        self.jumps = 0
        self.jump_best = None  # (pseudo seconds, prev stamp, stamp)
        self.boots = []  # (stamp, text)
        self.boot_count = 0
        self.utc_cache = {}
        self.regex_cache = {}
        self.anchor = None  # year of relative year 0, known after finish()
        self.error = None

    # -- clocks -------------------------------------------------------------------------------------------------

    def _trad(self, m, d, h, mi, s):
        """Observe a traditional timestamp: returns ``(r, fold)``, updates year, fold, steps back."""
        secs = (((_CUM_DAYS[m] + d - 1) * 24 + h) * 60 + mi) * 60 + s
        prev = self.t_total
        r = self.t_r
        if prev is not None:
            total = r * LEAP_YEAR_SECONDS + secs
            diff = total - prev
            if diff > _HALF_YEAR:
                r -= 1
            elif diff < -_HALF_YEAR:
                r += 1
        fold = self._fold_of((r, m, d, h), mi, s) if (m, d, h) in self.irr_hours else 0
        total = r * LEAP_YEAR_SECONDS + secs + fold * HOUR
        hk = (r, m, d, h, fold)
        if self.t_hk is not None and hk < self.t_hk:
            self.jumps += 1
            step = prev - total
            if self.jump_best is None or step > self.jump_best[0]:
                self.jump_best = (step, ("t", *self.t_last), ("t", r, m, d, h, mi, s, fold))
        self.t_r = r
        self.t_total = total
        self.t_hk = hk
        self.t_last = stamp = (r, m, d, h, mi, s, fold)
        if self.first is None:
            self.first = ("t", *stamp)
        self.last = ("t", *stamp)
        return r, fold

    def _fold_of(self, key, minute, second):
        """Which of the two passes through the repeated wall-clock hour ``key`` (clocks set back) a time of it is: 0,
        then 1 from the first step back of more than a minute within that hour."""
        cur = minute * 60 + second
        if key != self.fold_key:
            self.fold_key = key
            self.fold = 0
        elif cur < self.fold_prev - 60:
            self.fold = 1
        self.fold_prev = cur
        return self.fold

    def _abs(self, when):
        hk = int(when // HOUR)
        if self.u_hk is not None and hk < self.u_hk:
            self.jumps += 1
            step = self.u_prev - when
            if self.jump_best is None or step > self.jump_best[0]:
                self.jump_best = (step, ("u", self.u_prev), ("u", when))
        self.u_prev = when
        self.u_hk = hk
        if self.first is None:
            self.first = ("u", when)
        self.last = ("u", when)
        return hk

    def _dated(self, info, head):
        """UTC epoch of an RFC 3339 / RFC 5424 timestamp, observing it. None if it is not valid in the zone."""
        year, month, day, hour, minute, second, _micro, offset = info[4:12]
        fold = 0
        if offset is None and (month, day, hour) in self.irregular_year(year)[1]:
            fold = self._fold_of((year, month, day, hour), minute, second)
        when = dated_epoch(self.zone, *info[4:12], fold=fold)
        self._abs(when)
        return when

    def _count_kind(self, kind, n):
        self.formats[kind] = self.formats.get(kind, 0) + n

    # -- per line -----------------------------------------------------------------------------------------------

    def _line(self, head):
        """Count one line from its first bytes (cut at its newline). Returns the parse or None."""
        info = parse_head(head)
        if info is None:
            self.unparsed += 1
            return None
        kind = info[0]
        if kind == TRADITIONAL:
            m, d, h, mi, s = info[3:8]
            r, fold = self._trad(m, d, h, mi, s)
            if self.irr_everywhere or (m, d, h) in self.irr_hours:
                key = (r, m, d, h, fold, mi)
                self.tmin[key] = self.tmin.get(key, 0) + 1
            else:
                key = (r, m, d, h)
                self.tcounts[key] = self.tcounts.get(key, 0) + 1
        else:
            hk = int(self._dated(info, head) // HOUR)
            self.ucounts[hk] = self.ucounts.get(hk, 0) + 1
        self._count_kind(kind, 1)
        return info

    def _lines(self, buf, p, q, boots):
        """Count the lines starting in ``[p, q)`` one by one."""
        find = buf.find
        while p < q:
            nl = find(b"\n", p, q)
            le = q if nl < 0 else nl
            head = bytes(buf[p : min(le, p + HEAD)])
            self.lines += 1
            info = self._line(head)
            if boots and info is not None and boots[-1] < le:
                self._boot_lines(buf, p, le, boots)
            p = le + 1

    def _boot_lines(self, buf, p, le, boots):
        while boots and boots[-1] < p:
            boots.pop()
        if boots and boots[-1] < le:
            pos = boots.pop()
            while boots and boots[-1] < le:
                boots.pop()
            if b"kernel" in bytes(buf[p:pos]):
                self.boot_count += 1
                if len(self.boots) < MAX_BOOTS:
                    text = bytes(buf[pos : min(le, pos + 120)])
                    self.boots.append((self.last, text))

    # -- fast path ----------------------------------------------------------------------------------------------

    @staticmethod
    def _run_end(buf, p, end, same):
        """First line start after ``p`` (up to ``end``) whose line is not ``same``, by bisection (sorted lines)."""
        last_start = buf.rfind(b"\n", p - 1, end - 1) + 1
        if last_start <= p:
            return end
        if same(last_start):
            return end
        lo, hi = p, last_start
        find = buf.find
        rfind = buf.rfind
        while True:
            mid = (lo + hi) >> 1
            nl = find(b"\n", mid, hi - 1)
            if nl < 0:
                nl = rfind(b"\n", lo, mid)
                if nl < 0:
                    return hi
            ls = nl + 1
            if ls <= lo or ls >= hi:
                return hi
            if same(ls):
                lo = ls
            else:
                hi = ls

    def feed(self, buf, start, end, long_line=False, boots=()):
        """Count the lines of a block from :func:`read_blocks` (``boots``: positions of boot-line candidates)."""
        if long_line:
            self.long_lines += 1
        count = buf.count
        find = buf.find
        boots = list(boots)
        boots.reverse()  # popped from the end: smallest first
        p = start
        while p < end:
            nl = find(b"\n", p, min(end, p + HEAD))
            head = bytes(buf[p : nl if nl >= 0 else min(end, p + HEAD)])
            info = parse_head(head)
            if info is None or (info[1] != 0 and info[0] != RFC5424):
                nxt = find(b"\n", p, end)
                nxt = end if nxt < 0 else nxt + 1
                self._lines(buf, p, nxt, boots)
                p = nxt
                continue
            kind = info[0]
            if kind == TRADITIONAL:
                m, d, h = info[3:6]
                if self.irr_everywhere or (m, d, h) in self.irr_hours:
                    nxt = find(b"\n", p, end)
                    nxt = end if nxt < 0 else nxt + 1
                    self._lines(buf, p, nxt, boots)
                    p = nxt
                    continue
                key = head[: info[2]]
                q = self._run_end(buf, p, end, lambda ls, _k=key: buf.startswith(_k, ls))
                n = count(b"\n", p - 1, q - 1)
                if n > 1 and count(b"\n" + key, p - 1, q - 1 + len(key)) != n:
                    self._lines(buf, p, q, boots)
                    p = q
                    continue
                self.lines += n
                r, _fold = self._trad(m, d, h, info[6], info[7])
                ck = (r, m, d, h)
                self.tcounts[ck] = self.tcounts.get(ck, 0) + n
                self._count_kind(kind, n)
                if boots and boots[-1] < q:
                    self._boots_in_run(buf, p, q, boots, lambda got, _r=r: ("t", _r, *got[3:8], 0))
                last = buf.rfind(b"\n", p - 1, q - 1) + 1
                if last > p:
                    tail = parse_head(bytes(buf[last : last + HEAD]).split(b"\n", 1)[0])
                    self._trad(m, d, h, tail[6], tail[7])
                p = q
                continue
            # RFC 3339 / RFC 5424
            year, month, day, hour = info[4:8]
            offset = info[11]
            if offset is not None:
                hk = None if offset % HOUR else (calendar.timegm((year, month, day, hour, 0, 0)) - offset) // HOUR
            else:
                everywhere, hours = self.irregular_year(year)
                if everywhere or (month, day, hour) in hours:
                    hk = None
                else:
                    ck = (year, month, day, hour)
                    hk = self.utc_cache.get(ck)
                    if hk is None:
                        hk = self.zone.local_to_utc(year, month, day, hour) // HOUR
                        self.utc_cache[ck] = hk
            if hk is None:
                nxt = find(b"\n", p, end)
                nxt = end if nxt < 0 else nxt + 1
                self._lines(buf, p, nxt, boots)
                p = nxt
                continue
            key, same, negative = _region_patterns(head, info, self.regex_cache)
            if key is not None:
                q = self._run_end(buf, p, end, lambda ls, _k=key: buf.startswith(_k, ls))
            else:
                q = self._run_end(buf, p, end, lambda ls, _m=same.match: _m(buf, ls) is not None)
            # Every line of the run (the newline before each) is checked; then they are counted by the cheapest needle.
            ok = negative.search(buf, p - 1, q - 1) is None
            if ok:
                n = count(b"\n" + key, p - 1, q - 1 + len(key)) if key is not None else count(b"\n", p - 1, q - 1)
            else:
                self._lines(buf, p, q, boots)
                p = q
                continue
            self.lines += n
            self._dated(info, head)
            self.ucounts[hk] = self.ucounts.get(hk, 0) + n
            self._count_kind(kind, n)
            if boots and boots[-1] < q:
                self._boots_in_run(buf, p, q, boots, self._dated_stamp)
            last = buf.rfind(b"\n", p - 1, q - 1) + 1
            if last > p:
                self._dated(parse_head(bytes(buf[last : last + HEAD]).split(b"\n", 1)[0]), None)
            p = q

    def _dated_stamp(self, info):
        return ("u", dated_epoch(self.zone, *info[4:12]))

    def _boots_in_run(self, buf, p, q, boots, stamp_of):
        while boots and boots[-1] < q:
            pos = boots.pop()
            if pos < p:
                continue
            ls = buf.rfind(b"\n", p - 1, pos) + 1
            le = buf.find(b"\n", pos, q)
            le = q if le < 0 else le
            while boots and boots[-1] < le:
                boots.pop()
            if b"kernel" not in bytes(buf[ls:pos]):
                continue
            self.boot_count += 1
            if len(self.boots) < MAX_BOOTS:
                info = parse_head(bytes(buf[ls : ls + HEAD]).split(b"\n", 1)[0])
                self.boots.append((stamp_of(info), bytes(buf[pos : min(le, pos + 120)])))

    # -- events -------------------------------------------------------------------------------------------------

    def walk(self, buf, start, end):
        """Yield ``(line_start, line_end, info, stamp)`` for every line of a block, observing the clocks.

        ``stamp`` is ``("t", r, m, d, h, M, S, fold)`` or ``("u", epoch)``, None for a line that is not an event.
        """
        find = buf.find
        p = start
        while p < end:
            nl = find(b"\n", p, end)
            le = end if nl < 0 else nl
            head = bytes(buf[p : min(le, p + HEAD)])
            info = parse_head(head)
            if info is None:
                stamp = None
            elif info[0] == TRADITIONAL:
                r, fold = self._trad(*info[3:8])
                stamp = ("t", r, *info[3:8], fold)
            else:
                stamp = ("u", self._dated(info, head))
            yield p, le, info, stamp
            p = le + 1

    # -- results ------------------------------------------------------------------------------------------------

    def finish(self):
        """Resolve the years of traditional timestamps; returns the hourly counts ``{hour index: n}``."""
        hours = dict(self.ucounts)
        self.anchor = None
        if self.t_last is not None:
            r_last, m, d, h, mi, s, fold = self.t_last
            last_year = int(self.year) if self.year is not None else self._year_from_mtime(m, d, h, mi, s)
            self.anchor = last_year - r_last
        invalid = 0
        for (r, m, d, h), n in self.tcounts.items():
            when = self.to_utc(("t", r, m, d, h, 0, 0, 0))
            if when is None:
                invalid += n
                continue
            hk = int(when // HOUR)
            hours[hk] = hours.get(hk, 0) + n
        for (r, m, d, h, fold, mi), n in self.tmin.items():
            when = self.to_utc(("t", r, m, d, h, mi, 0, fold))
            if when is None:
                invalid += n
                continue
            hk = int(when // HOUR)
            hours[hk] = hours.get(hk, 0) + n
        if invalid:  # e.g. Feb 29 in a year that is not a leap year
            self.unparsed += invalid
            self.formats[TRADITIONAL] = self.formats.get(TRADITIONAL, 0) - invalid
        return hours

    def _year_from_mtime(self, m, d, h, mi, s):
        ref = time.time() if self.mtime is None else self.mtime
        ref_year = int(_year_of(ref + self.zone.utc_offset(ref)))
        best = None
        for year in (ref_year - 1, ref_year, ref_year + 1):
            try:
                when = self.zone.local_to_utc(year, m, d, h, mi, s)
            except ValueError:
                continue
            if best is None or abs(when - ref) < best[0]:
                best = (abs(when - ref), year)
        return best[1] if best else ref_year

    def to_utc(self, stamp):
        """UTC epoch of a stamp (after :meth:`finish`), None if not a valid date."""
        if stamp is None:
            return None
        if stamp[0] == "u":
            return stamp[1]
        if self.anchor is None:
            return None
        _t, r, m, d, h, mi, s, fold = stamp
        try:
            return float(self.zone.local_to_utc(self.anchor + r, m, d, h, mi, s, fold))
        except (ValueError, OverflowError):
            return None

    def largest_jump(self):
        if self.jump_best is None:
            return None
        _step, before, after = self.jump_best
        a = self.to_utc(before)
        b = self.to_utc(after)
        if a is None or b is None:
            return None
        return round(a - b, 6)


def _year_of(local_epoch):
    return time.gmtime(local_epoch).tm_year


# ------------------------------------------------------------------------------------------------ sources


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


class _Result(object):
    """What every source reports (see the module's RETURN documentation)."""

    def __init__(self, name, kind, path):
        self.name = name
        self.kind = kind
        self.path = path
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
        self.timezone = None

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

    def as_dict(self):
        boots = sorted(self.boots, key=lambda b: (b.get("time") or "", b.get("boot_id") or ""))
        return {
            "name": self.name,
            "kind": self.kind,
            "path": self.path,
            "timezone": self.timezone,
            "hours": {hour_label(hk): self.hours[hk] for hk in sorted(self.hours)},
            "first_event": iso_utc(self.first),
            "last_event": iso_utc(self.last),
            "lines": self.lines,
            "parsed": self.parsed,
            "unparsed": self.unparsed,
            "outside_window": self.outside_window,
            "formats": dict(sorted(self.formats.items())),
            "backward_jumps": self.jumps,
            "largest_backward_jump": self.largest_jump,
            "boots": boots,
            "boot_count": self.boot_count,
            "files": self.files,
            "error": self.error,
        }


class FileSource(object):
    """A log file and its rotated siblings, read oldest to newest.

    ``path`` is absolute as seen inside ``root``. ``zone`` is a :class:`_timestamps.Zone`; ``year`` forces the year
    of the last traditional event of every file (else taken from the file's modification time).
    """

    kind = "file"

    def __init__(self, path, zone, root="/", name=None, rotated=True, year=None, chunk_size=CHUNK_SIZE, threaded=True):
        self.path = path
        self.threaded = threaded
        self.zone = zone
        self.root = root or "/"
        self.name = name or path
        self.rotated = rotated
        self.year = year
        self.chunk_size = chunk_size
        self.result = None
        self._irregular = {}

    # -- discovery ----------------------------------------------------------------------------------------------

    def plan(self, window=None):
        """The files to read, oldest first: list of dicts ``{"path", "host", "skipped"}``."""
        host = resolve_in_root(self.root, self.path)
        if host is None:
            raise SourceError("too many levels of symbolic links")
        host_dir, base = os.path.split(host)
        in_dir = os.path.dirname(self.path)
        files = []
        if self.rotated:
            names, duplicates = rotated_siblings(host_dir, base)
            for name in names:
                files.append({"path": os.path.join(in_dir, name), "host": os.path.join(host_dir, name)})
            for name, kept in duplicates:
                files.append(
                    {
                        "path": os.path.join(in_dir, name),
                        "host": os.path.join(host_dir, name),
                        "skipped": "duplicate of %s" % path_to_text(kept),
                    }
                )
        live = {"path": self.path, "host": host, "live": True}
        try:
            os.lstat(host)
        except OSError as exc:  # a file that exists but cannot be looked at is reported by its read
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                live["missing"] = True
        files.append(live)
        if window is not None and window.since is not None:
            for entry in files:
                if entry.get("live") or entry.get("skipped"):
                    continue
                try:
                    mtime = os.stat(entry["host"]).st_mtime
                except OSError:
                    continue
                if mtime < window.since:
                    entry["skipped"] = "last written before since"
        return files

    def _irregular_for(self, year):
        got = self._irregular.get(year)
        if got is None:
            got = self.zone.irregular_hours(year, year)
            self._irregular[year] = got
        return got

    def _scan_for(self, st):
        year_ref = int(self.year) if self.year is not None else _year_of(st.st_mtime)
        everywhere, hours = self.zone.irregular_hours(year_ref - 5, year_ref + 1)
        return FileScan(self.zone, (everywhere, hours), self._irregular_for, mtime=st.st_mtime, year=self.year)

    # -- reading ------------------------------------------------------------------------------------------------

    def count(self, since=None, until=None):
        """Count events per UTC hour. Returns the result dict (also kept in ``self.result``)."""
        return self._run(Window(since, until))

    def events(self, since=None, until=None):
        """Yield an :class:`Event` per line with a timestamp in the window, oldest file first.

        Files with traditional timestamps are read twice (a counting pass finds the years first).
        ``self.result`` holds the statistics once the iteration is over.
        """
        return self._run(Window(since, until), events=True)

    def _run(self, window, events=False):
        result = _Result(self.name, self.kind, path_to_text(self.path))
        result.timezone = self.zone.name
        self.result = result
        try:
            files = self.plan(window)
        except SourceError as exc:
            result.error = str(exc)
            return iter(()) if events else result.as_dict()
        if events:
            return self._event_files(files, window, result)
        self._count_files(files, window, result)
        return result.as_dict()

    def _file_entry(self, entry):
        return {
            "path": path_to_text(entry["path"]),
            "compression": None,
            "size": None,
            "mtime": None,
            "lines": 0,
            "parsed": 0,
            "unparsed": 0,
            "first_event": None,
            "last_event": None,
            "long_lines": 0,
            "backward_jumps": 0,
            "year": None,
            "skipped": entry.get("skipped"),
            "error": None,
        }

    def _open(self, entry, info):
        host = entry["host"]
        st = os.stat(host)
        info["size"] = st.st_size
        info["mtime"] = iso_utc(st.st_mtime)
        compression, stream = open_log(host)
        info["compression"] = compression
        return st, stream

    def _scan_file(self, entry, info):
        """Count one file. None if it could not be opened."""
        scan = None
        try:
            st, stream = self._open(entry, info)
            try:
                scan = self._scan_for(st)
                with closing(read_blocks(stream, self.chunk_size, self.threaded)) as blocks:
                    for buf, start, end, long_line, boots in blocks:
                        scan.feed(buf, start, end, long_line, boots)
            finally:
                stream.close()
        except READ_ERRORS as exc:
            info["error"] = _error_text(exc)
        return scan

    def _skip_entry(self, entry, info, files, result):
        """Report a missing or skipped file; True if the entry is not to be read."""
        if entry.get("missing"):
            info["error"] = info["skipped"] = "not found"
            if not any(not e.get("missing") and not e.get("skipped") for e in files):
                result.error = "not found: %s" % path_to_text(self.path)
        if info["skipped"]:
            result.files.append(info)
            return True
        return False

    def _count_files(self, files, window, result):
        previous_last = None
        read_any = False
        for entry in files:
            info = self._file_entry(entry)
            if self._skip_entry(entry, info, files, result):
                continue
            scan = self._scan_file(entry, info)
            if scan is None:
                result.files.append(info)
                continue
            read_any = True
            hours = scan.finish()
            previous_last = self._fold_file(scan, info, hours, window, result, previous_last)
            result.files.append(info)
        if not read_any and result.error is None and any(f["error"] for f in result.files):
            result.error = "no file of this source could be read"

    def _fold_file(self, scan, info, hours, window, result, previous_last):
        """Add one scanned file's figures to its entry and to the source."""
        parsed = scan.lines - scan.unparsed
        info.update(
            lines=scan.lines,
            parsed=parsed,
            unparsed=scan.unparsed,
            long_lines=scan.long_lines,
            backward_jumps=scan.jumps,
            year=None if scan.anchor is None else scan.anchor + scan.t_last[0],
            first_event=iso_utc(scan.to_utc(scan.first)),
            last_event=iso_utc(scan.to_utc(scan.last)),
        )
        result.add_hours(hours, window)
        result.lines += scan.lines
        result.parsed += parsed
        result.unparsed += scan.unparsed
        for kind, n in scan.formats.items():
            result.formats[kind] = result.formats.get(kind, 0) + n
        result.jumps += scan.jumps
        step = scan.largest_jump()
        if step is not None and (result.largest_jump is None or step > result.largest_jump):
            result.largest_jump = step
        first = scan.to_utc(scan.first)
        last = scan.to_utc(scan.last)
        if first is not None and previous_last is not None and first // HOUR < previous_last // HOUR:
            result.note_jump(round(previous_last - first, 6))
        if first is not None and result.first is None:
            result.first = first
        if last is not None:
            result.last = last
        result.boot_count += scan.boot_count
        for stamp, text in scan.boots:
            if len(result.boots) >= MAX_BOOTS:
                break
            result.boots.append(
                {
                    "time": iso_utc(scan.to_utc(stamp)),
                    "boot_id": None,
                    "file": info["path"],
                    "message": text.decode("utf-8", "replace").rstrip(),
                }
            )
        return last if last is not None else previous_last

    def _event_files(self, files, window, result):
        previous_last = None
        for entry in files:
            info = self._file_entry(entry)
            if self._skip_entry(entry, info, files, result):
                continue
            scan = self._scan_file(entry, info)  # pass 1: counts and years
            if scan is None:
                result.files.append(info)
                continue
            hours = scan.finish()
            # pass 2: the events, with the years found by pass 1
            walker = self._scan_for(os.stat(entry["host"]))
            walker.anchor = scan.anchor
            origin = info["path"]
            try:
                _compression, stream = open_log(entry["host"])
                try:
                    with closing(read_blocks(stream, self.chunk_size, self.threaded)) as blocks:
                        for buf, start, end, _long, _boots in blocks:
                            for ls, le, parsed, stamp in walker.walk(buf, start, end):
                                if stamp is None:
                                    continue
                                when = walker.to_utc(stamp)
                                if when is None or not window.has(when):
                                    continue
                                yield Event(when, bytes(buf[ls:le]), _message_offset(parsed), origin, None, None)
                finally:
                    stream.close()
            except READ_ERRORS as exc:
                info["error"] = info["error"] or _error_text(exc)
            previous_last = self._fold_file(scan, info, hours, window, result, previous_last)
            result.files.append(info)


def _message_offset(info):
    """Offset of the text after the timestamp (and a following blank) in a parsed line."""
    end = info[3] if info[0] != TRADITIONAL else info[2] + 5
    return end + 1


# ------------------------------------------------------------------------------------------------ journal


def _journalctl_env():
    env = dict(os.environ)
    env.update(LC_ALL="C", SYSTEMD_PAGER="cat", SYSTEMD_COLORS="0", SYSTEMD_LOG_COLOR="0", PAGER="cat")
    return env


class JournalSource(object):
    """The systemd journal through ``journalctl`` (streamed export format, UTC).

    ``directory``/``files`` (paths as seen inside ``root``) select journal files; with neither, the system journal
    (``root`` ``/``) or ``<root>/var/log/journal`` (an offline image). ``matches`` are journalctl matches
    (``FIELD=value`` or ``+``).
    """

    kind = "journal"
    _MATCH_RE = re.compile(r"[A-Z0-9_]+=.*\Z|\+\Z", re.S)

    def __init__(self, root="/", matches=(), directory=None, files=(), name=None, journalctl="journalctl"):
        self.root = root or "/"
        self.matches = list(matches or ())
        for match in self.matches:
            if not isinstance(match, str) or not self._MATCH_RE.match(match):
                raise ValueError("invalid journal match %r: use FIELD=value or +" % match)
        self.directory = directory
        self.files = list(files or ())
        self.name = name or "journal"
        self.journalctl = journalctl
        self.result = None

    def _host(self, path):
        host = resolve_in_root(self.root, path)
        return host if host is not None else os.path.join(self.root, path.lstrip("/"))  # a link loop: journalctl says

    def _location(self):
        """``(journalctl options, directories and files to list, label)`` (host paths)."""
        if self.files:
            hosts = [self._host(f) for f in self.files]
            return ["--file=%s" % host for host in hosts], [], hosts, ",".join(self.files)
        if self.directory:
            host = self._host(self.directory)
            return ["--directory=%s" % host], [host], [], self.directory
        if self.root != "/":
            host = self._host("/var/log/journal")
            return ["--directory=%s" % host], [host], [], "/var/log/journal"
        return [], list(JOURNAL_DIRS), [], None

    def _journalctl(self):
        if os.sep in self.journalctl:
            return self.journalctl
        # modules may run with a short PATH
        return shutil.which(self.journalctl, path=os.environ.get("PATH", "") + ":/usr/bin:/bin") or self.journalctl

    def command(self, window, fields):
        opts, _dirs, _files, _label = self._location()
        argv = [self._journalctl(), "--no-pager", "-q", "-o", "export", "--output-fields=" + ",".join(fields)]
        argv += opts
        if window.since is not None:
            argv.append("--since=@%d" % window.since)
        if window.until is not None:
            argv.append("--until=@%d" % window.until)
        argv += self.matches
        return argv

    def journal_files(self):
        """The journal files this source reads: list of ``{"path", "size"}``."""
        _opts, dirs, files, _label = self._location()
        out = list(files)
        for top in dirs:
            out.extend(_journal_files_in(top))
        entries = []
        for host in out:
            try:
                size = os.stat(host).st_size
            except OSError:
                size = None
            shown = host[len(self.root.rstrip("/")) :] if self.root != "/" and host.startswith(self.root) else host
            entries.append({"path": path_to_text(shown), "size": size})
        return entries

    def verify(self):
        """``journalctl --verify`` of this source's files: ``{"ok", "message"}`` (the FAIL lines, bounded).

        Checks every file's internal consistency, and the sealing of sealed (FSS) journals when a key is configured.
        ``None`` when there are no journal files to verify.
        """
        if not self.journal_files():
            return None
        opts = self._location()[0]
        try:
            proc = subprocess.run(
                [self._journalctl(), "--verify", "--no-pager", *opts],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=_journalctl_env(),
                check=False,
            )
        except OSError as exc:
            return {"ok": False, "message": "cannot run journalctl --verify: %s" % _error_text(exc)}
        output = proc.stdout.decode("utf-8", "replace").splitlines()
        failures = [line for line in output if line.startswith("FAIL") or "File corruption" in line]
        message = "\n".join((failures or output)[-20:]) or None
        return {"ok": proc.returncode == 0, "message": message if proc.returncode != 0 else None}

    def _popen(self, window, fields):
        env = _journalctl_env()
        errfile = tempfile.TemporaryFile()  # noqa: SIM115 - closed by _finish_proc
        try:
            proc = subprocess.Popen(
                self.command(window, fields),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=errfile,
                env=env,
                bufsize=0,
                close_fds=True,
            )
        except BaseException:
            errfile.close()
            raise
        return proc, errfile

    def _finish_proc(self, proc, errfile, result):
        try:
            proc.stdout.close()
            rc = proc.wait()
            errfile.seek(0)
            err = errfile.read(65536).decode("utf-8", "replace").strip()
        finally:
            errfile.close()
        if rc != 0:
            result.error = "journalctl exited with %s: %s" % (rc, err[-2000:] or "no message")
        elif err:
            result.warnings = err.splitlines()[-20:]

    def _new_result(self):
        _opts, _dirs, _files, label = self._location()
        result = _Result(self.name, self.kind, None if label is None else path_to_text(label))
        result.timezone = "UTC"
        result.warnings = []
        result.files = self.journal_files()
        self.result = result
        return result

    def count(self, since=None, until=None):
        """Count entries per UTC hour, with the boots (``_BOOT_ID``) seen. Returns the result dict."""
        window = Window(since, until)
        result = self._new_result()
        acc = _JournalAccumulator(result, window)
        try:
            proc, errfile = self._popen(window, ("_BOOT_ID",))
        except OSError as exc:
            result.error = "cannot run journalctl: %s" % _error_text(exc)
            return self._as_dict(result)
        try:
            for block in _pipe_entry_blocks(proc.stdout):
                acc.feed_export_block(block)
            acc.end_entry()
        finally:
            if proc.poll() is None:
                proc.stdout.close()
            self._finish_proc(proc, errfile, result)
        acc.done()
        return self._as_dict(result)

    def events(self, since=None, until=None, fields=("MESSAGE", "SYSLOG_IDENTIFIER", "_PID", "PRIORITY")):
        """Yield an :class:`Event` per journal entry in the window (``data`` is MESSAGE)."""
        window = Window(since, until)
        result = self._new_result()
        acc = _JournalAccumulator(result, window)
        wanted = ["_BOOT_ID"] + [f for f in fields if f != "_BOOT_ID"]
        try:
            proc, errfile = self._popen(window, wanted)
        except OSError as exc:
            result.error = "cannot run journalctl: %s" % _error_text(exc)
            return
        names = [(name.encode("ascii"), name) for name in wanted]
        try:
            for entry in _export_entries(proc.stdout):
                boot = entry.get(b"_BOOT_ID")
                when = acc.entry(entry.get(b"__REALTIME_TIMESTAMP"), boot)
                if when is None:
                    continue
                yield Event(
                    when,
                    entry.get(b"MESSAGE", b""),
                    0,
                    "journal",
                    {name: entry[key] for key, name in names if key in entry},
                    None if boot is None else boot.decode("ascii", "replace"),
                )
        finally:
            if proc.poll() is None:
                proc.stdout.close()
                proc.kill()
            self._finish_proc(proc, errfile, result)
            acc.done()

    def _as_dict(self, result):
        out = result.as_dict()
        out["warnings"] = result.warnings
        return out


def _journal_files_in(top):
    out = []
    try:
        names = sorted(os.listdir(top))
    except OSError:
        return out
    for name in names:
        path = os.path.join(top, name)
        if name.endswith((".journal", ".journal~")):
            out.append(path)
        elif os.path.isdir(path) and not os.path.islink(path):
            try:
                subs = sorted(os.listdir(path))
            except OSError:
                continue
            out.extend(os.path.join(path, s) for s in subs if s.endswith((".journal", ".journal~")))
    return out


# Blocks of a journalctl pipe about the size of the pipe's buffer: journalctl keeps writing the next one while a block
# is parsed (with 1 MiB blocks it waited on a full pipe, and reading took a third longer).
PIPE_BLOCK = 1 << 16


def _pipe_entry_blocks(pipe, size=PIPE_BLOCK):
    """Whole export-format entries (each ends with a blank line) from a pipe, in blocks of about ``size`` bytes."""
    carry = b""
    parts = []
    have = 0
    read = pipe.read
    while True:
        data = read(size)
        if data:
            parts.append(data)
            have += len(data)
            if have < size:
                continue
        block = carry + b"".join(parts)
        parts = []
        have = 0
        if not data:
            if block:
                yield block if block.endswith(b"\n") else block + b"\n"
            return
        cut = block.rfind(b"\n\n") + 2
        if cut < 2:
            carry = block
            continue
        carry = block[cut:]
        yield block[:cut]


_NAME_ONLY_LINE = re.compile(rb"\n[^=\n]+\n")  # the first line of a binary field of the export format


def _export_entries(pipe, size=PIPE_BLOCK):
    """Parse journal export format from a pipe: yield one dict ``{field: value bytes}`` per entry.

    Binary-safe: a field written as ``NAME\\n<64-bit little-endian length><data>\\n`` is read by its length. While
    the blocks of whole entries (:func:`_pipe_entry_blocks`) hold only ``NAME=value`` lines (the usual stream), they
    are parsed by C-level splits; from the first block with a binary field on, the stream is read field by field
    (:func:`_export_fields`), since a binary field's data may hold the blank line a block was cut at.
    """
    blocks = _pipe_entry_blocks(pipe, size)
    for block in blocks:
        if _NAME_ONLY_LINE.search(b"\n" + block):
            yield from _export_fields(chain([block], blocks), size)
            return
        for text in block.split(b"\n\n"):
            text = text.strip(b"\n")
            if text:
                yield dict(map(bytes.split, text.split(b"\n"), repeat(b"="), repeat(1)))


def _export_fields(chunks, size):
    """The entries of an export stream read field by field from ``chunks`` (bytes, cut anywhere)."""
    buf = b""
    pos = 0
    entry = {}
    eof = False
    while True:
        nl = buf.find(b"\n", pos)
        if nl < 0:
            if eof:
                break
            data = next(chunks, b"")
            if not data:
                eof = True
            buf = buf[pos:] + data
            pos = 0
            continue
        line = buf[pos:nl]
        if not line:
            if entry:
                yield entry
                entry = {}
            pos = nl + 1
            continue
        eq = line.find(b"=")
        if eq >= 0:
            entry[line[:eq]] = line[eq + 1 :]
            pos = nl + 1
            continue
        # binary field: length then data then newline
        need = nl + 1 + 8
        while len(buf) < need and not eof:
            data = next(chunks, b"")
            if not data:
                eof = True
            buf += data
        if len(buf) < need:
            break
        length = int.from_bytes(buf[nl + 1 : need], "little")
        while len(buf) < need + length + 1 and not eof:
            data = next(chunks, b"")
            if not data:
                eof = True
            buf += data
        entry[line] = buf[need : need + length]
        pos = need + length + 1
        if pos > size:
            buf = buf[pos:]
            pos = 0
    if entry:
        yield entry


_EXPORT_ENTRY = re.compile(rb"\n__REALTIME_TIMESTAMP=(\d{16})\n__MONOTONIC_TIMESTAMP=\d+\n_BOOT_ID=([0-9a-f]{32})\n\n")
_PREFIX8 = operator.itemgetter(slice(0, 8))


class _JournalAccumulator(object):
    """Hourly counts, boots, steps back and first/last entry of a journal stream."""

    def __init__(self, result, window):
        self.result = result
        self.window = window
        self.hours = {}
        self.prefixes = Counter()  # first 8 digits of 16-digit microsecond timestamps (100 s) -> entries
        self.boots = {}  # boot id -> [first us, last us, entries]
        self.prev = None
        self.prev_hk = None
        self.rt = None
        self.boot = None
        self.since_us = None if window.since is None else window.since * 1000000
        self.until_us = None if window.until is None else window.until * 1000000

    def entry(self, rt, boot):
        result = self.result
        result.lines += 1
        if rt is None:
            result.unparsed += 1
            return None
        try:
            us = int(rt)
        except ValueError:
            result.unparsed += 1
            return None
        result.parsed += 1
        if (self.since_us is not None and us < self.since_us) or (self.until_us is not None and us >= self.until_us):
            result.outside_window += 1
            return None
        hk = us // 3600000000
        self.hours[hk] = self.hours.get(hk, 0) + 1
        if self.prev_hk is not None and hk < self.prev_hk:
            result.note_jump(round((self.prev - us) / 1e6, 6))
        self.prev = us
        self.prev_hk = hk
        if result.first is None:
            result.first = us / 1e6
        result.last = us / 1e6
        if boot is not None:
            seen = self.boots.get(boot)
            if seen is None:
                self.boots[boot] = [us, us, 1]
            else:
                if us < seen[0]:
                    seen[0] = us
                if us > seen[1]:
                    seen[1] = us
                seen[2] += 1
        return us / 1e6

    def feed_export_block(self, block):
        """Entries of an export stream of ``__REALTIME_TIMESTAMP`` and ``_BOOT_ID`` only, ``block`` whole entries.

        The usual block (every entry in that shape, in time order, inside the window) is handled by C-level calls:
        one regular expression for all entries, hours counted by the 100-second prefix of the microsecond
        timestamps (an hour is 36 of them), boots by their first and last index. Any other block goes line by line.
        """
        pairs = _EXPORT_ENTRY.findall(block)
        n = len(pairs)
        if not n or n != block.count(b"\n\n") or self.rt is not None or self.boot is not None:
            return self.feed_export_text(block)
        rts, boots = zip(*pairs)
        if n > 1 and not all(map(operator.le, rts, rts[1:])):  # equal widths: text order is time order
            return self.feed_export_text(block)
        lo = int(rts[0])
        hi = int(rts[-1])
        if (self.since_us is not None and lo < self.since_us) or (self.until_us is not None and hi >= self.until_us):
            return self.feed_export_text(block)
        result = self.result
        result.lines += n
        result.parsed += n
        hk = lo // 3600000000
        if self.prev_hk is not None and hk < self.prev_hk:
            result.note_jump(round((self.prev - lo) / 1e6, 6))
        self.prev = hi
        self.prev_hk = hi // 3600000000
        if result.first is None:
            result.first = lo / 1e6
        result.last = hi / 1e6
        self.prefixes.update(map(_PREFIX8, rts))
        backwards = boots[::-1]
        for boot in set(boots):
            first = int(rts[boots.index(boot)])
            last = int(rts[n - 1 - backwards.index(boot)])
            seen = self.boots.get(boot)
            if seen is None:
                self.boots[boot] = [first, last, boots.count(boot)]
            else:
                seen[0] = min(seen[0], first)
                seen[1] = max(seen[1], last)
                seen[2] += boots.count(boot)
        return None

    def feed_export_text(self, block):
        """Entries of an export stream without binary fields (only text fields were asked for).

        ``block`` holds whole lines (it ends with a newline); an entry may go on in the next block.
        """
        rt = self.rt
        boot = self.boot
        entry = self.entry
        lines = block.split(b"\n")
        lines.pop()  # a block ends with a newline: the last item is not a blank line
        for line in lines:
            if not line:
                if rt is not None or boot is not None:
                    entry(rt, boot)
                    rt = boot = None
            elif line.startswith(b"__REALTIME_TIMESTAMP="):
                rt = line[21:]
            elif line.startswith(b"_BOOT_ID="):
                boot = line[9:]
        self.rt = rt
        self.boot = boot

    def end_entry(self):
        if self.rt is not None or self.boot is not None:
            self.entry(self.rt, self.boot)
            self.rt = self.boot = None

    def done(self):
        result = self.result
        for prefix, n in self.prefixes.items():
            hk = int(prefix) * 100 // 3600
            self.hours[hk] = self.hours.get(hk, 0) + n
        self.prefixes.clear()
        result.hours = self.hours
        result.formats = {"journal": result.parsed} if result.parsed else {}
        result.boot_count = len(self.boots)
        for boot, (first, last, n) in sorted(self.boots.items(), key=lambda kv: kv[1][0])[:MAX_BOOTS]:
            result.boots.append(
                {
                    "boot_id": boot.decode("ascii", "replace") if isinstance(boot, bytes) else boot,
                    "time": iso_utc(first / 1e6),
                    "first_event": iso_utc(first / 1e6),
                    "last_event": iso_utc(last / 1e6),
                    "entries": n,
                }
            )


# ------------------------------------------------------------------------------------------------ discovery


def journal_present(root="/"):
    """True when the journal has files under ``<root>/var/log/journal`` or ``<root>/run/log/journal``."""
    for top in JOURNAL_DIRS:
        host = resolve_in_root(root, top)
        if host and _journal_files_in(host):
            return True
    return False


def discover(root="/"):
    """Default sources: the journal if it has files, then the usual /var/log files that exist (or were rotated).

    Returns a list of source specifications as the module's ``sources`` option takes them.
    """
    specs = []
    if journal_present(root):
        specs.append({"journal": {}})
    for path in DEFAULT_FILES:
        host = resolve_in_root(root, path)
        if host is None:
            continue
        if os.path.lexists(host):
            specs.append({"path": path})
            continue
        names, _dups = rotated_siblings(os.path.dirname(host), os.path.basename(host))
        if names:
            specs.append({"path": path})
    return specs


def build_sources(specs, zone, root="/", year=None, chunk_size=CHUNK_SIZE):
    """Source objects for specifications ``{"path": ...}`` / ``{"journal": {...}}`` (``name``, ``rotated``)."""
    sources = []
    for spec in specs:
        journal = spec.get("journal")
        if spec.get("path"):
            sources.append(
                FileSource(
                    spec["path"],
                    zone,
                    root=root,
                    name=spec.get("name"),
                    rotated=spec.get("rotated", True) is not False,
                    year=year,
                    chunk_size=chunk_size,
                )
            )
        elif journal is not None:
            journal = journal or {}
            files = journal.get("files") or ()
            if isinstance(files, str):
                files = [files]
            sources.append(
                JournalSource(
                    root=root,
                    matches=journal.get("matches") or (),
                    directory=journal.get("directory"),
                    files=files,
                    name=spec.get("name"),
                )
            )
        else:
            raise ValueError("a source needs 'path' or 'journal'")
    return sources


def count_sources(sources, since=None, until=None, verify_journal=False):
    """Count every source; one failing source never stops the others. Returns the list of result dicts.

    With ``verify_journal``, journal sources also carry ``verify`` (:meth:`JournalSource.verify`).
    """
    out = []
    for source in sources:
        try:
            counted = source.count(since, until)
            if verify_journal and source.kind == "journal":
                counted["verify"] = source.verify()
            out.append(counted)
        except Exception as exc:  # a bug or an odd file must not lose the other sources
            failed = _Result(source.name, source.kind, None)
            failed.error = "internal error: %s" % _error_text(exc)
            out.append(failed.as_dict())
    return out


LogOptions = namedtuple("LogOptions", "root zone now since until specs discovered")


def log_options(sources, since, until, root, timezone, year, now=None, discover_sources=None):
    """Validate the options every log gatherer shares (LOG_SOURCE_OPTIONS and root); raise ValueError on a bad one.

    Returns :data:`LogOptions`: the absolute root, the zone, ``now``, ``since``/``until`` as epoch seconds (None:
    unbounded), the source specs (``discover_sources(root)``, default :func:`discover`, when none is given) and
    whether they were discovered.
    """
    root = os.path.abspath(root or "/")
    if not os.path.isdir(root):
        raise ValueError("root %s is not a directory" % root)
    if year is not None and not 1970 <= int(year) <= 9999:
        raise ValueError("year must be between 1970 and 9999")
    zone = get_zone(timezone, root)
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
        specs = (discover_sources or discover)(root)
    return LogOptions(root, zone, now, since_t, until_t, specs, discovered)


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
    None/empty for the default discovery (:func:`discover`).
    """
    root, zone, now, since_t, until_t, specs, discovered = log_options(sources, since, until, root, timezone, year, now)
    window = Window(since_t, until_t)
    return {
        "root": root,
        "timezone": zone.name,
        "since": iso_utc(window.since),
        "until": iso_utc(window.until),
        "collected_at": iso_utc(now),
        "discovered": discovered,
        "sources": count_sources(
            build_sources(specs, zone, root=root, year=year, chunk_size=chunk_size), since_t, until_t, verify_journal
        ),
    }


def count_file_hours(path, zone, year=None, chunk_size=CHUNK_SIZE):
    """Hourly counts of one file (no rotation, no window): ``{"2025-10-01T00": n}``. Used by the benchmark."""
    source = FileSource(path, zone, rotated=False, year=year, chunk_size=chunk_size)
    return source.count()["hours"]


def split_syslog(data, offset):
    """Split the text after a syslog timestamp: ``(host, tag, pid, message)`` as bytes (pid may be None).

    ``host tag[pid]: message`` (traditional / RFC 3339 files) or ``host app procid msgid [sd] message`` (RFC 5424).
    """
    rest = data[offset:]
    host, _sp, rest = rest.partition(b" ")
    colon = rest.find(b": ")
    if colon < 0:
        return host, None, None, rest
    tag = rest[:colon]
    pid = None
    if tag.endswith(b"]") and b"[" in tag:
        tag, _br, pid = tag[:-1].partition(b"[")
    return host, tag, pid, rest[colon + 2 :]
