# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reading a log file in blocks of whole lines: decompression, a reader thread, byte ranges for worker processes.

Memory stays bounded whatever the file or line size: a block is at most ``chunk_size`` bytes, a longer line is cut.
"""

from __future__ import annotations

import bz2
import errno
import os
import zlib

try:
    import lzma
except ImportError:  # pragma: no cover - Python built without lzma
    lzma = None

# What reading a damaged or unreadable file can raise (truncated or corrupt compressed data included).
READ_ERRORS = (OSError, EOFError, zlib.error, ValueError) + ((lzma.LZMAError,) if lzma is not None else ())

CHUNK_SIZE = 8 * 1024 * 1024  # two buffers of this size per reading process
LONG_LINE_HEAD = 4096  # what is kept of a line longer than the buffer
_BOOT_NEEDLE = b"Linux version "
_PROBE = 1 << 16  # bytes read at a time while looking for the end of a line
_GZIP_INPUT = 1 << 18  # compressed bytes read at a time


def open_log(view, path):
    """Open the (maybe compressed) log file ``path`` inside the root of ``view``: ``(stat, compression, stream)``.

    Compression is recognised by content (gzip, bzip2, xz); zstd and lz4 are recognised and refused.
    """
    fd = view.open(path)
    raw = os.fdopen(fd, "rb", buffering=0)
    try:
        st = os.fstat(fd)
        magic = raw.read(6)
        raw.seek(0)
        if magic[:2] == b"\x1f\x8b":
            return st, "gzip", GzipStream(raw)
        if magic[:3] == b"BZh":
            return st, "bzip2", bz2.BZ2File(raw, "rb")
        if magic == b"\xfd7zXZ\x00":
            if lzma is None:
                raise OSError(errno.ENOTSUP, "xz compression is not supported by this Python", path)
            return st, "xz", lzma.LZMAFile(raw, "rb")
        if magic[:4] == b"\x28\xb5\x2f\xfd":
            raise OSError(errno.ENOTSUP, "zstd compression is not supported", path)
        if magic[:4] == b"\x04\x22\x4d\x18":
            raise OSError(errno.ENOTSUP, "lz4 compression is not supported", path)
        return st, None, raw
    except BaseException:
        raw.close()
        raise


class GzipStream(object):
    """The members of a gzip file, decompressed with zlib as far as they go.

    ``gzip.GzipFile`` drops the last data it decompressed when a file ends early (a rotation cut short, a missing
    trailer): here everything before the damage is returned, then the damage is raised (``EOFError``, ``zlib.error``).
    Output is bounded by what the caller asks for, whatever the compression ratio.
    """

    def __init__(self, raw):
        self.raw = raw
        self.inflate = zlib.decompressobj(31)
        self.started = False

    def _next_input(self):
        if self.inflate.eof:  # a member ended (what follows it is in unused_data): another may follow
            data = self.inflate.unused_data or self.raw.read(_GZIP_INPUT)
            if data:
                self.inflate = zlib.decompressobj(31)
            return data
        data = self.inflate.unconsumed_tail
        if data:
            return data
        data = self.raw.read(_GZIP_INPUT)
        if not data and self.started:
            raise EOFError("compressed file ended before the end-of-stream marker was reached")
        return data

    def readinto(self, view):
        while True:
            data = self._next_input()
            if not data:
                return 0
            out = self.inflate.decompress(data, len(view))
            self.started = True
            if out:
                view[: len(out)] = out
                return len(out)

    def close(self):
        self.raw.close()


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
    """The block reader behind :func:`read_blocks` (runs in the reader thread, or inline): the blocks of everything
    that could be read, then the error that stopped the reading, if any."""
    damage = []
    yield from _blocks_until_damage(stream, size, next_buffer, find_boots, damage)
    if damage:
        raise damage[0]


def _blocks_until_damage(stream, size, next_buffer, find_boots, damage):
    # A compressed stream's readinto1 returns what one decompression step gave, so that data decompressed before a
    # damaged part is in the buffer when the damage raises.
    readinto = getattr(stream, "readinto1", None) or stream.readinto
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
                got = readinto(view[fill:])
                if not got:
                    eof = True
                    break
                fill += got
        except READ_ERRORS as exc:  # a damaged or unreadable part: what came before it is still handed out
            damage.append(exc)
            eof = True
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


def plain_ranges(fd, size, chunk_size=CHUNK_SIZE):
    """Split an uncompressed file into byte ranges of about ``chunk_size``, each ending after a newline.

    A line longer than ``chunk_size`` is cut where the range reaches twice that size, so no range is ever larger.
    """
    ranges = []
    pos = 0
    while pos < size:
        target = min(size, pos + chunk_size)
        if target < size:
            target = _line_end(fd, target, min(size, pos + 2 * chunk_size))
        ranges.append((pos, target))
        pos = target
    return ranges


def _line_end(fd, start, limit):
    """The offset after the first newline at or after ``start``, or ``limit`` when there is none before it."""
    pos = start
    while pos < limit:
        probe = os.pread(fd, min(_PROBE, limit - pos), pos)
        if not probe:
            return limit
        nl = probe.find(b"\n")
        if nl >= 0:
            return pos + nl + 1
        pos += len(probe)
    return limit


def read_range(fd, lo, hi):
    """``(buffer, end)``: the bytes ``[lo, hi)`` of a file after a newline at index 0 (the shape of a block of
    :func:`read_blocks`); ``end`` is where the bytes read stop (short of ``hi`` when the file shrank)."""
    buf = bytearray(hi - lo + 1)
    buf[0] = 10
    view = memoryview(buf)
    pos = 1
    try:
        while pos < len(buf):
            n = os.preadv(fd, [view[pos:]], lo + pos - 1)
            if not n:
                break
            pos += n
    finally:
        view.release()
    return buf, pos
