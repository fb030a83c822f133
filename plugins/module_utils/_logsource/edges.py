# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The first and last timestamped lines of a log file, read before the file itself: they give a gatherer the year of
year-less timestamps and the file's time span (sshd_auth_info, firewall_log_info)."""

from __future__ import annotations

import os

from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.blocks import READ_ERRORS
from ansible_collections.fleetwatch.audit.plugins.module_utils._timestamps import HEAD, parse_head

TAIL = 1 << 16
MAX_TAIL = 16 << 20  # how far back from its end a file is searched for its last timestamped line


def file_edges(log_file, size, compression):
    """``(first, last)``: ``parse_head`` of the first and the last timestamped line of ``log_file`` (None: none)."""
    if compression is None:
        return _plain_edges(log_file, size)
    return _stream_edges(log_file)


def _plain_edges(log_file, size):
    """First and last timestamped line of an uncompressed file: its head, then tails growing up to MAX_TAIL."""
    fd = log_file.view.open(log_file.real)
    try:
        first = first_head(os.pread(fd, TAIL, 0))
        back = TAIL
        while True:
            last = last_head(os.pread(fd, min(back, size), max(0, size - back)))
            if last is not None or back >= min(size, MAX_TAIL):
                return first, last
            back *= 4
    finally:
        os.close(fd)


def _stream_edges(log_file):
    """First and last timestamped line of a compressed file (read through once, up to a damaged part: the reading
    that follows meets the damage again and notes it)."""
    first = None
    previous = b""
    _st, stream = log_file.open()
    try:
        with log_file.blocks(stream) as blocks:
            for buf, start, end, _long, _boots in blocks:
                if first is None:
                    first = first_head(bytes(buf[start : min(end, start + TAIL)]))
                previous = bytes(buf[max(start, end - TAIL) : end])
    except READ_ERRORS:
        pass
    finally:
        stream.close()
    return first, last_head(previous)


def last_head(data):
    """``parse_head`` of the last line of ``data`` that starts with a timestamp, or None."""
    end = len(data)
    while end > 0:
        start = data.rfind(b"\n", 0, end - 1) + 1 if end > 1 else 0
        line = data[start:end].rstrip(b"\n")
        info = parse_head(line[:HEAD]) if line else None
        if info is not None:
            return info
        if start == 0:
            return None
        end = start
    return None


def first_head(data):
    """``parse_head`` of the first line of ``data`` that starts with a timestamp, or None."""
    start = 0
    while start < len(data):
        nl = data.find(b"\n", start)
        nl = len(data) if nl < 0 else nl
        info = parse_head(data[start : min(nl, start + HEAD)])
        if info is not None:
            return info
        start = nl + 1
    return None
