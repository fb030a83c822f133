# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Parsing the journal export format as ``journalctl -o export`` streams it: whole entries, binary fields too."""

from __future__ import annotations

import re
from itertools import chain, repeat

PIPE_BLOCK = 1 << 16


def pipe_entry_blocks(pipe, size=PIPE_BLOCK):
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


def export_entries(pipe, size=PIPE_BLOCK):
    """Parse journal export format from a pipe: yield one dict ``{field: value bytes}`` per entry.

    Binary-safe: a field written as ``NAME\\n<64-bit little-endian length><data>\\n`` is read by its length. While
    the blocks of whole entries (:func:`pipe_entry_blocks`) hold only ``NAME=value`` lines (the usual stream), they
    are parsed by C-level splits; from the first block with a binary field on, the stream is read field by field
    (:func:`_export_fields`), since a binary field's data may hold the blank line a block was cut at.
    """
    blocks = pipe_entry_blocks(pipe, size)
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
